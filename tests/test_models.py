"""Tests for ecgnet.models: presets, names, inputs, saving and loading."""

import numpy as np
import pytest

import keras

from ecgnet.models import PRESETS, build_ecgnet, build_kachuee2018

# A tiny configuration so that tests stay fast.
TINY = dict(stem_filters=8, stage_filters=(8, 16), stage_blocks=(1, 1), groups=4)


def _beats(n=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 187, 1)).astype("float32")


def test_kachuee2018_size_and_shape():
    model = build_kachuee2018()
    print("kachuee2018 parameters:", model.count_params())
    assert model.count_params() == 55013
    assert model.input.name.startswith("beat")
    assert model.output_shape == (None, 5)
    assert model.get_layer("block5_pool").output.shape[1] == 2


def test_kachuee2018_with_rr_features_reads_them(tmp_path):
    """The R-R branch joins before fc1: 80 inputs to fc1 instead of 64; the recipe says 6 features."""
    from ecgnet.recipe import InputRecipe

    model = build_kachuee2018(rr_features=6)
    rr_branch = (6 * 2 + 6 * 2) + (6 * 16 + 16)  # rr_bn (gamma, beta, moving mean and variance), rr_dense
    assert model.count_params() == 55013 + rr_branch + 16 * 32  # fc1 gains 16 inputs
    assert [t.name.split(":")[0] for t in model.inputs] == ["beat", "rr"]
    assert InputRecipe.from_model(model).rr_features == 6
    x = {"beat": _beats(4), "rr": np.random.default_rng(2).standard_normal((4, 6)).astype("float32")}
    changed = dict(x, rr=x["rr"] + 1.0)
    assert not np.allclose(model.predict(x, verbose=0), model.predict(changed, verbose=0))
    model.save(tmp_path / "kachuee_rr.keras")
    loaded = keras.saving.load_model(tmp_path / "kachuee_rr.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="Received: rr_features=-1"):
        build_kachuee2018(rr_features=-1)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_build(preset):
    model = build_ecgnet(preset)
    print(preset, "parameters:", model.count_params())
    assert model.output_shape == (None, 5)
    for name in ["stem_conv", "stem_bn", "stage1_block1", "stage2_block1", "pool", "predictions"]:
        model.get_layer(name)
    if preset == "small":
        assert model.count_params() <= 150_000


def test_overrides_and_names():
    model = build_ecgnet("small", num_classes=3, implementation="split", **TINY)
    assert model.output_shape == (None, 3)
    block = model.get_layer("stage2_block1")
    assert block.groups == 4 and block.strides == 2
    assert block.conv2.implementation == "split"
    with pytest.raises(ValueError, match="stage3_block1"):
        model.get_layer("stage3_block1")


def test_save_and_load_identical_predictions(tmp_path):
    beats = _beats()
    rr = np.random.default_rng(1).standard_normal((3, 4)).astype("float32")
    models = [
        (build_kachuee2018(), beats),
        (build_ecgnet("small", **TINY), beats),
        (build_ecgnet("small", rr_features=4, **TINY), {"beat": beats, "rr": rr}),
    ]
    for i, (model, x) in enumerate(models):
        expected = model.predict(x, verbose=0)
        path = tmp_path / f"model{i}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    rr_model = models[2][0]
    assert [t.name.split(":")[0] for t in rr_model.inputs] == ["beat", "rr"]


def test_beat_dropout_drops_whole_beats_in_training_only(tmp_path):
    # No block dropout, so that the pooled features are deterministic in training mode too.
    model = build_ecgnet("small", input_shape=(187, 1), rr_features=3, beat_dropout=0.5, block_dropout=0.0, **TINY)
    x = {"beat": _beats(64), "rr": np.ones((64, 3), "float32")}
    pooled_model = keras.Model(model.inputs, model.get_layer("pool").output)
    dropped_model = keras.Model(model.inputs, model.get_layer("beat_dropout").output)
    pooled = np.asarray(pooled_model(x, training=True))
    keras.utils.set_random_seed(0)
    dropped = np.asarray(dropped_model(x, training=True))
    zero_rows = (dropped == 0).all(axis=1)
    # Each beat's pooled features are dropped whole or kept whole, and kept ones scaled by 1 / (1 - 0.5).
    assert 10 < zero_rows.sum() < 54
    np.testing.assert_allclose(dropped[~zero_rows], 2 * pooled[~zero_rows], rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(dropped_model(x, training=False)), np.asarray(pooled_model(x, training=False)))
    model.save(tmp_path / "beat_dropout.keras")
    loaded = keras.saving.load_model(tmp_path / "beat_dropout.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_layer("beat_dropout").rate == 0.5


def test_mixed_precision_outputs_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_ecgnet("small", **TINY)
        y = model.predict(_beats(), verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("stage1_block1").compute_dtype == "float16"
    assert model.output.dtype == "float32"
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-3)


def test_trains_one_step():
    model = build_ecgnet("small", **TINY)
    model.compile("adam", "sparse_categorical_crossentropy")
    loss = model.train_on_batch(_beats(8), np.arange(8) % 5)
    assert np.isfinite(loss)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(preset="tiny"), r"preset='tiny'.*|.*'large', 'small'"),
        (dict(preset="small", width=3), "width=3"),
        (dict(preset="small", implementation="cuda"), "implementation='cuda'"),
        (dict(preset="small", groups=0), "groups=0"),
        (dict(preset="small", num_classes=0), "num_classes=0"),
        (dict(preset="small", rr_features=-1), "rr_features=-1"),
        (dict(preset="small", rr_features=3, beat_dropout=1.0), r"beat_dropout=1\.0"),
        (dict(preset="small", beat_dropout=0.5), "needs rr_features > 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_ecgnet(**kwargs)


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ValueError) as info:
        build_ecgnet("tiny")
    assert "'large', 'small'" in str(info.value) and "preset='tiny'" in str(info.value)


def test_build_named_model_builds_presets_and_the_baseline_and_names_unknown_ones():
    from ecgnet.models import build_named_model

    assert build_named_model("kachuee2018").count_params() == build_kachuee2018().count_params()
    model = build_named_model("small", (187, 3), rr_features=3, beat_dropout=0.2)
    assert model.input_shape == [(None, 187, 3), (None, 3)] and model.get_layer("beat_dropout").rate == 0.2
    with pytest.raises(ValueError, match="'kachuee2018' is the paper's layout"):
        build_named_model("kachuee2018", rr_features=6)
    with pytest.raises(ValueError, match="Known presets: .*'small'.*Received: preset='enormous'"):
        build_named_model("enormous")
