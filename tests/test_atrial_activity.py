"""The atrial activity before each QRS complex (ecgnet.data.atrial), and the round-7 gates of adapt_patients.

The measure is checked against a plain loop over the beats (each segment cut
from the filtered lead, the median of its neighbours' segments, numpy's
correlation), on synthetic leads at 360 Hz and 128 Hz: a P wave before each
QRS complex, a run of ectopic P waves of another shape, premature beats,
and fibrillatory waves that do not repeat. With ``$ECGNET_MITDB_DIR``, on
DS1's record 201 against its rhythm annotations.
"""

import functools

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from conftest import REPO_ROOT
from ecgnet.data.atrial import (ATRIAL_BAND_HZ, ATRIAL_HALF_WIDTH, ATRIAL_SEGMENT_S, ATRIAL_THRESHOLD,
                                atrial_activity_repeats, atrial_repetition, pre_qrs_correlation, pre_qrs_segments)
from ecgnet.errors import DataFormatError


def reference(signal, fs, r_peaks, half_width=ATRIAL_HALF_WIDTH):
    """(correlation, repetition) of each beat, beat by beat."""
    sos = butter(2, [ATRIAL_BAND_HZ[0], min(ATRIAL_BAND_HZ[1], 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    filtered = sosfiltfilt(sos, signal)
    start, stop = round(ATRIAL_SEGMENT_S[0] * fs), round(ATRIAL_SEGMENT_S[1] * fs)
    segments = [filtered[r - start: r - stop] if r - start >= 0 else None for r in r_peaks]
    correlation = []
    for i, own in enumerate(segments):
        around = [segments[j] for j in range(max(i - half_width, 0), min(i + half_width + 1, len(segments)))
                  if j != i and segments[j] is not None]
        correlation.append(np.nan if own is None or not around else np.corrcoef(own, np.median(around, axis=0))[0, 1])
    correlation = np.asarray(correlation)
    repetition = [np.nanmedian(correlation[max(i - half_width, 0): i + half_width + 1]) for i in range(len(correlation))]
    return correlation, np.asarray(repetition)


def lead(fs, rr, p_wave=None, fibrillation=False, seed=0):
    """A synthetic lead: a QRS spike at each R peak, a T wave after it, a P wave before it or fibrillatory waves.

    ``rr``: the R-R intervals in seconds; ``p_wave``: None (none) or a list, per beat, of (delay before
    the R peak in seconds, width in seconds, amplitude).
    """
    rng = np.random.default_rng(seed)
    r_times = 1.0 + np.cumsum(np.r_[0.0, rr])
    t = np.arange(int((r_times[-1] + 1.0) * fs)) / fs
    signal = rng.normal(0, 0.01, len(t))
    for i, r in enumerate(r_times):
        near = slice(int((r - 0.5) * fs), int((r + 0.6) * fs))  # the waves are 0 beyond
        u = t[near] - r
        signal[near] += np.exp(-((u / 0.012) ** 2)) + 0.3 * np.exp(-(((u - 0.28) / 0.05) ** 2))
        if p_wave is not None:
            delay, width, amplitude = p_wave[i]
            signal[near] += amplitude * np.exp(-(((u + delay) / width) ** 2))
    if fibrillation:  # 4 to 9 Hz waves whose frequency and phase drift
        frequency = 6.0 + 1.5 * np.sin(2 * np.pi * 0.13 * t) + np.cumsum(rng.normal(0, 0.05, len(t))) / np.sqrt(fs)
        signal += 0.08 * np.sin(2 * np.pi * np.cumsum(np.clip(frequency, 4, 9)) / fs) * (1 + 0.5 * rng.random(len(t)))
    return signal, np.round(r_times * fs).astype(np.int64)


@functools.lru_cache(maxsize=2)
def rhythms(fs):
    rng = np.random.default_rng(1)
    n = 200
    sinus = [(0.18, 0.025, 0.15)] * (n + 1)
    ectopic = sinus[:80] + [(0.13, 0.015, -0.12)] * 60 + sinus[140:]  # a run from another focus: another shape
    premature_rr = np.full(n, 0.8)
    premature_rr[5::3] = 0.5  # one beat in 3 premature, its P wave early, on the previous T wave
    premature_rr[6::3] = 1.1
    premature = [(0.18, 0.025, 0.15)] * (n + 1)
    return {
        "sinus": lead(fs, rng.normal(0.8, 0.01, n), sinus),
        "ectopic run": lead(fs, np.r_[np.full(80, 0.8), np.full(60, 0.45), np.full(60, 0.8)], ectopic),
        "premature beats": lead(fs, premature_rr, premature),
        "atrial fibrillation": lead(fs, rng.uniform(0.4, 1.1, n), None, fibrillation=True),
    }


@pytest.mark.parametrize("fs", [360.0, 128.0])
@pytest.mark.parametrize("name", ["sinus", "ectopic run", "premature beats", "atrial fibrillation"])
def test_atrial_repetition_matches_a_loop_and_repeats_only_where_a_p_wave_does(fs, name):
    signal, r_peaks = rhythms(fs)[name]
    correlation, repetition = reference(signal, fs, r_peaks)
    np.testing.assert_allclose(pre_qrs_correlation(signal, fs, r_peaks), correlation, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(atrial_repetition(signal, fs, r_peaks), repetition, rtol=1e-9, atol=1e-12)
    repeats = atrial_activity_repeats(signal, fs, r_peaks)
    np.testing.assert_array_equal(repeats, np.isnan(repetition) | (repetition >= ATRIAL_THRESHOLD))
    if name == "atrial fibrillation":
        assert not repeats.any() and np.nanmax(repetition) < 0.4
    else:
        assert repeats.all() and np.nanmin(repetition) > 0.8


def test_pre_qrs_segments_cut_the_band_passed_lead_before_each_r_peak():
    signal, r_peaks = rhythms(360.0)["sinus"]
    segments = pre_qrs_segments(signal, 360.0, r_peaks)
    assert segments.shape == (len(r_peaks), 108 - 29)  # 0.30 s to 0.08 s before the R peak at 360 Hz
    assert pre_qrs_segments(signal[::3], 120.0, r_peaks // 3).shape == (len(r_peaks), 36 - 10)
    early = pre_qrs_segments(signal, 360.0, np.r_[50, r_peaks])  # its segment starts before the record
    assert np.isnan(early[0]).all() and not np.isnan(early[1:]).any()
    broken = signal.copy()
    broken[r_peaks[3] - 50] = np.nan  # an invalid sample: that beat's segment only
    rows = np.isnan(pre_qrs_segments(broken, 360.0, r_peaks)).all(axis=1)
    assert rows.tolist() == [i == 3 for i in range(len(r_peaks))]
    # a beat that cannot be read is left out of its neighbours' median and is not called fibrillation
    assert atrial_activity_repeats(broken, 360.0, r_peaks).all()


def test_atrial_measure_refuses_bad_arguments():
    with pytest.raises(DataFormatError, match="increasing sample indices"):
        pre_qrs_segments(np.zeros(1000), 360.0, [500, 400])
    with pytest.raises(DataFormatError, match="fs=0"):
        pre_qrs_segments(np.zeros(1000), 0, [500])
    with pytest.raises(DataFormatError, match="half_width=0"):
        atrial_repetition(np.zeros(1000), 360.0, [500], half_width=0)
    with pytest.raises(DataFormatError, match="segment="):
        pre_qrs_segments(np.zeros(1000), 360.0, [500], segment=(0.08, 0.30))
    assert atrial_repetition(np.zeros(1000), 360.0, np.zeros(0, int)).shape == (0,)


def test_atrial_measure_on_record_201_against_its_rhythm_annotations(mitdb, monkeypatch):
    """DS1's record 201: atrial fibrillation between sinus rhythm with frequent atrial premature beats."""
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from benchmarks.experiments.fit_irregular_rhythm import record_rhythm
    from ecgnet.data.features import irregular_rhythm
    from ecgnet.data.records import read_annotated_lead

    times, labels, in_af = record_rhythm(mitdb / "201")
    signal, fs, peaks, _ = read_annotated_lead(mitdb / "201")
    repeats = atrial_activity_repeats(signal, fs, peaks[: len(times)])
    marked = irregular_rhythm(times)
    # as fitted (docs/results.md, section 15, round 7): 866 of its 895 marked AF beats do not repeat,
    # 92 of the 94 marked S beats outside AF do
    assert (marked & in_af & ~repeats).sum() >= 0.95 * (marked & in_af).sum()
    outside = marked & ~in_af & (labels == 1)
    assert outside.sum() == 94 and (outside & repeats).sum() >= 90
    assert np.mean(repeats[~in_af]) > 0.9


def test_adapt_patients_round_7_gates(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from benchmarks.experiments.adapt_patients import _calls

    probabilities = np.tile([[0.3, 0.6, 0.1, 0, 0]], (3, 1))
    marked, atrial = np.array([True, True, False]), np.array([True, False, False])
    shown = np.ones(5, bool)

    def calls(recipe, gated):
        return list(_calls(recipe, probabilities, None, None, None, shown, "r", marked, None, gated, atrial))

    assert calls("af-gate-atrial", False) == calls("af-gate-atrial", True) == [0, 1, 1]  # every patient, atrial beats
    assert calls("af-gate-atrial-or-patient", False) == [0, 1, 1]
    assert calls("af-gate-atrial-or-patient", True) == [0, 0, 1]  # the patient gate: every marked beat


def test_adapt_patients_round_8_gates(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from benchmarks.experiments.adapt_patients import _calls

    probabilities = np.tile([[0.3, 0.6, 0.1, 0, 0]], (3, 1))
    marked, atrial = np.array([True, True, False]), np.array([True, False, False])
    shown = np.ones(5, bool)

    def calls(recipe, gated, shown_s, lead_reads):
        return list(_calls(recipe, probabilities, None, None, None, shown, "r", marked, None, gated, atrial,
                           shown_s, lead_reads))

    for gated in (False, True):  # the patient gate's verdict does not matter to the first
        for lead_reads in (False, True):
            assert calls("af-gate-atrial-unless-shown", gated, False, lead_reads) == [0, 1, 1]
            assert calls("af-gate-atrial-unless-shown", gated, True, lead_reads) == [1, 1, 1]  # S shown: no gate
            assert calls("af-gate-atrial-readable-else-patient", gated, True, lead_reads) == [1, 1, 1]
        assert calls("af-gate-atrial-readable-else-patient", gated, False, True) == [0, 1, 1]  # the lead reads
    # a lead whose P waves cannot be read: round 6's patient gate where it applies, else none
    assert calls("af-gate-atrial-readable-else-patient", True, False, False) == [0, 0, 1]
    assert calls("af-gate-atrial-readable-else-patient", False, False, False) == [1, 1, 1]


def test_read_lead_reads_the_lead_the_beats_were_cut_from(fixtures_dir):
    from ecgnet.data.atrial import read_lead
    from ecgnet.data.records import beats_from_record, read_annotated_lead

    record = fixtures_dir / "208_excerpt"
    found = beats_from_record(record, check_quality=True)
    signal, fs = read_lead(record, found.lead)
    reference, reference_fs, peaks, _ = read_annotated_lead(record)  # the lead prepare reads
    assert fs == reference_fs == found.fs and np.array_equal(signal, reference)
    assert np.array_equal(found.beats.r_peak, peaks[: len(found.times)])
    assert np.array_equal(read_lead(f"{record}.hea", found.lead)[0], signal)
    with pytest.raises(DataFormatError, match="no lead 'V9'"):
        read_lead(record, "V9")
    with pytest.raises(DataFormatError, match="not a readable WFDB record"):
        read_lead(fixtures_dir / "no_such_record")
