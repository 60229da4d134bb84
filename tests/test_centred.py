"""The R-centred beat window: cutting, scaling per record, storage, model inputs and the command line."""

import json

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from ecgnet.data import (CENTRED_LENGTH, Beats, beat_channels, beats_from_record, centred_windows, concat_beats,
                         load_beats_npz, model_inputs)
from ecgnet.data.signals import CENTRED_BEFORE, FS
from ecgnet.errors import DataFormatError, EcgnetError
from ecgnet.layers import InputRecipe
from ecgnet.recipe import InputRecipe as Recipe

TINY = dict(stem_filters=8, stage_filters=(8, 16), stage_blocks=(1, 1), groups=4)


def _pulse_train(peaks, length, width=0.02):
    """A 125 Hz signal of Gaussian pulses (height 1, ``width`` s) at ``peaks``."""
    t = np.arange(length)
    return sum(np.exp(-0.5 * ((t - p) / (width * FS)) ** 2) for p in peaks)


def test_windows_are_centred_on_the_r_peak_and_scaled_by_the_records_median_r():
    peaks = np.arange(100, 2400, 100)
    windows = centred_windows(_pulse_train(peaks, 2500), peaks)
    assert windows.shape == (len(peaks), CENTRED_LENGTH) and windows.dtype == np.float32
    assert np.all(windows.argmax(axis=1) == CENTRED_BEFORE)
    np.testing.assert_allclose(np.median(np.abs(windows[:, CENTRED_BEFORE])), 1.0, rtol=1e-6)
    inner = windows[5:-5]  # away from the filter's start and end
    np.testing.assert_allclose(inner, np.broadcast_to(inner[0], inner.shape), atol=2e-3)  # same pulse, same window


def test_windows_do_not_depend_on_gain_offset_or_slow_drift():
    peaks = np.arange(100, 2400, 100)
    clean = centred_windows(_pulse_train(peaks, 2500), peaks)
    t = np.arange(2500) / FS
    changed = 7.0 * _pulse_train(peaks, 2500) + 3.0 + 0.5 * np.sin(2 * np.pi * 0.05 * t)
    np.testing.assert_allclose(centred_windows(changed, peaks)[5:-5], clean[5:-5], atol=0.02)


def test_samples_outside_the_signal_are_zeros():
    peaks = np.array([5, 60, 120, 180])
    windows = centred_windows(_pulse_train(peaks, 200), peaks)
    assert np.all(windows[0, : CENTRED_BEFORE - 5] == 0)
    assert np.all(windows[-1, CENTRED_BEFORE + 20:] == 0)  # 180 + 20 is the signal's end
    assert centred_windows(np.zeros(0), np.zeros(0, int)).shape == (0, CENTRED_LENGTH)
    for length in (2, 13, 14, 15, 16):  # shorter than the filter's usual padding
        assert centred_windows(np.random.default_rng(length).normal(size=length), [length // 2]).shape == (1, CENTRED_LENGTH)


def _record_at_128_hz(fixtures_dir, folder):
    """Record 208's excerpt resampled to 128 Hz, its leads named as svdb names them (ECG1, ECG2)."""
    record = wfdb.rdrecord(str(fixtures_dir / "208_excerpt"))
    annotation = wfdb.rdann(str(fixtures_dir / "208_excerpt"), "atr")
    signal = resample_poly(record.p_signal, 16, 45, axis=0)  # 360 -> 128 Hz
    wfdb.wrsamp("r128", fs=128, units=record.units, sig_name=["ECG1", "ECG2"], p_signal=signal,
                fmt=["16", "16"], write_dir=str(folder))
    wfdb.wrann("r128", "atr", np.round(annotation.sample * 128 / 360).astype(int), np.asarray(annotation.symbol),
               write_dir=str(folder))
    return folder / "r128"


def test_a_record_at_128_hz_gives_the_windows_of_the_same_record_at_360_hz(fixtures_dir, tmp_path):
    """The window is cut at 125 Hz whatever the record's rate."""
    path = _record_at_128_hz(fixtures_dir, tmp_path)
    at_360 = beats_from_record(fixtures_dir / "208_excerpt").beats
    at_128 = beats_from_record(path).beats
    assert len(at_360) == len(at_128)
    # Where both rates round the R peak to the same 125 Hz sample, the windows agree; elsewhere they are one
    # sample (8 ms) apart, which on a sharp QRS can lower the correlation to about 0.8.
    same = np.round(at_360.r_peak * FS / 360) == np.round(at_128.r_peak * FS / 128)
    assert same.mean() > 0.5
    correlation = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(at_360.centred, at_128.centred)])
    assert np.min(correlation[same][1:-1]) > 0.98


def test_beats_keep_their_centred_windows_through_subset_concat_and_npz(fixtures_dir, tmp_path):
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    assert beats.centred.shape == (len(beats), CENTRED_LENGTH)
    np.testing.assert_array_equal(beats.subset(slice(3, 7)).centred, beats.centred[3:7])
    both = concat_beats([beats, beats])
    np.testing.assert_array_equal(both.centred, np.concatenate([beats.centred, beats.centred]))
    beats.save_npz(tmp_path / "b.npz")
    np.testing.assert_array_equal(load_beats_npz(tmp_path / "b.npz").centred, beats.centred)
    without = Beats(beats.x, beats.y, beats.record, beats.r_peak, beats.rr)
    assert concat_beats([beats, without]).centred is None


