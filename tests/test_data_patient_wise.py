"""Patient-wise pieces of the inter-patient task: record hold-out, record-relative and previous beats."""

import numpy as np
import pytest

from ecgnet.data import group_holdout_indices, previous_beats, record_relative_beats
from ecgnet.errors import DataFormatError


def test_group_holdout_keeps_records_whole_and_reaches_the_fraction():
    records = np.repeat(["101", "106", "108", "109", "112"], [100, 300, 50, 250, 300])
    train, held = group_holdout_indices(records, test_fraction=0.2, seed=3)
    assert len(train) + len(held) == len(records)
    assert not set(records[train]) & set(records[held])
    assert len(held) >= 0.2 * len(records)
    # removing the last held record would fall short of the fraction: no record more than needed
    held_records = list(dict.fromkeys(records[held]))
    assert any(len(held) - np.sum(records == r) < 0.2 * len(records) for r in held_records)
    again = group_holdout_indices(records, test_fraction=0.2, seed=3)
    assert np.array_equal(held, again[1])


def test_record_relative_beats_subtract_each_records_median():
    # synthetic beats: record "a" has three beats, record "b" two, hand-checkable medians
    x = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 8.0], [0.0, 1.0], [4.0, 5.0]], dtype=np.float32)
    record = np.array(["a", "a", "a", "b", "b"])
    out = record_relative_beats(x[..., None], record)
    assert out.shape == (5, 2, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], x)
    expected = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 6.0], [-2.0, -2.0], [2.0, 2.0]])
    np.testing.assert_allclose(out[..., 1], expected)


def test_record_relative_beats_checks_lengths():
    with pytest.raises(DataFormatError, match="x has 2 beats but record has shape \\(3,\\)"):
        record_relative_beats(np.zeros((2, 187)), np.array(["a", "b", "c"]))


def test_previous_beats_follow_time_within_each_record():
    # synthetic beats in shuffled order: record "a" at R peaks 30, 10, 20; record "b" at 5, 15
    x = np.array([[3.0, 3.5], [1.0, 1.5], [2.0, 2.5], [7.0, 7.5], [8.0, 8.5]], dtype=np.float32)
    record = np.array(["a", "a", "a", "b", "b"])
    r_peak = np.array([30, 10, 20, 5, 15])
    out = previous_beats(x[..., None], record, r_peak)
    expected = np.array([[2.0, 2.5], [0.0, 0.0], [1.0, 1.5], [0.0, 0.0], [7.0, 7.5]])
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32


def test_previous_beats_checks_lengths():
    with pytest.raises(DataFormatError, match="x has 2 beats but record has shape \\(2,\\) and r_peak \\(3,\\)"):
        previous_beats(np.zeros((2, 187)), np.array(["a", "b"]), np.arange(3))
