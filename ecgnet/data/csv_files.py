"""Read and write beats in the Kaggle "ECG Heartbeat Categorization Dataset" CSV format.

The Kaggle files (``mitbih_train.csv``, ``mitbih_test.csv``, ``ptbdb_normal.csv``,
``ptbdb_abnormal.csv``; Kachuee et al. 2018) have no header and one beat per
line: 187 samples in [0, 1] followed by the class label as a float, all written
like ``9.779411554336547852e-01`` (numpy ``savetxt`` with ``%.18e``).

Loading is fast: pandas' C parser reads the whole file and the checks run
vectorised; only when something is wrong does a slow scan find the exact
1-based line and column to report. A successful load is cached on disk as
``.npy`` files under ``~/.cache/ecgnet/csv`` (override the folder with the
environment variable ``ECGNET_CACHE_DIR``), keyed on the SHA-256 of the
file's bytes, so a second load of an unchanged file only hashes it and maps
two arrays from disk, and a file edited in place (same size, same
modification time) is parsed again. Why a hash rather than path, size and
modification time: those miss an edit within the file system's time
resolution or a copy that keeps the time (``cp -p``, ``touch -r``); SHA-256
reads about 430 MB/s on one core here, under a second for the 392 MB
``mitbih_train.csv``, against several seconds to parse it.
"""

import gzip
import hashlib
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ecgnet.data.signals import BEAT_LENGTH
from ecgnet.errors import DataFormatError
from ecgnet.files import atomic_path, kind_of

N_FIELDS = BEAT_LENGTH + 1
#: The largest magnitude a sample may have: beats are kept as float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: The range of a sample in this format: each beat is scaled to [0, 1] by its
#: 10-second window's minimum and maximum (Kachuee et al. 2018; ecgnet.data.signals).
SAMPLE_RANGE = (0.0, 1.0)
#: Slack around that range for numbers written with few digits.
RANGE_SLACK = 1e-6


