"""Kaggle CSV format: round trip, the published number format, caching, and every bad-input message."""

import gzip
import re

import numpy as np
import pytest

from ecgnet.data import load_mitbih_csv, load_ptbdb_csv, write_beats_csv
from ecgnet.data import csv_files
from ecgnet.errors import DataFormatError


def _beats(n=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 187))
    x[:, 150:] = 0.0
    y = np.arange(n) % 5
    return x, y


def _row(values):
    return ",".join(f"{v:.18e}" for v in values)


def test_round_trip_exact_format(tmp_path):
    x, y = _beats()
    path = write_beats_csv(tmp_path / "b.csv", x, y)
    first = path.read_text().splitlines()[0].split(",")
    assert len(first) == 188
    assert first[0] == f"{x[0, 0]:.18e}" and first[-1] == "0.000000000000000000e+00"
    assert re.fullmatch(r"\d\.\d{18}e[+-]\d\d", first[1])
    xl, yl = load_mitbih_csv(path)
    assert xl.shape == (6, 187, 1) and xl.dtype == np.float32
    np.testing.assert_array_equal(xl[:, :, 0], x.astype(np.float32))
    np.testing.assert_array_equal(yl, y)


def test_matches_numpy_savetxt(tmp_path):
    x, y = _beats(3)
    write_beats_csv(tmp_path / "a.csv", x, y)
    np.savetxt(tmp_path / "b.csv", np.c_[x, y], delimiter=",")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_gzip_and_short_numbers(tmp_path):
    x, y = _beats(4)
    write_beats_csv(tmp_path / "b.csv.gz", x, y, fmt="%.5g")
    with gzip.open(tmp_path / "b.csv.gz", "rt") as handle:
        assert handle.readline().count(",") == 187
    xl, yl = load_mitbih_csv(tmp_path / "b.csv.gz")
    np.testing.assert_allclose(xl[:, :, 0], x, atol=1e-5)
    np.testing.assert_array_equal(yl, y)


def test_ptbdb_labels(tmp_path):
    x, _ = _beats(4)
    write_beats_csv(tmp_path / "p.csv", x, np.array([0, 1, 1, 0]))
    assert load_ptbdb_csv(tmp_path / "p.csv")[1].tolist() == [0, 1, 1, 0]
    write_beats_csv(tmp_path / "bad.csv", x, np.array([0, 1, 2, 0]))
    with pytest.raises(DataFormatError, match=r"bad.csv: line 3, column 188: label '2.0+e\+00' is not an integer class in 0..1"):
        load_ptbdb_csv(tmp_path / "bad.csv")


def test_cache_second_load_and_invalidation(tmp_path, monkeypatch):
    x, y = _beats()
    path = write_beats_csv(tmp_path / "b.csv", x, y)
    load_mitbih_csv(path)
    calls = []
    monkeypatch.setattr(csv_files, "_parse", lambda *a: calls.append(a) or (_ for _ in ()).throw(AssertionError))
    xl, yl = load_mitbih_csv(path)  # from the cache: _parse not called
    assert calls == [] and np.array_equal(yl, y)
    monkeypatch.undo()
    write_beats_csv(path, x[:2], y[:2])  # new size and mtime: parsed again
    assert load_mitbih_csv(path)[0].shape == (2, 187, 1)


def _write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


GOOD = [_row([0.5] * 187 + [1.0]), _row([0.25] * 187 + [4.0])]


@pytest.mark.parametrize(
    "lines, message",
    [
        (["," .join(f"c{i}" for i in range(188))] + GOOD, r"line 1, column 1: not a number: 'c0' \(a header row"),
        (GOOD + [_row([0.5] * 186 + [1.0])], r"line 3: expected 188 comma-separated fields .* got 187"),
        (GOOD + [_row([0.5] * 188 + [1.0])], r"line 3: expected 188 .* got 189"),
        (GOOD[:1] + [_row([0.5] * 10) + ",abc," + _row([0.5] * 176 + [0.0])], r"line 2, column 11: not a number: 'abc'"),
        (GOOD + [_row([0.5] * 6) + ",nan," + _row([0.5] * 180 + [0.0])], r"line 3, column 7: 'nan' is not finite"),
        ([_row([0.5] * 186) + ",inf,0"] + GOOD, r"line 1, column 187: 'inf' is not finite"),
        (GOOD + [_row([0.5] * 187 + [5.0])], r"line 3, column 188: label '5.0+e\+00' is not an integer class in 0..4"),
        (GOOD + [_row([0.5] * 187 + [1.5])], r"line 3, column 188: label '1.50+e\+00' is not an integer"),
        (GOOD + [_row([0.5] * 187 + [-1.0])], r"line 3, column 188: label '-1.0+e\+00'"),
        (GOOD + [""] + GOOD, r"line 3: empty line"),
    ],
    ids=["header", "short-row", "long-row", "non-numeric", "nan", "inf", "label-5", "label-1.5", "label-neg", "blank"],
)
def test_bad_input_names_line_and_column(tmp_path, lines, message):
    path = _write_lines(tmp_path / "bad.csv", lines)
    with pytest.raises(DataFormatError, match=re.escape(str(path)) + ": " + message):
        load_mitbih_csv(path)


def test_missing_and_empty_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope.csv: no such file"):
        load_mitbih_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match=r"empty.csv: empty file"):
        load_mitbih_csv(tmp_path / "empty.csv")
    with gzip.open(tmp_path / "empty.csv.gz", "wb"):
        pass
    with pytest.raises(DataFormatError, match=r"empty.csv.gz: empty file"):
        load_mitbih_csv(tmp_path / "empty.csv.gz")


def test_write_rejects_bad_shapes(tmp_path):
    with pytest.raises(DataFormatError, match=r"got x \(2, 186\) and y \(2,\)"):
        write_beats_csv(tmp_path / "w.csv", np.zeros((2, 186)), np.zeros(2))
    assert not (tmp_path / "w.csv").exists()
