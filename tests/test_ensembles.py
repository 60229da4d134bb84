"""Tests for ecgnet.ensembles.build_ensemble: the mean of the members, saved and loaded."""

import keras
import numpy as np
import pytest

from ecgnet.ensembles import build_ensemble
from ecgnet.errors import EcgnetError
from ecgnet.pretrained_models import load_model


def member(seed, rr_features=6, steps=187):
    keras.utils.set_random_seed(seed)
    beat = keras.Input((steps, 1), name="beat")
    features = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(3, 5)(beat))
    rr = keras.Input((rr_features,), name="rr")
    features = keras.layers.Concatenate()([features, rr])
    return keras.Model([beat, rr], keras.layers.Dense(5, activation="softmax")(features))


def test_ensemble_is_the_mean_of_its_members_and_survives_a_keras_file(tmp_path):
    members = [member(seed) for seed in range(3)]
    ensemble = build_ensemble(members)
    rng = np.random.default_rng(0)
    x = {"beat": rng.normal(size=(7, 187, 1)).astype("float32"), "rr": rng.normal(size=(7, 6)).astype("float32")}
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0).sum(axis=1), 1.0, atol=1e-6)
    ensemble.save(tmp_path / "ensemble.keras")
    loaded = load_model(tmp_path / "ensemble.keras")
    assert [t.name for t in loaded.inputs] == ["beat", "rr"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)


def test_ensemble_needs_two_members_with_the_same_inputs():
    with pytest.raises(ValueError, match="at least 2 members. Received: 1"):
        build_ensemble([member(0)])
    with pytest.raises(ValueError, match="member_1: inputs"):
        build_ensemble([member(0), member(1, rr_features=4)])


def _fitted_regression(width=3, seed=0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2, 3], 50)  # class 4 (Q) never seen
    rr = rng.normal(size=(len(y), width)) + y[:, None] * 0.7
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced")).fit(rr, y), rr


def test_regression_model_predicts_what_scikit_learn_predicts(tmp_path):
    from ecgnet.ensembles import logistic_regression_model

    pipeline, rr = _fitted_regression()
    model = logistic_regression_model(pipeline)
    expected = np.zeros((len(rr), 5))
    expected[:, pipeline.classes_] = pipeline.predict_proba(rr)
    np.testing.assert_allclose(model.predict(rr, verbose=0), expected, atol=1e-5)
    model.save(tmp_path / "rr.keras")
    again = keras.saving.load_model(tmp_path / "rr.keras")
    np.testing.assert_allclose(again.predict(rr, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("scaling", [dict(with_mean=False), dict(with_std=False)])
def test_regression_model_follows_the_scalers_options(scaling):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ecgnet.ensembles import logistic_regression_model

    _, rr = _fitted_regression()
    y = np.repeat([0, 1, 2, 3], 50)
    pipeline = make_pipeline(StandardScaler(**scaling), LogisticRegression(max_iter=1000)).fit(rr + 2.0, y)
    expected = np.zeros((len(rr), 5))
    expected[:, pipeline.classes_] = pipeline.predict_proba(rr + 2.0)
    np.testing.assert_allclose(logistic_regression_model(pipeline).predict(rr + 2.0, verbose=0), expected, atol=1e-5)


def test_an_unfitted_regression_is_refused():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ecgnet.ensembles import logistic_regression_model

    with pytest.raises(EcgnetError, match="a fitted StandardScaler"):
        logistic_regression_model(make_pipeline(StandardScaler(), LogisticRegression()))


def test_fused_model_outputs_the_renormalised_product_and_keeps_the_recipe(tmp_path):
    from ecgnet.ensembles import fuse_with_rr_regression, logistic_regression_model
    from ecgnet.models import build_named_model
    from ecgnet.recipe import InputRecipe

    network = build_named_model("small", (88, 2), rr_features=3, stem_filters=8, stage_filters=(8, 16),
                                stage_blocks=(1, 1), groups=4)
    pipeline, rr = _fitted_regression()
    rr = rr.astype("float32")
    beat = np.random.default_rng(1).normal(size=(len(rr), 88, 2)).astype("float32")
    fused = fuse_with_rr_regression(network, logistic_regression_model(pipeline))
    p = network.predict({"beat": beat, "rr": rr}, verbose=0).astype(np.float64)
    q = np.zeros((len(rr), 5))
    q[:, pipeline.classes_] = pipeline.predict_proba(rr)
    expected = np.clip(p, 1e-7, 1) * np.clip(q, 1e-7, 1)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fused.predict({"beat": beat, "rr": rr}, verbose=0), expected, atol=1e-5)
    assert InputRecipe.from_model(fused) == InputRecipe("centred", 2, 3)
    fused.save(tmp_path / "fused.keras")
    loaded = keras.saving.load_model(tmp_path / "fused.keras")
    np.testing.assert_allclose(loaded.predict({"beat": beat, "rr": rr}, verbose=0), expected, atol=1e-5)


def test_fusing_needs_the_same_rr_input():
    from ecgnet.ensembles import fuse_with_rr_regression, logistic_regression_model
    from ecgnet.models import build_named_model

    network = build_named_model("small", (88, 2), rr_features=5, stem_filters=8, stage_filters=(8, 16),
                                stage_blocks=(1, 1), groups=4)
    with pytest.raises(EcgnetError, match="both need the same `rr` input"):
        fuse_with_rr_regression(network, logistic_regression_model(_fitted_regression(width=3)[0]))
