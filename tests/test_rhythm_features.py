"""The rhythm around each beat (ecgnet.data.features.rhythm_features), and the round-4 product of adapt_patients.

The features are checked against a plain loop over each beat's window, on
two records whose beats come shuffled together; the product restricted to
the classes a patient showed is checked on hand-made probabilities.
"""

import numpy as np
import pytest

from conftest import REPO_ROOT
from ecgnet.data.features import RHYTHM_FEATURE_NAMES, rhythm_features
from ecgnet.errors import DataFormatError


@pytest.fixture
def benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))


def reference(intervals, half_width):
    """rhythm_features of one record, beat by beat, from its previous R-R intervals in time order."""
    rows = []
    for i in range(len(intervals)):
        window = np.asarray(intervals[max(i - half_width, 0): i + half_width + 1], np.float64)
        median = np.median(window)
        irregularity = np.median(np.abs(np.diff(window))) / median
        prematurity = 1 - intervals[i] / median
        rows.append([window.std() / window.mean(), irregularity, prematurity,
                     np.clip(prematurity / (irregularity + 0.02), -10, 10)])
    return np.asarray(rows)


def test_rhythm_features_match_a_loop_over_each_window_of_each_record():
    rng = np.random.default_rng(0)
    regular = np.full(40, 0.8)
    regular[20], regular[21] = 0.6, 1.0  # one premature beat and its pause
    irregular = rng.uniform(0.4, 1.2, 30)  # atrial fibrillation: every interval differs
    rr = np.concatenate([regular, irregular])[:, None] * np.ones((1, 3))
    record = np.array(["a"] * 40 + ["b"] * 30)
    r_peak = np.concatenate([np.cumsum(regular) * 360, np.cumsum(irregular) * 360]).astype(int)
    shuffle = rng.permutation(len(rr))
    found = rhythm_features(rr[shuffle], record[shuffle], r_peak[shuffle], half_width=10)
    expected = np.concatenate([reference(regular, 10), reference(irregular, 10)])[shuffle]
    assert found.shape == (70, len(RHYTHM_FEATURE_NAMES)) and found.dtype == np.float32
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
    premature = found[np.flatnonzero((record[shuffle] == "a") & (r_peak[shuffle] == r_peak[20]))[0]]
    # 25% early in a rhythm that varies by nothing: the irregularity stays 0 (a median), the bound caps the ratio
    np.testing.assert_allclose(premature[1:], [0.0, 0.25, 10.0], atol=1e-6)
    # the irregular record is irregular everywhere; the regular one almost nowhere
    assert found[record[shuffle] == "b", 1].min() > found[record[shuffle] == "a", 1].max()


def test_rhythm_features_refuse_mismatched_arrays():
    with pytest.raises(DataFormatError, match="rhythm_features: rr has 3 rows"):
        rhythm_features(np.ones((3, 3)), np.array(["a", "a"]), np.arange(3))
    with pytest.raises(DataFormatError, match="half_width=0"):
        rhythm_features(np.ones((3, 3)), np.array(["a"] * 3), np.arange(3), half_width=0)


def test_rhythm_features_of_the_committed_sample_are_finite():
    from ecgnet.data import sample_dir
    from ecgnet.data.prepared import load_part

    beats = load_part(sample_dir(), "train")
    found = rhythm_features(beats.rr, beats.record, beats.r_peak)
    assert found.shape == (len(beats), 4) and np.isfinite(found).all()


def test_shown_product_leaves_the_classes_the_patient_did_not_show_to_the_network(benchmarks_importable):
    from benchmarks.experiments.adapt_patients import product, shown_product

    network = np.array([[0.5, 0.4, 0.1, 0, 0],   # N by the network, S by the product
                        [0.3, 0.1, 0.6, 0, 0],   # V by the network: V was not shown, so V stays
                        [0.6, 0.3, 0.1, 0, 0]])  # N by the network, V by the full product: V not shown, so N or S
    floor = np.array([[0.1, 0.9, 0.0, 0, 0],
                      [0.9, 0.1, 0.0, 0, 0],
                      [0.1, 0.1, 0.8, 0, 0]])
    shown = np.array([True, True, False, False, False])
    np.testing.assert_array_equal(shown_product(network, floor, 1.0, shown), [1, 2, 0])
    np.testing.assert_array_equal(product(network, floor, 1.0).argmax(1), [1, 0, 2])
    # every class shown: the product itself
    np.testing.assert_array_equal(shown_product(network, floor, 1.0, np.ones(5, bool)), [1, 0, 2])
