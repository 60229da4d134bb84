"""The sample that ships in the package (ecgnet/data/sample/) loads and has every class."""

import numpy as np
import pytest

from ecgnet.data import load_beats_npz, load_mitbih_csv, sample_dir

SAMPLE = sample_dir()


@pytest.mark.parametrize("name, n, minimum", [("train", 3000, 50), ("test", 750, 20)])
def test_sample(name, n, minimum):
    x, y = load_mitbih_csv(SAMPLE / f"mitbih_{name}.csv.gz")
    assert x.shape == (n, 187, 1) and 0.0 <= x.min() and x.max() <= 1.0
    counts = np.bincount(y, minlength=5)
    assert counts.sum() == n and counts[1:].min() >= minimum
    beats = load_beats_npz(SAMPLE / f"mitbih_{name}.npz")
    np.testing.assert_array_equal(beats.y, y)
    np.testing.assert_array_equal(beats.x, x[:, :, 0])
    assert len(set(beats.record)) == 48 and np.all(beats.rr > 0)


def test_sample_small_and_disjoint():
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) <= 3_000_000
    train = load_beats_npz(SAMPLE / "mitbih_train.npz")
    test = load_beats_npz(SAMPLE / "mitbih_test.npz")
    key = lambda b: set(zip(b.record.tolist(), b.r_peak.tolist()))  # noqa: E731
    assert not key(train) & key(test)
