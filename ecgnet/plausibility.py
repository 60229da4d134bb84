"""Plausibility: is this an ECG lead, and do its beat annotations sit on QRS complexes?

:mod:`ecgnet.quality` finds the stretches where a signal cannot carry a beat
(invalid, flat, saturated). A record can pass all of that and still not be
what it claims: Gaussian noise or a sine wave with real annotations, random
bytes inside a ``.dat``, one record's signal with another record's ``.atr``,
an inverted lead, a V1 lead where the model was trained on MLII, a header
with the wrong sampling rate. A classifier answers all of them with
confident classes. The functions here look at the signal, its sampling rate
and its R peaks (pure functions, no file access) and say what is wrong.

The measure is the QRS-band energy envelope of Pan and Tompkins (1985): the
signal band-passed to 5-15 Hz (:data:`QRS_BAND`), differentiated, squared and
averaged over 0.15 s (:func:`qrs_envelope`). A QRS complex is the steepest
part of an ECG: the envelope peaks there, many times above its median over
the record (the background: P and T waves, baseline, noise). From it:

- per beat (:func:`beat_reasons`): ``"not QRS-like"`` when the envelope
  within :data:`SEARCH_SECONDS` of the R peak stays below
  :data:`BEAT_CONTRAST` times the background; ``"window past the end"``
  when the beat's 1.496 s segment runs past the end of the signal;
- per record (:func:`check_record`): the share of such beats, the share of
  annotated beats that sit on the top of their QRS energy (:func:`qrs_offset`
  within :data:`SEARCH_SECONDS`), the heart rate the R peaks imply, the
  dominant QRS polarity of the lead, and its name; a verdict lists what is
  implausible.

Thresholds were set after measuring, with ``python
benchmarks/measure/bench_plausibility.py`` (MIT-BIH Arrhythmia, Supraventricular
Arrhythmia and Noise Stress Test records; full output in
``docs/robustness.md``):

- on the 48 clean MIT-BIH records (109,494 annotated beats, lead MLII, or
  V5 in 102 and 104) "not QRS-like" marks 102 beats (0.093 %; its 0.1 %
  quantile of contrast is 3.3, median 77); every record has at least 97 % of
  its beats on their QRS; heart rates 50..112; no verdict except the lead
  of 102 and 104, which is V5 (true);
- on the 39 svdb records (128 Hz) it marks 1.07 % of the beats, nearly all
  in the noisy records 848 (718) and 865 (259); no verdict;
- Gaussian noise, a 1.2 Hz sine wave, random bytes read as format 212 and
  the ``bw`` and ``ma`` noise records, each with record 100's annotations:
  "no QRS complexes" (median contrast 1.6 to 2.3) and 54 % to 100 % of the
  beats "not QRS-like";
- record 100 with record 101's annotations: 25 % on the QRS, "annotations off
  the QRS"; shifted 0.2 s late: 0 %; inverted: "inverted polarity";
- not found: a header claiming twice (720 Hz) or half (180 Hz) the true
  rate (heart rate 151 or 38, both human); an inverted lead whose QRS points
  down in some beats already (207, 217: the polarity verdict needs 95 % down,
  and clean MLII records point down in up to 88.5 % of their beats).

Example:
    >>> import numpy as np
    >>> from ecgnet import plausibility
    >>> noise = np.random.default_rng(0).normal(size=360 * 60)
    >>> found = plausibility.check_record(noise, 360, np.arange(180, 360 * 59, 300))
    >>> found.verdict
    ['no QRS complexes: the signal does not look like an ECG lead', ...]
"""

from typing import NamedTuple

import numpy as np

from ecgnet.data.signals import BEAT_LENGTH, FS
from ecgnet.errors import DataFormatError

