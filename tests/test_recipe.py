"""Tests for the input recipe: the ecgnet.recipe value, the InputRecipe layer that keeps it, and model_inputs."""

import json
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from ecgnet.data import BEAT_LENGTH, CENTRED_LENGTH, RR_FEATURE_SETS, beats_from_record, model_inputs, sample_dir
from ecgnet.ensembles import build_ensemble
from ecgnet.errors import DataFormatError, EcgnetError, ModelFileError
from ecgnet.layers import InputRecipe, all_sublayers
from ecgnet.recipe import RR_FEATURE_NAMES
from ecgnet.models import build_ecgnet, build_kachuee2018, build_named_model
from ecgnet.pretrained_models import WEIGHTS_DIR, available, load_model, pretrained
from ecgnet.recipe import InputRecipe as Recipe



def input_recipe(model):
    """The recipe of ``model`` as a dict, to compare with the expected ones below."""
    return Recipe.from_model(model).to_config()


SAMPLE = sample_dir()
# A tiny configuration so that tests stay fast.
TINY = dict(stem_filters=8, stage_filters=(8, 16), stage_blocks=(1, 1), groups=4)


def _recipe_layers(model):
    return [layer for layer in all_sublayers(model) if isinstance(layer, InputRecipe)]


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


def test_inputs_outside_the_data_recipes_get_no_layer_and_are_refused_as_a_recipe():
    model = build_ecgnet("small", rr_features=4, **TINY)
    assert _recipe_layers(model) == []
    with pytest.raises(ModelFileError, match=r"'rr_features': 4\} are no input recipe of ecgnet .*Received: rr_features=4"):
        Recipe.from_model(model)


def test_a_model_whose_inputs_come_in_the_other_order_is_told_so():
    import keras

    rr, beat = keras.Input((6,), name="rr"), keras.Input((187, 1), name="beat")
    pooled = keras.layers.GlobalAveragePooling1D()(beat)
    output = keras.layers.Dense(5, activation="softmax")(keras.layers.Concatenate()([pooled, rr]))
    model = keras.Model([rr, beat], output, name="swapped")
    with pytest.raises(ModelFileError, match=r"inputs look swapped: the first \('rr', shape \(6,\)\) holds features"):
        Recipe.from_model(model)


def _train_options(card):
    """The recipe that the card's `python -m ecgnet train` options (the shorthand flags) ask for, or None."""
    command = card["train_command"].split(" && ")[0]
    if "ecgnet train" not in command:
        return None
    uses_rr = "--rr " in command or ("--split inter-patient" in command and "--no-rr" not in command)
    rr_name = re.search(r"--rr-features (\w+)", command)
    return Recipe.from_flags(
        window=re.search(r"--window (\w+)", command).group(1) if "--window" in command else "kachuee",
        relative="--relative" in command, previous_beat="--previous-beat" in command, second_lead="--second-lead" in command,
        rr_features=(rr_name.group(1) if rr_name else "all") if uses_rr else None,
    )


@pytest.mark.parametrize("name", available())
def test_shipped_models_recipes_are_their_cards_recipes(name):
    """Models shipped before the InputRecipe layer have none and are read from their shapes; later ones keep it."""
    card = json.loads((WEIGHTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    model = pretrained(name)
    if name in ("ecgnet-mitbih", "ecgnet-mitbih-interpatient"):
        assert _recipe_layers(model) == []
    else:
        assert _recipe_layers(model)
    recipe = Recipe.from_model(model)
    assert card["recipe"] == recipe.to_config()
    assert Recipe.from_config(card["recipe"]) == recipe
    assert recipe.beat_shape == tuple(model.inputs[0].shape[1:])
    assert recipe.input_names == tuple(tensor.name.split(":")[0] for tensor in model.inputs)
    assert _train_options(card) in (None, recipe)
    if name == "ecgnet-mitbih-svdb":  # its card's prose was written from the same registries
        assert card["inputs"] == recipe.describe()


def _plain_model(beat_channels, rr_width):
    """A model with the same inputs as build_ecgnet's but no InputRecipe layer (an older file)."""
    beat = keras.Input((187, beat_channels), name="beat")
    rr = keras.Input((rr_width,), name="rr")
    features = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(beat), rr])
    return keras.Model([beat, rr], keras.layers.Dense(5, activation="softmax")(features))


