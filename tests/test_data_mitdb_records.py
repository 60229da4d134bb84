"""Fidelity on the full raw MIT-BIH database (``$ECGNET_MITDB_DIR``; skipped where absent)."""

import numpy as np
import pytest

from ecgnet.data import DS1, DS2, build_mitbih_beats, split_beats

KAGGLE_COUNTS = {"N": 90589, "S": 2779, "V": 7236, "F": 803, "Q": 8039}  # Kachuee et al. 2018, all 48 records


@pytest.fixture(scope="module")
def all_beats(mitdb):
    return build_mitbih_beats(mitdb, progress=False)


@pytest.mark.mitdb_records
def test_rebuild_matches_kaggle_counts(all_beats):
    counts = np.bincount(all_beats.y, minlength=5)
    total = sum(KAGGLE_COUNTS.values())
    assert abs(len(all_beats) - total) <= 0.005 * total
    for count, (name, kaggle) in zip(counts, KAGGLE_COUNTS.items()):
        assert abs(count - kaggle) <= 0.02 * kaggle, (name, count, kaggle)
    assert len(set(all_beats.record)) == 48


@pytest.mark.mitdb_records
def test_full_splits(all_beats):
    train, test = split_beats(all_beats, "kaggle", seed=0)
    assert abs(len(test) - 21892) <= 10 and abs(len(train) - 87554) <= 10
    train, test = split_beats(all_beats, "inter-patient")
    assert set(train.record) == set(DS1) and set(test.record) == set(DS2)
    assert 50000 < len(train) < 52000 and 49000 < len(test) < 50500