def test_a_non_finite_centred_sample_is_refused_with_its_place(fixtures_dir, tmp_path):
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    beats.centred[4, 10] = np.nan
    beats.save_npz(tmp_path / "b.npz")
    with pytest.raises(DataFormatError, match=r"b.npz: centred\[4, 10\] \(beat 4, sample 10\)"):
        load_beats_npz(tmp_path / "b.npz")


def test_centred_channels_are_the_window_and_its_difference_from_the_records_median(fixtures_dir):
    parts = [beats_from_record(fixtures_dir / name).beats for name in ("208_excerpt", "114_excerpt")]
    part = concat_beats(parts)
    channels = beat_channels(part, 2, window="centred")
    assert channels.shape == (len(part.y), CENTRED_LENGTH, 2)
    for beats in parts:
        rows = part.record == beats.record[0]
        np.testing.assert_array_equal(channels[rows, :, 0], beats.centred)
        np.testing.assert_allclose(channels[rows, :, 1], beats.centred - np.median(beats.centred, axis=0), atol=1e-6)
    with pytest.raises(DataFormatError, match=r"centred windows have \[1, 2\] channels"):
        beat_channels(part, 3, window="centred")
    with pytest.raises(DataFormatError, match="beat windows are"):
        beat_channels(part, 1, window="middle")


def test_a_part_without_centred_windows_asks_to_prepare_again(fixtures_dir):
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    old = Beats(beats.x, beats.y, beats.record, beats.r_peak, beats.rr, source="old/train.npz")
    with pytest.raises(DataFormatError, match=r"old/train.npz: has no centred beat windows .* prepare the data again"):
        beat_channels(old, 1, window="centred")


def test_a_centred_model_keeps_its_window_through_a_keras_file_and_gets_its_inputs(fixtures_dir, tmp_path):
    import keras

    from ecgnet.models import build_named_model

    model = build_named_model("small", (CENTRED_LENGTH, 2), rr_features=3, **TINY)
    expected = Recipe("centred", 2, 3)
    assert Recipe.from_model(model) == expected
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert Recipe.from_model(loaded) == expected
    part = beats_from_record(fixtures_dir / "208_excerpt").beats
    inputs = model_inputs(loaded, part)
    np.testing.assert_array_equal(inputs["beat"], beat_channels(part, 2, window="centred"))
    assert inputs["rr"].shape == (len(part.y), 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(beat_channels=3, window="centred"), "from 1 to 2 for the 'centred' window"),
    (dict(beat_channels=1, window="middle"), "`window` must be one of"),
])
def test_recipe_layer_refuses_what_no_data_recipe_builds(kwargs, message):
    with pytest.raises(EcgnetError, match=message):
        InputRecipe(**kwargs)


def test_train_and_predict_a_centred_model_from_the_command_line(tmp_path, run_cli, fixtures_dir):
    """Prepare the fixtures, train 1 epoch on centred windows, and predict a record: the card and the output agree."""
    data = tmp_path / "data"
    assert run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", data).returncode == 0
    run = tmp_path / "run"
    result = run_cli("train", "--data", data, "--split", "kaggle", "--window", "centred", "--relative", "--rr", "--rr-features", "relative",
                     "--preset", "small", "--epochs", "1", "--batch-size", "64", "--out", run)
    assert result.returncode == 0, result.stderr
    card = json.loads((run / "training.json").read_text())
    assert card["window"] == "centred" and card["relative"] and card["rr_features"] == 3
    out = tmp_path / "pred.csv"
    result = run_cli("predict", "--model", run / "model.keras", "--record", fixtures_dir / "208_excerpt", "--out", out)
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) > 10
    refused = run_cli("train", "--data", data, "--split", "kaggle", "--window", "centred", "--relative", "--previous-beat", "--out", tmp_path / "r2")
    assert refused.returncode == 2 and "the centred window holds it already" in refused.stderr


@pytest.mark.parametrize("rate", [360, 128])
def test_predict_reads_a_record_at_either_rate_for_a_centred_model(rate, tmp_path, run_cli, fixtures_dir):
    from ecgnet.models import build_named_model

    build_named_model("small", (CENTRED_LENGTH, 2), rr_features=3, **TINY).save(tmp_path / "centred.keras")
    record = fixtures_dir / "208_excerpt" if rate == 360 else _record_at_128_hz(fixtures_dir, tmp_path)
    out = tmp_path / "pred.csv"
    result = run_cli("predict", "--model", tmp_path / "centred.keras", "--record", record, "--out", out)
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) - 1 == len(beats_from_record(record).beats)


def test_the_shipped_new_patients_model_reads_a_record_at_128_hz_as_well_as_at_360_hz(fixtures_dir, tmp_path):
    """ecgnet-mitbih-svdb labels record 208 alike at 360 Hz and resampled to 128 Hz.

    208 is a DS1 patient, one of the model's training records: what is tested is that the rate does not change the
    labels (and that both beat the all-N answer), not how well the model labels new patients."""
    from ecgnet.pretrained_models import load_model

    model = load_model("ecgnet-mitbih-svdb")
    labels = {}
    for rate, path in ((360, fixtures_dir / "208_excerpt"), (128, _record_at_128_hz(fixtures_dir, tmp_path))):
        part = beats_from_record(path).beats
        predicted = model.predict(model_inputs(model, part), verbose=0).argmax(axis=1)
        labels[rate] = predicted
        accuracy = np.mean(predicted == part.y)
        assert accuracy > np.mean(part.y == 0) + 0.10, f"{rate} Hz: accuracy {accuracy:.3f}"
    assert np.mean(labels[360] == labels[128]) > 0.9
