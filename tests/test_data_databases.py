"""Other WFDB databases than mitdb: lead choice, sampling rates, record names, and the real svdb counts."""

import json

import numpy as np
import pytest

from ecgnet.data import AAMI_MAP, CLASS_NAMES, beats_from_record, list_records, prepare_split, previous_beats
from ecgnet.errors import DataFormatError

# The 39 svdb records of training (ecgnet.data.SVDB_TRAINING) hold these annotated beats in the AAMI classes,
# counted from their .atr files when the list was fixed; prepare must find the same.
SVDB_DOCUMENTED = {"N": 85_005, "S": 6_697, "V": 5_214, "F": 3, "Q": 51}


def test_svdb_counts_match_the_documentation(svdb, tmp_path):
    import wfdb

    manifest = prepare_split(svdb, "kaggle", tmp_path / "svdb-kaggle", progress=False)
    assert [s["database"] for s in manifest["sources"]] == ["svdb"] and len(manifest["sources"][0]["records"]) == 39
    built = {name: manifest["counts"]["train"][name] + manifest["counts"]["test"][name] for name in CLASS_NAMES}
    # prepare drops the last beat of every record (no next R-R): add those back from the annotations
    for record in manifest["sources"][0]["records"]:
        symbols = [s for s in wfdb.rdann(str(svdb / record), "atr").symbol if s in AAMI_MAP]
        built[CLASS_NAMES[AAMI_MAP[symbols[-1]]]] += 1
    assert built == SVDB_DOCUMENTED
    from ecgnet.data import load_part

    train = load_part(tmp_path / "svdb-kaggle", "train")
    assert all(name.startswith("svdb/") for name in set(train.record))
    assert json.loads((tmp_path / "svdb-kaggle" / "manifest.json").read_text())["counts"] == manifest["counts"]


def test_svdb_lead_is_ecg1(svdb):
    record = sorted(svdb.glob("*.hea"))[0].with_suffix("")
    first = beats_from_record(record, channel="ECG1").beats
    chosen = beats_from_record(record).beats
    np.testing.assert_array_equal(chosen.x, first.x)
    assert not np.array_equal(chosen.x, beats_from_record(record, channel="ECG2").beats.x)


@pytest.mark.parametrize("rate", ["0", "-360", "abc", "0/2"])
def test_bad_sampling_rate_names_the_header(fixtures_dir, tmp_path, rate):
    header = (fixtures_dir / "114_excerpt.hea").read_text().splitlines()
    header[0] = f"114_excerpt 2 {rate} 7200"
    for ext in (".dat", ".atr"):
        (tmp_path / f"114_excerpt{ext}").write_bytes((fixtures_dir / f"114_excerpt{ext}").read_bytes())
    (tmp_path / "114_excerpt.hea").write_text("\n".join(header) + "\n")
    with pytest.raises(DataFormatError, match=rf"114_excerpt.hea: sampling rate '{rate}' on the record line; it must be a positive number of Hz"):
        beats_from_record(tmp_path / "114_excerpt")


def test_mlii_is_chosen_wherever_it_is(fixtures_dir):
    # 114 has V5 first and MLII second
    chosen = beats_from_record(fixtures_dir / "114_excerpt").beats
    np.testing.assert_array_equal(chosen.x, beats_from_record(fixtures_dir / "114_excerpt", channel=1).beats.x)


def test_previous_beats_with_records_of_two_sampling_rates(fixtures_dir):
    """A 720 Hz record beside a 360 Hz one: each record's neighbours are found at its own rate."""
    beats = beats_from_record(fixtures_dir / "208_excerpt").beats
    alone = previous_beats(beats.x, beats.record, beats.r_peak, beats.rr)
    assert np.count_nonzero(alone.any(axis=1)) == len(beats) - 1  # every beat but the first has its predecessor
    r720 = beats.r_peak * 2  # the same beats, sampled twice as fast
    x = np.concatenate([beats.x, beats.x])
    record = np.concatenate([beats.record, np.full(len(beats), "svdb/x")])
    both = previous_beats(x, record, np.concatenate([beats.r_peak, r720]), np.concatenate([beats.rr, beats.rr]))
    np.testing.assert_array_equal(both[: len(beats)], alone)
    np.testing.assert_array_equal(both[len(beats):], alone)


def test_list_records_of_the_fixtures(fixtures_dir):
    assert list_records(fixtures_dir) == sorted(p.stem for p in fixtures_dir.glob("*.hea"))


@pytest.mark.parametrize("folder, database", [
    ("data/mitdb", "mitdb"), ("dl/mit-bih-arrhythmia-database-1.0.0", "mitdb"),
    ("dl/mit-bih-supraventricular-arrhythmia-database-1.0.0", "svdb"), ("x/svdb", "svdb"),
    ("dl/st-petersburg-incart-12-lead-arrhythmia-ecg-database-1.0.0", "incartdb"), ("x/my_records", "my_records"),
    ("physionet.org/files/mitdb/1.0.0", "mitdb"), ("physionet.org/files/svdb/1.0.0", "svdb"),
])
def test_database_of_folder_names(folder, database):
    from ecgnet.data.datasets import database_of

    assert database_of(folder) == database
