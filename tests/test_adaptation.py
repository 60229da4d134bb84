"""ecgnet.adapt and ``python -m ecgnet adapt``: a model adapted to one patient's labelled minutes.

The fast tests use the committed WFDB excerpts (tests/fixtures); the one on a
whole record needs the Supraventricular Arrhythmia records ($ECGNET_SVDB_DIR),
which the inter-patient model never saw, and is skipped without them.
"""

import shutil

import numpy as np
import pytest

import ecgnet
from ecgnet.adaptation import HEAD_LAYER, MIN_BEATS, _fit_head, _heads, _record_inputs, _select, load_replay, predict
from ecgnet.data import DS1, DS2
from ecgnet.errors import EcgnetError
from ecgnet.metrics import evaluate_predictions
from ecgnet.pretrained_models import load_model, model_path

from conftest import assert_one_line_error

MODEL = "ecgnet-mitbih-interpatient"



@pytest.fixture(scope="module")
def shipped():
    return load_model(MODEL)


@pytest.fixture(scope="module")
def excerpt_208(shipped):
    """Inputs, labels and times of the 40-s excerpt of record 208 (N 40, V 22, F 8)."""
    from conftest import FIXTURES

    return _record_inputs(shipped, str(FIXTURES / "208_excerpt"))


def head_weights(model):
    return [w for network in _heads(model) for w in network.get_layer(HEAD_LAYER).get_weights()]


def test_adapt_changes_a_copy_and_leaves_the_shipped_model_alone(shipped, excerpt_208):
    inputs, labels, times = excerpt_208
    before = [w.copy() for w in shipped.get_weights()]
    first = times < 20.0
    adapted = ecgnet.adapt(shipped, _select(inputs, first), labels[first], replay=MODEL)
    assert adapted is not shipped
    assert all(np.array_equal(a, b) for a, b in zip(before, shipped.get_weights()))
    changed = [not np.allclose(a, b) for a, b in zip(head_weights(adapted), head_weights(shipped))]
    assert len(changed) == 6 and all(changed)  # the kernel and bias of each of the 3 members' heads
    # everything but the heads is the shipped model's
    heads = {id(w) for network in _heads(adapted) for w in network.get_layer(HEAD_LAYER).weights}
    kept = [(a, b) for a, b in zip(adapted.weights, shipped.weights) if id(a) not in heads]
    assert len(kept) == len(shipped.weights) - 6
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in kept)


def test_adapt_is_deterministic_with_a_seed(shipped, excerpt_208):
    inputs, labels, times = excerpt_208
    first = times < 20.0
    one = ecgnet.adapt(shipped, _select(inputs, first), labels[first], replay=MODEL, seed=3)
    two = ecgnet.adapt(shipped, _select(inputs, first), labels[first], replay=MODEL, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(head_weights(one), head_weights(two)))


def test_the_adapted_copy_saves_and_loads_with_the_same_predictions(shipped, excerpt_208, tmp_path):
    inputs, labels, times = excerpt_208
    first = times < 20.0
    adapted = ecgnet.adapt(shipped, _select(inputs, first), labels[first], replay=MODEL)
    adapted.save(tmp_path / "adapted.keras")
    again = load_model(tmp_path / "adapted.keras")
    np.testing.assert_allclose(predict(again, inputs), predict(adapted, inputs), atol=1e-6)


