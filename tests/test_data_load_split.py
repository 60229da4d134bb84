"""load_split: the data in one call, from a fresh data folder to a prepared split, over real HTTP.

A local PhysioNet-like mirror on 127.0.0.1 serves the committed excerpts of
five real MIT-BIH records under their record names (114 and 208 are in DS1,
232 and 233 in DS2, 217 is paced), laid out as ``MIRROR/mitdb/1.0.0/``.
"""

import hashlib
import json
import shutil

import numpy as np
import pytest

from ecgnet.data import CLASS_NAMES, DS1, DS2, load_split
from ecgnet.errors import DataFormatError
from physionet_mirror import BEATS, write_records

def test_fresh_folder_downloads_prepares_and_caches(physionet, tmp_path, capsys):
    data = tmp_path / "data"
    train, test = load_split("inter-patient", data_dir=data, progress=False)
    assert f"downloaded from {'http://127.0.0.1'}" in capsys.readouterr().out
    assert sorted(p.name for p in (data / "mitdb").iterdir()) == sorted(
        ["RECORDS", "SHA256SUMS.txt"] + [f"{r}{e}" for r in BEATS for e in (".hea", ".dat", ".atr")])
    assert set(train.record) == {"114", "208"} <= set(DS1) and set(test.record) == {"232", "233"} <= set(DS2)
    assert len(train.y) == BEATS["114"] + BEATS["208"] and len(test.y) == BEATS["232"] + BEATS["233"]
    assert train.x.shape == (len(train.y), 187) and train.rr_features().shape == (len(train.y), 6)
    manifest = json.loads((data / "mitbih-interpatient" / "manifest.json").read_text())
    assert manifest["split"] == "inter-patient" and manifest["sources"] == [{"database": "mitdb", "records": list(BEATS)}]
    assert manifest["counts"]["test"] == {n: int(c) for n, c in zip(CLASS_NAMES, np.bincount(test.y, minlength=5))}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((data / "mitbih-interpatient" / name).read_bytes()).hexdigest() == digest
    # the second call reads the prepared folder: no request at all
    physionet.clear()
    again, _ = load_split("inter-patient", data_dir=data, progress=False)
    assert physionet == [] and "prepared" in capsys.readouterr().out
    np.testing.assert_array_equal(again.x, train.x)
    # the kaggle split from the records already downloaded: every beat once, no request
    train, test = load_split("kaggle", data_dir=data, progress=False)
    assert physionet == [] and len(train.y) + len(test.y) == sum(BEATS.values())
    assert "from the raw records in" in capsys.readouterr().out


def test_interrupted_download_resumes(physionet, fixtures_dir, tmp_path):
    data = tmp_path / "data"
    write_records(fixtures_dir, data / "mitdb", names=("208", "114"))  # two of five records already here
    (data / "mitdb" / "RECORDS").write_text("\n".join(BEATS) + "\n")  # as the download writes it first
    (data / "mitdb" / "114.dat").write_bytes(b"partial")  # a damaged file is fetched again
    train, test = load_split("kaggle", data_dir=data, progress=False)
    fetched = {name for name in physionet if name.endswith((".hea", ".dat", ".atr"))}
    assert fetched == {"114.dat"} | {f"{r}{e}" for r in ("232", "217", "233") for e in (".hea", ".dat", ".atr")}
    assert len(train.y) + len(test.y) == sum(BEATS.values())
    # all files present, one damaged: checked against SHA256SUMS.txt, fetched again before preparing
    shutil.rmtree(data / "mitbih-kaggle")
    (data / "mitdb" / "233.atr").write_bytes(b"damaged")
    physionet.clear()
    load_split("kaggle", data_dir=data, progress=False)
    assert [n for n in physionet if n.endswith((".hea", ".dat", ".atr"))] == ["233.atr"]


