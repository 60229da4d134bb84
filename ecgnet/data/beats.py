"""Heartbeats cut from WFDB records the way Kachuee et al. (2018) cut them.

Kachuee, Fazeli and Sarrafzadeh, "ECG Heartbeat Classification: A Deep
Transferable Representation", IEEE ICHI 2018, sec. III-A, made the Kaggle
"ECG Heartbeat Categorization Dataset" like this, and :func:`segment_beats`
follows it step by step:

1. take lead MLII, resampled from its sampling rate (360 Hz in MIT-BIH) to
   125 Hz (records of other databases: the first lead of
   :data:`LEAD_PREFERENCE` they have, else their first channel);
2. split the signal into consecutive 10-second windows and scale each window
   to [0, 1] with its own minimum and maximum;
3. nominal heartbeat period T = median R-R interval of the beats in the window;
4. from each R peak take a segment of 1.2 T samples, zero-padded (or truncated)
   to 187 samples (1.496 s).

Two details the paper leaves open, chosen here so that the 48 MIT-BIH records
give exactly the Kaggle class counts:

- R peaks and labels are the reference ``.atr`` annotations (not a detector);
  beats are the annotations whose symbol is in the AAMI map
  (:data:`ecgnet.data.classes.AAMI_MAP`), and the last beat of every record is
  dropped (it has no following R peak, so no next R-R interval). This gives
  109,446 beats: N 90,589, S 2,779, V 7,236, F 803, Q 8,039, as on Kaggle.
- a segment that runs past the end of its window keeps going in the signal,
  scaled with its own window's minimum and maximum and clipped to [0, 1]
  (it stops, zero-padded, at the end of the record).

Every beat also keeps where it came from (record name, R-peak sample in the
original record) and three R-R features in seconds (previous R-R, next R-R,
mean of the last up to 10 R-R intervals) for models that use rhythm.
"""

import dataclasses
import functools
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ecgnet.data.classes import AAMI_MAP
from ecgnet.errors import DataFormatError
from ecgnet.files import atomic_path

FS = 125
BEAT_LENGTH = 187
WINDOW_SECONDS = 10
SEGMENT_PERIODS = 1.2
LOCAL_RR_BEATS = 10
# WFDB symbols of QRS complexes (beats); those outside the AAMI map get label -1.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
#: The lead a record is read in, by signal name, first match wins; a record
#: with none of them is read in its first channel. MLII is MIT-BIH's modified
#: lead II; ``II`` the standard limb lead II (incartdb and other 12-lead
#: databases); ``ECG1`` the first lead of svdb, whose leads are not named.
LEAD_PREFERENCE = ("MLII", "II", "ECG1")


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
        for name, (got, want) in shapes.items():
            if got != want:
                raise DataFormatError(f"Beats: {name} has shape {got}, expected {want} for {n} labels")

    def __len__(self):
        return len(self.y)

    def subset(self, index):
        """Return the beats at ``index`` (an integer array, slice or boolean mask)."""
        second_lead = None if self.second_lead is None else self.second_lead[index]
        return Beats(self.x[index], self.y[index], self.record[index], self.r_peak[index], self.rr[index], second_lead)

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
    """Concatenate a list of :class:`Beats` into one (with a second lead only if every part has one)."""
    parts = list(parts)
    if not parts:
        return Beats(np.zeros((0, BEAT_LENGTH)), [], [], [], np.zeros((0, 3)))
    fields = [f.name for f in dataclasses.fields(Beats)]
    if any(p.second_lead is None for p in parts):
        fields.remove("second_lead")
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
            optional = {"second_lead"}
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
    for name in ("y", "x", "rr", "r_peak", "second_lead"):
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
    for name in ("x", "second_lead", "rr"):
        if name not in arrays:
            continue
        values = np.asarray(arrays[name])
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