def _cache_dir():
    env = os.environ.get("ECGNET_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "ecgnet" / "csv"


def _cache_key(path, n_classes):
    """The cache entry of a file: the SHA-256 of its bytes and the number of classes (see the module doc)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{digest.hexdigest()}-{n_classes}-v2"


#: File names of models (Keras' formats): not beats.
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def _check_compression(path):
    """Refuse a gzip file whose name does not end in ``.gz`` (it would read as a few fields of binary), a model
    file, a zip archive or other binary data: each is named for what it is."""
    if path.suffix.lower() in MODEL_SUFFIXES:  # it read as "binary data (NUL bytes)": true, but no help
        raise DataFormatError(f"{path}: a {path.suffix} file is a model, not beats; beats are read from a .csv, "
                              ".csv.gz or .npz file (the test.npz of a `prepare` folder)")
    if path.suffix.lower() != ".gz":
        with open(path, "rb") as handle:
            start = handle.read(4096)
        if start[:2] == b"\x1f\x8b":
            raise DataFormatError(
                f"{path}: is gzip-compressed but its name does not end in .gz; rename it {path.name}.gz "
                "(or decompress it)"
            )
        if start[:4] == b"PK\x03\x04":
            raise DataFormatError(f"{path}: is a zip archive, not lines of comma-separated numbers (a .keras model "
                                  "or .npz beats under another name?)")
        if start[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in start:  # numbers as text never hold a NUL byte
            what = "UTF-16 text" if start[:2] in (b"\xff\xfe", b"\xfe\xff") else "binary data (NUL bytes)"
            raise DataFormatError(
                f"{path}: is {what}, not lines of comma-separated numbers; save it as plain text (ASCII or UTF-8)"
            )


def _open_text(path):
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _check_gzip_stream(path):
    """Raise a DataFormatError if ``path`` (a .gz file) is not a whole, readable gzip stream."""
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except EOFError:
        raise DataFormatError(f"{path}: truncated gzip file (it ends before the end of its compressed data)") from None
    except (OSError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        if isinstance(error, PermissionError):
            raise
        raise DataFormatError(f"{path}: not a readable gzip file ({error})") from None


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _locate_error(path, n_classes):
    """Slow path: scan the file and raise a DataFormatError at the first bad cell."""
    if path.suffix.lower() == ".gz":
        _check_gzip_stream(path)
    with _open_text(path) as handle:
        n_lines = 0
        for line_no, line in enumerate(handle, start=1):
            n_lines = line_no
            line = line.rstrip("\r\n")
            if not line.strip():
                raise DataFormatError(f"{path}: line {line_no}: empty line (expected {N_FIELDS} comma-separated numbers)")
            fields = line.split(",")
            if len(fields) != N_FIELDS:
                other = next((name for separator, name in (("\t", "tabs"), (";", "semicolons"))
                              if len(line.split(separator)) == N_FIELDS), None)
                raise DataFormatError(
                    f"{path}: line {line_no}: expected {N_FIELDS} comma-separated fields "
                    f"(187 samples and a label), got {len(fields)}"
                    + (f"; its fields are separated by {other}: save it with commas" if other else "")
                )
            for col, cell in enumerate(fields, start=1):
                try:
                    value = float(cell)
                except ValueError:
                    header = line_no == 1 and sum(not _is_number(field) for field in fields) > len(fields) // 2
                    hint = " (a header row? the Kaggle files have none)" if header else ""
                    raise DataFormatError(
                        f"{path}: line {line_no}, column {col}: not a number: {cell.strip()[:40]!r}{hint}"
                    ) from None
                if not math.isfinite(value):
                    raise DataFormatError(f"{path}: line {line_no}, column {col}: {cell.strip()!r} is not finite")
                if abs(value) > FLOAT32_MAX:
                    raise DataFormatError(
                        f"{path}: line {line_no}, column {col}: {cell.strip()!r} is out of range "
                        f"(beats are float32: magnitudes up to {FLOAT32_MAX:.4g})"
                    )
                if col <= BEAT_LENGTH and not SAMPLE_RANGE[0] - RANGE_SLACK <= value <= SAMPLE_RANGE[1] + RANGE_SLACK:
                    raise DataFormatError(
                        f"{path}: line {line_no}, column {col}: sample {cell.strip()!r} is outside 0..1, the range "
                        "of this format (each beat is scaled to [0, 1] by its 10-second window); "
                        "beats in other units must be scaled the same way first"
                    )
            label = float(fields[-1])
            if label != int(label) or not 0 <= label < n_classes:
                raise DataFormatError(
                    f"{path}: line {line_no}, column {N_FIELDS}: label {fields[-1].strip()!r} is not an "
                    f"integer class in 0..{n_classes - 1}"
                )
    if n_lines == 0:
        raise DataFormatError(f"{path}: empty file (expected lines of {N_FIELDS} comma-separated numbers)")
    raise DataFormatError(f"{path}: could not be parsed as the Kaggle beat CSV format")


def _parse(path, n_classes):
    import pandas as pd

    try:
        frame = pd.read_csv(path, header=None, dtype=np.float64, engine="c", skip_blank_lines=False, na_filter=True)
        data = frame.to_numpy()
    except Exception:  # any parse problem: find and report the exact place
        _locate_error(path, n_classes)
        raise  # unreachable: _locate_error always raises
    if data.ndim != 2 or data.shape[1] != N_FIELDS or data.shape[0] == 0 or not np.isfinite(data).all():
        _locate_error(path, n_classes)
    samples = data[:, :BEAT_LENGTH]
    if samples.min() < SAMPLE_RANGE[0] - RANGE_SLACK or samples.max() > SAMPLE_RANGE[1] + RANGE_SLACK:
        _locate_error(path, n_classes)  # also finds magnitudes beyond float32 (they would become inf)
    labels = data[:, -1]
    if not (np.all(labels == np.round(labels)) and labels.min() >= 0 and labels.max() < n_classes):
        _locate_error(path, n_classes)
    x = np.ascontiguousarray(data[:, :BEAT_LENGTH], dtype=np.float32)[:, :, None]
    return x, labels.astype(np.int64)


def _load(path, n_classes, cache):
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if not path.is_file():
        raise DataFormatError(f"{path}: is {kind_of(path.stat().st_mode)}, not a file of beats")
    if not os.access(path, os.R_OK):  # checked before the cache, which would answer for a file we cannot read
        raise DataFormatError(f"{path}: cannot be read (permission denied)")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: empty file (expected lines of {N_FIELDS} comma-separated numbers)")
    _check_compression(path)
    if cache:
        folder = _cache_dir()
        key = _cache_key(path, n_classes)
        x_file, y_file = folder / f"{key}.x.npy", folder / f"{key}.y.npy"
        if x_file.exists() and y_file.exists():
            try:
                return np.load(x_file), np.load(y_file)
            except (OSError, ValueError):
                pass  # a damaged cache entry: parse again and overwrite it
    x, y = _parse(path, n_classes)
    if cache:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(x_file) as tmp:
                np.save(tmp, x)
            with atomic_path(y_file) as tmp:
                np.save(tmp, y)
        except OSError:
            pass  # a read-only home is no reason to fail the load
    return x, y


def load_mitbih_csv(path, cache=True):
    """Load a Kaggle MIT-BIH beat file (``mitbih_train.csv``, ``.csv.gz`` too).

    Args:
        path: str or Path of a file with 188 comma-separated numbers per line:
            187 samples and the AAMI class (0..4, written as a float).
        cache: bool, keep a parsed copy in the on-disk cache (see module doc)
            and use it when the file is unchanged.

    Returns:
        Tuple ``(x, y)``: x float32 of shape (n, 187, 1), y int64 of shape (n,).

    Raises:
        DataFormatError: missing or empty file, truncated or damaged gzip
            file, header row, wrong number of fields, non-numeric or
            non-finite cell, sample too large for float32 (beyond 3.4e38) or
            outside 0..1 (the range of the format), label not an integer in
            0..4; the message names the file and the
            1-based line and column.

    Example:
        >>> x, y = load_mitbih_csv(sample_dir() / "mitbih_train.csv.gz")
        >>> x.shape[1:], CLASS_NAMES[y[0]]
    """
    return _load(path, 5, cache)


def load_ptbdb_csv(path, cache=True):
    """Load a Kaggle PTB diagnostic beat file (``ptbdb_normal.csv``): labels 0/1.

    Same format, checks and cache as :func:`load_mitbih_csv`, but the label
    must be 0 (normal) or 1 (abnormal).

    Args:
        path: str or Path of the CSV (or ``.csv.gz``) file.
        cache: bool, use the on-disk cache.

    Returns:
        Tuple ``(x, y)``: x float32 (n, 187, 1), y int64 (n,).

    Example:
        >>> x, y = load_ptbdb_csv("ptbdb_abnormal.csv")
    """
    return _load(path, 2, cache)


def write_beats_csv(path, x, y, fmt="%.18e"):
    """Write beats in the Kaggle CSV format, atomically.

    Args:
        path: str or Path; a name ending in ``.gz`` is gzip-compressed.
        x: array of shape (n, 187) or (n, 187, 1).
        y: integer labels of shape (n,), written as floats (``1.0`` -> ``1.000...e+00``).
        fmt: printf format of every number; the default ``%.18e`` is the
            published format (``numpy.savetxt``'s default). A shorter one such
            as ``%.6g`` makes smaller files that the loaders accept as well.

    Returns:
        Path of the written file.

    Example:
        >>> write_beats_csv("beats.csv", x, y)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != BEAT_LENGTH or y.shape != (x.shape[0],):
        raise DataFormatError(f"write_beats_csv: expected x (n, 187) and y (n,), got x {x.shape} and y {y.shape}")
    data = np.concatenate([x, y.astype(np.float64)[:, None]], axis=1)
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gz":
            with gzip.open(tmp, "wb", compresslevel=6) as handle:
                np.savetxt(handle, data, fmt=fmt, delimiter=",")
        else:
            np.savetxt(tmp, data, fmt=fmt, delimiter=",")
    return path
