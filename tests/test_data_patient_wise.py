"""Patient-wise pieces of the inter-patient task: record hold-out, record-relative and previous beats."""

import numpy as np
import pytest

from ecgnet.data import group_holdout_indices, group_kfold_indices, previous_beats, record_relative_beats
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


def test_group_kfold_holds_each_record_out_once_largest_first():
    # distinct sizes make the largest-first assignment seed-independent and hand-checkable:
    # a(500) -> fold 1, b(300) -> fold 2, c(250) -> fold 2 (550), d(200) -> fold 1 (700), e(100) -> fold 2 (650)
    records = np.repeat(["e", "a", "c", "b", "d"], [100, 500, 250, 300, 200])
    held = {}
    for fold in (1, 2):
        train, held[fold] = group_kfold_indices(records, 2, fold, seed=7)
        assert not set(records[train]) & set(records[held[fold]])
        assert len(train) + len(held[fold]) == len(records)
    assert set(records[held[1]]) == {"a", "d"} and set(records[held[2]]) == {"b", "c", "e"}
    np.testing.assert_array_equal(np.sort(np.concatenate([held[1], held[2]])), np.arange(len(records)))


def test_group_kfold_names_bad_fold_arguments():
    records = np.array(["a", "b", "c"])
    for folds, fold, message in [(1, 1, "folds=1"), (4, 1, "number of groups \\(3\\). Received: folds=4"), (3, 0, "fold=0"), (3, 4, "fold=4")]:
        with pytest.raises(ValueError, match=message):
            group_kfold_indices(records, folds, fold)


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
    # synthetic beats in shuffled order: record "a" at R peaks 30, 10, 20 (then 40, missing);
    # record "b" at 5, 15 and 35, where the beat at 25 is missing
    x = np.array([[3.0, 3.5], [1.0, 1.5], [2.0, 2.5], [7.0, 7.5], [8.0, 8.5], [9.0, 9.5]], dtype=np.float32)
    record = np.array(["a", "a", "a", "b", "b", "b"])
    r_peak = np.array([30, 10, 20, 5, 15, 35])
    # (previous, next) R-R: a beat and its predecessor share one interval
    # (previous, next) R-R in seconds, R peaks at 1 sample per second
    rr = np.full((6, 2), 10.0, dtype=np.float32)
    rr[5, 0] = 10.5  # b's beat at 35 follows a beat at 25 that is not in x: another interval
    out = previous_beats(x[..., None], record, r_peak, rr)
    expected = np.array([[2.0, 2.5], [0.0, 0.0], [1.0, 1.5], [0.0, 0.0], [7.0, 7.5], [0.0, 0.0]])
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    # equal intervals by chance: a beat at 55 whose previous R-R (10 s) equals the next R-R of the
    # beat at 35, but 20 samples after it at 1 sample per second: the beat at 45 is missing, zeros
    x2 = np.concatenate([x, [[6.0, 6.5]]])
    out2 = previous_beats(
        x2, np.append(record, "b"), np.append(r_peak, 55), np.concatenate([rr, [[10.0, 10.0]]]).astype(np.float32)
    )
    np.testing.assert_array_equal(out2[:6], expected)
    assert not out2[6].any()


def test_previous_beats_checks_lengths():
    with pytest.raises(DataFormatError, match="x has 2 beats but record has shape \\(2,\\), r_peak \\(3,\\)"):
        previous_beats(np.zeros((2, 187)), np.array(["a", "b"]), np.arange(3), np.zeros((2, 3)))
