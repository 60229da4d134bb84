"""Split invariants and the tf.data pipeline."""

import numpy as np
import pytest

from ecgnet.data import DS1, DS2, PACED_RECORDS, SVDB_TRAINING, Beats, balanced_dataset, make_dataset, split_beats, validation_indices
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


def test_svdb_training_records_are_those_of_the_shipped_models_card():
    """SVDB_TRAINING is the list of svdb records that ecgnet-mitbih-svdb's card says it was trained on."""
    import json
    import re

    from ecgnet.pretrained_models import WEIGHTS_DIR

    card = json.loads((WEIGHTS_DIR / "ecgnet-mitbih-svdb.json").read_text())
    listed = re.search(r"\(svdb\): (\d+) records \(([\d, ]+)\)", card["data"])
    assert listed, card["data"]
    assert SVDB_TRAINING == tuple(listed.group(2).split(", ")) and int(listed.group(1)) == len(SVDB_TRAINING) == 39


def test_svdb_training_records_are_in_the_svdb_folder(svdb):
    """Every record of training is in $ECGNET_SVDB_DIR, and by its name an svdb record (the folder may hold all 78)."""
    from ecgnet.data.datasets import is_svdb_record

    present = {p.stem for p in svdb.glob("*.hea")}
    assert set(SVDB_TRAINING) <= present
    assert all(is_svdb_record(name) for name in present)
    assert not any(is_svdb_record(name) for name in DS1 + DS2 + ("I01", "8000", "895", "799"))


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


def _labels(counts=(120, 40, 40, 20, 30)):
    """Labels imbalanced like MIT-BIH (mildly), in a seeded random order."""
    return np.random.default_rng(0).permutation(np.repeat(np.arange(len(counts)), counts))


def _beats():
    """Made-up beats whose first sample is the label, to follow them through a pipeline."""
    y = _labels()
    x = np.zeros((len(y), 187), np.float32)
    x[:, 0] = y
    return x, y


def test_validation_seed_fixes_the_split_across_seeds():
    y = _labels()
    a = validation_indices(y, 0.2, seed=0)
    b = validation_indices(y, 0.2, seed=1)
    assert sorted(a[1]) != sorted(b[1])  # another seed, another split
    records = np.repeat(np.arange(25), 10)
    train_index, val_index = validation_indices(y, 0.2, validation_groups=records, seed=0)
    assert not set(records[train_index]) & set(records[val_index])  # whole records held out
    assert len(val_index) == 50
    with pytest.raises(ValueError, match="one entry per beat"):
        validation_indices(y, 0.2, validation_groups=records[:10])


def test_balanced_dataset_draws_classes_equally():
    x, y = _beats()
    dataset = balanced_dataset(x, y, batch_size=100, seed=0)
    labels = np.concatenate([labels.numpy() for _, labels in dataset.take(10)])
    fractions = np.bincount(labels, minlength=5) / len(labels)
    np.testing.assert_allclose(fractions, 0.2, atol=0.04)


def test_balanced_dataset_keeps_every_channel():
    # Regression: two-channel beats (beat + record-relative) were flattened to (b, 374, 1).
    x, y = _beats()
    two_channels = np.stack([x, -x], axis=-1)
    beats, labels = next(iter(balanced_dataset(two_channels, y, batch_size=16)))
    assert beats.shape == (16, 187, 2)
    np.testing.assert_array_equal(beats[..., 1], -beats[..., 0])
    np.testing.assert_array_equal(beats[:, 0, 0], labels)  # each beat stays with its label


def test_group_kfold_matches_sklearn_where_groups_differ_in_size_and_the_seed_breaks_ties():
    from sklearn.model_selection import GroupKFold

    from ecgnet.data import group_kfold_indices

    sizes = np.random.default_rng(1).permutation(np.arange(30, 52))  # 22 groups of distinct sizes, like DS1
    groups = np.repeat([f"r{i:02d}" for i in range(len(sizes))], sizes)
    reference = [np.sort(held) for _, held in GroupKFold(n_splits=5).split(np.zeros(len(groups)), groups=groups)]
    for seed in (0, 3):
        for fold in range(1, 6):
            np.testing.assert_array_equal(group_kfold_indices(groups, 5, fold, seed=seed)[1], reference[fold - 1])
    tied = np.repeat(np.arange(12), 10)  # equal sizes: the seed decides
    held = {seed: [group_kfold_indices(tied, 3, fold, seed=seed)[1] for fold in (1, 2, 3)] for seed in (0, 1)}
    assert [len(h) for h in held[0]] == [40, 40, 40]
    assert any(not np.array_equal(a, b) for a, b in zip(held[0], held[1]))