def test_the_head_solves_weighted_logistic_regression_like_scikit_learn():
    """From zero weights, the anchored head is scikit-learn's L2 logistic regression with C = 1 / anchor."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=1.0, size=400) > 0).astype(int) + (x[:, 2] > 1.0)
    y[:20] = np.arange(20) % 5  # all five classes present
    weights = rng.uniform(0.5, 2.0, size=400)
    kernel, bias = _fit_head(x, y, weights, np.zeros((6, 5)), np.zeros(5), anchor=0.1, max_iterations=2000)
    reference = LogisticRegression(C=10.0, max_iter=5000, tol=1e-10).fit(x, y, sample_weight=weights / weights.sum())
    logits = x @ kernel + bias
    ours = np.exp(logits - logits.max(1, keepdims=True))
    ours /= ours.sum(1, keepdims=True)
    np.testing.assert_allclose(ours, reference.predict_proba(x), atol=2e-3)


def test_a_strong_anchor_keeps_the_shipped_head():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(100, 4)), rng.integers(0, 5, 100)
    kernel = rng.normal(size=(4, 5))
    fitted, _ = _fit_head(x, y, np.ones(100), kernel, np.zeros(5), anchor=1e6, max_iterations=200)
    np.testing.assert_allclose(fitted, kernel, atol=1e-4)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.zeros(MIN_BEATS - 1, int), f"at least {MIN_BEATS} labelled beats"),
        (np.full(30, 7), "AAMI classes 0..4"),
        (np.zeros(31, int), "differ in length"),
    ],
)
def test_adapt_refuses_bad_labels(shipped, excerpt_208, labels, message):
    inputs, _, _ = excerpt_208
    beats = _select(inputs, slice(0, min(len(labels), 30)))
    with pytest.raises(EcgnetError, match=message):
        ecgnet.adapt(shipped, beats, labels)


@pytest.mark.parametrize(
    "option, message",
    [
        ({"anchor": float("nan")}, "anchor must be a finite number"),  # L-BFGS stopped at once: the heads as shipped
        ({"anchor": -1.0}, "anchor must be a finite number"),
        ({"tail_epochs": 1, "tail_learning_rate": float("inf")}, "tail_learning_rate must be a finite number"),
        ({"patient_share": float("nan")}, "patient_share"),
    ],
)
def test_adapt_refuses_options_that_are_not_finite(shipped, excerpt_208, option, message):
    inputs, _, _ = excerpt_208
    beats = _select(inputs, slice(0, 30))
    with pytest.raises(EcgnetError, match=message):
        ecgnet.adapt(shipped, beats, np.zeros(30, int), **option)


def test_replay_sets_hold_only_the_models_training_records():
    import json

    from ecgnet.adaptation import replay_path

    from ecgnet.pretrained_models import model_card

    for name, beat_shape, training in (("ecgnet-mitbih-interpatient", (187, 3), 22), ("ecgnet-mitbih-svdb", (88, 2), 61)):
        with np.load(replay_path(name)) as data:
            records = json.loads(str(data["records"]))
        assert not set(records) & set(DS2), name
        assert len(records) == training and set(DS1) <= set(records), name
        assert all(f"{r}," in model_card(name)["data"] or f"{r})" in model_card(name)["data"] for r in set(records) - set(DS1))
        inputs, labels = load_replay(name)
        assert set(np.unique(labels)) == {0, 1, 2, 3, 4}
        assert len(labels) == len(inputs["beat"]) == len(inputs["rr"]) and inputs["beat"].shape[1:] == beat_shape


def test_adaptation_finds_a_new_patients_s_beats(svdb, shipped):
    """svdb record 821, new to the model: after its first 5 labelled minutes the S F1 of the rest rises."""
    inputs, labels, times = _record_inputs(shipped, str(svdb / "821"))
    first, rest = times < 300, times >= 300
    assert (labels[first] == 1).sum() >= 5
    before = evaluate_predictions(labels[rest], predict(shipped, _select(inputs, rest)).argmax(1))
    adapted = ecgnet.adapt(shipped, _select(inputs, first), labels[first], replay=MODEL)
    after = evaluate_predictions(labels[rest], predict(adapted, _select(inputs, rest)).argmax(1))
    assert after["per_class"]["S"]["f1"] > before["per_class"]["S"]["f1"] + 0.1


# -- the command line ------------------------------------------------------------------------------------


def test_labels_from_a_csv_file_label_the_nearest_beats_of_the_span(fixtures_dir, tmp_path):
    from ecgnet.adaptation import span_labels
    from ecgnet.data.records import beats_from_record

    _, _, times = beats_from_record(fixtures_dir / "232_excerpt")
    chosen = np.flatnonzero(times < 28)[::2]  # every other beat of the first 28 s, 0.05 s off its R peak
    given = np.where(np.arange(len(chosen)) % 3 == 0, "S", "N")
    rows = "".join(f"{times[i] + 0.05:.3f},{label}\n" for i, label in zip(chosen, given))
    (tmp_path / "labels.csv").write_text("time_s,label\n" + rows)
    used, labels = span_labels(fixtures_dir / "232_excerpt", times, np.full(len(times), -1), 0.5,
                               tmp_path / "labels.csv", min_beats=5)
    assert np.array_equal(np.flatnonzero(used), chosen)
    assert np.array_equal(labels[chosen], np.where(given == "S", 1, 0))


def test_adapt_refuses_to_write_over_the_model_it_adapts(run_cli, fixtures_dir, tmp_path):
    model = tmp_path / "model.keras"
    shutil.copy(model_path(MODEL), model)
    before = model.read_bytes()
    result = run_cli("adapt", "--model", model, "--record", fixtures_dir / "208_excerpt", "--minutes", "0.5",
                     "--out", model)
    assert_one_line_error(result, f"--out {model}", "input")
    assert model.read_bytes() == before


def test_adapt_reads_model_as_predict_does(run_cli, fixtures_dir, tmp_path):
    """--model "" and a run folder get predict's one line (the folder: which file to name), not 'not a Keras model'."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(model_path(MODEL), run / "model.keras")
    record = fixtures_dir / "208_excerpt"
    for model, fragments in (("", ["--model", "expected a path, received ''"]), (run, ["--model", "is a folder; its model is", "model.keras"])):
        result = run_cli("adapt", "--model", model, "--record", record, "--minutes", "0.5", "--out", tmp_path / "a.keras")
        assert_one_line_error(result, *fragments)
    assert not (tmp_path / "a.keras").exists()