#: Pass band of the QRS envelope, Hz (Pan and Tompkins 1985).
QRS_BAND = (5.0, 15.0)
#: Width of the moving average of the squared derivative, seconds (Pan and Tompkins' 150 ms).
INTEGRATION_SECONDS = 0.15
#: How far from an annotated R peak its QRS energy is looked for, seconds.
SEARCH_SECONDS = 0.1
#: How far from an R peak the top of its QRS energy is looked for (:func:`qrs_offset`), seconds.
LOCATE_SECONDS = 0.15
#: A beat is "not QRS-like" when its envelope peak is below this many times the record's median envelope.
BEAT_CONTRAST = 3.0
#: Share of beats marked above which a record is "mostly implausible".
MOSTLY = 0.5
#: Share of beats that must sit on their QRS, else "annotations off the QRS".
AGREEMENT = 0.5
#: Heart rates (beats per minute) a human heart beats at; outside them the R peaks or the sampling rate are wrong.
HEART_RATE_RANGE = (20.0, 300.0)
#: Leads the models here were trained on (:data:`ecgnet.data.records.LEAD_PREFERENCE`).
TRAINED_LEADS = ("MLII", "II", "ECG1")
#: Leads whose QRS points up in (almost) every record: the limb lead II and MIT-BIH's modified MLII.
#: svdb's ECG1 is not named in its headers, and points either way.
POLARITY_LEADS = ("MLII", "II")
#: Share of beats whose QRS must point down for such a lead to count as inverted.
INVERTED = 0.95
#: Span of one beat's segment in seconds (187 samples at 125 Hz).
BEAT_SECONDS = BEAT_LENGTH / FS


class RecordPlausibility(NamedTuple):
    """What :func:`check_record` returns."""

    reasons: np.ndarray  # str (n,): "" for a plausible beat, else its reasons joined with "; "
    verdict: list  # str: what is implausible about the record (empty: nothing found)
    contrast: np.ndarray  # float (n,): each beat's QRS envelope peak over the record's median envelope
    agreement: float  # share of beats on the top of their QRS energy (qrs_offset within SEARCH_SECONDS, contrast high)
    heart_rate: float  # beats per minute implied by the median R-R interval (nan with < 2 beats)
    upward: float  # share of beats whose largest QRS deflection points up


def _checked(signal, fs, r_peaks):
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise DataFormatError(f"plausibility: expected a 1-D signal, received shape {x.shape}")
    if not fs or not np.isfinite(fs) or fs <= 0:
        raise DataFormatError(f"plausibility: the sampling rate must be a positive number of Hz, received {fs}")
    r = np.asarray(r_peaks, dtype=np.int64)
    if r.ndim != 1:
        raise DataFormatError(f"plausibility: expected 1-D R-peak samples, received shape {r.shape}")
    if not np.isfinite(x).all():  # invalid samples are ecgnet.quality's to report; here they must not spread
        index = np.arange(len(x))
        finite = np.isfinite(x)
        x = np.interp(index, index[finite], x[finite]) if finite.any() else np.zeros_like(x)
    return x, float(fs), r


