"""A model adapted and saved (``python -m ecgnet adapt``) labels its record as adapting in memory does.

The reference is the in-memory path, ``predict --adapt-minutes``: the saved
file must give the same table, beat for beat (its labelled beats marked,
the patient's rhythm gate applied). The gate itself is checked on a whole
record with atrial fibrillation (DS1 record 203, ``$ECGNET_MITDB_DIR``)
against the record's own rhythm annotations.
"""

import bisect

import numpy as np
import pandas as pd
import pytest

from ecgnet.adaptation import patient_record, saved_span, with_patient_record
from ecgnet.errors import EcgnetError
from ecgnet.layers import PatientAdaptation
from ecgnet.pretrained_models import load_model

MODEL = "ecgnet-mitbih-interpatient"


def test_the_saved_adapted_model_labels_its_record_as_the_in_memory_adaptation(run_cli, fixtures_dir, tmp_path):
    from ecgnet.prediction import predict_record

    record = fixtures_dir / "208_excerpt"
    adapted = tmp_path / "adapted.keras"
    result = run_cli("adapt", "--model", MODEL, "--record", record, "--minutes", "0.5", "--out", adapted)
    assert result.returncode == 0, result.stderr
    assert "52 labelled beats in the first 0.5 minutes" in result.stdout and "N 25, S 0, V 20, F 7, Q 0" in result.stdout
    saved = run_cli("predict", "--model", adapted, "--record", record, "--out", tmp_path / "saved.csv")
    assert saved.returncode == 0, saved.stderr
    assert f"adapted to the 52 labelled beats of the first 0.5 minutes (saved in {adapted})" in saved.stdout
    table = pd.read_csv(tmp_path / "saved.csv", keep_default_na=False)
    in_memory = predict_record(MODEL, record, adapt_minutes=0.5)
    assert in_memory.attrs["adapted_in_memory"] and in_memory.attrs["adapted_minutes"] == 0.5
    assert table["predicted"].tolist() == in_memory["predicted"].tolist()
    np.testing.assert_allclose(pd.to_numeric(table["confidence"], errors="coerce"), in_memory["confidence"], atol=1e-4)
    assert table["adaptation"].tolist() == in_memory["adaptation"].tolist()
    assert (table["adaptation"] == "yes").tolist() == (table["time_s"] < 30).tolist()

    other = predict_record(adapted, fixtures_dir / "232_excerpt")
    assert "adaptation" not in other.columns
    assert any("adapted to the first 0.5 minutes of record 208_excerpt, not to 232_excerpt" in line
               for line in other.attrs["verdict"])


def test_the_patient_record_is_replaced_not_stacked_and_matches_beats_by_time():
    model = load_model(MODEL)
    times = np.array([0.5, 1.25, 2.0, 2.8])
    used = np.array([True, True, False, False])
    labels = np.array([0, 1, -1, -1])
    once = with_patient_record(model, "data/mitdb/232", times, used, labels, 0.05)
    twice = with_patient_record(once, "data/mitdb/232", times, used, [0, 0, -1, -1], 0.05)
    assert [type(layer).__name__ for layer in twice.layers].count("PatientAdaptation") == 1
    assert patient_record(twice)["labels"] == ["N", "N"] and patient_record(model) is None
    probe = {"beat": np.random.default_rng(0).normal(size=(2, 187, 3)).astype("float32"),
             "rr": np.ones((2, 3), "float32")}
    np.testing.assert_array_equal(np.asarray(twice(probe)), np.asarray(model(probe)))

    found_used, found_labels, warning = saved_span(once, "elsewhere/232", times + 0.0004)
    assert warning is None and found_used.tolist() == used.tolist() and found_labels.tolist() == [0, 1, -1, -1]
    assert saved_span(once, "232", times[2:])[2].endswith("no beat of this record lies at 0.500 s: its patient's rhythm gate is not applied")
    assert "not to 233" in saved_span(once, "233", times)[2]
    assert saved_span(model, "232", times) == (None, None, None)


@pytest.mark.parametrize("arguments, message", [
    ({"times": [1.0], "labels": []}, "1 times but 0 labels"),
    ({"times": [1.0], "labels": ["X"]}, "labels must be among N, S, V, F, Q"),
    ({"minutes": -1}, "minutes must be a number >= 0"),
])
def test_patient_adaptation_refuses_what_is_no_patient_record(arguments, message):
    with pytest.raises(EcgnetError, match=message):
        PatientAdaptation(**arguments)


def _in_atrial_fibrillation(record, times, fs):
    """Whether each R peak lies in an (AFIB or (AFL stretch of the record's rhythm annotations."""
    import wfdb

    annotation = wfdb.rdann(str(record), "atr")
    changes = [(int(sample), note.strip("\x00")) for sample, note in zip(annotation.sample, annotation.aux_note)
               if note.startswith("(")]
    starts = [sample for sample, _ in changes]
    rhythm = [changes[bisect.bisect_right(starts, int(round(t * fs))) - 1][1] if starts[0] <= t * fs else ""
              for t in times]
    return np.array([r.startswith(("(AFIB", "(AFL")) for r in rhythm])


def test_the_rhythm_gate_fires_on_a_patient_in_atrial_fibrillation_and_the_saved_model_keeps_it(mitdb, tmp_path):
    """Record 203 (DS1) is in atrial fibrillation or flutter from its first minutes, with no S beat there."""
    from ecgnet.adaptation import adapt_to_span, usable_span_labels
    from ecgnet.data.records import beats_from_record
    from ecgnet.prediction import predict_record

    record = mitdb / "203"
    found = beats_from_record(record, check_quality=True)
    used, labels = usable_span_labels(record, found, 5)
    adapted = with_patient_record(adapt_to_span(load_model(MODEL), MODEL, found.beats, used, labels), record,
                                  found.times, used, labels, 5)
    adapted.save(tmp_path / "203.keras")
    table = predict_record(tmp_path / "203.keras", record)
    assert not table.attrs["adapted_in_memory"] and (table["adaptation"] == "yes").sum() == used.sum()
    in_af = _in_atrial_fibrillation(record, table["time_s"].to_numpy(), table.attrs["fs"])
    assert table.attrs["rhythm_gate"] > 0.9 * in_af.sum()  # the detector marks nearly all of it
    later = (table["time_s"] >= 300).to_numpy() & in_af
    assert later.sum() > 2000 and not (table["predicted"][later] == "S").any()