@pytest.mark.parametrize("beat_channels, rr_width", [(3, 3), (6, 5), (1, 6)])
def test_model_inputs_are_the_same_with_and_without_the_layer(fixtures_dir, beat_channels, rr_width):
    part = beats_from_record(fixtures_dir / "208_excerpt", second_lead=True).beats
    with_layer = build_ecgnet("small", input_shape=(187, beat_channels), rr_features=rr_width, **TINY)
    without = _plain_model(beat_channels, rr_width)
    assert len(_recipe_layers(with_layer)) == 1 and _recipe_layers(without) == []
    keep = part.y == 2  # the V beats, after the channels were built from the whole record
    for index in (None, keep):
        a, b = model_inputs(with_layer, part, index), model_inputs(without, part, index)
        assert sorted(a) == sorted(b) == ["beat", "rr"]
        assert a["beat"].shape == (len(part) if index is None else keep.sum(), 187, beat_channels)
        assert a["rr"].shape[1] == rr_width
        np.testing.assert_array_equal(a["beat"], b["beat"])
        np.testing.assert_array_equal(a["rr"], b["rr"])
        # Channel 1 is always the beat itself.
        np.testing.assert_array_equal(a["beat"][..., 0], part.x if index is None else part.x[keep])


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


# -- the recipe value (ecgnet.recipe) ---------------------------------------------------------------------

#: Text forms and the recipes they name: the three shipped models' and the widest one.
TEXTS = {
    "kachuee:beat": Recipe("kachuee", 1, None),
    "kachuee:beat+rr=all": Recipe("kachuee", 1, 6),
    "kachuee:beat,relative,previous+rr=relative": Recipe("kachuee", 3, 3),
    "centred:beat,relative+rr=relative": Recipe("centred", 2, 3),
    "kachuee:beat,relative,previous,lead2,lead2-relative,lead2-previous+rr=rhythm": Recipe("kachuee", 6, 5),
}