def test_raw_records_from_environment(fixtures_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ECGNET_MITDB_DIR", str(write_records(fixtures_dir, tmp_path / "elsewhere")))
    monkeypatch.setenv("ECGNET_PHYSIONET_URL", "http://127.0.0.1:9/")  # would fail if it were asked
    monkeypatch.setenv("ECGNET_DATA_DIR", str(tmp_path / "data"))
    train, test = load_split("kaggle", progress=False)
    assert "($ECGNET_MITDB_DIR)" in capsys.readouterr().out
    assert (tmp_path / "data" / "mitbih-kaggle" / "manifest.json").is_file()
    assert not (tmp_path / "data" / "mitdb").exists()


def test_no_data_and_no_download(tmp_path, monkeypatch):
    monkeypatch.delenv("ECGNET_MITDB_DIR", raising=False)
    with pytest.raises(DataFormatError, match=r"mitbih-kaggle: no prepared kaggle split, and no raw MIT-BIH records"):
        load_split("kaggle", data_dir=tmp_path, download=False)
    with pytest.raises(ValueError, match=r"unknown split 'ds2'"):
        load_split("ds2", data_dir=tmp_path)


def test_damaged_or_unlisted_parts_are_refused(fixtures_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ECGNET_MITDB_DIR", str(write_records(fixtures_dir, tmp_path / "raw")))
    load_split("kaggle", data_dir=tmp_path, progress=False)
    folder = tmp_path / "mitbih-kaggle"
    good = (folder / "test.npz").read_bytes()
    (folder / "test.npz").write_bytes(good[:-10] + b"0123456789")
    with pytest.raises(DataFormatError, match=r"mitbih-kaggle/test.npz: SHA-256 [0-9a-f]{64} differs from manifest.json"):
        load_split("kaggle", data_dir=tmp_path)
    (folder / "test.npz").write_bytes(good)
    (folder / "train.csv").unlink()
    with pytest.raises(DataFormatError, match=r"mitbih-kaggle/train.csv: listed in manifest.json but missing"):
        load_split("kaggle", data_dir=tmp_path)
    (folder / "manifest.json").unlink()
    with pytest.raises(DataFormatError, match=r"mitbih-kaggle: has no manifest.json"):
        load_split("kaggle", data_dir=tmp_path)


def test_sample_never_downloads(monkeypatch, capsys):
    monkeypatch.setenv("ECGNET_PHYSIONET_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("ECGNET_DATA_DIR", "/nonexistent")
    train, test = load_split("sample")
    assert len(train.y) == 3000 and len(test.y) == 750 and train.record is not None
    assert capsys.readouterr().out.startswith("load_split('sample'): the sample ")


def test_a_folder_of_an_older_format_is_refused_with_one_line(fixtures_dir, tmp_path, monkeypatch):
    from ecgnet.data import load_part, prepare_split
    from ecgnet.data.manifest import FORMAT_VERSION

    raw = write_records(fixtures_dir, tmp_path / "raw")
    monkeypatch.setenv("ECGNET_MITDB_DIR", str(raw))
    load_split("kaggle", data_dir=tmp_path, progress=False)
    folder = tmp_path / "mitbih-kaggle"
    written = json.loads((folder / "manifest.json").read_text())
    assert written["format_version"] == FORMAT_VERSION == 2
    older = {key: value for key, value in written.items() if key != "format_version"}  # format 1 had no such field
    (folder / "manifest.json").write_text(json.dumps(older))
    expected = r"mitbih-kaggle: was prepared by an older ecgnet \(format_version 1, this one reads 2\); run `python -m ecgnet prepare \.\.\. --overwrite` again"
    with pytest.raises(DataFormatError, match=expected):
        load_split("kaggle", data_dir=tmp_path, progress=False)  # raw records are here, yet nothing is prepared behind the user's back
    with pytest.raises(DataFormatError, match=expected):
        load_part(folder, "test")
    with pytest.raises(ValueError, match=expected):  # prepare without --overwrite names the same cause
        prepare_split(raw, "kaggle", folder, progress=False)
    assert json.loads((folder / "manifest.json").read_text()) == older  # left as it was
    prepare_split(raw, "kaggle", folder, overwrite=True, progress=False)  # what the line says to do
    train, _ = load_split("kaggle", data_dir=tmp_path, progress=False)
    assert train.centred is not None and len(train.y) == sum(written["counts"]["train"].values())
