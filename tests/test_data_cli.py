"""The data commands, run as a user runs them: prepare (on the real excerpts), info, and one-line errors."""

import json
import os
import shutil

import numpy as np
import pytest

from ecgnet.data import load_beats_npz, load_mitbih_csv, load_part
from ecgnet.errors import DataFormatError, EcgnetError

# AAMI beats of each excerpt (tests/fixtures/README.md), less the last beat of each record
EXCERPT_BEATS = {"208": 69, "114": 17, "232": 27, "217": 23, "233": 103}


def one_error_line(result):
    """The last stderr line, after checking it is the only non-progress line and the exit status is 2."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def as_records(fixtures_dir, folder, names=tuple(EXCERPT_BEATS)):
    """The excerpts as records named 208, 114, ... in ``folder``."""
    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.hea").write_text((fixtures_dir / f"{name}_excerpt.hea").read_text().replace(f"{name}_excerpt", name))
        for ext in (".dat", ".atr"):
            shutil.copyfile(fixtures_dir / f"{name}_excerpt{ext}", folder / f"{name}{ext}")
    return folder


def test_prepare_and_info(run_cli, fixtures_dir, tmp_path):
    out = tmp_path / "prepared"
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", out, "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test.csv", "test.npz", "train.csv", "train.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]  # no temporary folder left
    train = load_beats_npz(out / "train.npz")
    test = load_beats_npz(out / "test.npz")
    assert len(train) + len(test) == sum(EXCERPT_BEATS.values())
    assert set(train.record) == {f"fixtures/{r}_excerpt" for r in EXCERPT_BEATS}  # not mitdb: named DATABASE/RECORD
    x, y = load_mitbih_csv(out / "test.csv")
    np.testing.assert_array_equal(y, test.y)
    np.testing.assert_allclose(x[:, :, 0], test.x)
    assert (out / "train.csv").read_text().split("\n")[0].count("e") == 188  # %.18e numbers
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == "kaggle" and manifest["seed"] == 1
    assert manifest["sources"] == [{"database": "fixtures", "records": sorted(f"{r}_excerpt" for r in EXCERPT_BEATS)}]
    counts = np.bincount(test.y, minlength=5)
    assert list(manifest["counts"]["test"].values()) == counts.tolist()
    result = run_cli("info", out / "test.npz")
    assert result.returncode == 0, result.stderr
    assert f"{len(test)} beats" in result.stdout
    assert f"  2 V: {counts[2]:7d}  {100 * counts[2] / len(test):6.2f}%" in result.stdout
    csv = run_cli("info", out / "test.csv")
    assert csv.stdout.splitlines()[1:] == result.stdout.splitlines()[1:]
    assert train.second_lead is None
    # --second-lead: the same beats, with each record's other lead cut at the same R peaks
    two = tmp_path / "two_leads"
    assert run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", two, "--seed", "1", "--second-lead").returncode == 0
    both = load_beats_npz(two / "test.npz")
    np.testing.assert_array_equal(both.x, test.x)
    assert both.second_lead.shape == test.x.shape and not np.array_equal(both.second_lead, both.x)


def test_several_databases_inter_patient(run_cli, fixtures_dir, tmp_path):
    """mitdb records keep their names and split DS1/DS2; another database's records all go to training."""
    mitdb = as_records(fixtures_dir, tmp_path / "mitdb", names=("114", "232", "233"))
    extra = as_records(fixtures_dir, tmp_path / "extra", names=("208", "217"))
    out = tmp_path / "ip"
    result = run_cli("prepare", "--raw", mitdb, "--raw", f"extra={extra}", "--split", "inter-patient", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "mitdb (3 records), extra (2 records)" in result.stdout
    train, test = load_part(out, "train"), load_part(out, "test")
    assert sorted(set(test.record)) == ["232", "233"]  # DS2, untouched
    assert sorted(set(train.record)) == ["114", "extra/208", "extra/217"]
    assert len(test.y) == EXCERPT_BEATS["232"] + EXCERPT_BEATS["233"]
    assert len(train.y) == EXCERPT_BEATS["114"] + EXCERPT_BEATS["208"] + EXCERPT_BEATS["217"]
    # the DS2 records again as another database's would put the test records in training
    copies = run_cli("prepare", "--raw", mitdb, "--raw", f"extra={fixtures_dir}", "--split", "inter-patient",
                     "--out", tmp_path / "leak")
    said = one_error_line(copies)
    assert "114_excerpt: its signal (114_excerpt.dat) is the same as that of" in said and "mitdb/114 (114.dat)" in said
    # two folders of one database would collide; one folder given twice would be read as copies of itself
    other = tmp_path / "other" / "mitdb"
    other.mkdir(parents=True)
    twice = run_cli("prepare", "--raw", mitdb, "--raw", other, "--split", "kaggle", "--out", tmp_path / "x")
    assert "two raw folders are both database 'mitdb'" in one_error_line(twice)
    again = run_cli("prepare", "--raw", mitdb, "--raw", f"extra={mitdb}/", "--split", "kaggle", "--out", tmp_path / "x")
    assert f"--raw extra={mitdb}: the same folder as --raw {mitdb}; give each folder once" in one_error_line(again)


def test_errors_are_one_line(run_cli, tmp_path):
    assert one_error_line(run_cli("info", tmp_path / "nope.csv")) == f"error: {tmp_path / 'nope.csv'}: no such file"
    (tmp_path / "h.csv").write_text("a,b\n")
    assert "line 1: expected 188 comma-separated fields" in one_error_line(run_cli("info", tmp_path / "h.csv"))
    result = run_cli("prepare", "--raw", tmp_path / "none", "--split", "kaggle", "--out", tmp_path / "o")
    assert "none: no such folder of WFDB records" in one_error_line(result)


@pytest.mark.parametrize("argv, says", [
    (["predict"], "python -m ecgnet predict: the following arguments are required: --model"),
    (["predict", "--model", "m.keras", "--beats", "b.csv", "--adapt-minutes", "5min"],
     "argument --adapt-minutes: expected a positive number, received '5min'"),
    (["frob"], "argument COMMAND: invalid choice: 'frob'"),
    (["info", "a.csv", "--nope"], "unrecognized arguments: --nope"),
])
def test_argument_mistakes_are_one_line(argv, says, capsys):
    """argparse's own errors follow the rule of every other error: one line, no usage block, exit status 2."""
    from ecgnet.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: python -m ecgnet") and says in lines[0], captured.err
    assert lines[0].endswith("--help lists the options)")


def test_inter_patient_needs_the_mitbih_records(run_cli, fixtures_dir, tmp_path):
    out = tmp_path / "o"
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "inter-patient", "--out", out)
    assert "the inter-patient split leaves 239 train and 0 test beats" in one_error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no temporary folder


