"""ecgnet.adapt with ``tail_epochs``: each network's last residual block, ``rr_dense`` and ``logits`` trained too.

Tiny networks built by ``ecgnet.models.build_ecgnet`` (a few thousand
weights, no dropout) and synthetic beats keep each test to seconds.
"""

import numpy as np
import pytest

import ecgnet
from ecgnet.adaptation import _tail, predict, tail_layers
from ecgnet.ensembles import build_ensemble
from ecgnet.errors import EcgnetError
from ecgnet.layers import all_sublayers
from ecgnet.models import build_ecgnet

TINY = dict(stem_filters=8, stage_filters=(8, 8, 16), groups=2, block_dropout=0.0, head_dropout=0.0)


def tiny_network(seed):
    import keras

    keras.utils.set_random_seed(seed)
    return build_ecgnet("small", input_shape=(187, 1), rr_features=3, **TINY)


def synthetic_beats(count, classes, seed):
    """Beats whose shape tells the class: N a slow wave, S the same earlier (R-R), V a wide spike."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(classes)[rng.integers(0, len(classes), count)]
    t = np.linspace(0, 1, 187)
    beat = np.sin(2 * np.pi * t)[None, :] * 0.3 + rng.normal(scale=0.05, size=(count, 187))
    beat[labels == 2] += 2.0 * np.exp(-((t - 0.5) / 0.08) ** 2)
    rr = np.stack([np.where(labels == 1, 0.5, 1.0), np.ones(count), np.ones(count)], axis=1)
    rr += rng.normal(scale=0.02, size=rr.shape)
    return {"beat": beat[..., None].astype(np.float32), "rr": rr.astype(np.float32)}, labels.astype(np.int64)


@pytest.fixture(scope="module")
def ensemble():
    return build_ensemble([tiny_network(0), tiny_network(1)])


@pytest.fixture(scope="module")
def patient():
    return synthetic_beats(60, [0, 0, 0, 1, 2], seed=0)


@pytest.fixture(scope="module")
def replay():
    return synthetic_beats(80, [0, 1, 2, 3, 4], seed=1)


@pytest.fixture(scope="module")
def tail_adapted(ensemble, patient, replay):
    """The ensemble adapted with 3 epochs of the tail refit, seed 5."""
    return ecgnet.adapt(ensemble, *patient, replay=replay, tail_epochs=3, tail_learning_rate=1e-2, seed=5)


def weights_by_path(model):
    """``{member name/weight path: array}`` (a member's weight paths do not name the member)."""
    return {f"{member.name}/{variable.path}": np.asarray(variable)
            for member in model.layers if member.weights for variable in member.weights}


def test_only_the_tail_layers_change_and_their_batch_normalisation_stays(ensemble, tail_adapted):
    before = weights_by_path(ensemble)
    after = weights_by_path(tail_adapted)
    assert after.keys() == before.keys() and len(before) == len(ensemble.weights)
    tail = tuple(tail_layers(ensemble.get_layer("member_0")))
    assert tail == ("stage3_block1", "rr_dense", "logits")
    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    trained = {path for path in before if path.split("/")[1] in tail and "bn" not in path.split("/")[-2]}
    assert {path.split("/")[0] for path in trained} == {"member_0", "member_1"} and len(trained) == 24
    assert changed == trained  # every other weight bit-identical: the front, every batch normalisation
    assert all(np.array_equal(before[path], value) for path, value in weights_by_path(ensemble).items())  # untouched


def test_a_fused_model_keeps_its_rr_regression(ensemble, patient, replay):
    """Networks times a frozen R-R regression (as ``ecgnet-mitbih-svdb``): the networks' tails train, the regression stays."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ecgnet.adaptation import _heads
    from ecgnet.ensembles import fuse_with_rr_regression, logistic_regression_model

    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(replay[0]["rr"], replay[1])
    fused = fuse_with_rr_regression(ensemble, logistic_regression_model(pipeline))
    adapted = ecgnet.adapt(fused, *patient, replay=replay, tail_epochs=1, tail_learning_rate=1e-2)
    trained = {id(v) for network in _heads(adapted) for name in tail_layers(network)
               for v in network.get_layer(name).weights if "bn" not in v.path.split("/")[-2]}
    assert len(_heads(adapted)) == 2 and len(trained) == 24
    changed = {id(mine) for mine, theirs in zip(adapted.weights, fused.weights)
               if not np.array_equal(np.asarray(mine), np.asarray(theirs))}
    assert changed == trained
    rr = fused.get_layer("rr_regression")
    assert all(np.array_equal(a, b) for a, b in zip(adapted.get_layer("rr_regression").get_weights(), rr.get_weights()))


def test_with_a_vanishing_learning_rate_the_tail_keeps_the_refitted_head(ensemble, patient, replay):
    network = ensemble.get_layer("member_0")  # its tail already built and traced: seconds saved
    heads = ecgnet.adapt(network, *patient, replay=replay)
    tail = ecgnet.adapt(network, *patient, replay=replay, tail_epochs=1, tail_learning_rate=1e-12)
    assert len(heads.weights) == len(tail.weights) == len(network.weights)
    for mine, theirs in zip(tail.weights, heads.weights):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=1e-9, err_msg=mine.path)


def test_the_tail_refit_is_deterministic_with_a_seed(ensemble, patient, replay, tail_adapted):
    two, other = (ecgnet.adapt(ensemble, *patient, replay=replay, tail_epochs=3, tail_learning_rate=1e-2, seed=seed)
                  for seed in (5, 6))
    a, b, c = (weights_by_path(model) for model in (tail_adapted, two, other))
    assert all(np.array_equal(a[path], b[path]) for path in a)
    assert any(not np.array_equal(a[path], c[path]) for path in a)  # another seed, another order of the beats


def test_one_step_is_keras_own_adam_step(ensemble, patient):
    """One Adam step on one batch, without the pull, equals ``train_on_batch`` of the same layers compiled by Keras."""
    import keras

    network = ensemble.get_layer("member_1")
    tail = _tail(network)  # built once per network (adapt builds the same)
    cut = tail.cut(patient[0])
    weights = np.linspace(0.5, 1.5, len(patient[1])).astype(np.float32)
    start = {name: network.get_layer(name).get_weights() for name in tail.names}
    ours = tail.fit(start, cut, patient[1], weights, anchor=0.0, learning_rate=1e-2, epochs=1,
                    batch_size=len(weights), seed=0)

    reference = keras.models.clone_model(tail.model)
    reference.set_weights(tail.model.get_weights())
    for name in tail.names:
        reference.get_layer(name).set_weights(start[name])
    for layer in all_sublayers(reference):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    reference.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    reference.train_on_batch(cut, patient[1], sample_weight=weights)
    for name in tail.names:
        for mine, theirs in zip(ours[name], reference.get_layer(name).get_weights()):
            np.testing.assert_allclose(mine, theirs, atol=1e-6, err_msg=name)


def test_replay_keeps_a_class_the_patient_did_not_show(ensemble, replay):
    """The patient shows N and S only; with replay the tail still calls the V beats V, without it never."""
    network = ensemble.get_layer("member_1")
    patient = synthetic_beats(80, [0, 0, 1], seed=2)
    unseen, labels = synthetic_beats(200, [0, 2], seed=3)
    calls = {}
    for name, given in (("replay", replay), ("none", None)):
        adapted = ecgnet.adapt(network, *patient, replay=given, tail_epochs=5, tail_learning_rate=1e-2, patient_share=0.5)
        calls[name] = predict(adapted, unseen).argmax(1)
    assert (calls["replay"][labels == 2] == 2).mean() > 0.9
    assert not (calls["none"] == 2).any()


def test_the_adapted_tail_saves_and_loads(tail_adapted, patient, tmp_path):
    from ecgnet.pretrained_models import load_model

    adapted = tail_adapted
    adapted.save(tmp_path / "adapted.keras")
    np.testing.assert_allclose(predict(load_model(tmp_path / "adapted.keras"), patient[0]), predict(adapted, patient[0]),
                               atol=1e-6)


@pytest.mark.parametrize("options, message", [({"tail_epochs": -1}, "tail_epochs"), ({"tail_epochs": 1.5}, "tail_epochs"),
                                              ({"tail_learning_rate": 0.0}, "tail_learning_rate")])
def test_bad_tail_options_are_refused(ensemble, patient, options, message):
    with pytest.raises(EcgnetError, match=message):
        ecgnet.adapt(ensemble, *patient, **options)