def resample_to_125(signal, fs):
    """Resample a 1-D signal from ``fs`` Hz to 125 Hz (polyphase, anti-aliased)."""
    from scipy.signal import resample_poly

    ratio = Fraction(FS) / Fraction(fs).limit_denominator(1000)
    if ratio == 1:
        return np.asarray(signal, dtype=np.float64)
    return resample_poly(np.asarray(signal, dtype=np.float64), ratio.numerator, ratio.denominator)


def segment_beats(signal, r_peaks):
    """Cut 187-sample beats out of a 125 Hz signal (Kachuee et al. 2018, steps 2-4).

    Args:
        signal: 1-D array at 125 Hz.
        r_peaks: sorted int array of R-peak positions in ``signal`` (125 Hz samples).

    Returns:
        float32 (n, 187): beat i is ``signal[r_peaks[i]:]`` scaled with the
        min/max of its 10-second window, clipped to [0, 1], for 1.2 T samples
        (T = median R-R of the window), then zeros.

    Example:
        >>> x = segment_beats(resample_to_125(ecg, 360), np.round(peaks * 125 / 360).astype(int))
    """
    signal = np.asarray(signal, dtype=np.float64)
    r = np.asarray(r_peaks, dtype=np.int64)
    if len(r) == 0:
        return np.zeros((0, BEAT_LENGTH), np.float32)
    win_len = FS * WINDOW_SECONDS
    starts = np.arange(0, len(signal), win_len)
    lo = np.minimum.reduceat(signal, starts)
    hi = np.maximum.reduceat(signal, starts)
    window = np.minimum(r // win_len, len(starts) - 1)
    # Nominal period T per window: median of the R-R intervals that start in it.
    rr_next = np.diff(r).astype(np.float64)
    fallback = float(np.median(rr_next)) if len(rr_next) else float(FS)
    period = np.full(len(starts), fallback)
    if len(rr_next):
        w_of_rr = window[:-1]
        order = np.argsort(w_of_rr, kind="stable")
        bounds = np.flatnonzero(np.diff(w_of_rr[order])) + 1
        for group in np.split(order, bounds):
            period[w_of_rr[group[0]]] = np.median(rr_next[group])
    length = np.minimum(np.round(SEGMENT_PERIODS * period[window]).astype(np.int64), BEAT_LENGTH)
    offsets = np.arange(BEAT_LENGTH)
    index = r[:, None] + offsets
    valid = (offsets < length[:, None]) & (index < len(signal)) & (index >= 0)
    span = hi[window] - lo[window]
    span[span <= 0] = 1.0
    values = (signal[np.clip(index, 0, len(signal) - 1)] - lo[window][:, None]) / span[:, None]
    return np.where(valid, np.clip(values, 0.0, 1.0), 0.0).astype(np.float32)


def rr_intervals(r_peaks, fs):
    """R-R features in seconds for every R peak: (previous, next, local mean).

    The first beat's previous R-R is its next one, the last beat's next R-R is
    its previous one; local mean = mean of the previous R-R of this beat and of
    the up to 9 beats before it.

    Args:
        r_peaks: sorted R-peak samples.
        fs: sampling rate of those samples.

    Returns:
        float32 (n, 3).
    """
    r = np.asarray(r_peaks, dtype=np.float64)
    n = len(r)
    if n < 2:
        return np.zeros((n, 3), np.float32)
    d = np.diff(r) / fs
    prev = np.concatenate([[d[0]], d])
    nxt = np.concatenate([d, [d[-1]]])
    csum = np.concatenate([[0.0], np.cumsum(prev)])
    i = np.arange(n)
    first = np.maximum(i - LOCAL_RR_BEATS + 1, 0)
    local = (csum[i + 1] - csum[first]) / (i + 1 - first)
    return np.stack([prev, nxt, local], axis=1).astype(np.float32)


def rr_features(rr, record):
    """Six R-R features: the 3 raw intervals and the 3 divided by the record's mean R-R.

    Dividing by each record's (patient's) mean R-R is the per-patient
    normalisation of de Chazal et al. (2004) and Mondéjar-Guerra et al. (2019).
    Note that it uses the unlabeled beats of the test record itself (all of
    them, past and future): fine for offline evaluation, but a real-time
    system would need a running mean instead.

    Args:
        rr: float array (n, 3) of R-R intervals in seconds (``Beats.rr``).
        record: array (n,) of record names (``Beats.record``).

    Returns:
        float32 (n, 6).

    Example:
        >>> feats = rr_features(beats.rr, beats.record)
    """
    rr = np.asarray(rr, dtype=np.float64).reshape(-1, 3)
    record = np.asarray(record)
    if record.shape != (len(rr),):
        raise DataFormatError(f"rr_features: rr has {len(rr)} rows but record has shape {record.shape}")
    _, inverse = np.unique(record, return_inverse=True)
    sums = np.bincount(inverse, weights=rr[:, 0])
    counts = np.bincount(inverse)
    mean = (sums / np.maximum(counts, 1))[inverse]
    mean[mean <= 0] = 1.0
    return np.concatenate([rr, rr / mean[:, None]], axis=1).astype(np.float32)


#: The R-R feature sets a model can take, keyed by the width of its R-R input
#: (:func:`select_rr_features` builds them from :func:`rr_features` output).
RR_FEATURE_SETS = {
    6: "all: the 3 R-R intervals in seconds, and the same divided by the record's mean R-R",
    3: "relative: the 3 R-R intervals divided by the record's mean R-R",
    5: "rhythm: the 3 relative ones, and the previous and next R-R divided by the local mean R-R",
}


def select_rr_features(features, width):
    """The R-R features that a ``width``-wide R-R input takes (see :data:`RR_FEATURE_SETS`).

    - 6, *all*: the :func:`rr_features` columns as they are;
    - 3, *relative*: the 3 intervals divided by the record's mean R-R (no
      absolute heart rate, which differs from patient to patient);
    - 5, *rhythm*: those 3, plus the previous and the next R-R divided by the
      local mean R-R (the last up to 10 intervals): prematurity and the pause
      after it measured against the rhythm just before the beat, not against
      the whole record, whose mean long pauses or rate changes can shift.

    Args:
        features: float array (n, 6) from :func:`rr_features`.
        width: int, 6, 3 or 5.

    Returns:
        float32 (n, width).

    Example:
        >>> select_rr_features(rr_features(beats.rr, beats.record), 3).shape
        (1234, 3)
    """
    if width not in RR_FEATURE_SETS:
        raise DataFormatError(
            f"R-R inputs are {sorted(RR_FEATURE_SETS)} features wide "
            f"({'; '.join(RR_FEATURE_SETS.values())}). Received: width {width}"
        )
    features = np.asarray(features, dtype=np.float32)
    if width == 6:
        return features
    if width == 3:
        return features[:, 3:6]
    local = np.where(features[:, 2] > 0, features[:, 2], 1.0)
    return np.concatenate([features[:, 3:6], features[:, :2] / local[:, None]], axis=1)


def record_relative_beats(x, record):
    """Each beat beside its difference from its record's median beat: shape (n, steps, 2).

    Channel 0 is the beat; channel 1 is the beat minus the sample-wise median of
    all beats of the same record. Most beats of a patient are normal, so the
    median beat is that patient's own normal beat, and channel 1 shows how a beat
    departs from it: morphology measured against the patient, the same idea as
    dividing R-R intervals by the patient's mean (:func:`rr_features`). Like
    that normalisation it uses the unlabeled beats of the test record itself.

    Args:
        x: float array (n, steps) or (n, steps, 1), beats (``Beats.x``).
        record: array (n,) of record names (``Beats.record``).

    Returns:
        float32 (n, steps, 2).

    Example:
        >>> record_relative_beats(beats.x, beats.record).shape
        (1234, 187, 2)
    """
    x = np.asarray(x, dtype=np.float32)
    x = x[..., 0] if x.ndim == 3 else x
    record = np.asarray(record)
    if record.shape != (len(x),):
        raise DataFormatError(f"record_relative_beats: x has {len(x)} beats but record has shape {record.shape}")
    relative = np.empty_like(x)
    for name in np.unique(record):
        members = record == name
        relative[members] = x[members] - np.median(x[members], axis=0)
    return np.stack([x, relative], axis=-1)


def previous_beats(x, record, r_peak, rr):
    """Each beat's predecessor, the previous heartbeat of the same record: shape (n, steps).

    A beat cut the Kachuee way starts at its own R peak, so it never shows its
    own P wave, the wave that tells a supraventricular (S) beat from a normal
    one. The previous beat's segment runs 1.2 periods past the previous R
    peak: it holds this beat's P wave and QRS complex, at an offset of one
    previous R-R interval (sooner for a premature beat). Models that take a
    third beat channel get it from here.

    A beat gets zeros where its predecessor is not in ``x``: the first beat of
    a record, and most beats of a subset such as ``data/sample`` (random beats
    of each record). The candidate is the beat of the same record with the
    latest earlier R peak; it counts only if it lies one previous R-R interval
    before this beat: its next R-R interval equals this beat's previous one,
    and the R-peak gap over that interval is the sampling rate of the record's
    database (the smallest such ratio among the beats of that database in
    ``x``, 360 Hz for MIT-BIH; a skipped beat makes it about twice that or
    more). A record's database is the part of its name before ``/``
    (``"svdb/803"``; MIT-BIH's ``"100"`` has none, see
    :func:`ecgnet.data.prepare_split`): databases of different sampling rates
    may be mixed, but the records of one database must share one rate.

    Args:
        x: float array (n, steps) or (n, steps, 1), beats (``Beats.x``).
        record: array (n,) of record names (``Beats.record``).
        r_peak: int array (n,) of R-peak samples (``Beats.r_peak``), which
            order the beats within each record.
        rr: float array (n, k >= 2) whose first two columns are the previous
            and next R-R intervals (``Beats.rr``, or :func:`rr_features`).

    Returns:
        float32 (n, steps).

    Example:
        >>> previous_beats(beats.x, beats.record, beats.r_peak, beats.rr).shape
        (1234, 187)
    """
    x = np.asarray(x, dtype=np.float32)
    x = x[..., 0] if x.ndim == 3 else x
    record = np.asarray(record)
    r_peak = np.asarray(r_peak)
    rr = np.asarray(rr, dtype=np.float32)
    if record.shape != (len(x),) or r_peak.shape != (len(x),) or rr.ndim != 2 or rr.shape[0] != len(x) or rr.shape[1] < 2:
        raise DataFormatError(
            f"previous_beats: x has {len(x)} beats but record has shape {record.shape}, "
            f"r_peak {r_peak.shape} and rr {rr.shape} (expected ({len(x)},), ({len(x)},) and ({len(x)}, >=2))"
        )
    order = np.lexsort((r_peak, record))
    in_time, rr_in_time, record_in_time = x[order], rr[order], record[order]
    adjacent = (record_in_time[1:] == record_in_time[:-1]) & (rr_in_time[1:, 0] == rr_in_time[:-1, 1])
    # R-peak samples per second of R-R: the sampling rate for true neighbours, about twice it past a gap
    rate = np.diff(r_peak[order]) / np.maximum(rr_in_time[1:, 0], 1e-6)
    if adjacent.any():
        # one rate per database: the part of the record name before "/" ("svdb/803"), mitdb's names have none
        database = np.array([name.rpartition("/")[0] for name in record_in_time[1:].astype(str)])
        _, group = np.unique(database, return_inverse=True)
        lowest = np.full(group.max() + 1, np.inf)
        np.minimum.at(lowest, group[adjacent], rate[adjacent])
        adjacent &= rate <= 1.01 * lowest[group]
    shifted = np.zeros_like(in_time)
    shifted[1:][adjacent] = in_time[:-1][adjacent]
    previous = np.empty_like(x)
    previous[order] = shifted
    return previous


class RecordBeats(NamedTuple):
    """What :func:`beats_from_record` returns: the beats, the R-peak source and beat times."""

    beats: Beats
    source: str  # "annotations" or "detector"
    times: np.ndarray  # R-peak time of every beat, seconds from the record start


def _check_sampling_rate(path):
    """Refuse a header whose sampling rate is not a positive number.

    wfdb reads an unparseable rate such as ``-360`` as absent and assumes
    250 Hz, silently; so the record line of the header is read here first.
    """
    hea = Path(f"{path}.hea")
    try:
        lines = hea.read_text(encoding="latin-1").splitlines()
    except OSError:
        return  # wfdb reports the missing header
    record_line = next((line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")), [])
    if len(record_line) < 3:
        return  # no rate given: WFDB's default of 250 Hz applies
    field = record_line[2].split("/")[0].split("(")[0]
    try:
        fs = float(field)
    except ValueError:
        fs = float("nan")
    if not fs > 0:
        raise DataFormatError(f"{hea}: sampling rate {record_line[2]!r} on the record line; it must be a positive number of Hz")


def _read_leads(path, channel=None, second_lead=False):
    """``(signals, fs)``: the chosen lead's signal, then, with ``second_lead``, the other lead's."""
    import wfdb

    try:
        header = wfdb.rdheader(str(path))
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such WFDB record (expected {path}.hea)") from None
    except Exception as error:  # wfdb raises plain exceptions for bad headers
        raise DataFormatError(f"{path}: not a readable WFDB header ({error})") from None
    _check_sampling_rate(path)
    names = list(header.sig_name or [])
    if channel is None:
        channel = next((names.index(lead) for lead in LEAD_PREFERENCE if lead in names), 0)
    elif isinstance(channel, str):
        if channel not in names:
            raise DataFormatError(f"{path}: no channel {channel!r} (has {names})")
        channel = names.index(channel)
    channels = [channel]
    if second_lead:
        if len(names) != 2:
            raise DataFormatError(f"{path}: a second lead needs a record of two leads; this one has {len(names)} ({names})")
        channels.append(1 - channel)
    try:
        rec = wfdb.rdrecord(str(path), channels=channels)
    except Exception as error:
        raise DataFormatError(f"{path}: could not read the signal ({error})") from None
    return [rec.p_signal[:, i].astype(np.float64) for i in range(len(channels))], float(rec.fs)


def _annotated_peaks(path, n_samples, aami_only):
    import wfdb

    atr = Path(f"{path}.atr")
    if not atr.exists():
        return None
    # A WFDB annotation file is a sequence of 16-bit words that ends with the word 0;
    # random or truncated bytes are refused rather than read as made-up beats.
    raw = atr.read_bytes()
    if len(raw) < 2 or len(raw) % 2 or raw[-2:] != b"\x00\x00":
        raise DataFormatError(
            f"{atr}: not a WFDB annotation file (it does not end with the end-of-annotations mark; "
            "truncated or another format); `predict --detect` finds the R peaks with the detector instead"
        )
    try:
        ann = wfdb.rdann(str(path), "atr")
    except Exception as error:  # wfdb raises plain IndexError / ValueError on bytes it cannot parse
        raise DataFormatError(
            f"{atr}: not a readable WFDB annotation file ({type(error).__name__}: {error}); "
            "`predict --detect` finds the R peaks with the detector instead"
        ) from None
    symbols = np.asarray(ann.symbol, dtype=object)
    undefined = np.flatnonzero([not isinstance(symbol, str) for symbol in symbols])
    if len(undefined) or np.any(np.diff(ann.sample) < 0):
        where = f"annotation {undefined[0]} has an undefined code" if len(undefined) else "its times go backwards"
        raise DataFormatError(
            f"{atr}: not a valid WFDB annotation file ({where}); "
            "`predict --detect` finds the R peaks with the detector instead"
        )
    symbols = symbols.astype(str)
    keep = np.isin(symbols, list(AAMI_MAP if aami_only else BEAT_SYMBOLS))
    keep &= (ann.sample >= 0) & (ann.sample < n_samples)
    labels = np.array([AAMI_MAP.get(s, -1) for s in symbols[keep]], dtype=np.int8)
    return ann.sample[keep].astype(np.int64), labels


def _detected_peaks(signal, fs):
    from wfdb import processing

    peaks = processing.xqrs_detect(sig=signal, fs=fs, verbose=False)
    if len(peaks):
        peaks = processing.correct_peaks(signal, peaks, search_radius=int(0.05 * fs),
                                         smooth_window_size=int(0.15 * fs), peak_dir="compare")
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    return peaks[(peaks >= 0) & (peaks < len(signal))]


def beats_from_signal(signals, fs, peaks, labels, name, source="signal"):
    """Cut beats from signals already in memory, the way :func:`beats_from_record` does (it calls this).

    The lead (and the second lead, if given) is resampled to 125 Hz and cut at
    ``peaks`` with :func:`segment_beats`; the last beat is dropped
    (it has no next R-R interval).

    Args:
        signals: list of 1-D arrays at ``fs``: the lead, optionally the second lead.
        fs: float, sampling rate.
        peaks: sorted int array of R-peak samples.
        labels: int array of the AAMI class of each peak (-1 unknown).
        name: str, the record name the beats carry.
        source: str, where the R peaks came from (``RecordBeats.source``).

    Returns:
        RecordBeats ``(beats, source, times)``.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int8)
    signal = signals[0]
    rr = rr_intervals(peaks, fs)
    r125 = np.minimum(np.round(peaks * (FS / fs)).astype(np.int64), max(int(len(signal) * FS / fs) - 1, 0))
    x = segment_beats(resample_to_125(signal, fs), r125)
    keep = slice(0, max(len(peaks) - 1, 0))  # the last beat has no next R-R
    x2 = segment_beats(resample_to_125(signals[1], fs), r125)[keep] if len(signals) > 1 else None
    beats = Beats(x[keep], labels[keep], np.full(len(peaks), name)[keep], peaks[keep], rr[keep], x2)
    return RecordBeats(beats, source, (peaks[keep] / fs).astype(np.float64))


def beats_from_record(path, use_annotations=True, channel=None, aami_only=False, second_lead=False):
    """Cut the beats of any WFDB record, at any sampling rate, for training or prediction.

    The lead (MLII, else ``II``, else ``ECG1``, else the first channel:
    :data:`LEAD_PREFERENCE`) is resampled to 125 Hz and cut
    with :func:`segment_beats`, the same code that builds the training data.
    R peaks come from the record's reference annotations (``PATH.atr``) when
    that file holds beats and ``use_annotations`` is true (beat symbols only; labels
    mapped to AAMI classes, -1 for beat types outside the map); otherwise from
    the ``wfdb.processing.xqrs_detect`` QRS detector (labels all -1). The last
    beat is dropped: it has no following R peak.

    Args:
        path: str or Path of the record without extension (``".../mitdb/100"``).
        use_annotations: bool, use ``.atr`` when present.
        channel: None (the first of :data:`LEAD_PREFERENCE`, else the first
            channel), a channel index or a signal name.
        aami_only: bool, keep only annotated beats in the AAMI map
            (the rule that reproduces the Kaggle data).
        second_lead: bool, also cut the record's other lead at the same R
            peaks (``Beats.second_lead``); the record must have two leads.

    Returns:
        RecordBeats ``(beats, source, times)``: source is ``"annotations"`` or
        ``"detector"``, times the R-peak times in seconds.

    Example:
        >>> beats, source, times = beats_from_record("tests/fixtures/208_excerpt")
    """
    path = Path(path)
    if path.suffix in (".hea", ".dat", ".atr"):
        path = path.with_suffix("")
    signals, fs = _read_leads(path, channel, second_lead)
    signal = signals[0]
    found = _annotated_peaks(path, len(signal), aami_only) if use_annotations else None
    if found is not None and len(found[0]):
        peaks, labels = found
        source = "annotations"
    else:
        peaks = _detected_peaks(signal, fs)
        labels = np.full(len(peaks), -1, np.int8)
        source = "detector"
    return beats_from_signal(signals, fs, peaks, labels, path.name, source=source)


def _mitbih_record(path, second_lead=False):
    result = beats_from_record(path, use_annotations=True, aami_only=True, second_lead=second_lead)
    if result.source != "annotations":
        raise DataFormatError(f"{path}: no reference annotations ({path}.atr is missing)")
    return result.beats


def list_records(raw_dir):
    """Record names in ``raw_dir``: its ``RECORDS`` file, else every ``*.hea``."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataFormatError(f"{raw_dir}: no such folder of WFDB records")
    listing = raw_dir / "RECORDS"
    if listing.is_file():
        return listing.read_text().split()
    names = sorted(p.stem for p in raw_dir.glob("*.hea"))
    if not names:
        raise DataFormatError(f"{raw_dir}: no WFDB records (*.hea) and no RECORDS file")
    return names


def build_mitbih_beats(raw_dir, records=None, progress=True, processes=2, second_lead=False):
    """Rebuild the Kaggle MIT-BIH beats from the raw records (Kachuee et al. 2018).

    R peaks and labels are the reference ``.atr`` annotations (AAMI-mapped beat
    symbols; the last beat of each record dropped), not a detector; see the
    module docstring for every step. On all 48 records this gives 109,446 beats,
    the Kaggle counts.

    Args:
        raw_dir: folder with ``NNN.hea/.dat/.atr`` (e.g. ``data/mitdb``); any
            WFDB database with reference beat annotations works (lead:
            :data:`LEAD_PREFERENCE`; any sampling rate).
        records: list of record names, default all (``RECORDS`` file or ``*.hea``).
        progress: bool, show a tqdm progress bar.
        processes: int, records read in parallel (1 = in this process).
        second_lead: bool, also cut each record's other lead (V1 in most
            records) at the same R peaks, into ``Beats.second_lead``.

    Returns:
        Beats, records in the given order, beats in time order.

    Example:
        >>> beats = build_mitbih_beats("data/mitdb")
        >>> np.bincount(beats.y)
    """
    raw_dir = Path(raw_dir)
    names = list_records(raw_dir) if records is None else [str(r) for r in records]
    for name in names:
        if not (raw_dir / f"{name}.hea").is_file():
            raise DataFormatError(f"{raw_dir}: record {name!r} not found ({name}.hea missing)")
    paths = [raw_dir / name for name in names]
    import scipy.signal  # noqa: F401  slow imports (seconds): once here, inherited by forked workers
    import wfdb  # noqa: F401
    from tqdm.auto import tqdm

    bar = dict(total=len(paths), desc="records", unit="rec", disable=not progress)
    processes = max(1, min(int(processes), len(paths), os.cpu_count() or 1))
    read = functools.partial(_mitbih_record, second_lead=second_lead)
    # the bar is closed (its line ended) before an error propagates, so the error prints on a line of its own
    with tqdm(**bar) as progress_bar:
        parts = []
        if processes == 1 or len(paths) < 8:  # a pool costs more than it saves on a few records
            for path in paths:
                parts.append(read(path))
                progress_bar.update()
        else:
            import multiprocessing

            # fork is fast; but never fork a process that has started TensorFlow's threads
            method = "spawn" if "tensorflow" in sys.modules else "fork"
            with multiprocessing.get_context(method).Pool(processes) as pool:
                for part in pool.imap(read, paths):
                    parts.append(part)
                    progress_bar.update()
    return concat_beats(parts)
