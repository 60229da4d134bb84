"""The irregular-rhythm detector (ecgnet.data.features.irregular_rhythm) and the S gate it drives.

The detector is checked against a plain loop over each beat's window, on
synthetic R-R series of the rhythms it must tell apart: regular, regular
with isolated premature beats, bigeminy, trigeminy, and irregularly
irregular (atrial fibrillation). The gate is checked on hand-made
probabilities: S moves to N on the marked beats, nothing moves elsewhere.
"""

import numpy as np
import pytest

from conftest import REPO_ROOT
from ecgnet.adaptation import GATE_MIN_MARKED, gate_irregular_rhythm, gates_patient, rhythm_gate
from ecgnet.data.features import (IRREGULAR_HALF_WIDTH, IRREGULAR_PERCENTILE, IRREGULAR_PREMATURITY_RATIO,
                                  IRREGULAR_THRESHOLD, irregular_rhythm, rr_irregularity, rr_prematurity)
from ecgnet.errors import DataFormatError, EcgnetError


def reference(times, half_width, percentile, lags=(1, 2, 3)):
    """rr_irregularity of one record, beat by beat."""
    steps = np.diff(times)
    intervals = np.concatenate([steps[:1], steps])
    values = []
    for i in range(len(times)):
        window = intervals[max(i - half_width, 0): i + half_width + 1]
        per_lag = [np.percentile(np.abs(window[lag:] - window[:-lag]), percentile) / np.median(window)
                   for lag in lags if lag < len(window)]
        values.append(min(per_lag))
    return np.asarray(values)


def series(pattern, beats=300):
    """R-peak times in seconds of a rhythm given as a repeating list of R-R intervals."""
    return np.cumsum(np.resize(np.asarray(pattern, np.float64), beats))


def rhythms():
    rng = np.random.default_rng(0)
    regular = series([0.8]) + rng.normal(0, 0.004, 300)  # sinus with a little jitter
    premature = np.full(300, 0.8)
    premature[10::12], premature[11::12] = 0.5, 1.1  # one beat in 12 premature, then its pause
    return {
        "regular": regular,
        "premature beats": np.cumsum(premature),
        "bigeminy": series([0.55, 1.05]),
        "trigeminy": series([0.8, 0.55, 1.05]),
        "atrial fibrillation": np.cumsum(rng.uniform(0.4, 1.1, 300)),
    }


@pytest.mark.parametrize("name", ["regular", "premature beats", "bigeminy", "trigeminy", "atrial fibrillation"])
def test_rr_irregularity_matches_a_loop_and_marks_only_the_irregularly_irregular_rhythm(name):
    times = rhythms()[name]
    found = rr_irregularity(times)
    np.testing.assert_allclose(found, reference(times, IRREGULAR_HALF_WIDTH, IRREGULAR_PERCENTILE), rtol=1e-9, atol=1e-12)
    marked = irregular_rhythm(times)
    np.testing.assert_array_equal(marked, found > IRREGULAR_THRESHOLD)
    if name == "atrial fibrillation":
        assert marked[5:-5].all()  # the last beats see half a window
    else:
        assert not marked.any()


def test_rr_irregularity_marks_an_episode_of_fibrillation_and_little_around_it():
    rng = np.random.default_rng(1)
    intervals = np.concatenate([np.full(200, 0.8), rng.uniform(0.4, 1.1, 200), np.full(200, 0.8)])
    marked = irregular_rhythm(np.cumsum(intervals))
    # the low percentile needs most of a window's pairs irregular: the episode's edges (up to a
    # quarter of the 65-beat window) are missed, and nothing is marked outside it
    assert marked[230:370].all()
    assert not marked[:200].any() and not marked[400:].any()


def test_rr_irregularity_options_and_short_records():
    times = rhythms()["atrial fibrillation"][:50]
    np.testing.assert_allclose(rr_irregularity(times, half_width=5, percentile=50, lags=(1,)),
                               reference(times, 5, 50, lags=(1,)), rtol=1e-9)
    np.testing.assert_array_equal(rr_irregularity([1.0, 2.0]), [0.0, 0.0])
    assert irregular_rhythm([]).shape == (0,)


def test_rr_irregularity_refuses_bad_times_and_options():
    with pytest.raises(DataFormatError, match="increasing R-peak times"):
        rr_irregularity([1.0, 0.5, 2.0])
    with pytest.raises(DataFormatError, match="half_width=0"):
        rr_irregularity([1.0, 2.0, 3.0], half_width=0)


