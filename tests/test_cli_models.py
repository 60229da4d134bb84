"""The model commands (`train`, `ensemble`, `evaluate`, `predict`) and safe model loading.

Tiny Keras models stand in for trained ones; the data is the committed real
sample (ecgnet/data/sample) and the real WFDB excerpts in tests/fixtures. The
commands run as a user runs them, ``python -m ecgnet ...`` in a subprocess
(the ``run_cli`` fixture); each such run loads TensorFlow afresh, so one run
carries several checks where it can.
"""

import json

import keras
import numpy as np
import pytest

from ecgnet.data import CLASS_NAMES, load_mitbih_csv, sample_dir
from ecgnet.errors import DataFormatError, EcgnetError, ModelFileError
from ecgnet.pretrained_models import available, load_model, pretrained

from conftest import assert_one_line_error, tiny_model

SAMPLE = sample_dir()



@pytest.fixture
def tiny_model_file(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_model().save(path)
    return path



def test_evaluate_writes_report_matching_numpy(tmp_path, run_cli, tiny_model_file):
    out = tmp_path / "report"
    result = run_cli("evaluate", "--model", tiny_model_file, "--data", SAMPLE, "--out", out)
    assert result.returncode == 0, result.stderr
    x, y = load_mitbih_csv(SAMPLE / "mitbih_test.csv.gz")
    y_pred = keras.saving.load_model(tiny_model_file).predict(x, verbose=0).argmax(axis=1)
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"] == pytest.approx(np.mean(y_pred == y))
    assert np.asarray(report["confusion_matrix"]).sum() == len(y) == 750
    assert (out / "report.md").exists() and (out / "confusion_matrix.png").stat().st_size > 1000
    assert "macro" in result.stdout.lower()


def test_predict_csv_writes_one_row_per_beat(tmp_path, run_cli, tiny_model_file):
    out = tmp_path / "predictions.csv"
    result = run_cli("predict", "--model", tiny_model_file, "--beats", SAMPLE / "mitbih_test.csv.gz", "--out", out)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].split(",")[:3] == ["beat", "predicted", "confidence"]
    assert len(lines) == 1 + 750
    assert {line.split(",")[1] for line in lines[1:]} <= set(CLASS_NAMES)
    x, _ = load_mitbih_csv(SAMPLE / "mitbih_test.csv.gz")
    expected = keras.saving.load_model(tiny_model_file).predict(x, verbose=0).argmax(axis=1)
    assert [line.split(",")[1] for line in lines[1:]] == [CLASS_NAMES[i] for i in expected]
    assert "750 beats read" in result.stdout


def test_predict_record_reads_annotations_and_the_second_lead(tmp_path, run_cli, fixtures_dir):
    """A six-channel model with R-R features labels a two-lead record, one row per annotated beat."""
    from ecgnet.data import beats_from_record

    path = tmp_path / "six.keras"
    tiny_model(channels=6, rr_features=3).save(path)
    out = tmp_path / "beats.csv"
    result = run_cli("predict", "--model", path, "--record", fixtures_dir / "208_excerpt", "--out", out)
    assert result.returncode == 0, result.stderr
    beats = beats_from_record(fixtures_dir / "208_excerpt", second_lead=True).beats
    assert f"{len(beats)} beats in" in result.stdout and "reference annotations" in result.stdout
    header, *rows = out.read_text().splitlines()
    assert header.split(",")[0] == "time_s" and len(rows) == len(beats)
    times = [float(row.split(",")[0]) for row in rows]
    assert times == sorted(times) and 0 <= times[0] and times[-1] <= 40


@pytest.mark.parametrize(
    "make_file, message",
    [
        (lambda tmp: tmp / "missing.keras", "no such model file"),
        (lambda tmp: (tmp / "notes.keras").write_text("not a model") and tmp / "notes.keras", "not a Keras model file"),
        (lambda tmp: (tmp / "model.h5").write_bytes(b"\x89HDF") and tmp / "model.h5", "not a Keras model file"),
    ],
    ids=["missing", "text-file", "wrong-suffix"],
)
def test_bad_model_files_give_one_clear_line(tmp_path, run_cli, make_file, message):
    path = make_file(tmp_path)
    assert_one_line_error(run_cli("evaluate", "--model", path, "--data", SAMPLE), message, str(path))


def test_data_of_the_wrong_shape_is_named():
    from ecgnet.data import load_part, model_inputs

    with pytest.raises(DataFormatError, match=r"mitbih_test.*beats of shape \(187, 1\), but the model expects \(100, 1\)"):
        model_inputs(tiny_model(steps=100), load_part(SAMPLE, "test"))


def test_rr_model_on_csv_explains_what_is_missing():
    from ecgnet.data import load_part, model_inputs

    with pytest.raises(DataFormatError, match="R-R features.*prepare"):
        model_inputs(tiny_model(rr_features=6), load_part(SAMPLE / "mitbih_test.csv.gz", "test"))


def test_missing_data_folder_is_named(tmp_path, run_cli, tiny_model_file):
    result = run_cli("evaluate", "--model", tiny_model_file, "--data", tmp_path / "nowhere")
    assert_one_line_error(result, "nowhere", "no such file or folder")


