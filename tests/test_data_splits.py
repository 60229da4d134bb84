"""Split invariants and the tf.data pipeline."""

import numpy as np
import pytest

from ecgnet.data import DS1, DS2, PACED_RECORDS, Beats, make_dataset, split_beats
from ecgnet.errors import EcgnetError


def _fake_index_beats():
    """Beats with made-up values, only to test how splits route them (not data)."""
    records = np.array(list(DS1 + DS2 + PACED_RECORDS))
    record = np.repeat(records, 25)
    y = np.tile(np.r_[np.zeros(15, int), np.ones(4, int), np.full(3, 2), [3], np.full(2, 4)], len(records))
    n = len(y)
    return Beats(np.zeros((n, 187)), y, record, np.arange(n), np.ones((n, 3)))


def test_record_lists():
    assert len(DS1) == 22 and len(DS2) == 22 and len(PACED_RECORDS) == 4
    assert not set(DS1) & set(DS2) and not (set(DS1) | set(DS2)) & set(PACED_RECORDS)
    assert "101" in DS1 and "100" in DS2 and "217" in PACED_RECORDS


def test_inter_patient_no_record_on_both_sides():
    beats = _fake_index_beats()
    train, test = split_beats(beats, "inter-patient")
    assert set(train.record) == set(DS1) and set(test.record) == set(DS2)
    assert len(train) == len(test) == 22 * 25


def test_kaggle_stratified_and_seeded():
    beats = _fake_index_beats()
    train, test = split_beats(beats, "kaggle", seed=3)
    assert len(train) + len(test) == len(beats)
    assert not set(train.r_peak) & set(test.r_peak)
    assert abs(len(test) / len(beats) - 0.2) < 0.005
    for label, count in enumerate(np.bincount(beats.y)):
        assert abs(np.sum(test.y == label) - 0.2 * count) <= 1
    again, _ = split_beats(beats, "kaggle", seed=3)
    other, _ = split_beats(beats, "kaggle", seed=4)
    np.testing.assert_array_equal(train.r_peak, again.r_peak)
    assert not np.array_equal(train.r_peak, other.r_peak)
    with pytest.raises(EcgnetError, match=r"unknown split 'random'"):
        split_beats(beats, "random")


def test_dataset_shapes_without_rr():
    x = np.random.default_rng(0).random((10, 187)).astype(np.float32)
    y = np.arange(10) % 5
    batches = list(make_dataset(x, y, batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 187, 1), (4, 187, 1), (2, 187, 1)]
    np.testing.assert_allclose(batches[0][0].numpy()[:, :, 0], x[:4])
    assert batches[0][1].numpy().tolist() == [0, 1, 2, 3]


def test_dataset_with_rr_shuffle_and_augment():
    x = np.arange(8 * 187, dtype=np.float32).reshape(8, 187, 1)
    y = np.arange(8)
    rr = np.stack([np.arange(8.0)] * 6, axis=1)
    ds = make_dataset(x, y, batch_size=8, shuffle=True, seed=1, rr=rr, augment=lambda b: b * 0 - 1)
    inputs, labels = next(iter(ds))
    assert set(inputs) == {"beat", "rr"}
    assert inputs["beat"].shape == (8, 187, 1) and inputs["rr"].shape == (8, 6)
    assert np.all(inputs["beat"].numpy() == -1)
    order = labels.numpy()
    assert sorted(order.tolist()) == list(range(8)) and order.tolist() != list(range(8))
    np.testing.assert_array_equal(inputs["rr"].numpy()[:, 0], order)  # rr stays with its beat
    with pytest.raises(EcgnetError, match=r"rr must have shape \(8, k\), got \(3, 6\)"):
        make_dataset(x, y, rr=rr[:3])