@pytest.mark.parametrize(
    "arguments, labels_text, fragments",
    [
        (["--minutes", "5"], None, ["--minutes 5", "lasts only 0.67 minutes"]),
        (["--minutes", "0.5"], "time_s,label\n1.0,N\n2.5,X\n", ["labels.csv: line 3, column 2 (label)", "'X'"]),
        (["--minutes", "0.5", "--out", "adapted.h5"], None, ["name a .keras file"]),
    ],
)
def test_adapt_command_errors_are_one_line(run_cli, fixtures_dir, tmp_path, arguments, labels_text, fragments):
    extra = []
    if labels_text is not None:
        (tmp_path / "labels.csv").write_text(labels_text)
        extra = ["--labels", tmp_path / "labels.csv"]
    out = [] if "--out" in arguments else ["--out", tmp_path / "a.keras"]
    result = run_cli("adapt", "--model", MODEL, "--record", fixtures_dir / "208_excerpt", *arguments, *extra, *out)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "a.keras").exists()


@pytest.mark.parametrize(
    "minutes, labels_text, fragments",
    [
        (0.1, None, ["in the first 0.1 minutes", f"at least {MIN_BEATS}"]),
        (0.5, "time_s,label\n1.0,N\nsoon,V\n", ["line 3, column 1 (time_s)", "'soon'"]),
        (0.5, "time_s,label\n1.0,N\n-2,V\n", ["line 3, column 1 (time_s)", "'-2'"]),
        (0.5, "seconds,label\n1.0,N\n", ["line 1", "no column time_s"]),
        (0.5, "time_s,label\n1.0,N,extra\n", ["line 2", "3 fields"]),
        (0.5, "time_s,label\n35.0,N\n", ["line 2, column time_s", "after the first 0.5 minutes"]),
        (0.5, "time_s,label\n1.5,N\n", ["line 2, column time_s", "no beat of", "within 0.15 s of 1.5 s"]),
    ],
)
def test_the_labelled_span_is_checked(fixtures_dir, tmp_path, minutes, labels_text, fragments):
    from ecgnet.adaptation import span_labels
    from ecgnet.data.records import beats_from_record
    from ecgnet.errors import DataFormatError

    beats, _, times = beats_from_record(fixtures_dir / "208_excerpt")
    labels_file = None
    if labels_text is not None:
        labels_file = tmp_path / "labels.csv"
        labels_file.write_text(labels_text)
    with pytest.raises(DataFormatError) as error:
        span_labels(fixtures_dir / "208_excerpt", times, beats.y.astype(int), minutes, labels_file)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_adapt_command_needs_annotations_in_the_span(run_cli, fixtures_dir, tmp_path):
    import shutil

    for suffix in (".hea", ".dat"):  # the record without its reference annotations
        shutil.copy(fixtures_dir / f"208_excerpt{suffix}", tmp_path / f"208_excerpt{suffix}")
    result = run_cli("adapt", "--model", MODEL, "--record", tmp_path / "208_excerpt", "--out", tmp_path / "a.keras",
                     "--minutes", "0.5")
    assert_one_line_error(result, "no annotated beat in the first 0.5 minutes", "--labels")


def test_predict_adapts_to_the_first_minutes_and_marks_those_beats(run_cli, fixtures_dir, tmp_path):
    import pandas as pd

    result = run_cli("predict", "--model", MODEL, "--record", fixtures_dir / "208_excerpt", "--adapt-minutes", "0.5",
                     "--out", tmp_path / "beats.csv")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "beats.csv", keep_default_na=False)
    assert list(table.columns[:3]) == ["time_s", "predicted", "confidence"]
    assert (table["adaptation"] == "yes").tolist() == (table["time_s"] < 30).tolist()