def test_unknown_pretrained_name_lists_the_known_ones():
    with pytest.raises(ModelFileError, match="unknown pretrained model 'ecgnet-imaginary'"):
        pretrained("ecgnet-imaginary")


@pytest.mark.parametrize("name", available())
def test_shipped_models_classify_real_beats_they_never_saw(name, fixtures_dir):
    """Every shipped model loads in safe mode and labels real beats it never saw.

    The sample's test beats come from the test side of the kaggle split, so the
    kaggle-split model never saw them. The inter-patient model (trained on DS1)
    takes whole records (each beat's predecessor, the record's median beat),
    which the sample's random beats are not: it labels the first minute of
    record 233, a DS2 patient with many ventricular beats.
    """
    from ecgnet.data import DS2, beats_from_record, load_part, model_inputs

    model = load_model(name)
    if len(model.inputs) == 2:
        assert "233" in DS2
        part = beats_from_record(fixtures_dir / "233_excerpt").beats
        margin = 0.10
    else:
        part = load_part(SAMPLE / "mitbih_test.npz", "test")
        margin = 0.20  # new beats of known patients are far easier than new patients (see the model cards)
    predicted = model.predict(model_inputs(model, part), verbose=0).argmax(axis=1)
    accuracy = np.mean(predicted == part.y)
    always_normal = np.mean(part.y == 0)  # the sample is enriched for S, V, F, Q: about 0.7; 233: about 0.7
    assert accuracy > always_normal + margin, f"{name}: accuracy {accuracy:.3f}, always-N {always_normal:.3f}"


def _fake_run(folder, seed, **card):
    """A run folder as `train` writes it, with a tiny model standing in for the trained one."""
    folder.mkdir()
    tiny_model(seed=seed).save(folder / "model.keras")
    fields = dict(preset="small", split="kaggle", rr_features=0, relative=False, train_beats=3000,
                  epochs=1, seed=seed, validation_seed=0, validation={"accuracy": 0.0, "macro_f1": 0.0})
    fields.update(card)
    (folder / "training.json").write_text(json.dumps(fields))
    return folder


def test_a_model_with_three_rr_inputs_gets_the_record_relative_features(tmp_path):
    from ecgnet.data import load_part, model_inputs

    part = load_part(SAMPLE / "mitbih_test.npz", "test")
    inputs = model_inputs(tiny_model(rr_features=3), part)
    np.testing.assert_array_equal(inputs["rr"], part.rr_features()[:, 3:])
    assert model_inputs(tiny_model(rr_features=6), part)["rr"].shape == (len(part.y), 6)


def test_a_model_with_three_beat_channels_gets_the_previous_beat_of_the_same_record(fixtures_dir):
    from ecgnet.data import beats_from_record, load_part, model_inputs

    # a whole (excerpt of a) real record: every beat but the first has its predecessor
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    x = model_inputs(tiny_model(channels=3), beats)
    assert x.shape == (len(beats), 187, 3)
    np.testing.assert_array_equal(x[..., 0], beats.x)
    np.testing.assert_array_equal(x[1:, :, 2], beats.x[:-1])
    assert not x[0, :, 2].any()

    # the sample holds random beats of each record: a beat's predecessor is there only where
    # some beat of its record lies exactly one previous R-R (at 360 Hz) before it
    part = load_part(SAMPLE / "mitbih_test.npz", "test")
    x = model_inputs(tiny_model(channels=3), part)
    for i in range(len(part.y)):
        gap = part.r_peak[i] - np.round(part.rr[i, 0] * 360)
        found = np.flatnonzero((part.record == part.record[i]) & (part.r_peak == gap))
        np.testing.assert_array_equal(x[i, :, 2], part.x[found[0]] if len(found) else np.zeros(187))
    assert 0 < np.any(x[..., 2], axis=1).sum() < 50
    # index: the channels are built from the whole part first, then the beats are picked
    index = np.flatnonzero(np.any(x[..., 2], axis=1))
    picked = model_inputs(tiny_model(channels=3, rr_features=3), part, index)
    np.testing.assert_array_equal(picked["beat"], x[index])
    np.testing.assert_array_equal(picked["rr"], part.rr_features()[index, 3:])


def test_a_model_with_six_beat_channels_gets_the_second_leads_three_too(fixtures_dir):
    from ecgnet.data import beat_channels, beats_from_record, model_inputs

    beats = beats_from_record(fixtures_dir / "208_excerpt", second_lead=True).beats  # MLII and V1
    x = model_inputs(tiny_model(channels=6), beats)
    np.testing.assert_array_equal(x[..., :3], beat_channels(beats, 3))
    v1 = beats_from_record(fixtures_dir / "208_excerpt", channel="V1").beats
    np.testing.assert_array_equal(x[..., 3:], beat_channels(v1, 3))
    with pytest.raises(DataFormatError, match="channels 4 to 6 are the record's second lead.*prepare --second-lead"):
        model_inputs(tiny_model(channels=6), beats_from_record(fixtures_dir / "208_excerpt").beats)


