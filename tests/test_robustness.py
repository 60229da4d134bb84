"""Bad input, broken signals and noise: one clear line and exit status 2, or beats reported unclassifiable.

Every command runs as a user runs it (``python -m ecgnet``, the ``run_cli``
fixture). The errors that must be found before TensorFlow loads run with a
stand-in ``tensorflow`` package on the path that fails on import: a command
that imported TensorFlow before checking its input would exit with that
failure instead of the expected line. The few cases that need a real model
are grouped at the end.
"""

import gzip
import json
import os
import shutil

import numpy as np
import pytest

from ecgnet import metrics, quality
from ecgnet.data import beats_from_record, load_beats_npz, sample_dir
from ecgnet.errors import DataFormatError

from conftest import FIXTURES, REPO_ROOT

SAMPLE = sample_dir()
RECORD = FIXTURES / "208_excerpt"  # 40 s of MIT-BIH record 208, 360 Hz, MLII and V1, with its .atr
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# -- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_tensorflow(tmp_path, monkeypatch):
    """Put a ``tensorflow`` on the path that fails on import: the command must not need it."""
    fake = tmp_path / "no_tensorflow"
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text('raise ImportError("TensorFlow was imported before the input was checked")\n')
    monkeypatch.setenv("PYTHONPATH", str(fake) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return fake


def one_error_line(result, *parts):
    """Assert exit status 2 and exactly one stderr line, ``error: ...``, holding every one of ``parts``."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert str(part) in lines[0], (part, lines[0])
    return lines[0]


def beats_arrays():
    """The arrays of a real Beats file (the 69 beats of the 208 excerpt) as a dict to damage."""
    beats = beats_from_record(RECORD).beats
    return {name: np.array(getattr(beats, name)) for name in ("x", "y", "record", "r_peak", "rr")}


def write_record(folder, name, signal, fs=360.0, names=("MLII", "V1")):
    """A WFDB record (format 16, 200 units per mV) of a (n, leads) signal; NaN samples become invalid samples."""
    import wfdb

    wfdb.wrsamp(name, fs=fs, units=["mV"] * signal.shape[1], sig_name=list(names), p_signal=signal,
                fmt=["16"] * signal.shape[1], adc_gain=[200.0] * signal.shape[1], baseline=[0] * signal.shape[1],
                write_dir=str(folder))
    return folder / name


def fixture_signal():
    import wfdb

    return wfdb.rdrecord(str(RECORD)).p_signal


def model_file(tmp_path, classes=5):
    """A tiny untrained Keras classifier (TensorFlow loads in this process only for the tests that need it)."""
    import keras

    beat = keras.Input((187, 1), name="beat")
    outputs = keras.layers.Dense(classes, activation="softmax")(keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 5)(beat)))
    path = tmp_path / f"model{classes}.keras"
    keras.Model(beat, outputs).save(path)
    return path


# -- files, archives, labels: found before TensorFlow is imported --------------------------------------------


def test_npz_beats_with_nan_are_refused_with_beat_and_sample(tmp_path, run_cli, no_tensorflow):
    arrays = beats_arrays()
    arrays["x"][3, 10] = np.nan
    np.savez(tmp_path / "nan.npz", **arrays)
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--csv", tmp_path / "nan.npz")
    one_error_line(result, "nan.npz", "beat 3", "sample 10", "not a finite")


def test_npz_with_zero_beats_says_so(tmp_path, run_cli, no_tensorflow):
    np.savez(tmp_path / "empty.npz", **{name: value[:0] for name, value in beats_arrays().items()})
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", tmp_path / "empty.npz"), "empty.npz", "no beats")
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", tmp_path / "empty.npz"), "empty.npz", "no beats")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated gzip file"),
        (lambda raw: b"0.1,0.2,0.3\n", "not a readable gzip file"),
    ],
    ids=["truncated", "not-gzip"],
)
def test_damaged_csv_gz_is_named(tmp_path, run_cli, no_tensorflow, make, message):
    path = tmp_path / "beats.csv.gz"
    path.write_bytes(make((SAMPLE / "mitbih_test.csv.gz").read_bytes()))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", path), path.name, message)


def test_truncated_npz_is_named(tmp_path, run_cli, no_tensorflow):
    raw = (SAMPLE / "mitbih_test.npz").read_bytes()
    (tmp_path / "test.npz").write_bytes(raw[: len(raw) // 2])
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", tmp_path / "test.npz"), "test.npz", "not a readable .npz")


@pytest.mark.parametrize("label, shown", [(300, "300"), (2.7, "2.7"), (-2, "-2")])
def test_npz_labels_outside_the_classes_are_refused_with_position(tmp_path, run_cli, no_tensorflow, label, shown):
    arrays = beats_arrays()
    arrays["y"] = arrays["y"].astype(np.float64)
    arrays["y"][5] = label
    np.savez(tmp_path / "labels.npz", **arrays)
    line = one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", tmp_path / "labels.npz"), "labels.npz", "beat 5")
    assert f"is {shown}:" in line and "0..4" in line
    with pytest.raises(ValueError, match="beat 5"):  # the library refuses it too, whatever the caller
        load_beats_npz(tmp_path / "labels.npz")


@pytest.mark.parametrize("label", ["7.000e+00", "2.5", "nan"])
def test_csv_labels_outside_the_classes_are_refused_with_line_and_column(tmp_path, run_cli, no_tensorflow, label):
    lines = gzip.open(SAMPLE / "mitbih_test.csv.gz", "rt").read().splitlines()[:6]
    cells = lines[3].split(",")
    cells[-1] = label
    lines[3] = ",".join(cells)
    (tmp_path / "beats.csv").write_text("\n".join(lines) + "\n")
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", tmp_path / "beats.csv"), "beats.csv", "line 4", "column 188")


def test_csv_cell_beyond_float32_is_refused_with_line_and_column(tmp_path, run_cli, no_tensorflow):
    lines = gzip.open(SAMPLE / "mitbih_test.csv.gz", "rt").read().splitlines()[:5]
    cells = lines[2].split(",")
    cells[10] = "1e308"
    lines[2] = ",".join(cells)
    (tmp_path / "beats.csv").write_text("\n".join(lines) + "\n")
    line = one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", tmp_path / "beats.csv"), "line 3", "column 11", "1e308")
    assert "float32" in line


@pytest.mark.skipif(AS_ROOT, reason="root reads every file: permissions cannot be tested as root")
def test_unreadable_file_is_named(tmp_path, run_cli, no_tensorflow):
    path = tmp_path / "beats.csv.gz"
    shutil.copy(SAMPLE / "mitbih_test.csv.gz", path)
    path.chmod(0)
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", path), path.name, "permission denied")


@pytest.mark.skipif(AS_ROOT, reason="root writes everywhere: permissions cannot be tested as root")
def test_read_only_out_folder_is_named(tmp_path, run_cli, no_tensorflow):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", SAMPLE, "--out", folder / "report"), "--out", "not writable")
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", SAMPLE / "mitbih_test.csv.gz", "--out", folder / "p.csv"), "not writable")


def test_out_in_the_way_of_a_file_or_folder(tmp_path, run_cli, no_tensorflow):
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me\n")
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", SAMPLE, "--out", existing), "--out", "notes.txt", "is a file")
    one_error_line(run_cli("train", "--data", SAMPLE, "--split", "kaggle", "--out", existing / "run"), "--out", "is a file")
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", SAMPLE / "mitbih_test.csv.gz", "--out", tmp_path), "--out", "is a folder")
    assert existing.read_text() == "keep me\n"


def test_corrupt_training_card_is_named_with_line_and_column(tmp_path, run_cli, no_tensorflow):
    runs = [tmp_path / "run0", tmp_path / "run1"]
    for run in runs:
        run.mkdir()
    (runs[0] / "training.json").write_text('{"preset": "small",\n "split": ')
    (runs[1] / "training.json").write_text("{}")
    one_error_line(run_cli("ensemble", "--runs", *runs, "--data", SAMPLE, "--out", tmp_path / "ens"),
                   "run0/training.json", "line 2", "not valid JSON")
    one_error_line(run_cli("ensemble", "--runs", runs[1], runs[0], "--data", SAMPLE, "--out", tmp_path / "ens"),
                   "run1/training.json", "not a training card")
    one_error_line(run_cli("ensemble", "--runs", tmp_path / "nowhere", runs[0], "--data", SAMPLE, "--out", tmp_path / "ens"),
                   "nowhere", "no such run folder")


def test_random_bytes_as_atr_are_refused(tmp_path, run_cli, no_tensorflow):
    for suffix in ("hea", "dat"):
        shutil.copy(f"{RECORD}.{suffix}", tmp_path / f"208_excerpt.{suffix}")
    (tmp_path / "208_excerpt.atr").write_bytes(np.random.default_rng(3).bytes(3000))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", tmp_path / "208_excerpt"),
                   "208_excerpt.atr", "not a WFDB annotation file", "--detect")


def test_random_bytes_ending_like_annotations_are_refused(tmp_path, run_cli, no_tensorflow):
    for suffix in ("hea", "dat"):
        shutil.copy(f"{RECORD}.{suffix}", tmp_path / f"208_excerpt.{suffix}")
    raw = bytearray(np.random.default_rng(7).bytes(2000))
    raw[-2:] = b"\x00\x00"  # the end-of-annotations word, so that only the codes give it away
    (tmp_path / "208_excerpt.atr").write_bytes(bytes(raw))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", tmp_path / "208_excerpt"),
                   "208_excerpt.atr", "not a valid WFDB annotation file")


def test_flat_line_record_has_no_usable_beat(tmp_path, run_cli, no_tensorflow):
    path = write_record(tmp_path, "flat", np.zeros((360 * 30, 2)))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", path), "flat", "no beats found", "flat 0.00-30.00 s")


def test_record_that_is_all_invalid_around_its_beats_is_refused(tmp_path, run_cli, no_tensorflow):
    signal = fixture_signal()
    signal[:, :] = np.nan
    signal[:5, :] = 0.0  # a few valid samples: the annotations still place beats in the invalid signal
    path = write_record(tmp_path, "208_excerpt", signal)
    shutil.copy(f"{RECORD}.atr", tmp_path / "208_excerpt.atr")
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", path), "no usable beat", "invalid")


def test_detect_needs_a_record(tmp_path, run_cli, no_tensorflow):
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", SAMPLE / "mitbih_test.csv.gz", "--detect"), "--detect")


def test_missing_model_is_named_before_tensorflow(tmp_path, run_cli, no_tensorflow):
    one_error_line(run_cli("predict", "--model", tmp_path / "nope.keras", "--csv", SAMPLE / "mitbih_test.csv.gz"),
                   "nope.keras", "no such model file")


# -- signal quality on hand-built signals ---------------------------------------------------------------------


def sine(seconds, fs=360.0):
    """A 1.2 Hz sine: it never repeats a sample value for long and touches its extremes for one sample."""
    return np.sin(2 * np.pi * 1.2 * np.arange(int(seconds * fs)) / fs + 0.1)


def test_invalid_samples_are_one_stretch():
    signal = sine(10)
    signal[1000:1500] = np.nan
    signal[2000] = np.inf
    found = quality.bad_stretches(signal, 360)
    assert [(s.kind, s.start, s.stop) for s in found] == [("invalid", 1000, 1500), ("invalid", 2000, 2001)]


def test_flat_needs_a_quarter_second_of_identical_samples():
    fs = 360.0
    signal = sine(10, fs)
    signal[720:810] = 0.3  # 0.25 s: flat
    signal[2000:2071] = 0.3  # 0.197 s: short of the threshold
    found = quality.bad_stretches(signal, fs)
    assert [(s.kind, s.start, s.stop) for s in found] == [("flat", 720, 810)]


def test_saturation_is_a_run_at_the_signal_rail():
    fs = 360.0
    signal = 1.5 * sine(10, fs)
    clipped = np.clip(signal, -1.0, 1.0)  # an amplifier that clips: the peaks sit on the rails
    found = quality.bad_stretches(clipped, fs)
    assert found and {s.kind for s in found} == {"saturated"}
    for stretch in found:
        assert stretch.stop - stretch.start >= quality.SATURATION_SECONDS * fs
        assert np.all(np.abs(clipped[stretch.start : stretch.stop]) == 1.0)
    assert quality.bad_stretches(signal, fs) == []  # the same wave unclipped touches its extremes only


@pytest.mark.parametrize("name", ["114_excerpt", "208_excerpt", "217_excerpt", "232_excerpt", "233_excerpt"])
def test_real_ecg_excerpts_have_no_bad_stretch(name):
    import wfdb

    record = wfdb.rdrecord(str(FIXTURES / name))
    for lead in range(record.p_signal.shape[1]):
        assert quality.bad_stretches(record.p_signal[:, lead], record.fs) == []


def test_a_beat_is_unusable_from_its_previous_r_peak_to_the_end_of_its_segment():
    fs = 100.0
    r_peaks = np.array([100, 200, 300, 400, 600])
    mask = np.zeros(1000, bool)
    mask[250] = True
    # beat 0 spans 100..250 (its segment ends 1.496 s later): touches 250? 100 + 150 = 250, exclusive
    # beat 1 spans 100..350 (previous R to segment end), beat 2 200..450, beat 3 300..550; beat 4 400..750
    assert quality.unusable_beats(r_peaks, fs, mask).tolist() == [False, True, True, False, False]


def test_checked_record_beats_match_the_beat_builder_on_a_clean_record():
    clean = beats_from_record(RECORD)
    checked = beats_from_record(RECORD, check_quality=True)
    assert checked.source == clean.source == "annotations"
    last = checked.times + 187 / 125 > 40.0  # the one beat whose window runs past the 40-s excerpt's end
    assert checked.usable.tolist() == (~last).tolist() and checked.stretches == []
    assert set(checked.problems[last]) == {"window past the end"}
    np.testing.assert_array_equal(checked.beats.x, clean.beats.x)
    np.testing.assert_array_equal(checked.beats.rr, clean.beats.rr)
    np.testing.assert_array_equal(checked.times, clean.times)


def test_invalid_stretch_spoils_only_the_beats_that_touch_it(tmp_path):
    signal = fixture_signal()
    signal[3600:7200, :] = np.nan  # 10 s to 20 s
    path = write_record(tmp_path, "208_excerpt", signal)
    shutil.copy(f"{RECORD}.atr", tmp_path / "208_excerpt.atr")
    checked = beats_from_record(path, check_quality=True)
    clean = beats_from_record(RECORD)
    assert [s.describe(360) for s in checked.stretches] == ["invalid 10.00-20.00 s"]
    first_after = np.searchsorted(clean.times, 20.0)
    expected_bad = (clean.times + quality.BEAT_SECONDS > 10.0) & (clean.times < clean.times[first_after] + 1e-9)
    expected_bad |= clean.times + quality.BEAT_SECONDS > 40.0  # its window runs past the end (ecgnet.plausibility)
    np.testing.assert_array_equal(~checked.usable, expected_bad)
    assert np.isfinite(checked.beats.x).all()
    # beats in 10-second windows without invalid samples are cut exactly as from the clean record
    far = checked.times > 30.0
    np.testing.assert_allclose(checked.beats.x[far], clean.beats.x[far], atol=0.01)


# -- noise at a given SNR -------------------------------------------------------------------------------------


def spike_train(seconds=120, fs=360.0, amplitude=1.7, rate_hz=1.1):
    """Triangular 'QRS' spikes of peak-to-peak ``amplitude`` on a flat baseline, and their peaks."""
    n = int(seconds * fs)
    peaks = np.arange(int(0.5 * fs), n - int(0.5 * fs), int(fs / rate_hz))
    signal = np.zeros(n)
    half = int(0.02 * fs)
    shape = amplitude * (1 - np.abs(np.arange(-half, half + 1)) / half)
    for peak in peaks:
        signal[peak - half : peak + half + 1] = shape
    return signal, peaks


@pytest.mark.parametrize("snr_db", [24, 12, 0, -6])
def test_add_noise_gives_the_snr_asked_for(snr_db):
    fs, amplitude = 360.0, 1.7
    signal, peaks = spike_train(fs=fs, amplitude=amplitude)
    noise = np.random.default_rng(0).normal(0.3, 2.0, int(50 * fs))  # shorter than the signal: it repeats
    noisy = quality.add_noise(signal, noise, snr_db, fs, peaks)
    added = noisy - signal
    # nst's definition, computed here from what was built: S = A^2 / 8 for a QRS of peak-to-peak A,
    # N = the mean square of the added noise about its mean
    measured = 10 * np.log10((amplitude**2 / 8) / np.var(added))
    assert measured == pytest.approx(snr_db, abs=0.1)
    np.testing.assert_allclose(added[: len(noise)] / added[len(noise) : 2 * len(noise)], 1.0)


def test_add_noise_refuses_silent_or_broken_noise():
    signal, peaks = spike_train(seconds=10)
    with pytest.raises(ValueError, match="zero RMS"):
        quality.add_noise(signal, np.ones(3600), 6, 360.0, peaks)
    with pytest.raises(ValueError, match="finite"):
        quality.add_noise(signal, np.r_[np.nan, np.ones(3600)], 6, 360.0, peaks)


def test_add_noise_with_recorded_noise(nstdb):
    """With real muscle-artifact noise: the gain follows nst's rule, and the noise RMS sets the SNR."""
    import wfdb

    noise = wfdb.rdrecord(str(nstdb / "ma"), channels=[0], sampto=360 * 120).p_signal[:, 0]
    signal, peaks = spike_train()
    for snr_db in (18, 0):
        added = quality.add_noise(signal, noise, snr_db, 360.0, peaks) - signal
        gain = added[1000] / noise[1000]
        np.testing.assert_allclose(added, gain * noise[: len(signal)], rtol=1e-9, atol=1e-12)
        assert 20 * np.log10(1.7 * np.sqrt(2) / 4 / (gain * quality.noise_rms(noise, 360.0))) == pytest.approx(snr_db)


# -- with a model: TensorFlow loads, quietly ------------------------------------------------------------------


def test_record_with_invalid_stretch_reports_unclassifiable_beats_and_tf_is_quiet(tmp_path, run_cli):
    signal = fixture_signal()
    signal[3600:7200, :] = np.nan  # 10 s of invalid samples
    path = write_record(tmp_path, "208_excerpt", signal)
    shutil.copy(f"{RECORD}.atr", tmp_path / "208_excerpt.atr")
    out = tmp_path / "beats.csv"
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--record", path, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow / absl log lines
    lines = result.stdout.splitlines()
    assert lines[0].startswith("69 beats in ") and "reference annotations" in lines[0]
    assert "invalid 10.00-20.00 s" in lines[1]
    import pandas as pd

    table = pd.read_csv(out, keep_default_na=False)
    bad = table["signal"] != "ok"
    assert 0 < bad.sum() < len(table)
    assert (table.loc[bad, "predicted"] == "-").all() and (table.loc[bad, "confidence"] == "").all()
    past_end = table["time_s"] + quality.BEAT_SECONDS > 40.0
    assert table.loc[bad & ~past_end, "signal"].str.startswith("invalid").all()
    assert table.loc[past_end, "signal"].eq("window past the end").all()
    assert table.loc[~bad, "predicted"].isin(list("NSVFQ")).all()
    confidence = table.loc[~bad, "confidence"].astype(float)
    assert np.isfinite(confidence).all() and ((confidence > 0) & (confidence <= 1)).all()
    assert f"unclassifiable: {bad.sum()} beats" in result.stdout
    bad_times = table.loc[bad, "time_s"].to_numpy()
    assert bad_times.min() < 10.0 < bad_times.max() and bad_times.max() > 20.0


def test_model_without_five_outputs_is_refused(tmp_path, run_cli):
    path = model_file(tmp_path, classes=7)
    one_error_line(run_cli("predict", "--model", path, "--csv", SAMPLE / "mitbih_test.csv.gz"), path.name, "(None, 7)", "(batch, 5)")


def test_detect_uses_the_detector_even_with_a_broken_atr(tmp_path, run_cli):
    for suffix in ("hea", "dat"):
        shutil.copy(f"{RECORD}.{suffix}", tmp_path / f"208_excerpt.{suffix}")
    (tmp_path / "208_excerpt.atr").write_bytes(np.random.default_rng(3).bytes(3000))
    result = run_cli("predict", "--model", model_file(tmp_path), "--record", tmp_path / "208_excerpt", "--detect", "--out", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr
    assert "XQRS R-peak detector (--detect)" in result.stdout.splitlines()[0]
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "time_s,predicted,confidence,signal" and len(rows) > 30


def test_evaluate_needs_labelled_beats(tmp_path, run_cli, no_tensorflow):
    arrays = beats_arrays()
    arrays["y"][2] = -1  # a valid Beats label (unknown), but nothing to score against
    np.savez(tmp_path / "unlabelled.npz", **arrays)
    one_error_line(run_cli("evaluate", "--model", "ecgnet-mitbih", "--data", tmp_path / "unlabelled.npz"),
                   "unlabelled.npz", "beat 2", "no class label")


def test_predict_builds_channels_from_the_whole_record(tmp_path, run_cli):
    """A 3-channel model: record medians and previous beats come from every beat, then the usable beats
    are picked, so the beat right after a bad stretch still gets its (clean) previous beat."""
    import pandas as pd

    from ecgnet.data import model_inputs
    from ecgnet.pretrained_models import load_model

    signal = fixture_signal()
    signal[3600:7200, :] = np.nan
    path = write_record(tmp_path, "208_excerpt", signal)
    shutil.copy(f"{RECORD}.atr", tmp_path / "208_excerpt.atr")
    out = tmp_path / "beats.csv"
    result = run_cli("predict", "--model", "ecgnet-mitbih-interpatient", "--record", path, "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False)
    usable = (table["signal"] == "ok").to_numpy()
    assert 0 < usable.sum() < len(usable)
    model = load_model("ecgnet-mitbih-interpatient")
    found = beats_from_record(path, check_quality=True)
    expected = model.predict(model_inputs(model, found.beats), verbose=0)[usable]
    np.testing.assert_allclose(table.loc[usable, "confidence"].astype(float), expected.max(axis=1), atol=1e-4)
    assert (table.loc[usable, "predicted"].to_numpy() == np.array(list("NSVFQ"))[expected.argmax(axis=1)]).all()


# -- files: links, devices, temporary folders, locks, whole reports, the CSV cache -----------------------------


def test_out_link_is_written_through_and_stays_a_link(tmp_path):
    from ecgnet.files import write_text_atomic

    target = tmp_path / "kept" / "report.json"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    write_text_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "made.csv")
    write_text_atomic(dangling, "made\n")
    assert dangling.is_symlink() and (tmp_path / "made.csv").read_text() == "made\n"


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_out_that_is_not_a_regular_file_is_refused(tmp_path, run_cli, no_tensorflow, kind):
    if kind == "device":
        out, shown = tmp_path / "null-link", "character device"
        out.symlink_to(os.devnull)  # through a link as well: the device is named, and kept
    else:
        out, shown = tmp_path / "pipe", "named pipe"
        os.mkfifo(out)
    result = run_cli("predict", "--model", "ecgnet-mitbih", "--csv", SAMPLE / "mitbih_test.csv.gz", "--out", out)
    one_error_line(result, "--out", out.name, shown, "not a regular file")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    from ecgnet.errors import EcgnetError
    from ecgnet.files import write_text_atomic

    with pytest.raises(EcgnetError, match="not a regular file"):  # the library refuses it too
        write_text_atomic(out, "x")


HOLD_TEMPORARY_FOLDER = """
import sys, time
from ecgnet.files import exit_cleanly_on_sigterm, temporary_folder
exit_cleanly_on_sigterm()
with temporary_folder(sys.argv[1]) as tmp:
    (tmp / "train.csv").write_bytes(bytes(1000))
    print(tmp, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_temporary_folder_is_removed_on_sigterm_and_by_the_next_run_after_sigkill(tmp_path, how):
    import signal
    import subprocess
    import sys

    from ecgnet.files import remove_stale_temporaries, temporary_folder

    out = tmp_path / "prepared"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", HOLD_TEMPORARY_FOLDER, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    tmp = tmp_path / os.path.basename(process.stdout.readline().strip())
    assert tmp.is_dir() and tmp.name.startswith(".prepared.ecgnet-")
    assert remove_stale_temporaries(tmp_path) == [] and tmp.is_dir()  # its process is running: not stale
    process.send_signal(getattr(signal, how))
    assert process.wait(timeout=30) == (143 if how == "SIGTERM" else -signal.SIGKILL)
    if how == "SIGKILL":
        assert tmp.is_dir()  # nothing can run in a killed process
        with temporary_folder(out):  # the next write beside it
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sigterm_during_prepare_leaves_no_temporary_folder(tmp_path, fixtures_dir):
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "import ecgnet.data.csv_files as csv_files\n"
        "write = csv_files.write_beats_csv\n"
        "def slow(*args, **kwargs):\n"
        "    write(*args, **kwargs); print('writing', flush=True); time.sleep(60)\n"
        "csv_files.write_beats_csv = slow\n"
        "from ecgnet.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "prepared"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-c", script, "prepare", "--raw", str(fixtures_dir), "--split", "kaggle",
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    while process.stdout.readline().strip() != "writing":
        pass
    assert any(p.name.startswith(".prepared.ecgnet-") for p in tmp_path.iterdir())
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 143
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_second_prepare_into_the_same_folder_is_refused_while_the_first_runs(tmp_path, run_cli, no_tensorflow, fixtures_dir):
    from ecgnet.files import folder_lock

    out = tmp_path / "data" / "prepared"
    with folder_lock(out, "`prepare`"):  # as a first `prepare` holds it
        result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", out)
    one_error_line(result, "prepared", f"another process (process {os.getpid()}) is writing this folder")
    assert sorted(p.name for p in out.parent.iterdir()) == []  # nothing written, and the lock file is gone


def test_report_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    import errno

    from ecgnet import evaluation

    out = tmp_path / "evaluation"
    out.mkdir()
    old = {name: f"old {name}\n" for name in ("report.json", "report.md", "confusion_matrix.png", "notes.txt")}
    for name, text in old.items():
        (out / name).write_text(text)
    monkeypatch.setattr(evaluation, "evaluate_model", lambda model, part, source=None: metrics.evaluate_predictions([0, 1, 1], [0, 1, 0]))

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evaluation, "plot_confusion_matrices", full_disk)
    with pytest.raises(OSError) as raised:
        evaluation.report_test_part(None, {}, out)
    assert raised.value.filename == str(out)  # the message names the folder being written
    assert {p.name: p.read_text() for p in out.iterdir()} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation"]
    monkeypatch.undo()
    monkeypatch.setattr(evaluation, "evaluate_model", lambda model, part, source=None: metrics.evaluate_predictions([0, 1, 1], [0, 1, 0]))
    report = evaluation.report_test_part(None, {}, out)
    assert json.loads((out / "report.json").read_text())["num_beats"] == report["num_beats"] == 3
    assert (out / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG" and (out / "notes.txt").read_text() == old["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation"]


def test_csv_cache_sees_a_file_edited_in_place(tmp_path):
    from ecgnet.data import load_mitbih_csv

    lines = gzip.open(SAMPLE / "mitbih_test.csv.gz", "rt").read().splitlines()[:4]
    path = tmp_path / "beats.csv"
    path.write_text("\n".join(lines) + "\n")
    stat = path.stat()
    _, y = load_mitbih_csv(path)
    cells = lines[0].split(",")
    changed = ("1" if cells[-1][0] != "1" else "2") + cells[-1][1:]  # another class, written just as wide
    lines[0] = ",".join(cells[:-1] + [changed])
    path.write_text("\n".join(lines) + "\n")  # same size: the label is written with the same width
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same modification time
    assert path.stat().st_size == stat.st_size
    _, y_again = load_mitbih_csv(path)
    assert y_again[0] == float(changed) != y[0] and (y_again[1:] == y[1:]).all()


def test_gzip_named_csv_and_bad_first_label_are_named_plainly(tmp_path, run_cli, no_tensorflow):
    path = tmp_path / "beats.csv"
    shutil.copy(SAMPLE / "mitbih_test.csv.gz", path)
    one_error_line(run_cli("info", path), "beats.csv", "gzip-compressed", "rename it beats.csv.gz")
    lines = gzip.open(SAMPLE / "mitbih_test.csv.gz", "rt").read().splitlines()[:3]
    lines[0] = ",".join(lines[0].split(",")[:-1] + ["N"])
    path.write_text("\n".join(lines) + "\n")
    line = one_error_line(run_cli("info", path), "line 1, column 188", "not a number")
    assert "header" not in line


# -- runs and models: a run folder holds one run, outputs must be probabilities, beats in their range ----------


def test_kaggle_beats_outside_0_to_1_are_refused_with_line_and_column(tmp_path, run_cli, no_tensorflow):
    lines = gzip.open(SAMPLE / "mitbih_test.csv.gz", "rt").read().splitlines()[:5]
    rows = [[float(cell) for cell in line.split(",")] for line in lines]
    rows[2] = [value * 1000 for value in rows[2][:-1]] + rows[2][-1:]  # millivolts x 1000, say: not the format
    (tmp_path / "beats.csv").write_text("\n".join(",".join(f"{v:.6g}" for v in row) for row in rows) + "\n")
    first = next(i for i, value in enumerate(rows[2][:-1]) if value > 1) + 1
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--csv", tmp_path / "beats.csv"),
                   "beats.csv", "line 3", f"column {first}", "outside 0..1")


def test_check_probabilities_refuses_logits_and_sigmoids():
    from ecgnet.errors import ModelFileError
    from ecgnet.pretrained_models import check_probabilities

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20, 5))
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(check_probabilities(softmax.astype(np.float16), "m"), softmax.astype(np.float16))
    with pytest.raises(ModelFileError, match=r"m: the model's outputs are not class probabilities: beat \d+ has an output of -"):
        check_probabilities(logits, "m")
    sigmoids = 1 / (1 + np.exp(-logits))
    with pytest.raises(ModelFileError, match=r"beat 0 has outputs summing to [\d.]+ .*one sigmoid per class"):
        check_probabilities(sigmoids, "m")
    with pytest.raises(ModelFileError, match="beat 7 has an output of 11"):
        check_probabilities(np.where(np.arange(20)[:, None] == 7, [11.0, -5, -3, -2, 0], softmax).clip(0, None), "m", beats=np.arange(20))
    for shape in ((20,), (20, 4, 5)):  # one value per beat, or a sequence of rows per beat: not (beats, classes)
        with pytest.raises(ModelFileError, match=rf"m: the model's output has shape \({shape[0]},.*\(beats, classes\)"):
            check_probabilities(np.full(shape, 0.2), "m")


def test_model_that_outputs_logits_writes_no_report(tmp_path):
    """In this process (TensorFlow is loaded here anyway): the command line prints the same error in one line."""
    import keras

    from ecgnet.data import load_part
    from ecgnet.errors import ModelFileError
    from ecgnet.evaluation import report_test_part

    beat = keras.Input((187, 1), name="beat")
    logits = keras.Model(beat, keras.layers.Dense(5)(keras.layers.Flatten()(beat)))  # no softmax: "confidence" could be 11
    with pytest.raises(ModelFileError, match="logits.keras: the model's outputs are not class probabilities"):
        report_test_part(logits, load_part(SAMPLE, "test"), tmp_path / "report", source="logits.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no report, no temporary folder


def _interrupt_callback():
    """A Keras callback class that stops training with KeyboardInterrupt after the first epoch."""
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt("interrupted after the first epoch")

    return Interrupt


def _tiny_dense():
    import keras

    beat = keras.Input((187, 1), name="beat")
    return keras.Model(beat, keras.layers.Dense(5, activation="softmax")(keras.layers.GlobalAveragePooling1D()(beat)))


def _random_beats():
    rng = np.random.default_rng(0)
    return rng.random((100, 187)).astype(np.float32), np.arange(100) % 5


def test_train_refuses_a_folder_of_another_run_and_replaces_it_with_overwrite(tmp_path):
    from ecgnet import training
    from ecgnet.errors import EcgnetError

    Interrupt, tiny, (x, y) = _interrupt_callback(), _tiny_dense, _random_beats()
    options = dict(epochs=3, batch_size=50, verbose=0, augment=False, out_dir=tmp_path / "run", validation_fraction=0.2)
    with pytest.raises(KeyboardInterrupt):
        training.train(tiny, x, y, callbacks=[Interrupt()], card={"preset": "small"}, **options)
    assert (tmp_path / "run" / "backup").is_dir()
    with pytest.raises(EcgnetError, match=r"run: holds the backup of an interrupted run of other data or another recipe: "
                                          r"preset \('small' there, 'tiny' now\)"):
        training.train(tiny, x, y, card={"preset": "tiny"}, **options)
    with pytest.raises(EcgnetError, match=r"training.data_sha256 .*--overwrite"):
        training.train(tiny, x[::-1].copy(), y, card={"preset": "small"}, **options)  # same shapes, other beats
    result = training.train(tiny, x, y, card={"preset": "tiny"}, overwrite=True, **options)
    assert result.initial_epoch == 0 and result.history["epoch"] == [0, 1, 2]  # trained afresh, not "resumed"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["preset"] == "tiny"
    resumed = dict(options, epochs=4)
    with pytest.raises(EcgnetError, match=r"a finished run \(training.json\).*training.epochs \(3 there, 4 now\)"):
        (tmp_path / "run" / "training.json").write_text(json.dumps({"preset": "tiny", "epochs": 3}))
        training.train(tiny, x, y, card={"preset": "tiny"}, **resumed)


def test_train_resumes_its_own_interrupted_run(tmp_path):
    from ecgnet import training

    Interrupt, tiny, (x, y) = _interrupt_callback(), _tiny_dense, _random_beats()
    options = dict(epochs=3, batch_size=50, verbose=0, augment=False, out_dir=tmp_path / "run", validation_fraction=0.2,
                   card={"preset": "tiny", "train_data": "here/train.npz"})
    with pytest.raises(KeyboardInterrupt):
        training.train(tiny, x, y, callbacks=[Interrupt()], **options)
    options["card"] = {"preset": "tiny", "train_data": "./here/train.npz"}  # the same data, its path spelt otherwise
    assert training.train(tiny, x, y, **options).initial_epoch == 1


# -- records: sampling rate, header against the signal file, incomplete raw folders -----------------------------


def copy_record(folder, name="208_excerpt", header=lambda text: text, dat=lambda raw: raw):
    """The 208 excerpt under ``folder`` with its header text and .dat bytes changed by the functions given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.hea").write_text(header(RECORD.with_suffix(".hea").read_text().replace("208_excerpt", name)))
    (folder / f"{name}.dat").write_bytes(dat(RECORD.with_suffix(".dat").read_bytes()))
    shutil.copy(RECORD.with_suffix(".atr"), folder / f"{name}.atr")
    return folder / name


@pytest.mark.parametrize("rate", ["0.001", "1e6", "25"])
def test_sampling_rate_outside_the_range_is_refused(tmp_path, run_cli, no_tensorflow, rate):
    path = copy_record(tmp_path, header=lambda text: text.replace(" 2 360 ", f" 2 {rate} ", 1))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", path), "208_excerpt.hea",
                   f"sampling rate {rate} Hz", "outside 50..2000 Hz")


def test_header_and_signal_file_must_agree(tmp_path, run_cli, no_tensorflow):
    one_signal = copy_record(tmp_path / "one", header=lambda text: "\n".join(
        line.replace(" 2 360 ", " 1 360 ") for line in text.splitlines() if not line.endswith(" V1")) + "\n")
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", one_signal), "208_excerpt.dat",
                   "larger than its header says", "declares 1 signal(s)", "would hold 2 signals")
    short = copy_record(tmp_path / "short", dat=lambda raw: raw[:20000])  # 2 x 14,400 samples of format 212 need 43,200 bytes
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", short), "208_excerpt.dat",
                   "shorter than its header says", "6666 samples", "18.5 s", "declares 14400 (40.0 s)")
    unknown = copy_record(tmp_path / "format", header=lambda text: text.replace(" 212 ", " 999 "))
    one_error_line(run_cli("predict", "--model", "ecgnet-mitbih", "--record", unknown), "208_excerpt.hea",
                   "signal 1 (MLII) has storage format '999'", "does not define")


def test_named_split_refuses_an_incomplete_raw_folder_and_names_what_is_missing(tmp_path, monkeypatch):
    from ecgnet.data import load_split

    raw = tmp_path / "three"
    for name in ("100", "101", "103"):
        copy_record(raw, name)
    monkeypatch.setenv("ECGNET_MITDB_DIR", str(raw))
    with pytest.raises(DataFormatError, match=rf"\$ECGNET_MITDB_DIR={raw}: 45 records missing or incomplete "
                                              r"\(102, 104, 105, 106, 107, 108, 109, 111 and 37 more\)"):
        load_split("kaggle", data_dir=tmp_path / "data", download=False)
    assert not (tmp_path / "data" / "mitbih-kaggle").exists()


def test_saturation_needs_three_samples_at_low_sampling_rates():
    fs = 50.0
    signal = sine(20, fs)
    assert quality.bad_stretches(signal, fs) == []  # a clean wave touches its extremes for a sample or two
    signal[100:102] = signal.max()
    assert quality.bad_stretches(signal, fs) == []
    signal[300:303] = signal.max()
    assert [(s.start, s.stop, s.kind) for s in quality.bad_stretches(signal, fs)] == [(300, 303, "saturated")]
