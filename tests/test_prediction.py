"""Tests for ecgnet.predict_record: every beat of a WFDB record classified, beats on bad signal marked."""

import shutil

import keras
import numpy as np
import pandas as pd
import pytest

import ecgnet
from ecgnet.data import CLASS_NAMES, beats_from_record, model_inputs
from ecgnet.errors import DataFormatError, ModelFileError
from ecgnet.prediction import UNCLASSIFIABLE, predict_record

from conftest import FIXTURES, tiny_model

RECORD = FIXTURES / "208_excerpt"  # 40 s of MIT-BIH record 208, 360 Hz, MLII and V1, with its .atr
PAST_END = "window past the end"  # ecgnet.plausibility: a beat whose window runs past the record's end


def past_the_end(times, seconds=40.0):
    """The beats whose 187-sample window at 125 Hz (1.496 s from the R peak) runs past a 40-s record's end."""
    return np.asarray(times, dtype=float) + 187 / 125 > seconds



def write_record(folder, signal, name="208_excerpt"):
    """The fixture's header, annotations and a changed (n, 2) signal, as a WFDB record in ``folder``."""
    import wfdb

    wfdb.wrsamp(name, fs=360.0, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=signal, fmt=["16", "16"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(folder))
    shutil.copy(f"{RECORD}.atr", folder / f"{name}.atr")
    return folder / name


def fixture_signal():
    import wfdb

    return wfdb.rdrecord(str(RECORD)).p_signal


def test_a_clean_record_gets_what_the_model_gives_its_beats():
    model = tiny_model(channels=3, rr_features=3)
    table = predict_record(model, RECORD)
    beats = beats_from_record(RECORD).beats
    # the reference: the beat builder's beats and the data module's inputs, predicted directly
    probabilities = model.predict(model_inputs(model, beats), verbose=0)
    assert list(table.columns) == ["time_s", "predicted", "confidence", "signal", "annotated"]
    assert len(table) == len(beats)
    end = past_the_end(table["time_s"])
    assert end.sum() == 1  # the last beat kept (the record's last one has no next R-R and is dropped)
    assert table["predicted"].tolist() == [UNCLASSIFIABLE if e else CLASS_NAMES[i] for i, e in zip(probabilities.argmax(axis=1), end)]
    np.testing.assert_allclose(table["confidence"][~end], probabilities.max(axis=1)[~end], rtol=1e-6)
    assert table["signal"].tolist() == [PAST_END if e else "ok" for e in end]
    assert table["annotated"].tolist() == [CLASS_NAMES[i] if i >= 0 else "" for i in beats.y]
    np.testing.assert_allclose(table["time_s"], np.round(beats.r_peak / 360.0, 3))
    assert table.attrs["peaks"] == "annotations" and table.attrs["fs"] == 360.0 and table.attrs["stretches"] == []
    assert table.attrs["recipe"] == {"window": "kachuee", "beat_channels": 3, "rr_features": 3} and table.attrs["leads"] == 1


def test_a_model_file_a_shipped_name_and_a_loaded_model_give_the_same_table(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_model(rr_features=6).save(path)
    by_path = predict_record(path, RECORD)
    pd.testing.assert_frame_equal(by_path, predict_record(keras.saving.load_model(path), RECORD))
    shipped = ecgnet.predict_record("ecgnet-mitbih", RECORD, detect=True)
    assert shipped.attrs["peaks"] == "detector" and "annotated" not in shipped
    assert shipped.loc[shipped["signal"] == "ok", "predicted"].isin(CLASS_NAMES).all()
    with pytest.raises(ModelFileError, match="no such model file"):
        predict_record(tmp_path / "missing.keras", RECORD)


def test_beats_on_bad_signal_get_no_class_and_say_why(tmp_path):
    signal = fixture_signal()
    signal[3600:7200, 0] = np.nan  # 10 s of invalid samples in MLII
    table = predict_record(tiny_model(channels=3, rr_features=3), write_record(tmp_path, signal))
    bad = table["signal"] != "ok"
    assert 0 < bad.sum() < len(table)
    in_stretch = bad & ~past_the_end(table["time_s"])
    assert table.loc[in_stretch, "signal"].str.startswith("invalid").all()  # and maybe "; not QRS-like" too
    assert table.loc[bad, "predicted"].eq(UNCLASSIFIABLE).all() and table.loc[bad, "confidence"].isna().all()
    assert table.loc[~bad, "predicted"].isin(CLASS_NAMES).all()
    times = table.loc[bad, "time_s"]
    assert times.min() < 10.0 and times.max() > 20.0  # a beat's span reaches back to the previous R peak
    assert [(s.kind, s.start, s.stop) for s in table.attrs["stretches"]] == [("invalid", 3600, 7200)]


def test_the_second_lead_counts_only_for_a_model_that_reads_it(tmp_path):
    signal = fixture_signal()
    signal[3600:7200, 1] = 0.0  # V1 flat for 10 s, MLII clean
    path = write_record(tmp_path, signal)
    one_lead = predict_record(tiny_model(channels=3), path)
    two_leads = predict_record(tiny_model(channels=6), path)
    assert (one_lead["signal"] == "ok").tolist() == (~past_the_end(one_lead["time_s"])).tolist() and one_lead.attrs["leads"] == 1
    flat = two_leads["signal"] == "flat"
    assert flat.any() and two_leads.loc[flat, "predicted"].eq(UNCLASSIFIABLE).all() and two_leads.attrs["leads"] == 2


def test_a_record_without_a_usable_beat_is_refused(tmp_path):
    signal = fixture_signal()
    signal[:, 0] = np.nan
    with pytest.raises(DataFormatError, match=r"208_excerpt: no usable beat: all \d+ beats touch bad signal \(invalid 0.00-40.00 s\)"):
        predict_record("ecgnet-mitbih", write_record(tmp_path, signal))


def test_the_command_line_writes_the_table(tmp_path, run_cli):
    path = tmp_path / "tiny.keras"
    tiny_model(channels=3, rr_features=3).save(path)
    out = tmp_path / "beats.csv"
    result = run_cli("predict", "--model", path, "--record", RECORD, "--out", out)
    assert result.returncode == 0, result.stderr
    table = predict_record(path, RECORD)
    written = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert written.columns.tolist() == table.columns.tolist()
    assert written["predicted"].tolist() == table["predicted"].tolist()
    assert written["confidence"].tolist() == ["" if np.isnan(c) else f"{c:.4f}" for c in table["confidence"]]
    assert written["time_s"].astype(float).tolist() == table["time_s"].tolist()
