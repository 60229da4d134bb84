"""The :class:`Beats` container: heartbeats, their labels and origin, and their ``.npz`` files.

Every beat keeps where it came from (record name, R-peak sample in the
original record) and three R-R features in seconds (previous R-R, next R-R,
mean of the last up to 10 R-R intervals) for models that use rhythm.
"""

import dataclasses
from pathlib import Path

import numpy as np

from ecgnet.data.signals import BEAT_LENGTH, CENTRED_LENGTH
from ecgnet.errors import DataFormatError
from ecgnet.files import atomic_path


@dataclasses.dataclass
class Beats:
    """A set of heartbeats with their labels and origin.

    Attributes:
        x: float32 (n, 187), the beats at 125 Hz, each starting at its R peak.
        y: int8 (n,), AAMI class 0..4 (``CLASS_NAMES``), -1 where unknown.
        record: str (n,), the record each beat comes from.
        r_peak: int64 (n,), R-peak sample in the original record (its own rate).
        rr: float32 (n, 3), previous R-R, next R-R and local mean R-R, in seconds.
        second_lead: None, or float32 (n, 187): the same beats cut at the same R
            peaks from the record's other lead (V1 in most MIT-BIH records),
            scaled the same way (``build_mitbih_beats(second_lead=True)``).
        centred: None, or float32 (n, 88): the R-centred window of each beat,
            P wave to T wave, scaled by its record's median R amplitude
            (:func:`ecgnet.data.signals.centred_windows`).

    Example:
        >>> beats = build_mitbih_beats("data/mitdb", records=["100"])
        >>> len(beats), beats.subset(beats.y == 2).record[:3]
    """

    x: np.ndarray
    y: np.ndarray
    record: np.ndarray
    r_peak: np.ndarray
    rr: np.ndarray
    second_lead: np.ndarray = None
    centred: np.ndarray = None

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int8)
        self.record = np.asarray(self.record, dtype=str)
        self.r_peak = np.asarray(self.r_peak, dtype=np.int64)
        self.rr = np.asarray(self.rr, dtype=np.float32).reshape(-1, 3)
        n = len(self.y)
        shapes = {"x": (self.x.shape, (n, BEAT_LENGTH)), "record": (self.record.shape, (n,)),
                  "r_peak": (self.r_peak.shape, (n,)), "rr": (self.rr.shape, (n, 3))}
        if self.second_lead is not None:
            self.second_lead = np.asarray(self.second_lead, dtype=np.float32)
            shapes["second_lead"] = (self.second_lead.shape, (n, BEAT_LENGTH))
        if self.centred is not None:
            self.centred = np.asarray(self.centred, dtype=np.float32)
            shapes["centred"] = (self.centred.shape, (n, CENTRED_LENGTH))
        for name, (got, want) in shapes.items():
            if got != want:
                raise DataFormatError(f"Beats: {name} has shape {got}, expected {want} for {n} labels")

    def __len__(self):
        return len(self.y)

    def subset(self, index):
        """Return the beats at ``index`` (an integer array, slice or boolean mask)."""
        optional = {name: None if getattr(self, name) is None else getattr(self, name)[index]
                    for name in ("second_lead", "centred")}
        return Beats(self.x[index], self.y[index], self.record[index], self.r_peak[index], self.rr[index], **optional)

    def save_npz(self, path, compressed=False):
        """Save to an ``.npz`` file atomically; read it back with :func:`load_beats_npz`.

        Args:
            path: str or Path of the file.
            compressed: bool, zip-deflate the arrays (smaller, slower).
        """
        save = np.savez_compressed if compressed else np.savez
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}
        with atomic_path(path, suffix=".npz") as tmp:
            save(tmp, **arrays)
        return Path(path)


def concat_beats(parts):
    """Concatenate a list of :class:`Beats` into one (with a second lead or centred windows only if every part has them)."""
    parts = list(parts)
    if not parts:
        return Beats(np.zeros((0, BEAT_LENGTH)), [], [], [], np.zeros((0, 3)))
    fields = [f.name for f in dataclasses.fields(Beats)]
    for name in ("second_lead", "centred"):
        if any(getattr(p, name) is None for p in parts):
            fields.remove(name)
    return Beats(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def load_beats_npz(path):
    """Load :class:`Beats` saved by :meth:`Beats.save_npz`.

    Args:
        path: str or Path of the ``.npz`` file.

    Returns:
        Beats.

    Raises:
        DataFormatError: the file is missing, not a whole NPZ archive (e.g.
            truncated), lacks a field, or holds a label that is not an
            integer in 0..4 (or -1, unknown), a sample or R-R interval that is
            not finite or too large for float32; the message names the file
            and the beat (0-based row) and sample (0-based column).

    Example:
        >>> train = load_beats_npz("data/mitbih-kaggle/train.npz")
    """
    import zipfile
    import zlib

    from ecgnet.data.classes import CLASS_NAMES

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            optional = {"second_lead", "centred"}
            missing = [f.name for f in dataclasses.fields(Beats) if f.name not in data.files and f.name not in optional]
            if missing:
                raise DataFormatError(f"{path}: not a Beats file, missing {', '.join(missing)} (has {data.files})")
            arrays = {f.name: data[f.name] for f in dataclasses.fields(Beats) if f.name in data.files}
    except DataFormatError as error:
        if str(path) in str(error):
            raise
        raise DataFormatError(f"{path}: {error}") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        if isinstance(error, PermissionError):
            raise
        raise DataFormatError(f"{path}: not a readable .npz file ({type(error).__name__}: {error})") from None
    # check the values before Beats casts them (int8 labels would wrap 300 to 44, float32 1e308 to inf)
    for name in ("y", "x", "rr", "r_peak", "second_lead", "centred"):
        if name in arrays and arrays[name].dtype.kind not in "biuf":
            raise DataFormatError(f"{path}: {name} holds {arrays[name].dtype} values, expected numbers")
    y = arrays["y"]
    if y.ndim != 1:
        raise DataFormatError(f"{path}: y has shape {y.shape}, expected one label per beat (n,)")
    bad = ~np.isin(y, np.arange(-1, len(CLASS_NAMES)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = y[row].item()
        raise DataFormatError(
            f"{path}: y[{row}] (beat {row}) is {value:g}: labels are integer classes 0..4 "
            f"(N, S, V, F, Q; -1 for unknown); {int(bad.sum())} beat(s) have such labels"
        )
    limit = float(np.finfo(np.float32).max)
    for name in ("x", "second_lead", "centred", "rr"):
        if name not in arrays:
            continue
        values = np.asarray(arrays[name], dtype=np.float64)  # float16 files: compare with the float32 limit exactly
        broken = ~np.isfinite(values) | (np.abs(np.where(np.isfinite(values), values, 0)) > limit)
        if broken.any():
            where = np.argwhere(broken)[0]
            column = "column" if name == "rr" else "sample"
            place = f"beat {where[0]}" + (f", {column} {where[1]}" if len(where) > 1 else "")
            raise DataFormatError(
                f"{path}: {name}[{', '.join(map(str, where))}] ({place}) is {values[tuple(where)].item()!r}, "
                f"not a finite float32 number; {int(broken.any(axis=tuple(range(1, broken.ndim))).sum())} beat(s) are affected"
            )
    try:
        return Beats(**arrays)
    except DataFormatError as error:
        raise DataFormatError(f"{path}: {error}") from None
