"""Heartbeats cut from a signal the way Kachuee et al. (2018) cut them.

Kachuee, Fazeli and Sarrafzadeh, "ECG Heartbeat Classification: A Deep
Transferable Representation", IEEE ICHI 2018, sec. III-A, made the Kaggle
"ECG Heartbeat Categorization Dataset" like this, and :func:`segment_beats`
follows it step by step:

1. take lead MLII, resampled from its sampling rate (360 Hz in MIT-BIH) to
   125 Hz (:func:`resample_to_125`; records of other databases: the first lead
   of :data:`ecgnet.data.records.LEAD_PREFERENCE` they have, else their first
   channel);
2. split the signal into consecutive 10-second windows and scale each window
   to [0, 1] with its own minimum and maximum;
3. nominal heartbeat period T = median R-R interval of the beats in the window;
4. from each R peak take a segment of 1.2 T samples, zero-padded (or truncated)
   to 187 samples (1.496 s).

The paper leaves two details open; they are chosen so that the 48 MIT-BIH
records give exactly the Kaggle class counts. Where the R peaks and labels
come from is stated in :mod:`ecgnet.data.records`; the other is here:

- a segment that runs past the end of its window keeps going in the signal,
  scaled with its own window's minimum and maximum and clipped to [0, 1]
  (it stops, zero-padded, at the end of the record).

:func:`centred_windows` cuts a second view of each beat for models of new
patients: a window centred on the R peak, from 0.256 s before it to 0.44 s
after, so it holds the beat's own P wave, its QRS and its T wave, band-passed
and scaled by the record's own median R amplitude.
"""

from fractions import Fraction

import numpy as np

FS = 125
BEAT_LENGTH = 187
WINDOW_SECONDS = 10
SEGMENT_PERIODS = 1.2
#: Samples (at 125 Hz) before and after the R peak in a centred window
#: (:func:`centred_windows`): 0.256 s before, the R peak, 0.44 s after.
CENTRED_BEFORE, CENTRED_AFTER = 32, 55
CENTRED_LENGTH = CENTRED_BEFORE + 1 + CENTRED_AFTER
#: Pass band (Hz) of the centred windows: above baseline wander, below muscle noise.
CENTRED_BAND = (0.5, 40.0)


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


def centred_windows(signal, r_peaks):
    """Cut an R-centred window around each R peak of a 125 Hz signal, scaled per record.

    Kachuee's cut (:func:`segment_beats`) starts at the R peak, so a beat's own
    P wave, which tells an atrial (S) beat from a normal one, is never in it.
    This window runs from :data:`CENTRED_BEFORE` samples before the R peak to
    :data:`CENTRED_AFTER` after (0.256 s to 0.44 s at 125 Hz): P wave, QRS and
    most of the T wave. The signal is band-passed (:data:`CENTRED_BAND`,
    2nd-order Butterworth, forward and backward), and every window of the
    record is divided by the median absolute value at the R peak over all
    of ``r_peaks``: amplitude relative to the patient, as R-R intervals are
    divided by the patient's mean R-R (``ecgnet.data.rr_features``). Like that
    normalisation it uses the record's own unlabeled beats. Samples beyond
    the ends of the signal are zeros.

    Args:
        signal: 1-D array at 125 Hz (the whole record).
        r_peaks: sorted int array of R-peak positions in ``signal``.

    Returns:
        float32 (n, :data:`CENTRED_LENGTH`); the R peak is sample :data:`CENTRED_BEFORE`.

    Example:
        >>> w = centred_windows(resample_to_125(ecg, 360), np.round(peaks * 125 / 360).astype(int))
    """
    from scipy.signal import butter, sosfiltfilt

    signal = np.asarray(signal, dtype=np.float64)
    r = np.asarray(r_peaks, dtype=np.int64)
    if len(r) == 0 or len(signal) == 0:
        return np.zeros((len(r), CENTRED_LENGTH), np.float32)
    sos = butter(2, CENTRED_BAND, btype="band", fs=FS, output="sos")
    if len(signal) > 1:  # scipy's default padding (15 samples here), shortened for very short signals
        signal = sosfiltfilt(sos, signal, padlen=min(3 * (2 * len(sos) + 1), len(signal) - 1))
    index = r[:, None] + np.arange(-CENTRED_BEFORE, CENTRED_AFTER + 1)
    inside = (index >= 0) & (index < len(signal))
    windows = np.where(inside, signal[np.clip(index, 0, len(signal) - 1)], 0.0)
    scale = float(np.median(np.abs(windows[:, CENTRED_BEFORE])))
    return (windows / (scale if scale > 0 else 1.0)).astype(np.float32)