def test_three_beat_channels_need_records():
    from ecgnet.data import load_part, model_inputs

    part = load_part(SAMPLE / "mitbih_test.csv.gz", "test")
    with pytest.raises(DataFormatError, match="beat channel 3 .*previous beat.*Kaggle CSV"):
        model_inputs(tiny_model(channels=3), part)


@pytest.mark.parametrize(
    "flags, fragments",
    [
        (["--split", "kaggle", "--previous-beat"], ["--previous-beat", "--relative"]),
        (["--split", "kaggle", "--relative", "--second-lead"], ["--second-lead", "--previous-beat"]),
        (["--split", "kaggle", "--beat-dropout", "0.3"], ["--beat-dropout", "needs --rr"]),
        (["--split", "kaggle", "--rr", "--beat-dropout", "1.5"], ["--beat-dropout must be in [0, 1). Received: 1.5"]),
        (["--split", "kaggle", "--validation-fold", "1/5"], ["--validation-fold", "needs --split inter-patient"]),
    ],
)
def test_train_checks_its_flags_before_training(tmp_path, run_cli, flags, fragments):
    result = run_cli("train", "--data", SAMPLE / "mitbih_train.npz", *flags, "--epochs", "1", "--out", tmp_path / "run")
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "fold, message",
    [("6/5", "1 <= K <= N, received '6/5'"), ("two", "expected K/N, e.g. 2/5, received 'two'")],
)
def test_a_malformed_validation_fold_is_refused_by_argparse(tmp_path, run_cli, fold, message):
    result = run_cli(
        "train", "--data", SAMPLE / "mitbih_train.npz", "--split", "inter-patient", "--validation-fold", fold, "--out", tmp_path / "run"
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_ensemble_averages_members_and_measures_on_their_shared_validation_fold(tmp_path, run_cli):
    from ecgnet.data import group_kfold_indices, load_part

    part = load_part(SAMPLE, "train")  # the sample's .npz: beats with their records
    runs = [
        _fake_run(tmp_path / f"s{seed}", seed, split="inter-patient", validation_fold="2/5", train_beats=len(part.y))
        for seed in (0, 1)
    ]
    out = tmp_path / "e"
    result = run_cli("ensemble", "--runs", *runs, "--data", SAMPLE, "--out", out)
    assert result.returncode == 0, result.stderr

    members = [keras.saving.load_model(run / "model.keras") for run in runs]
    mean = np.mean([m.predict(part.x[..., None], verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(load_model(out / "model.keras").predict(part.x[..., None], verbose=0), mean, atol=1e-6)

    _, held = group_kfold_indices(part.record, 5, 2, seed=0)
    assert f"validation: {len(held)} beats" in result.stdout and "fold 2/5" in result.stdout
    card = json.loads((out / "training.json").read_text())
    assert card["seed"] == [0, 1] and card["members"] == [str(r) for r in runs] and card["validation_fold"] == "2/5"
    assert np.sum(card["validation"]["confusion_matrix"]) == len(held)
    assert card["validation"]["accuracy"] == pytest.approx(np.mean(mean[held].argmax(1) == part.y[held]))


def test_ensemble_refuses_members_with_other_validation_splits(tmp_path):
    from ecgnet.errors import EcgnetError
    from ecgnet.runs import check_same_recipe, read_training_card

    runs = [_fake_run(tmp_path / "a", 0), _fake_run(tmp_path / "b", 1, validation_seed=1)]
    cards = [read_training_card(run) for run in runs]
    with pytest.raises(EcgnetError, match=r"validation_seed \(1 vs 0\)") as error:
        check_same_recipe(cards, [str(run) for run in runs])
    assert str(runs[1]) in str(error.value)
    check_same_recipe(cards[:1] * 2, [str(runs[0])] * 2)  # the same recipe passes


def test_ensemble_of_refit_runs_has_no_validation_to_measure(tmp_path, run_cli):
    runs = [_fake_run(tmp_path / f"s{seed}", seed, refit=True, validation_seed=None, validation=None) for seed in (0, 1)]
    result = run_cli("ensemble", "--runs", *runs[:2], "--data", SAMPLE, "--out", tmp_path / "e")
    assert result.returncode == 0, result.stderr
    assert "no validation beats" in result.stdout
    assert json.loads((tmp_path / "e" / "training.json").read_text())["validation"] is None


def test_demo_replaces_an_earlier_demo_never_another_run(tmp_path):
    from ecgnet.cli.model_commands import DEMO_DATA, _refuse_another_run

    assert _refuse_another_run(tmp_path / "fresh") is False  # nothing there: trained into, nothing replaced
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "training.json").write_text(json.dumps({"preset": "small", "train_data": f"{DEMO_DATA} sample"}))
    assert _refuse_another_run(demo) is True
    other = tmp_path / "real-run"
    other.mkdir()
    card = json.dumps({"preset": "small", "train_data": "data/mitbih-kaggle"})
    (other / "training.json").write_text(card)
    with pytest.raises(EcgnetError, match=r"--out .*real-run: holds another run \(training.json\)"):
        _refuse_another_run(other)
    assert (other / "training.json").read_text() == card