def test_out_is_checked_before_any_record_is_cut(run_cli, fixtures_dir, tmp_path):
    (tmp_path / "a_file").write_text("keep me")
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", tmp_path / "a_file")
    assert one_error_line(result) == f"error: {tmp_path / 'a_file'}: exists and is not a folder; --out names the folder to write the split into"
    assert "records:" not in result.stderr  # refused before reading a record
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", tmp_path / "a_file" / "sub")
    assert one_error_line(result) == f"error: {tmp_path / 'a_file'}: is a file, so {tmp_path / 'a_file' / 'sub'} cannot be created"
    assert (tmp_path / "a_file").read_text() == "keep me"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", tmp_path / "mine", "--overwrite")
    assert "mine: holds other files (notes.txt), not a prepared split" in one_error_line(result)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_parent(run_cli, fixtures_dir, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", locked / "o")
        assert one_error_line(result) == f"error: {locked}: not writable, so {locked / 'o'} cannot be written"
    finally:
        locked.chmod(0o700)


def test_another_split_needs_overwrite_and_a_failure_keeps_the_old_folder(run_cli, fixtures_dir, tmp_path):
    mitdb = as_records(fixtures_dir, tmp_path / "mitdb")
    out = tmp_path / "work" / "o"
    assert run_cli("prepare", "--raw", mitdb, "--split", "inter-patient", "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = run_cli("prepare", "--raw", mitdb, "--split", "kaggle", "--out", out)
    assert one_error_line(result) == f"error: {out}: already holds the 'inter-patient' split; pass --overwrite (overwrite=True) to replace it"
    # a record with a sampling rate of 0 fails the run half-way: the old folder stays as it was
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "r1.hea").write_text("r1 1 0 7200\nr1.dat 212 200 12 0 0 0 0 MLII\n")
    result = run_cli("prepare", "--raw", mitdb, "--raw", bad, "--split", "kaggle", "--out", out, "--overwrite")
    assert one_error_line(result) == f"error: {bad / 'r1.hea'}: sampling rate '0' on the record line; it must be a positive number of Hz"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["o"]
    result = run_cli("prepare", "--raw", mitdb, "--split", "kaggle", "--out", out, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["split"] == "kaggle"
    assert sorted(p.name for p in out.parent.iterdir()) == ["o"]


def test_the_same_split_from_other_databases_or_seed_needs_overwrite(run_cli, fixtures_dir, tmp_path):
    mitdb = as_records(fixtures_dir, tmp_path / "mitdb")
    svdb = as_records(fixtures_dir, tmp_path / "svdb")
    out = tmp_path / "o"
    assert run_cli("prepare", "--raw", mitdb, "--split", "kaggle", "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert run_cli("prepare", "--raw", mitdb, "--split", "kaggle", "--out", out).returncode == 0  # the same again: fine
    result = run_cli("prepare", "--raw", mitdb, "--raw", svdb, "--split", "kaggle", "--out", out)
    assert one_error_line(result) == (
        f"error: {out}: already holds the 'kaggle' split prepared from mitdb (seed 0, second lead False), not from "
        "mitdb+svdb (seed 0, second lead False); pass --overwrite (overwrite=True) to replace it")
    result = run_cli("prepare", "--raw", mitdb, "--split", "kaggle", "--seed", "1", "--out", out)
    assert "not from mitdb (seed 1, second lead False)" in one_error_line(result)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_overwrite_replaces_a_folder_without_manifest(run_cli, fixtures_dir, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "train.npz").write_bytes(b"half-written")
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", out)
    assert "an incomplete prepared split (no manifest.json)" in one_error_line(result)
    result = run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", out, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["split"] == "kaggle"


def test_load_part_checks_the_manifest(run_cli, fixtures_dir, tmp_path):
    out = tmp_path / "o"
    assert run_cli("prepare", "--raw", fixtures_dir, "--split", "kaggle", "--out", out).returncode == 0
    data = bytearray((out / "train.npz").read_bytes())
    data[-1] ^= 1
    (out / "train.npz").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"o/train.npz: SHA-256 [0-9a-f]{64} differs from manifest.json"):
        load_part(out, "train")
    with pytest.raises(DataFormatError, match=r"o/train.npz: SHA-256"):
        load_part(out / "train.npz", "train")  # the file named directly is checked too
    load_part(out, "test")
    (out / "manifest.json").unlink()
    with pytest.raises(DataFormatError, match=r"o: has test.npz but no manifest.json"):
        load_part(out, "test")


def test_prepare_leaves_out_svdb_records_held_back(run_cli, fixtures_dir, tmp_path):
    """An svdb folder holding a record held back from training (800): prepared only with --all-svdb-records."""
    from ecgnet.data import SVDB_TRAINING, prepare_split

    assert "803" in SVDB_TRAINING and "800" not in SVDB_TRAINING
    mitdb = as_records(fixtures_dir, tmp_path / "mitdb", names=("114", "232", "233"))
    svdb = tmp_path / "svdb"
    svdb.mkdir()
    for source, name in (("208", "803"), ("217", "800")):  # excerpts of two MIT-BIH patients, under svdb names
        (svdb / f"{name}.hea").write_text((fixtures_dir / f"{source}_excerpt.hea").read_text().replace(f"{source}_excerpt", name))
        for ext in (".dat", ".atr"):
            shutil.copyfile(fixtures_dir / f"{source}_excerpt{ext}", svdb / f"{name}{ext}")
    out = tmp_path / "ip"
    result = run_cli("prepare", "--raw", mitdb, "--raw", svdb, "--split", "inter-patient", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"{svdb}: left out 1 svdb record held back from training (800); pass --all-svdb-records "
        "(all_svdb_records=True) to prepare them")
    assert sorted(set(load_part(out, "train").record)) == ["114", "svdb/803"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"][1] == {"database": "svdb", "records": ["803"], "left_out": ["800"]}
    # the kaggle split leaves it out too (it would put the patient's beats in training)
    kaggle = prepare_split([mitdb, svdb], "kaggle", tmp_path / "k", progress=False)
    assert kaggle["sources"][1]["records"] == ["803"]
    assert "svdb/800" not in set(load_part(tmp_path / "k", "train").record) | set(load_part(tmp_path / "k", "test").record)
    # including them is explicit, and does not silently replace the folder that left them out
    result = run_cli("prepare", "--raw", mitdb, "--raw", svdb, "--split", "inter-patient", "--out", out, "--all-svdb-records")
    assert one_error_line(result) == (
        f"error: {out}: already holds the 'inter-patient' split prepared from mitdb+svdb (seed None, second lead False), "
        "not from mitdb+svdb (seed None, second lead False, held-back svdb records included); pass --overwrite "
        "(overwrite=True) to replace it")
    result = run_cli("prepare", "--raw", mitdb, "--raw", svdb, "--split", "inter-patient", "--out", out, "--all-svdb-records",
                     "--overwrite")
    assert result.returncode == 0, result.stderr
    assert "left out" not in result.stdout
    assert sorted(set(load_part(out, "train").record)) == ["114", "svdb/800", "svdb/803"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"][1] == {"database": "svdb", "records": ["800", "803"]} and manifest["all_svdb_records"] is True
    # svdb's records under another folder name are known by their names: filtered the same way
    assert prepare_split([mitdb, f"extra={svdb}"], "inter-patient", tmp_path / "e", progress=False)["sources"][1] == {
        "database": "extra", "records": ["803"], "left_out": ["800"]}
    # ... and the opt-in is recorded, so a run without it does not silently replace the folder
    assert prepare_split([mitdb, f"extra={svdb}"], "inter-patient", tmp_path / "e2", progress=False,
                         all_svdb_records=True)["all_svdb_records"] is True
    with pytest.raises(EcgnetError, match="held-back svdb records included"):
        prepare_split([mitdb, f"extra={svdb}"], "inter-patient", tmp_path / "e2", progress=False)
    # a flag with no svdb record read changes nothing: not recorded
    assert "all_svdb_records" not in prepare_split([mitdb], "inter-patient", tmp_path / "m", progress=False,
                                                   all_svdb_records=True)
    # an svdb folder of held-back records only: refused, nothing written
    (svdb / "803.hea").unlink()
    result = run_cli("prepare", "--raw", mitdb, "--raw", svdb, "--split", "inter-patient", "--out", tmp_path / "none")
    assert one_error_line(result) == (
        f"error: {svdb}: none of its 1 records (800) is one of the 39 svdb records of training "
        "(ecgnet.data.SVDB_TRAINING: 803 to 888); the others are held back: pass --all-svdb-records "
        "(all_svdb_records=True) to prepare them")
    assert not (tmp_path / "none").exists()
    # under any folder name: a folder whose only records are held-back svdb ones is refused too
    result = run_cli("prepare", "--raw", mitdb, "--raw", f"heldback={svdb}", "--split", "inter-patient", "--out",
                     tmp_path / "none2")
    assert one_error_line(result).startswith(f"error: {svdb}: none of its 1 records (800) is one of the 39 svdb records")
    assert not (tmp_path / "none2").exists()
