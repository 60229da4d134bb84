"""Tests for the input recipe: the InputRecipe layer, ecgnet.models.input_recipe and model_inputs."""

import json
import re

import keras
import numpy as np
import pytest

from ecgnet.data import RR_FEATURE_SETS, beats_from_record, model_inputs, part_from_beats
from ecgnet.ensembles import build_ensemble
from ecgnet.errors import ModelFileError
from ecgnet.layers import RR_FEATURE_NAMES, InputRecipe
from ecgnet.models import build_ecgnet, build_kachuee2018, build_named_model, input_recipe
from ecgnet.pretrained_models import WEIGHTS_DIR, available, load_model, pretrained

# A tiny configuration so that tests stay fast.
TINY = dict(stem_filters=8, stage_filters=(8, 16), stage_blocks=(1, 1), groups=4)


def _recipe_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, InputRecipe)]


def test_rr_feature_names_are_the_names_of_the_data_feature_sets():
    # Each description in ecgnet.data.RR_FEATURE_SETS starts with its set's name.
    assert {name: RR_FEATURE_SETS[width].split(":")[0] for name, width in RR_FEATURE_NAMES.items()} == {
        name: name for name in RR_FEATURE_NAMES
    }


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(beat_channels=1), {"beat_channels": 1, "rr_features": None, "window": "kachuee"}),
        (dict(beat_channels=3, rr_features="relative"), {"beat_channels": 3, "rr_features": 3, "window": "kachuee"}),
        (dict(beat_channels=6, rr_features="rhythm"), {"beat_channels": 6, "rr_features": 5, "window": "kachuee"}),
        (dict(beat_channels=np.int64(2), rr_features=6), {"beat_channels": 2, "rr_features": 6, "window": "kachuee"}),
        (dict(beat_channels=1, rr_features="all"), {"beat_channels": 1, "rr_features": 6, "window": "kachuee"}),
    ],
)
def test_layer_config_round_trip_and_identity(kwargs, expected):
    layer = InputRecipe(name="input_recipe", **kwargs)
    config = layer.get_config()
    assert {key: config[key] for key in expected} == expected
    assert type(config["beat_channels"]) is int
    again = InputRecipe.from_config(config)
    assert again.get_config() == config
    x = np.random.default_rng(0).standard_normal((4, 187, expected["beat_channels"])).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    assert layer.weights == [] and layer.count_params() == 0


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(beat_channels=0), "beat_channels=0"),
        (dict(beat_channels=7), "beat_channels=7"),
        (dict(beat_channels=True), "beat_channels=True"),
        (dict(beat_channels=2.0), "beat_channels=2.0"),
        (dict(beat_channels="3"), "beat_channels='3'"),
        (dict(beat_channels=1, rr_features=4), "rr_features=4"),
        (dict(beat_channels=1, rr_features=0), "rr_features=0"),
        (dict(beat_channels=1, rr_features="local"), "rr_features='local'"),
        (dict(beat_channels=1, rr_features=True), "rr_features=True"),
    ],
)
def test_bad_values_raise_value_error_naming_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=re.escape(f"Received: {argument}")):
        InputRecipe(**kwargs)


def test_layer_refuses_beats_with_other_channels():
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        InputRecipe(beat_channels=3)(keras.Input((187, 1)))


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: build_kachuee2018(), {"beat_channels": 1, "rr_features": None, "window": "kachuee"}),
        (lambda: build_ecgnet("small", **TINY), {"beat_channels": 1, "rr_features": None, "window": "kachuee"}),
        (lambda: build_ecgnet("small", rr_features=6, **TINY), {"beat_channels": 1, "rr_features": 6, "window": "kachuee"}),
        (lambda: build_named_model("small", (187, 3), rr_features=3, **TINY), {"beat_channels": 3, "rr_features": 3, "window": "kachuee"}),
        (lambda: build_named_model("large", (187, 6), rr_features=5, **TINY), {"beat_channels": 6, "rr_features": 5, "window": "kachuee"}),
    ],
)
def test_built_models_keep_the_recipe_asked_for_through_a_keras_file(build, expected, tmp_path):
    model = build()
    layers = _recipe_layers(model)
    assert len(layers) == 1 and layers[0].name == "input_recipe"
    # beat -> input_recipe -> stem: the first layer after the input.
    assert model.layers[1] is layers[0]
    assert input_recipe(model) == expected
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert [layer.get_config()["beat_channels"] for layer in _recipe_layers(loaded)] == [expected["beat_channels"]]
    assert input_recipe(loaded) == expected


