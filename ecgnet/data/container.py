"""The :class:`Beats` container: heartbeats, their labels and origin, and their ``.npz`` files.

Every loader returns one (``load_split``, ``load_part``, ``beats_from_record``).
Beats cut from WFDB records keep where they came from (record name, R-peak
sample in the original record) and three R-R intervals in seconds (previous
R-R, next R-R, mean of the last up to 10 R-R intervals); Kaggle CSV files
carry the beats and labels only, and those fields are None.
"""

import dataclasses
from pathlib import Path

import numpy as np

from ecgnet.data.signals import BEAT_LENGTH, CENTRED_LENGTH
from ecgnet.errors import DataFormatError
from ecgnet.files import atomic_path, kind_of


@dataclasses.dataclass
class Beats:
    """A set of heartbeats with their labels and origin.

    The one container of beats: storage (``.npz``), model inputs
    (:meth:`ecgnet.recipe.InputRecipe.inputs` builds them from it) and
    predictions all take it. ``x`` is kept as stored, one channel without
    its axis; the six R-R features of a model come from :meth:`rr_features`.

    Attributes:
        x: float32 (n, 187), the beats at 125 Hz, each starting at its R peak.
        y: int8 (n,), AAMI class 0..4 (``CLASS_NAMES``), -1 where unknown.
        record: None (Kaggle CSV files), or str (n,): the record each beat comes from.
        r_peak: None, or int64 (n,): R-peak sample in the original record (its own rate).
        rr: None, or float32 (n, 3): previous R-R, next R-R and local mean R-R, in seconds.
        second_lead: None, or float32 (n, 187): the same beats cut at the same R
            peaks from the record's other lead (V1 in most MIT-BIH records),
            scaled the same way (``build_mitbih_beats(second_lead=True)``).
        centred: None, or float32 (n, 88): the R-centred window of each beat,
            P wave to T wave, scaled by its record's median R amplitude
            (:func:`ecgnet.data.signals.centred_windows`).
        source: None, or the file or record the beats were read from, for
            messages (not an array: :meth:`save_npz` does not write it).

    Example:
        >>> beats = build_mitbih_beats("data/mitdb", records=["100"])
        >>> len(beats), beats.subset(beats.y == 2).record[:3]
    """

    x: np.ndarray
    y: np.ndarray
    record: np.ndarray = None
    r_peak: np.ndarray = None
    rr: np.ndarray = None
    second_lead: np.ndarray = None
    centred: np.ndarray = None
    source: object = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int8)
        n = len(self.y)
        shapes = {"x": (self.x.shape, (n, BEAT_LENGTH))}
        if self.record is not None:
            self.record = np.asarray(self.record, dtype=str)
            shapes["record"] = (self.record.shape, (n,))
        if self.r_peak is not None:
            self.r_peak = np.asarray(self.r_peak, dtype=np.int64)
            shapes["r_peak"] = (self.r_peak.shape, (n,))
        if self.rr is not None:
            self.rr = np.asarray(self.rr, dtype=np.float32).reshape(-1, 3)
            shapes["rr"] = (self.rr.shape, (n, 3))
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
        """Return the beats at ``index`` (an integer array, slice or boolean mask), from the same source."""
        arrays = {name: None if getattr(self, name) is None else getattr(self, name)[index] for name in ARRAY_FIELDS}
        return Beats(**arrays, source=self.source)

    def rr_features(self):
        """The six R-R features of every beat (:func:`ecgnet.data.features.rr_features`): float32 (n, 6).

        The 3 intervals in seconds and the same divided by their record's mean
        R-R, computed when asked (they depend on every beat of a record).

        Raises:
            DataFormatError: the beats carry no R-R intervals or record names (Kaggle CSV files), naming the source.
        """
        from ecgnet.data.features import rr_features

        if self.rr is None or self.record is None:
            raise DataFormatError(f"{self.source or 'beats'}: no R-R intervals (Kaggle CSV files carry none)")
        return rr_features(self.rr, self.record)

    def save_npz(self, path, compressed=False):
        """Save to an ``.npz`` file atomically; read it back with :func:`load_beats_npz`.

        Args:
            path: str or Path of the file.
            compressed: bool, zip-deflate the arrays (smaller, slower).
        """
        save = np.savez_compressed if compressed else np.savez
        arrays = {name: getattr(self, name) for name in ARRAY_FIELDS if getattr(self, name) is not None}
        with atomic_path(path, suffix=".npz") as tmp:
            save(tmp, **arrays)
        return Path(path)


