"""The record as context: the sinus R-R reference and the sinus shape cluster, on records with a known rhythm."""

import numpy as np
import pytest

from ecgnet.data import beats_from_record
from ecgnet.data.context import (CONTEXT_RR_FEATURES, SINUS_CLUSTER_FEATURES, context_rr_features, sinus_cluster_features,
                                 sinus_clusters, sinus_rr_reference)
from ecgnet.data.signals import CENTRED_BEFORE, CENTRED_LENGTH
from ecgnet.errors import DataFormatError

SINUS, PREMATURE, PAUSE = 1.0, 0.6, 1.4
#: One cycle: two sinus beats, a run of five premature beats, the pause after them. Most intervals are premature.
CYCLE = [SINUS, SINUS, PREMATURE, PREMATURE, PREMATURE, PREMATURE, PREMATURE, PAUSE]


def _record(cycles=30, cycle=CYCLE, fs=360):
    """Previous, next and local mean R-R of a record that repeats ``cycle``, its R peaks, and which beats are premature."""
    previous = np.tile(np.asarray(cycle, float), cycles)
    peaks = np.round(np.concatenate([[0.0], np.cumsum(previous)]) * fs).astype(int)[1:]
    next_ = np.concatenate([previous[1:], previous[-1:]])
    rr = np.stack([previous, next_, previous], axis=1)
    return rr, peaks, np.isclose(previous, PREMATURE)


def test_the_reference_is_the_sinus_interval_where_most_beats_are_premature():
    rr, peaks, premature = _record()
    assert np.median(rr[:, 0]) == PREMATURE and premature.mean() > 0.5  # the majority is not the sinus rhythm
    reference = sinus_rr_reference(rr, np.full(len(rr), "a"), peaks)
    np.testing.assert_allclose(reference, SINUS)


def test_the_reference_is_per_record_and_follows_the_input_order():
    rr_a, peaks_a, _ = _record()
    rr_b, peaks_b, _ = _record(cycle=[0.8 * c for c in CYCLE])
    rr = np.concatenate([rr_a, rr_b])
    peaks = np.concatenate([peaks_a, peaks_b])
    record = np.array(["a"] * len(rr_a) + ["b"] * len(rr_b))
    shuffled = np.random.default_rng(0).permutation(len(rr))
    reference = sinus_rr_reference(rr[shuffled], record[shuffled], peaks[shuffled])
    np.testing.assert_allclose(reference, np.where(record[shuffled] == "a", SINUS, 0.8 * SINUS))


def test_a_record_without_a_regular_rhythm_takes_its_median_interval():
    rng = np.random.default_rng(1)
    previous = rng.uniform(0.4, 1.6, 200)  # atrial fibrillation-like: no two neighbours within 10%, mostly
    previous[1:][np.abs(previous[1:] - previous[:-1]) <= 0.1 * previous[:-1]] *= 1.5
    previous[1:][np.abs(previous[1:] - previous[:-1]) <= 0.1 * previous[:-1]] *= 1.5
    peaks = np.cumsum(np.round(previous * 360)).astype(int)
    regular = np.abs(previous[1:] - previous[:-1]) <= 0.1 * previous[:-1]
    assert regular.sum() < 3
    reference = sinus_rr_reference(previous, np.zeros(200, int), peaks)
    np.testing.assert_allclose(reference, np.median(previous))


def test_context_rr_features_measure_prematurity_against_the_sinus_rhythm():
    rr, peaks, premature = _record()
    features = context_rr_features(rr, np.full(len(rr), "a"), peaks)
    assert features.shape == (len(rr), len(CONTEXT_RR_FEATURES)) and features.dtype == np.float32
    np.testing.assert_allclose(features[premature, 0], PREMATURE / SINUS, rtol=1e-6)
    np.testing.assert_allclose(features[~premature, 0], rr[~premature, 0] / SINUS, rtol=1e-6)
    np.testing.assert_allclose(features[:, 3], rr[:, 1] / rr[:, 0], rtol=1e-6)
    np.testing.assert_allclose(features[:, 4], SINUS / PREMATURE, rtol=1e-6)  # the majority is 0.6 of the sinus rhythm


def _windows(premature, rng):
    """Centred windows: sinus beats with a P wave before a narrow QRS, premature ones without it and wider, plus noise."""
    t = np.arange(CENTRED_LENGTH) - CENTRED_BEFORE
    qrs = np.exp(-0.5 * (t / 1.5) ** 2)
    p_wave = 0.25 * np.exp(-0.5 * ((t + 20) / 3.0) ** 2)
    sinus = qrs + p_wave
    ectopic = 0.8 * np.exp(-0.5 * (t / 4.0) ** 2) - 0.3 * np.exp(-0.5 * ((t - 8) / 4.0) ** 2)
    shapes = np.where(premature[:, None], ectopic, sinus)
    return shapes + 0.02 * rng.standard_normal(shapes.shape)


def test_the_sinus_cluster_is_found_from_rhythm_not_size():
    rr, peaks, premature = _record()
    windows = _windows(premature, np.random.default_rng(2))
    record = np.full(len(rr), "a")
    cluster, sinus = sinus_clusters(windows, rr, record, peaks, n_clusters=2)
    assert len(np.unique(cluster)) == 2
    assert np.array_equal(sinus, ~premature)  # the smaller cluster: the beats that come at the sinus rate, with a P wave
    features = sinus_cluster_features(windows[..., None], rr, record, peaks, n_clusters=2)
    assert features.shape == (len(rr), len(SINUS_CLUSTER_FEATURES)) and features.dtype == np.float32
    assert features[~premature, 0].min() > 0.99 and features[premature, 0].max() < 0.9
    assert features[~premature, 1].min() > 0.9 and features[premature, 1].max() < 0.5  # the P wave is the sinus one's
    assert features[~premature, 2].max() < features[premature, 2].min()
    np.testing.assert_array_equal(features[:, 4], ~premature)
    np.testing.assert_allclose(features[:, 5], rr[:, 0] / np.median(rr[~premature, 0]), rtol=1e-6)


def test_bad_arguments_say_what_was_received():
    rr, peaks, premature = _record(cycles=3)
    with pytest.raises(DataFormatError, match=r"one row per beat \(24 beats\).*record \(23,\)"):
        sinus_rr_reference(rr, np.full(23, "a"), peaks)
    with pytest.raises(DataFormatError, match="share=0"):
        sinus_rr_reference(rr, np.full(len(rr), "a"), peaks, share=0)
    with pytest.raises(DataFormatError, match=r"Received: shape \(24, 2\)"):
        context_rr_features(rr[:, :2], np.full(len(rr), "a"), peaks)
    with pytest.raises(DataFormatError, match="n_clusters=0"):
        sinus_clusters(_windows(premature, np.random.default_rng(0)), rr, np.full(len(rr), "a"), peaks, n_clusters=0)


@pytest.mark.mitdb_records
def test_on_record_209_the_atrial_premature_beats_come_early_against_the_sinus_reference(mitdb):
    beats = beats_from_record(mitdb / "209", aami_only=True).beats
    reference = sinus_rr_reference(beats.rr, beats.record, beats.r_peak)
    prematurity = beats.rr[:, 0] / reference
    s, n = beats.y == 1, beats.y == 0
    assert s.sum() > 300
    assert np.median(prematurity[s]) < 0.85 < 0.95 < np.median(prematurity[n])
