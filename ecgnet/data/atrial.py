"""The atrial activity before each QRS complex: does it repeat from beat to beat?

What tells atrial fibrillation from a run of supraventricular beats, or from
frequent premature beats, is not the R-R intervals (both can be irregular)
but the atrial activity. In sinus rhythm, in a run of ectopic atrial beats
from one focus, and around premature beats, a P wave (or the same pre-QRS
shape) comes before each QRS complex, beat after beat; in atrial
fibrillation the stretch before each QRS holds fibrillatory waves that do
not repeat.

- :func:`pre_qrs_segments`: the band-passed lead from
  :data:`ATRIAL_SEGMENT_S` before each R peak;
- :func:`pre_qrs_correlation`: each segment's correlation with the median
  segment of the beats around it;
- :func:`atrial_repetition`: for a stretch, the median of those
  correlations around each beat (above a value for at least half the beats:
  their pre-QRS shape repeats);
- :func:`atrial_activity_repeats`: :func:`atrial_repetition` at or above
  :data:`ATRIAL_THRESHOLD` (fitted on DS1's rhythm annotations);
- :func:`read_lead`: a record's lead, for callers that hold its beats
  (:func:`ecgnet.data.records.beats_from_record`) but not its signal.

From the lead's signal and the R peaks of the whole record; no label. Any
sampling rate (the segment and the band are in seconds and hertz).
"""

import numpy as np

from ecgnet.errors import DataFormatError

#: The segment before each R peak read, in seconds: from 0.30 s to 0.08 s before it. A P wave lasts
#: up to about 0.11 s and ends 0.12 to 0.20 s (the PR interval) after it starts, at the QRS onset,
#: which lies 0.03 to 0.06 s before the R peak: 0.30 s holds the P wave's start at a PR interval of
#: about 0.24 s; 0.08 s before the R peak keeps the QRS complex out.
ATRIAL_SEGMENT_S = (0.30, 0.08)
#: The band the lead is filtered to first (Butterworth, order 2, forward and backward): above 1 Hz
#: the baseline wander and the slope of a late T wave go; below 30 Hz muscle noise; P waves and
#: fibrillatory waves (4 to 9 Hz) lie between. 30 Hz stays below half of 128 Hz (svdb).
ATRIAL_BAND_HZ = (1.0, 30.0)
#: Beats on each side of a beat whose segments make its median segment (the beat itself left out),
#: and whose correlations :func:`atrial_repetition` takes the median of: the window of
#: :func:`ecgnet.data.features.irregular_rhythm`.
ATRIAL_HALF_WIDTH = 32
#: :func:`atrial_activity_repeats`: a beat's stretch shows repeating atrial activity at or above this
#: :func:`atrial_repetition`; fitted on DS1's rhythm annotations, among the beats
#: :func:`ecgnet.data.features.irregular_rhythm` marks
#: (``benchmarks/experiments/fit_irregular_rhythm.py --fit-atrial``; docs/results.md, section 15).
ATRIAL_THRESHOLD = 0.59


def _check(signal, fs, r_peaks):
    signal = np.asarray(signal, np.float64)
    r_peaks = np.asarray(r_peaks)
    if signal.ndim != 1:
        raise DataFormatError(f"atrial activity: signal must be one lead, 1-D. Received: shape {signal.shape}")
    if not (np.isfinite(fs) and fs > 0):
        raise DataFormatError(f"atrial activity: fs must be a sampling rate above 0 Hz. Received: fs={fs}")
    if r_peaks.ndim != 1 or (len(r_peaks) and not np.issubdtype(r_peaks.dtype, np.integer)) \
            or (len(r_peaks) > 1 and not np.all(np.diff(r_peaks) > 0)):
        raise DataFormatError(f"atrial activity: r_peaks must be increasing sample indices of the lead. "
                              f"Received: shape {r_peaks.shape}, dtype {r_peaks.dtype}")
    return signal, float(fs), r_peaks.astype(np.int64)