#: The array fields of :class:`Beats`, in order (``source`` is not one); all but ``x`` and ``y`` may be None.
ARRAY_FIELDS = ("x", "y", "record", "r_peak", "rr", "second_lead", "centred")


def concat_beats(parts):
    """Concatenate a list of :class:`Beats` into one (with an optional field only if every part has it)."""
    parts = list(parts)
    if not parts:
        return Beats(np.zeros((0, BEAT_LENGTH)), [], [], [], np.zeros((0, 3)))
    fields = [name for name in ARRAY_FIELDS if all(getattr(p, name) is not None for p in parts)]
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
            not finite or too large for float32, a beat sample outside 0..1,
            an R-R interval that is not positive; the message names the file
            and the beat (0-based row) and sample (0-based column).

    Example:
        >>> train = load_beats_npz("data/mitbih-kaggle/train.npz")
    """
    import zipfile
    import zlib

    from ecgnet.data.classes import CLASS_NAMES

    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if not path.is_file():  # a device or a folder read as "no such file"
        raise DataFormatError(f"{path}: is {kind_of(path.stat().st_mode)}, not a file of beats")
    try:
        with np.load(path, allow_pickle=False) as data:
            required = ("x", "y", "record", "r_peak", "rr")  # what prepare writes
            missing = [name for name in required if name not in data.files]
            if missing:
                model = " (a .keras model under another name?)" if "config.json" in data.files else ""
                raise DataFormatError(f"{path}: not a Beats file, missing {', '.join(missing)} (has {data.files}){model}")
            arrays = {name: data[name] for name in ARRAY_FIELDS if name in data.files}
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
    _check_ranges(path, arrays)
    try:
        return Beats(**arrays, source=path)
    except DataFormatError as error:
        raise DataFormatError(f"{path}: {error}") from None


def _check_ranges(path, arrays):
    """Refuse beats outside 0..1 and R-R intervals that are not positive, as the CSV reader refuses its samples.

    ``prepare`` scales each beat (and the second lead's) to [0, 1] by its
    10-second window, like the Kaggle CSV files; beats of another scale
    (millivolts, or multiplied by 1000) were classified, confidently, like
    any other. An R-R interval is a duration between two R peaks, in seconds.
    """
    from ecgnet.data.csv_files import RANGE_SLACK, SAMPLE_RANGE

    low, high = SAMPLE_RANGE
    for name in ("x", "second_lead"):
        if name not in arrays or not arrays[name].size:
            continue
        values = np.asarray(arrays[name], dtype=np.float64)
        outside = (values < low - RANGE_SLACK) | (values > high + RANGE_SLACK)
        if outside.any():
            where = tuple(np.argwhere(outside)[0])
            raise DataFormatError(
                f"{path}: {name}[{where[0]}, {where[1]}] (beat {where[0]}, sample {where[1]}) is {values[where]:g}, outside "
                f"0..1, the range of a beat (each beat is scaled to [0, 1] by its 10-second window, as `prepare` writes "
                f"it); {int(outside.any(axis=1).sum())} beat(s) are affected"
            )
    if "rr" in arrays and arrays["rr"].size:
        rr = np.asarray(arrays["rr"], dtype=np.float64)
        wrong = rr <= 0
        if wrong.any():
            where = tuple(np.argwhere(wrong)[0])
            raise DataFormatError(
                f"{path}: rr[{', '.join(map(str, where))}] (beat {where[0]}"
                + (f", column {where[1]}" if len(where) > 1 else "")
                + f") is {rr[where]:g}: R-R intervals are durations between R peaks, in seconds, above 0; "
                f"{int(wrong.reshape(len(rr), -1).any(axis=1).sum())} beat(s) are affected"
            )
