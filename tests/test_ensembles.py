"""Tests for ecgnet.ensembles.build_ensemble: the mean of the members, saved and loaded."""

import keras
import numpy as np
import pytest

from ecgnet.ensembles import build_ensemble
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