def pre_qrs_segments(signal, fs, r_peaks, segment=ATRIAL_SEGMENT_S, band=ATRIAL_BAND_HZ):
    """The band-passed lead before each R peak: float (n, samples), NaN rows where it cannot be read.

    Args:
        signal: float array (samples,), one lead of one record.
        fs: float, its sampling rate in Hz.
        r_peaks: int array (n,), increasing R-peak samples.
        segment: (start, stop) in seconds before the R peak, start > stop >= 0.
        band: (low, high) in Hz; ``high`` is lowered to 0.45 ``fs`` where above it.

    Returns:
        float64 (n, ``round(start * fs) - round(stop * fs)``): NaN for a beat whose segment
        leaves the record or touches a sample that is not finite (invalid signal).

    Example:
        >>> pre_qrs_segments(np.zeros(3600), 360.0, [500, 1000]).shape
        (2, 79)
    """
    from scipy.signal import butter, sosfiltfilt

    signal, fs, r_peaks = _check(signal, fs, r_peaks)
    start, stop = int(round(segment[0] * fs)), int(round(segment[1] * fs))
    if not start > stop >= 0:
        raise DataFormatError(f"pre_qrs_segments: segment must be (start, stop) seconds before the R peak, "
                              f"start > stop >= 0. Received: segment={segment}")
    offsets = np.arange(-start, -stop)
    out = np.full((len(r_peaks), len(offsets)), np.nan)
    bad = ~np.isfinite(signal)
    if bad.all() or not len(r_peaks):
        return out
    if bad.any():  # filled for the filter; the segments that touch them stay NaN
        where = np.arange(len(signal))
        signal = signal.copy()
        signal[bad] = np.interp(where[bad], where[~bad], signal[~bad])
    sos = butter(2, [band[0], min(band[1], 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    if len(signal) <= 3 * (2 * len(sos) + 1):  # too short for the filter's padding
        return out
    filtered = sosfiltfilt(sos, signal)
    index = r_peaks[:, None] + offsets
    inside = (index[:, 0] >= 0) & (index[:, -1] < len(signal))
    touched = np.zeros(len(r_peaks), bool)
    if bad.any():
        touched[inside] = bad[index[inside]].any(axis=1)
    keep = inside & ~touched
    out[keep] = filtered[index[keep]]
    return out


def _windows(values, half_width):
    """``(n, ..., 2 * half_width + 1)`` views of ``values`` (n, ...) around each row, NaN past the ends."""
    pad = [(half_width, half_width)] + [(0, 0)] * (values.ndim - 1)
    return np.lib.stride_tricks.sliding_window_view(np.pad(values, pad, constant_values=np.nan),
                                                    2 * half_width + 1, axis=0)


def pre_qrs_correlation(signal, fs, r_peaks, half_width=ATRIAL_HALF_WIDTH, chunk=512, **options):
    """Each beat's pre-QRS segment against the median segment of the beats around it: float (n,).

    The Pearson correlation of the beat's segment (:func:`pre_qrs_segments`)
    with the sample-wise median of the segments of the ``half_width`` beats
    before it and the ``half_width`` after it (the beat itself left out;
    fewer at the record's ends). A P wave that repeats gives about 0.8 to
    1; fibrillatory waves, whose median over many beats is nearly flat,
    little.

    Args:
        signal, fs, r_peaks: as for :func:`pre_qrs_segments`.
        half_width: int >= 1, beats on each side.
        chunk: int, beats computed at once (memory: about ``chunk * 2 * half_width * samples`` floats).
        **options: ``segment``, ``band`` of :func:`pre_qrs_segments`.

    Returns:
        float64 (n,) in [-1, 1]; NaN where the segment, or every neighbour's, cannot be read, or
        either is flat.

    Example:
        >>> t = np.arange(36000) / 360.0
        >>> p = np.exp(-((t % 0.8 - 0.6) / 0.03) ** 2)  # a P wave 0.2 s before each R peak
        >>> r = np.arange(1, 49) * 288
        >>> bool(pre_qrs_correlation(p, 360.0, r)[1:-1].min() > 0.99)
        True
    """
    if int(half_width) < 1:
        raise DataFormatError(f"pre_qrs_correlation: half_width must be at least 1. Received: half_width={half_width}")
    half_width = int(half_width)
    segments = pre_qrs_segments(signal, fs, r_peaks, **options)
    n = len(segments)
    correlation = np.full(n, np.nan)
    for begin in range(0, n, chunk):
        rows = slice(begin, min(begin + chunk, n))
        own = segments[rows]
        lo, hi = rows.start, rows.stop
        windows = _windows(segments, half_width)[lo:hi]  # (rows, samples, 2h + 1)
        neighbours = np.concatenate([windows[..., :half_width], windows[..., half_width + 1:]], axis=-1)
        template = np.full(own.shape, np.nan)
        missing = np.isnan(neighbours).any(axis=(1, 2))
        if (~missing).any():
            template[~missing] = np.median(neighbours[~missing], axis=-1)  # far faster than nanmedian
        some = missing & ~np.isnan(neighbours).all(axis=(1, 2))
        for i in np.flatnonzero(some):  # the record's ends and beats beside unreadable ones
            readable = ~np.isnan(neighbours[i]).any(axis=0)
            if readable.any():
                template[i] = np.median(neighbours[i][:, readable], axis=-1)
        a = own - own.mean(axis=1, keepdims=True)
        b = template - template.mean(axis=1, keepdims=True)
        norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation[rows] = np.where(norm > 0, (a * b).sum(axis=1) / norm, np.nan)
    return correlation


def atrial_repetition(signal, fs, r_peaks, half_width=ATRIAL_HALF_WIDTH, **options):
    """How much the atrial activity repeats in the stretch around each beat: float (n,).

    The median of :func:`pre_qrs_correlation` over the beats from
    ``half_width`` before to ``half_width`` after each beat (the beat
    included; NaN left out): at or above a value ``c`` when at least half of
    those beats have a pre-QRS segment that correlates ``c`` or more with
    the median segment around them. The median, not the mean, so that
    premature beats, whose segment holds their early P wave on the previous
    T wave, do not count up to half of the beats: the sinus P waves between
    them keep it high.

    Args:
        signal, fs, r_peaks: as for :func:`pre_qrs_segments`.
        half_width: int >= 1, beats on each side (the segment's median and the stretch).
        **options: ``segment``, ``band``, ``chunk`` of :func:`pre_qrs_correlation`.

    Returns:
        float64 (n,); NaN where no beat of the stretch can be read.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> noise = rng.normal(size=36000)  # nothing before the QRS repeats
        >>> r = np.arange(1, 49) * 288
        >>> bool(np.nanmax(atrial_repetition(noise, 360.0, r)) < 0.5)
        True
    """
    if int(half_width) < 1:
        raise DataFormatError(f"atrial_repetition: half_width must be at least 1. Received: half_width={half_width}")
    correlation = pre_qrs_correlation(signal, fs, r_peaks, half_width=int(half_width), **options)
    if not len(correlation):
        return correlation
    windows = _windows(correlation, int(half_width))
    out = np.full(len(correlation), np.nan)
    readable = ~np.isnan(windows).all(axis=1)
    if readable.any():
        out[readable] = np.nanmedian(windows[readable], axis=1)
    return out


def atrial_activity_repeats(signal, fs, r_peaks, threshold=ATRIAL_THRESHOLD, **options):
    """Whether the stretch around each beat shows atrial activity that repeats: bool (n,).

    ``atrial_repetition(...) >= threshold``; True also where it cannot be
    read (a stretch of unreadable signal is not evidence of fibrillation).
    False: the pre-QRS segments do not repeat, as in atrial fibrillation.

    Args:
        signal, fs, r_peaks: as for :func:`pre_qrs_segments`.
        threshold: float, see :data:`ATRIAL_THRESHOLD`.
        **options: ``half_width``, ``segment``, ``band``, ``chunk`` of :func:`atrial_repetition`.

    Returns:
        bool (n,).
    """
    repetition = atrial_repetition(signal, fs, r_peaks, **options)
    return np.isnan(repetition) | (repetition >= threshold)


def read_lead(record, lead=None):
    """One lead of a WFDB record, in physical units: ``(signal, fs)``.

    The lead ``beats_from_record`` read (``CheckedRecordBeats.lead`` names it),
    so that its R peaks (``Beats.r_peak``, samples at ``fs``) index this
    signal. Invalid samples stay NaN (:func:`pre_qrs_segments` leaves the
    segments that touch them unread).

    Args:
        record: str or Path of the record, without extension.
        lead: the lead's signal name, ``"channel i"`` for a lead without one,
            or None (the first channel).

    Returns:
        ``(float64 (samples,), float)``.

    Raises:
        DataFormatError: the record cannot be read, or has no such lead.
    """
    import wfdb
    from pathlib import Path

    record = Path(record)
    if record.suffix.lower() in (".hea", ".dat", ".atr"):
        record = record.with_suffix("")
    try:
        header = wfdb.rdheader(str(record))
    except Exception as error:  # wfdb raises plain exceptions for missing or bad headers
        raise DataFormatError(f"{record}: not a readable WFDB record ({error})") from None
    names = list(header.sig_name or [])
    if lead is None:
        channel = 0
    elif lead in names:
        channel = names.index(lead)
    elif str(lead).startswith("channel ") and str(lead)[8:].isdigit() and int(str(lead)[8:]) < header.n_sig:
        channel = int(str(lead)[8:])
    else:
        raise DataFormatError(f"{record}: no lead {lead!r} (has {names})")
    try:
        signal = wfdb.rdrecord(str(record), channels=[channel]).p_signal[:, 0]
    except Exception as error:
        raise DataFormatError(f"{record}: could not read the signal ({error})") from None
    return np.asarray(signal, np.float64), float(header.fs)