def test_inputs_outside_the_data_recipes_get_no_layer_and_are_read_from_shapes():
    model = build_ecgnet("small", rr_features=4, **TINY)
    assert _recipe_layers(model) == []
    assert input_recipe(model) == {"beat_channels": 1, "rr_features": 4, "window": "kachuee"}


def _card_recipe(card):
    beat = re.match(r"beat(?: channels)? \((\d+), (\d)\)(?:, the (\w+) window)?", card["inputs"][0])
    rr = [int(text.split()[0]) for text in card["inputs"][1:] if "R-R features" in text]
    window = beat.group(3) or "kachuee"
    assert int(beat.group(1)) == {"kachuee": 187, "centred": 88}[window]
    return {"beat_channels": int(beat.group(2)), "rr_features": rr[0] if rr else None, "window": window}


@pytest.mark.parametrize("name", available())
def test_shipped_models_recipes_are_their_cards_inputs(name):
    """Models shipped before the InputRecipe layer have none and are read from their shapes; later ones keep it."""
    card = json.loads((WEIGHTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    model = pretrained(name)
    if name in ("ecgnet-mitbih", "ecgnet-mitbih-interpatient"):
        assert _recipe_layers(model) == []
    else:
        assert _recipe_layers(model)
    assert input_recipe(model) == _card_recipe(card)


def _plain_model(beat_channels, rr_width):
    """A model with the same inputs as build_ecgnet's but no InputRecipe layer (an older file)."""
    beat = keras.Input((187, beat_channels), name="beat")
    rr = keras.Input((rr_width,), name="rr")
    features = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(beat), rr])
    return keras.Model([beat, rr], keras.layers.Dense(5, activation="softmax")(features))


@pytest.mark.parametrize("beat_channels, rr_width", [(3, 3), (6, 5), (1, 6)])
def test_model_inputs_are_the_same_with_and_without_the_layer(fixtures_dir, beat_channels, rr_width):
    part = part_from_beats(beats_from_record(fixtures_dir / "208_excerpt", second_lead=True).beats, source="208_excerpt")
    with_layer = build_ecgnet("small", input_shape=(187, beat_channels), rr_features=rr_width, **TINY)
    without = _plain_model(beat_channels, rr_width)
    assert len(_recipe_layers(with_layer)) == 1 and _recipe_layers(without) == []
    keep = part["y"] == 2  # the V beats, after the channels were built from the whole record
    for index in (None, keep):
        a, b = model_inputs(with_layer, part, index), model_inputs(without, part, index)
        assert sorted(a) == sorted(b) == ["beat", "rr"]
        assert a["beat"].shape == (len(part["y"]) if index is None else keep.sum(), 187, beat_channels)
        assert a["rr"].shape[1] == rr_width
        np.testing.assert_array_equal(a["beat"], b["beat"])
        np.testing.assert_array_equal(a["rr"], b["rr"])
        # Channel 1 is always the beat itself.
        np.testing.assert_array_equal(a["beat"][..., 0], part["x"][..., 0] if index is None else part["x"][keep, :, 0])


def _lying_member(recipe_rr, rr_width=6):
    beat = keras.Input((187, 1), name="beat")
    rr = keras.Input((rr_width,), name="rr")
    x = InputRecipe(beat_channels=1, rr_features=recipe_rr, name="input_recipe")(beat)
    features = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(x), rr])
    return keras.Model([beat, rr], keras.layers.Dense(5, activation="softmax")(features), name="lying")


def test_a_recipe_that_contradicts_the_inputs_is_refused():
    with pytest.raises(ModelFileError, match=r"model 'lying': its InputRecipe layers say .*'rr_features': 3.* but its inputs give .*'rr_features': 6"):
        input_recipe(_lying_member(3))
    honest = _lying_member(6)
    assert input_recipe(honest) == {"beat_channels": 1, "rr_features": 6, "window": "kachuee"}
    with pytest.raises(ValueError, match="InputRecipe layers say"):
        build_ensemble([honest, _lying_member(3)])


def test_ensemble_keeps_its_members_recipe_through_a_keras_file(tmp_path):
    members = [build_ecgnet("small", input_shape=(187, 3), rr_features=3, **TINY) for _ in range(2)]
    ensemble = build_ensemble(members)
    assert len(_recipe_layers(ensemble)) == 2
    assert input_recipe(ensemble) == {"beat_channels": 3, "rr_features": 3, "window": "kachuee"}
    ensemble.save(tmp_path / "ensemble.keras")
    loaded = load_model(tmp_path / "ensemble.keras")
    assert len(_recipe_layers(loaded)) == 2
    assert input_recipe(loaded) == {"beat_channels": 3, "rr_features": 3, "window": "kachuee"}
