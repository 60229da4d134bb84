"""The data commands: prepare (on the real excerpts), info, and one-line errors."""

import numpy as np

from ecgnet.cli import main
from ecgnet.data import load_beats_npz, load_mitbih_csv


def test_prepare_and_info(fixtures_dir, tmp_path, capsys):
    out = tmp_path / "prepared"
    assert main(["prepare", "--raw", str(fixtures_dir), "--split", "kaggle", "--out", str(out), "--seed", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["test.csv", "test.npz", "train.csv", "train.npz"]
    train = load_beats_npz(out / "train.npz")
    test = load_beats_npz(out / "test.npz")
    assert len(train) + len(test) == 69 + 27 + 17 + 23 + 103  # AAMI beats of each excerpt but its last
    x, y = load_mitbih_csv(out / "test.csv")
    np.testing.assert_array_equal(y, test.y)
    np.testing.assert_allclose(x[:, :, 0], test.x)
    assert (out / "train.csv").read_text().split("\n")[0].count("e") == 188  # %.18e numbers
    capsys.readouterr()
    assert main(["info", str(out / "test.npz")]) == 0
    text = capsys.readouterr().out
    counts = np.bincount(test.y, minlength=5)
    assert f"{len(test)} beats" in text
    assert f"  2 V: {counts[2]:7d}  {100 * counts[2] / len(test):6.2f}%" in text
    assert main(["info", str(out / "test.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == text.splitlines()[1:]
    assert train.second_lead is None
    # --second-lead: the same beats, with each record's other lead cut at the same R peaks
    two = tmp_path / "two_leads"
    assert main(["prepare", "--raw", str(fixtures_dir), "--split", "kaggle", "--out", str(two), "--seed", "1", "--second-lead"]) == 0
    both = load_beats_npz(two / "test.npz")
    np.testing.assert_array_equal(both.x, test.x)
    assert both.second_lead.shape == test.x.shape and not np.array_equal(both.second_lead, both.x)


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"
    (tmp_path / "h.csv").write_text("a,b\n")
    assert main(["info", str(tmp_path / "h.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "line 1: expected 188 comma-separated fields" in err and "\n" not in err
    assert main(["prepare", "--raw", str(tmp_path / "none"), "--split", "kaggle", "--out", str(tmp_path / "o")]) == 2
    assert "none: no such folder of WFDB records" in capsys.readouterr().err


def test_inter_patient_needs_the_mitbih_records(fixtures_dir, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["prepare", "--raw", str(fixtures_dir), "--split", "inter-patient", "--out", str(out)]) == 2
    assert "the inter-patient split leaves 0 train and 0 test beats" in capsys.readouterr().err
    assert not out.exists()