def qrs_envelope(signal, fs):
    """The QRS-band energy envelope of a signal (Pan and Tompkins 1985), in the signal's unit squared per second squared.

    Band-pass :data:`QRS_BAND` (2nd-order Butterworth, forward and backward),
    derivative, square, moving average over :data:`INTEGRATION_SECONDS`
    (centred, so the envelope peaks on the QRS, not after it).

    Args:
        signal: 1-D array.
        fs: float, sampling rate in Hz (above 30 Hz, twice the band's top).

    Returns:
        float64 array like ``signal``.
    """
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import butter, sosfiltfilt

    x, fs, _ = _checked(signal, fs, [])
    if len(x) < 2:
        return np.zeros(len(x))
    high = min(QRS_BAND[1], 0.45 * fs)
    sos = butter(2, (QRS_BAND[0], high), btype="band", fs=fs, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    slope = np.gradient(sosfiltfilt(sos, x, padlen=padlen)) * fs
    width = max(1, int(round(INTEGRATION_SECONDS * fs)))
    return uniform_filter1d(slope**2, width, mode="nearest")


def _peak_near(envelope, r, half):
    """The envelope's maximum within ``half`` samples of each R peak (0 for a peak outside the signal)."""
    n = len(envelope)
    index = r[:, None] + np.arange(-half, half + 1)
    inside = (index >= 0) & (index < n)
    values = np.where(inside, envelope[np.clip(index, 0, max(n - 1, 0))], 0.0)
    return values.max(axis=1) if len(r) else np.zeros(0)


def beat_contrast(signal, fs, r_peaks, envelope=None):
    """Each beat's QRS energy over the record's background: the envelope's peak near the R peak / its median.

    Args:
        signal: 1-D array.
        fs: float, sampling rate in Hz.
        r_peaks: int array of R-peak samples.
        envelope: optional :func:`qrs_envelope` of ``signal``, if already computed.

    Returns:
        float64 (n,). A real QRS complex gives tens to thousands; noise, a sine
        wave or a peak off the QRS gives a few at most.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    envelope = qrs_envelope(x, fs) if envelope is None else envelope
    background = float(np.median(envelope)) if len(envelope) else 0.0
    peaks = _peak_near(envelope, r, int(round(SEARCH_SECONDS * fs)))
    if background <= 0:  # a signal with no QRS-band content at all (a constant, a slow sine)
        return np.where(peaks > 0, np.inf, 0.0) if np.max(envelope, initial=0) > 0 else np.zeros(len(r))
    return peaks / background


def qrs_offset(signal, fs, r_peaks, envelope=None):
    """How far, in seconds, each R peak is from the top of the QRS energy around it.

    The envelope's maximum is looked for within :data:`LOCATE_SECONDS` of the
    R peak (no two QRS complexes are that close); an annotation on its QRS is
    within a few hundredths of a second of it, one placed at random or
    shifted is at the edge of the window.

    Returns:
        float64 (n,): the maximum's time minus the R peak's, seconds.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    envelope = qrs_envelope(x, fs) if envelope is None else envelope
    half = int(round(LOCATE_SECONDS * fs))
    n = len(envelope)
    if len(r) == 0 or n == 0:
        return np.zeros(len(r))
    index = r[:, None] + np.arange(-half, half + 1)
    values = np.where((index >= 0) & (index < n), envelope[np.clip(index, 0, n - 1)], -np.inf)
    return (values.argmax(axis=1) - half) / fs


def qrs_polarity(signal, fs, r_peaks):
    """Whether each beat's largest QRS deflection points up: True up, False down.

    The signal is band-passed 0.5-40 Hz; within :data:`SEARCH_SECONDS` of the
    R peak the largest positive and the largest negative value are compared.
    """
    from scipy.signal import butter, sosfiltfilt

    x, fs, r = _checked(signal, fs, r_peaks)
    if len(x) < 2 or len(r) == 0:
        return np.zeros(len(r), bool)
    sos = butter(2, (0.5, min(40.0, 0.45 * fs)), btype="band", fs=fs, output="sos")
    y = sosfiltfilt(sos, x, padlen=min(3 * (2 * len(sos) + 1), len(x) - 1))
    half = int(round(SEARCH_SECONDS * fs))
    index = np.clip(r[:, None] + np.arange(-half, half + 1), 0, len(y) - 1)
    windows = y[index]
    return windows.max(axis=1) >= -windows.min(axis=1)


def beat_reasons(signal, fs, r_peaks, envelope=None):
    """Why each beat is implausible: ``""`` for none, else reasons joined with ``"; "``.

    Reasons: ``"not QRS-like"`` (:func:`beat_contrast` below
    :data:`BEAT_CONTRAST`: no QRS energy near the R peak), ``"window past the
    end"`` (the beat's 1.496 s segment runs past the end of the signal, so it
    is padded with zeros).

    Args:
        signal: 1-D array; fs: float, Hz; r_peaks: int array of R-peak samples.
        envelope: optional :func:`qrs_envelope` of ``signal``.

    Returns:
        str array (n,).

    Example:
        >>> beat_reasons(ecg, 360, peaks)[:3]
        array(['', '', ''], dtype='<U...')
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    reasons = [[] for _ in range(len(r))]
    for i in np.flatnonzero(beat_contrast(x, fs, r, envelope) < BEAT_CONTRAST):
        reasons[i].append("not QRS-like")
    for i in np.flatnonzero(r + int(np.ceil(BEAT_SECONDS * fs)) > len(x)):
        reasons[i].append("window past the end")
    return np.array(["; ".join(found) for found in reasons], dtype=str)


def check_record(signal, fs, r_peaks, lead=None):
    """Per-beat reasons and a verdict on a whole record (see the module doc).

    Verdicts (each a sentence that names the measurement):

    - ``"no QRS complexes"``: the beats' median contrast is below
      :data:`BEAT_CONTRAST`: noise, a sine wave, random bytes;
    - ``"mostly implausible"``: more than :data:`MOSTLY` of the beats are marked;
    - ``"annotations off the QRS"``: the signal has QRS complexes, but under
      :data:`AGREEMENT` of the beats sit on the top of their QRS energy (the
      annotations of another record, or shifted);
    - ``"heart rate"``: the median R-R implies a rate outside
      :data:`HEART_RATE_RANGE` (wrong R peaks, or a wrong sampling rate);
    - ``"inverted polarity"``: a lead II (:data:`POLARITY_LEADS`) whose QRS
      points down in more than :data:`INVERTED` of the beats;
    - ``"lead"``: a lead name that is none of :data:`TRAINED_LEADS`.

    Args:
        signal: 1-D array, the lead.
        fs: float, its sampling rate in Hz.
        r_peaks: int array of the R-peak samples (annotated or detected).
        lead: str or None, the lead's name in the header (``"MLII"``, ``"V1"``).

    Returns:
        :class:`RecordPlausibility` ``(reasons, verdict, contrast, agreement, heart_rate, upward)``.

    Example:
        >>> found = check_record(ecg, 360, annotated_peaks, lead="MLII")
        >>> found.verdict
        []
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    envelope = qrs_envelope(x, fs)
    contrast = beat_contrast(x, fs, r, envelope)
    reasons = beat_reasons(x, fs, r, envelope)
    on_qrs = (np.abs(qrs_offset(x, fs, r, envelope)) <= SEARCH_SECONDS) & (contrast >= BEAT_CONTRAST)
    agreement = float(on_qrs.mean()) if len(r) else 0.0
    rr = np.diff(np.sort(r)) / fs
    heart_rate = float(60.0 / np.median(rr)) if len(rr) and np.median(rr) > 0 else float("nan")
    upward = qrs_polarity(x, fs, r)
    share_up = float(upward.mean()) if len(upward) else float("nan")

    verdict = []
    median_contrast = float(np.median(contrast)) if len(contrast) else 0.0
    marked = float(np.mean(np.char.find(reasons.astype(str), "not QRS-like") >= 0)) if len(reasons) else 0.0
    if median_contrast < BEAT_CONTRAST:
        verdict.append(f"no QRS complexes: the signal does not look like an ECG lead (median QRS contrast "
                       f"{median_contrast:.1f}, under {BEAT_CONTRAST:g})")
    elif agreement < AGREEMENT:
        verdict.append(f"annotations off the QRS: only {agreement:.0%} of the annotated beats are on a QRS complex "
                       "(the annotations of another record, or shifted?)")
    if len(r) and marked > MOSTLY:
        verdict.append(f"mostly implausible: {marked:.0%} of the beats are not QRS-like")
    low, high = HEART_RATE_RANGE
    if np.isfinite(heart_rate) and not low <= heart_rate <= high:
        verdict.append(f"heart rate {heart_rate:.0f} beats per minute is outside {low:g}..{high:g}: "
                       "wrong R peaks, or a wrong sampling rate in the header?")
    if lead is not None:
        if lead not in TRAINED_LEADS:
            verdict.append(f"lead {lead!r} is not one the models were trained on ({', '.join(TRAINED_LEADS)})")
        elif lead in POLARITY_LEADS and len(upward) and 1 - share_up > INVERTED and not verdict:
            verdict.append(f"inverted polarity: the QRS of lead {lead} points down in {1 - share_up:.0%} of the beats")
    return RecordPlausibility(reasons, verdict, contrast, agreement, heart_rate, share_up)