def test_gate_moves_s_to_n_only_on_the_marked_beats():
    probabilities = np.array([[0.3, 0.6, 0.1, 0.0, 0.0],
                              [0.1, 0.3, 0.6, 0.0, 0.0],
                              [0.1, 0.8, 0.05, 0.05, 0.0],
                              [0.7, 0.1, 0.1, 0.05, 0.05]])
    marked = np.array([True, True, False, False])
    gated = gate_irregular_rhythm(probabilities, marked)
    expected = probabilities.copy()
    for i in np.flatnonzero(marked):  # written out: S's share goes to N, the other classes keep theirs
        expected[i] = [probabilities[i, 0] + probabilities[i, 1], 0.0] + list(probabilities[i, 2:])
    np.testing.assert_allclose(gated, expected)
    np.testing.assert_allclose(gated.sum(axis=1), probabilities.sum(axis=1))
    assert list(gated.argmax(axis=1)) == [0, 2, 1, 0]  # the unmarked S call stands
    assert probabilities[0, 1] == 0.6  # the input is untouched
    with pytest.raises(EcgnetError, match=r"probabilities must be \(n, 5\)"):
        gate_irregular_rhythm(probabilities, marked[:3])


def test_adapt_patients_af_gate_gates_the_marked_beats_only(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from benchmarks.experiments.adapt_patients import _calls

    probabilities = np.array([[0.3, 0.6, 0.1, 0, 0], [0.3, 0.6, 0.1, 0, 0]])
    marked = np.array([True, False])
    shown = np.ones(5, bool)
    assert list(_calls("af-gate", probabilities, None, None, None, shown, "r", marked)) == [0, 1]
    assert list(_calls("default", probabilities, None, None, None, shown, "r", marked)) == [1, 1]


def test_rr_irregularity_of_a_record_shorter_than_its_window_matches_the_loop():
    times = rhythms()["atrial fibrillation"][:10]  # every window reaches past an end of the record
    np.testing.assert_allclose(rr_irregularity(times), reference(times, IRREGULAR_HALF_WIDTH, IRREGULAR_PERCENTILE),
                               rtol=1e-9)


def test_rr_prematurity_matches_a_loop():
    for times in list(rhythms().values()) + [rhythms()["atrial fibrillation"][:10]]:
        steps = np.diff(times)
        intervals = np.concatenate([steps[:1], steps])
        expected = [1 - intervals[i] / np.median(intervals[max(i - IRREGULAR_HALF_WIDTH, 0): i + IRREGULAR_HALF_WIDTH + 1])
                    for i in range(len(times))]
        np.testing.assert_allclose(rr_prematurity(times), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rr_prematurity(rhythms()["premature beats"])[10:14], [0.375, -0.375, 0, 0])
    np.testing.assert_array_equal(rr_prematurity([1.0]), [0.0])
    with pytest.raises(DataFormatError, match="half_width=0"):
        rr_prematurity([1.0, 2.0, 3.0], half_width=0)


def test_the_prematurity_ratio_unmarks_the_beats_that_stand_out_of_the_rhythm():
    rng = np.random.default_rng(2)
    intervals = rng.uniform(0.5, 1.0, 300)  # atrial fibrillation
    intervals[100:200:40] = 0.3  # and beats far earlier than the rhythm varies
    times = np.cumsum(intervals)
    irregularity, premature = rr_irregularity(times), rr_prematurity(times)
    expected = [irregularity[i] > IRREGULAR_THRESHOLD and premature[i] < IRREGULAR_PREMATURITY_RATIO * irregularity[i]
                for i in range(len(times))]  # written out, beat by beat
    kept = irregular_rhythm(times, premature_ratio=IRREGULAR_PREMATURITY_RATIO)
    np.testing.assert_array_equal(kept, expected)
    assert irregular_rhythm(times)[100:200:40].all() and not kept[100:200:40].any()
    assert kept[5:-5].sum() >= 0.9 * (len(times) - 10 - 3)
    with pytest.raises(DataFormatError, match="premature_ratio=0"):
        irregular_rhythm(times, premature_ratio=0)


def test_adapt_patients_round_6_gates(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from benchmarks.experiments.adapt_patients import _calls

    probabilities = np.tile([[0.3, 0.6, 0.1, 0, 0]], (3, 1))
    marked, kept = np.array([True, True, False]), np.array([True, False, False])
    shown = np.ones(5, bool)
    calls = {recipe: list(_calls(recipe, probabilities, None, None, None, shown, "r", marked, kept, gated))
             for recipe, gated in [("af-gate-premature", False), ("af-gate-patient", True), ("af-gate-patient", False),
                                   ("af-gate-patient-premature", True), ("af-gate-patient-premature", False)]}
    assert calls == {"af-gate-premature": [0, 1, 1], "af-gate-patient": [1, 1, 1], "af-gate-patient-premature": [1, 1, 1]}
    assert list(_calls("af-gate-patient", probabilities, None, None, None, shown, "r", marked, kept, True)) == [0, 0, 1]
    assert list(_calls("af-gate-patient-premature", probabilities, None, None, None, shown, "r", marked, kept, True)) == [0, 1, 1]


def test_a_patient_is_gated_if_the_labelled_beats_show_irregular_rhythm_without_s():
    labels = np.zeros(200, np.int64)
    irregular = np.zeros(200, bool)
    irregular[:GATE_MIN_MARKED] = True
    assert GATE_MIN_MARKED == 65
    assert gates_patient(irregular, labels)
    assert not gates_patient(irregular[1:], labels[1:])  # one marked beat too few
    labels[GATE_MIN_MARKED - 1] = 1
    assert not gates_patient(irregular, labels)  # an S beat in 65 marked ones: above 1 %
    labels[GATE_MIN_MARKED - 1], labels[-1] = 0, 1
    assert gates_patient(irregular, labels)  # an S beat outside the irregular rhythm does not count
    irregular[:150], labels[[10, 100]] = True, 1
    assert not gates_patient(irregular, labels)  # 2 of 150: above 1 %
    irregular[:], labels[-1] = True, 0
    assert gates_patient(irregular, labels)  # 2 of 200: 1 %, the most allowed


def test_rhythm_gate_marks_the_irregular_beats_of_a_gated_patient_only():
    rng = np.random.default_rng(3)
    intervals = np.concatenate([rng.uniform(0.4, 1.1, 400), np.full(300, 0.8)])  # fibrillation, then sinus rhythm
    times = np.cumsum(intervals)
    labelled = times < 120.0
    labels = np.zeros(len(times), np.int64)
    marks = irregular_rhythm(times)
    np.testing.assert_array_equal(rhythm_gate(times, labelled, labels), marks)
    assert marks[:370].all() and not marks[430:].any()  # the edges: up to a quarter window
    labels[np.flatnonzero(labelled & marks)[:2]] = 1  # 2 S beats among about 160 marked: above 1 %
    assert not rhythm_gate(times, labelled, labels).any()
    labels[:] = 0
    assert not rhythm_gate(times, times < 20.0, labels).any()  # too few labelled beats
    labels[-1] = 1  # an S beat outside the labelled span is not read
    np.testing.assert_array_equal(rhythm_gate(times, labelled, labels), marks)
    assert not rhythm_gate(np.r_[times[:10], times[9:]], np.r_[labelled[:10], labelled[9:]], np.r_[labels[:10], labels[9:]]).any()


def test_predict_record_with_adaptation_gates_the_beats_rhythm_gate_marks(monkeypatch):
    import ecgnet.adaptation as adaptation
    from conftest import FIXTURES
    from ecgnet.prediction import predict_record

    seen, gated = {}, {}
    real_gate = adaptation.gate_irregular_rhythm

    def every_beat(times, labelled, labels):  # as if the labelled minutes showed fibrillation without S
        seen.update(times=np.asarray(times), labelled=np.asarray(labelled), labels=np.asarray(labels))
        return np.ones(len(times), bool)

    def spy(probabilities, irregular):
        gated.update(before=probabilities, marked=irregular, after=real_gate(probabilities, irregular))
        return gated["after"]

    monkeypatch.setattr(adaptation, "rhythm_gate", every_beat)
    monkeypatch.setattr(adaptation, "gate_irregular_rhythm", spy)
    table = predict_record("ecgnet-mitbih-interpatient", FIXTURES / "208_excerpt", adapt_minutes=0.5)
    usable = (table["signal"] == "ok").to_numpy()
    assert seen["labelled"].tolist() == (table["adaptation"] == "yes").tolist()
    np.testing.assert_allclose(seen["times"], table["time_s"], atol=1e-3)
    assert gated["marked"].all() and len(gated["marked"]) == usable.sum()
    np.testing.assert_allclose(table["confidence"][usable], gated["after"].max(axis=1), rtol=1e-6)
    assert not (table["predicted"] == "S").any()
    assert table.attrs["rhythm_gate"] == usable.sum()