def test_importing_the_recipe_module_loads_neither_tensorflow_nor_keras():
    code = ("import sys, ecgnet.recipe as r; r.InputRecipe.parse('kachuee:beat+rr=all'); "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("text", TEXTS)
def test_text_config_and_layer_forms_round_trip(text):
    recipe = Recipe.parse(text)
    assert recipe == TEXTS[text] and hash(recipe) == hash(TEXTS[text])
    assert str(recipe) == text
    assert Recipe.parse(" ".join(text)) == recipe  # spaces are ignored
    config = json.loads(json.dumps(recipe.to_config()))
    assert config == {"window": recipe.window, "beat_channels": recipe.beat_channels, "rr_features": recipe.rr_features}
    assert Recipe.from_config(config) == recipe
    layer = InputRecipe.from_recipe(recipe, name="input_recipe")
    assert layer.recipe == recipe
    assert Recipe.from_config(InputRecipe.from_config(layer.get_config()).get_config()) == recipe
    assert recipe.channel_names == tuple(text.split(":")[1].split("+")[0].split(","))
    assert recipe.beat_shape == ({"kachuee": BEAT_LENGTH, "centred": CENTRED_LENGTH}[recipe.window], recipe.beat_channels)


def test_a_recipe_is_immutable_and_a_config_without_window_is_kachuee():
    recipe = Recipe.parse("kachuee:beat,relative")
    with pytest.raises(AttributeError):
        recipe.beat_channels = 3
    assert Recipe.from_config({"beat_channels": 2, "rr_features": None, "name": "input_recipe"}) == recipe


@pytest.mark.parametrize(
    "text, message",
    [
        ("kachuee", "no ':' after the window"),
        ("middle:beat", "unknown window 'middle'; windows: kachuee, centred"),
        ("kachuee:", "no beat channels after 'kachuee:'"),
        ("kachuee:beat,previous", "channel 2 is 'previous', but a model takes the first channels .* so channel 2 is 'relative'"),
        ("kachuee:beat,relative,beat", "channel 'beat' is named twice"),
        ("centred:beat,relative,previous", "unknown channel 'previous' of the centred window; its channels are beat, relative"),
        ("kachuee:beat+rr=local", "unknown R-R feature set 'local'; sets: all, relative, rhythm"),
        ("kachuee:beat+rhythm", r"expected '\+rr=SET' after the channels, found '\+rhythm'"),
    ],
)
def test_bad_text_is_refused_naming_the_bad_part(text, message):
    with pytest.raises(EcgnetError, match=re.escape(f"recipe {text!r}: ") + message):
        Recipe.parse(text)


@pytest.mark.parametrize(
    "flags, text",
    [
        (dict(), "kachuee:beat"),
        (dict(rr_features="all"), "kachuee:beat+rr=all"),
        (dict(relative=True, previous_beat=True, rr_features="relative"), "kachuee:beat,relative,previous+rr=relative"),
        (dict(relative=True, previous_beat=True, second_lead=True, rr_features=5),
         "kachuee:beat,relative,previous,lead2,lead2-relative,lead2-previous+rr=rhythm"),
        (dict(window="centred", relative=True, rr_features="relative"), "centred:beat,relative+rr=relative"),
    ],
)
def test_the_shorthand_flags_name_the_same_recipes_as_the_text(flags, text):
    assert Recipe.from_flags(**flags) == Recipe.parse(text)


@pytest.mark.parametrize(
    "flags, message",
    [
        (dict(previous_beat=True), "--previous-beat adds channels after those of --relative"),
        (dict(relative=True, second_lead=True), "--second-lead adds channels after those of --previous-beat"),
        (dict(window="centred", relative=True, previous_beat=True), "the centred window has 2 channels"),
    ],
)
def test_flags_that_name_no_recipe_are_refused(flags, message):
    with pytest.raises(EcgnetError, match=message):
        Recipe.from_flags(**flags)


def test_inputs_from_beats_match_a_reference_built_by_hand(fixtures_dir):
    found = beats_from_record(fixtures_dir / "208_excerpt", second_lead=True)
    beats = found.beats
    recipe = Recipe.parse("kachuee:beat,relative,previous,lead2,lead2-relative,lead2-previous+rr=relative")
    inputs = recipe.inputs(beats)
    assert sorted(inputs) == ["beat", "rr"]
    n = len(beats)
    beat, rr = inputs["beat"], inputs["rr"]
    assert beat.shape == (n, BEAT_LENGTH, 6) and beat.dtype == np.float32 and rr.shape == (n, 3)
    # the reference: one record of consecutive beats, so the previous beat is the one before, zeros for the first
    for lead, first in ((beats.x, 0), (beats.second_lead, 3)):
        np.testing.assert_array_equal(beat[..., first], lead)
        np.testing.assert_allclose(beat[..., first + 1], lead - np.median(lead, axis=0), atol=1e-6)
        np.testing.assert_array_equal(beat[1:, :, first + 2], lead[:-1])
        np.testing.assert_array_equal(beat[0, :, first + 2], 0)
    np.testing.assert_allclose(rr, beats.rr / beats.rr[:, 0].mean(), rtol=1e-5)
    # the R-R features are computed when asked, not stored: the 3 intervals and the 3 relative ones
    np.testing.assert_array_equal(beats.rr_features()[:, :3], beats.rr)
    np.testing.assert_allclose(beats.rr_features()[:, 3:], rr, rtol=1e-6)
    # an index keeps those beats of the inputs built from all of them
    keep = beats.y == 2
    picked = recipe.inputs(beats, index=keep)
    np.testing.assert_array_equal(picked["beat"], beat[keep])
    np.testing.assert_array_equal(picked["rr"], rr[keep])


def test_inputs_name_what_the_beats_lack(fixtures_dir):
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    with pytest.raises(DataFormatError, match="beat channels 4 to 6 are the record's second lead"):
        Recipe("kachuee", 4).inputs(beats)
    assert Recipe("kachuee", 1).inputs(beats)["beat"].shape == (len(beats), BEAT_LENGTH, 1)


def test_window_lengths_are_those_the_data_code_cuts(fixtures_dir):
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    assert Recipe("kachuee", 1).inputs(beats)["beat"].shape[1] == Recipe("kachuee").steps == BEAT_LENGTH
    assert Recipe("centred", 1).inputs(beats)["beat"].shape[1] == Recipe("centred").steps == CENTRED_LENGTH


# -- python -m ecgnet train --recipe ---------------------------------------------------------------------


def test_train_with_a_recipe_builds_and_records_that_recipe(tmp_path, run_cli):
    run = tmp_path / "run"
    result = run_cli("train", "--data", SAMPLE, "--split", "kaggle", "--recipe", "kachuee:beat,relative+rr=relative",
                     "--epochs", "1", "--batch-size", "256", "--no-augment", "--out", run)
    assert result.returncode == 0, result.stderr
    card = json.loads((run / "training.json").read_text(encoding="utf-8"))
    assert card["recipe"] == {"window": "kachuee", "beat_channels": 2, "rr_features": 3}
    assert (card["window"], card["relative"], card["previous_beat"], card["rr_features"]) == ("kachuee", True, False, 3)
    assert Recipe.from_model(load_model(run / "model.keras")) == Recipe.parse("kachuee:beat,relative+rr=relative")


@pytest.mark.parametrize(
    "options, fragments",
    [
        (["--recipe", "kachuee:beat,previous"], ["argument --recipe: recipe 'kachuee:beat,previous': channel 2 is 'previous'"]),
        (["--recipe", "kachuee:beat", "--relative", "--rr"], ["--recipe kachuee:beat says what the model reads; drop --relative, --rr"]),
        (["--recipe", "kachuee:beat", "--beat-dropout", "0.2"], ["--beat-dropout", "needs --rr", "kachuee:beat has none"]),
    ],
)
def test_train_refuses_a_bad_recipe_in_one_line(tmp_path, run_cli, options, fragments):
    result = run_cli("train", "--data", SAMPLE, "--split", "kaggle", *options, "--out", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert all(fragment in last for fragment in fragments), last
    assert not (tmp_path / "run").exists()


def test_train_options_name_the_recipe_of_its_text_form():
    """`train`'s shorthand options and --recipe name the same values; R-R features by default only inter-patient."""
    options = dict(relative=True, previous_beat=True, rr_features="relative")
    assert Recipe.from_train_options(split="inter-patient", **options) == Recipe.parse("kachuee:beat,relative,previous+rr=relative")
    assert Recipe.from_train_options(split="kaggle") == Recipe.parse("kachuee:beat")
    assert Recipe.from_train_options(split="kaggle", window="centred", relative=True, rr=True) == Recipe("centred", 2, 6)
    with pytest.raises(EcgnetError, match="drop --window, --rr, or drop --recipe"):
        Recipe.from_train_options(Recipe.parse("kachuee:beat"), window="centred", rr=False)
    with pytest.raises(EcgnetError, match="--previous-beat adds the third beat channel"):
        Recipe.from_train_options(previous_beat=True)


def _dense_on(shape, name="hand_built"):
    """A one-layer classifier on a beat input of ``shape``; flattened (pooled, for a length of None) first."""
    keras.utils.set_random_seed(3)
    beat = keras.Input(shape, name="beat")
    if None in shape:
        flat = keras.layers.GlobalAveragePooling1D()(beat)
    else:
        flat = keras.layers.Flatten()(beat) if len(shape) > 1 else beat
    return keras.Model(beat, keras.layers.Dense(5, activation="softmax", name="dense")(flat), name=name)


def test_a_beat_input_without_the_channel_axis_reads_the_same_beat(tmp_path):
    """keras.Input((187,)) is the one-channel beat without its channel axis: the same probabilities as on (187, 1)."""
    from ecgnet.data import load_part
    from ecgnet.prediction import predict_beats

    flat, channel = _dense_on((BEAT_LENGTH,)), _dense_on((BEAT_LENGTH, 1))
    channel.get_layer("dense").set_weights(flat.get_layer("dense").get_weights())
    sequential = keras.Sequential([keras.Input((BEAT_LENGTH,)), keras.layers.Dense(5, activation="softmax")])
    sequential.layers[-1].set_weights(flat.get_layer("dense").get_weights())
    assert Recipe.from_model(flat) == Recipe.from_model(sequential) == Recipe.from_model(channel) == Recipe("kachuee", 1)
    part = load_part(SAMPLE, "test")
    assert model_inputs(flat, part).shape == (len(part), BEAT_LENGTH)
    np.testing.assert_array_equal(model_inputs(flat, part), part.x)  # the beat itself, squeezed
    for model in (flat, sequential):
        model.save(tmp_path / "flat.keras")
        got = predict_beats(load_model(tmp_path / "flat.keras"), part)
        expected = predict_beats(channel, part)
        assert list(got["predicted"]) == list(expected["predicted"])
        np.testing.assert_allclose(got["confidence"], expected["confidence"], rtol=1e-6)
        # An independent reference: softmax of the dense layer by numpy.
        kernel, bias = flat.get_layer("dense").get_weights()
        logits = part.x @ kernel + bias
        reference = np.exp(logits - logits.max(axis=1, keepdims=True))
        np.testing.assert_allclose(got["confidence"], (reference / reference.sum(axis=1, keepdims=True)).max(axis=1), rtol=1e-4)
    centred = _dense_on((CENTRED_LENGTH,))
    assert Recipe.from_model(centred) == Recipe("centred", 1)


@pytest.mark.parametrize(
    "build, fragments",
    [
        (lambda: _dense_on((None, 1)), ["beat input ('beat') has shape (None, 1): its length is not fixed",
                                         "187 (kachuee) or 88 (centred)"]),
        (lambda: _dense_on((1, BEAT_LENGTH)), ["has shape (1, 187): channels first?", "keras.Input((187, 1))"]),
        (lambda: _dense_on((BEAT_LENGTH, 1, 1)), ["has shape (187, 1, 1), but ecgnet feeds a beat as (steps, channels)"]),
        (lambda: _dense_on((180,)), ["has shape (180,), but ecgnet's beat windows are 187 (kachuee) or 88 (centred)"]),
        (lambda: _three_inputs(), ["it takes 3 inputs ('beat' of shape (187, 1), 'rr' of shape (3,), 'extra' of shape (3,))",
                                   "at most a second input, the R-R features"]),
        (lambda: _two_beats(), ["its second input ('other') has shape (187, 1), but ecgnet's second input is a vector"]),
    ],
    ids=["no-fixed-length", "channels-first", "rank-4", "flat-180", "three-inputs", "two-beat-inputs"],
)
def test_inputs_no_recipe_makes_are_refused_naming_the_file_input_and_shape(tmp_path, build, fragments):
    model = build()
    with pytest.raises(ModelFileError) as caught:
        Recipe.from_model(model)
    assert str(caught.value).startswith("model 'hand_built': ")
    model.save(tmp_path / "odd.keras")
    with pytest.raises(ModelFileError) as caught:
        load_model(tmp_path / "odd.keras")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'odd.keras'}: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def _three_inputs():
    beat, rr, extra = keras.Input((BEAT_LENGTH, 1), name="beat"), keras.Input((3,), name="rr"), keras.Input((3,), name="extra")
    features = keras.layers.Concatenate()([keras.layers.Flatten()(beat), rr, extra])
    return keras.Model([beat, rr, extra], keras.layers.Dense(5, activation="softmax")(features), name="hand_built")


def _two_beats():
    beat, other = keras.Input((BEAT_LENGTH, 1), name="beat"), keras.Input((BEAT_LENGTH, 1), name="other")
    features = keras.layers.Concatenate()([keras.layers.Flatten()(beat), keras.layers.Flatten()(other)])
    return keras.Model([beat, other], keras.layers.Dense(5, activation="softmax")(features), name="hand_built")


def test_predict_and_evaluate_with_a_three_input_model_give_one_line(tmp_path, run_cli, fixtures_dir):
    """It was a Keras traceback (`Missing data for input ...`) on a record and on prepared beats."""
    from conftest import assert_one_line_error

    _three_inputs().save(tmp_path / "three.keras")
    for args in (["predict", "--record", fixtures_dir / "208_excerpt"], ["evaluate", "--data", SAMPLE, "--out", tmp_path / "report"]):
        assert_one_line_error(run_cli(*args, "--model", tmp_path / "three.keras"), f"{tmp_path / 'three.keras'}: it takes 3 inputs")
    assert not (tmp_path / "report").exists()
