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
  :data:`BEAT_CONTRAST` times the background; ``"polarity flipped"`` in a
  stretch whose QRS points the other way from the record's
  (:func:`flipped_beats`); ``"too noisy"`` (:data:`NOISY`, the noise gate)
  when the QRS barely stands out of the noise around it
  (:func:`local_contrast`) or the baseline moves under the beat by more than
  its QRS is tall (:func:`baseline_drift`); ``"window past the end"`` when
  the beat's 1.496 s segment runs past the end of the signal;
- per record (:func:`check_record`): the share of such beats, the share of
  annotated beats that sit on the top of their QRS energy (:func:`qrs_offset`
  within :data:`SEARCH_SECONDS`), the heart rate the R peaks imply, whether
  the sampling rate looks twice or half the true one
  (:func:`sampling_rate_factor`), the dominant QRS polarity of the lead, and
  its name; a verdict lists what is implausible.

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
- annotations 0.1 s late: a median offset from the QRS top of 0.069 to
  0.097 s, against at most 0.055 s on the clean records (:data:`SHIFTED_SECONDS`);
  0.3 to 0.5 s late: no QRS at the R peaks but QRS complexes within 0.4 s
  (:data:`NEARBY_CONTRAST`); every other annotation removed: 83 % to 100 % of
  the intervals hold a QRS of their own, at most 5.7 % on the clean records
  (:data:`MISSED_SHARE`; noise at 0 dB makes 17 % to 41 %, hence
  :data:`MISSED_MIN_CONTRAST`); annotations about one R-R interval late or
  early: their offsets from the QRS vary from beat to beat by over 0.04 s
  where the rhythm is irregular (:func:`offset_spread`,
  :data:`SPREAD_SECONDS`; at most 0.025 s on the clean records); the
  annotations of some classes only: over 15 % of the intervals long (over
  1.5 times the median R-R) and holding a QRS (:data:`LONG_MISSED_SHARE`;
  at most 0.38 % on the clean MIT-BIH records, 11.5 % under noise, 29 % on
  119 without its V beats); no R peak in the first or last 10 s
  (:data:`UNREAD_SECONDS`; the clean records' annotations reach within
  1.8 s of both ends);
- a header claiming twice or half the true rate: none of the 87 clean
  records is flagged at its true rate; at twice it 35 of the 48 MIT-BIH and
  23 of the 39 svdb records are, at half it 33 and 24 (the rest stay
  human: a slow heart with a wide QRS looks like a fast one with a narrow
  QRS at half the rate);
- a stretch of reversed polarity (minutes 10 to 15 of a record): all its
  beats in 100, 119 and 207, 60 % to 69 % in 203, 208 and 217, none in 108;
  on the clean records 96 beats, all in 207 (0.088 %);
- the noise gate marks 89 beats of the clean MIT-BIH records that no other
  check marks (0.081 %); its thresholds were chosen with the first half of
  each noise record, and what it does under noise is measured on the second
  half with ``benchmarks/measure/bench_noise.py --gate`` (docs/robustness.md).

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
#: A median :func:`qrs_offset` beyond this (seconds) says the annotations are shifted, "annotations off the
#: QRS". The clean records' medians span -0.025 to 0.044 s (MIT-BIH) and -0.031 to 0.055 s (svdb, 128 Hz);
#: annotations 0.1 s late give -0.069 (232) to -0.097 s.
SHIFTED_SECONDS = 0.065
#: A spread (median absolute deviation) of the :func:`qrs_offset` beyond this (seconds) says the annotations are
#: off their QRS: at most 0.025 s on the clean records (MIT-BIH 222; svdb 0.016 s, 848), where each annotation
#: sits at the same point of its QRS. Annotations shifted by about one R-R interval land near the next (or the
#: previous) beat's QRS, at an offset that varies as the R-R intervals do: 0.008 to 0.125 s on the 87 records,
#: over 0.04 s on 22 of the 48 MIT-BIH and 9 of the 39 svdb records (10-minute excerpts; docs/robustness.md).
#: Noise does not spread it: bw or ma at 0 dB on records 100, 118, 119, 208 give at most 0.028 s. Short stretches
#: do: of the 40-s windows of the 48 MIT-BIH records one in 2,158 is over it (the first 40 s of 104: paced and
#: fusion beats, 0.053 s).
SPREAD_SECONDS = 0.04
#: Annotations that "miss beats" (:data:`MISSED_SHARE`) with fewer than this share of their R peaks on the top of a
#: QRS are shifted by about one beat rather than thinned: thinned annotations keep every R peak on its QRS (100 %
#: with every other annotation removed), where the clean records keep at least 97 % (MIT-BIH) and 83 % (svdb 848).
ONE_BEAT_AGREEMENT = 0.9
#: Between two annotated beats, more than this many seconds from each, an envelope peak of at least
#: :data:`MISSED_RATIO` times the weaker of the two beats' is a QRS complex left unannotated (:func:`unannotated_qrs`).
MISSED_GUARD_SECONDS = 0.2
MISSED_RATIO = 0.5
#: Share of the intervals between annotated beats holding a QRS left unannotated above which the annotations
#: "miss beats": at most 5.7 % in the clean records (104; 3.5 % in svdb 865), 83 % to 100 % with every other
#: beat's annotation removed. Noise raises it too (muscle noise at 0 dB: 31 % to 40 % on records 100, 118,
#: 119, 208), so it is read only where the beats' median QRS contrast is at least :data:`MISSED_MIN_CONTRAST`:
#: with bw, ma and white noise at 6, 0 and -6 dB on those records, the share stays under 16 % there.
MISSED_SHARE = 0.5
MISSED_MIN_CONTRAST = 10.0
#: Annotations of some classes only leave a QRS in a long interval: a beat left out joins the two intervals around
#: it, over :data:`LONG_INTERVAL` times the median R-R (:func:`long_unannotated_qrs`). Such intervals are at most
#: 0.38 % of a clean MIT-BIH record's (207; svdb: 0.07 % where the median contrast is 10 or more) and, with bw, ma
#: or white noise at 12 to -6 dB on 10-minute excerpts of ten MIT-BIH records, at most 11.5 % (232 with muscle
#: noise at 6 dB, median contrast 11.5; noise between the beats falls in intervals of every length). With the V
#: beats left out they are 26.8 % of 119's intervals and 17.6 % of 208's (10 minutes; 21 % and 36 % of their
#: beats); over :data:`LONG_MISSED_SHARE` the annotations "miss beats". Where fewer beats are left out (106, 203,
#: 207 without their V beats: 6 % to 8 %) they pass, as noise does.
LONG_INTERVAL = 1.5
LONG_MISSED_SHARE = 0.15
#: A stretch longer than this (seconds) before the first R peak or after the last is named ("part unread"): none
#: of it gets a class. The clean records' annotations start within 1.4 s of the signal's start and end within
#: 1.8 s of its end (MIT-BIH 232; svdb 0.9 and 1.1 s); the annotations of a shorter record, or of an excerpt,
#: read over a longer signal leave the rest unread without a word.
UNREAD_SECONDS = 10.0
#: Heart rates (beats per minute) a human heart beats at; outside them the R peaks or the sampling rate are wrong.
HEART_RATE_RANGE = (20.0, 300.0)
#: Where no annotated R peak has QRS energy, the envelope's peak within this many seconds of each (median,
#: over the record's median envelope) tells a signal with QRS complexes elsewhere from one without: with record
#: 100's annotations, noise and the nstdb noise records give 1.8 to 7.9; eleven MIT-BIH records with their own
#: annotations 0.2, 0.3 or 0.5 s late give 20 to 223. At or above :data:`NEARBY_CONTRAST` the annotations are
#: off the QRS, not the signal without one.
NEARBY_SECONDS = 0.4
NEARBY_CONTRAST = 12.0
#: Heart rates of the clean records (47 to 135 beats per minute in MIT-BIH and svdb) with a margin: outside them
#: a record without QRS complexes is asked whether its header's sampling rate is the signal's (a hint, no check),
#: and a record with them is said to look at twice or half its rate (:func:`sampling_rate_factor`, a warning).
USUAL_HEART_RATES = (40.0, 180.0)
#: Leads the models here were trained on (:data:`ecgnet.data.records.LEAD_PREFERENCE`).
TRAINED_LEADS = ("MLII", "II", "ECG1")
#: Leads whose QRS points up in (almost) every record: the limb lead II and MIT-BIH's modified MLII.
#: svdb's ECG1 is not named in its headers, and points either way.
POLARITY_LEADS = ("MLII", "II")
#: Share of beats whose QRS must point down for such a lead to count as inverted.
INVERTED = 0.95
#: Span of one beat's segment in seconds (187 samples at 125 Hz).
BEAT_SECONDS = BEAT_LENGTH / FS
#: Half-width of the window of the median beat whose QRS width is measured (:func:`qrs_width`), seconds.
TEMPLATE_SECONDS = 0.25
#: Heart rate (beats per second) over QRS width (seconds), in 1/s², that the clean records span
#: (:func:`rate_index`): a header that claims twice the true rate multiplies it by 4, half the rate divides it by 4.
RATE_INDEX_RANGE = (17.5, 120.0)
#: Mains frequencies (Hz): a narrow spectral line at one of them is the power line, a clock of known rate.
MAINS = (50.0, 60.0)
#: A spectral line counts when its power is this many times the median of its neighbours (1.5-4 Hz away).
LINE_RATIO = 10.0
#: ... and counts as absent below this many times.
NO_LINE_RATIO = 3.0
#: Seconds on each side of a beat over which :func:`local_contrast` takes the background.
LOCAL_SECONDS = 5
#: Below this frequency (Hz) the signal is baseline (:func:`baseline_drift`).
BASELINE_HZ = 0.7
#: The noise gate's reason: a beat in a stretch too noisy to read.
NOISY = "too noisy"
#: The noise gate: a beat is "too noisy" when its :func:`local_contrast` is below this ...
GATE_CONTRAST = 2.0
#: ... or its :func:`baseline_drift` above this (thresholds chosen in docs/robustness.md).
GATE_DRIFT = 2.0
#: Beats on each side of a beat whose median QRS is compared with the record's (:func:`flipped_beats`).
FLIP_NEIGHBOURS = 5
#: A stretch is flipped where the correlation of its median QRS with the record's median QRS is below minus this.
FLIP_CORRELATION = 0.9


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


def offset_spread(signal, fs, r_peaks, envelope=None):
    """How much the R peaks' :func:`qrs_offset` varies from beat to beat: its median absolute deviation, seconds.

    An annotation sits at the same point of each QRS (its R peak), so on a
    clean record the offsets barely vary: 0 to 0.025 s on the 48 MIT-BIH and
    39 svdb records. Annotations shifted by about one R-R interval land near
    the next beat's QRS, before or after it as the R-R intervals vary, and the
    offsets spread with them (over 0.04 s on 22 of the 48 MIT-BIH records
    shifted by their median R-R interval; little in a regular rhythm). A
    shift of every annotation by the same time does not move it.

    Returns:
        float, seconds (0 without beats).

    Example:
        >>> offset_spread(ecg, 360, peaks)  # its own annotations
        0.0
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    return _spread(qrs_offset(x, fs, r, envelope))


def _spread(offsets):
    """The median absolute deviation of R-peak offsets (seconds): :func:`offset_spread` of offsets already measured."""
    return float(np.median(np.abs(offsets - np.median(offsets)))) if len(offsets) else 0.0


def unannotated_qrs(signal, fs, r_peaks, envelope=None):
    """How strong a QRS complex lies between each two R peaks, against theirs: one left unannotated is near 1.

    The envelope's maximum between two consecutive R peaks, more than
    :data:`MISSED_GUARD_SECONDS` from both (so neither beat's QRS nor, mostly,
    its T wave counts), over the smaller of the two beats' envelope peaks
    (within :data:`SEARCH_SECONDS` of each R peak). On the clean records the
    median is 0.004 to 0.26 (a T wave, noise); annotations that skip a beat
    put a whole QRS there (1.0 to 1.7).

    Returns:
        float64 (n - 1,), one per interval; 0 for an interval too short to hold a beat.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    r = np.sort(r)
    if len(r) < 2:
        return np.zeros(0)
    envelope = qrs_envelope(x, fs) if envelope is None else envelope
    beat_peaks = _peak_near(envelope, r, int(round(SEARCH_SECONDS * fs)))
    peaks = np.maximum(np.minimum(beat_peaks[:-1], beat_peaks[1:]), np.finfo(float).tiny)
    guard = int(round(MISSED_GUARD_SECONDS * fs))
    ratios = np.zeros(len(r) - 1)
    with np.errstate(over="ignore"):  # beats without QRS energy (a flat stretch): any peak between them is infinitely more
        for i, (start, stop) in enumerate(zip(r[:-1] + guard, np.minimum(r[1:], len(envelope)) - guard)):
            if stop > start:
                ratios[i] = envelope[start:stop].max() / peaks[i]
    return ratios


def long_unannotated_qrs(signal, fs, r_peaks, envelope=None):
    """Which intervals between R peaks are long and hold a QRS complex of their own: over :data:`LONG_INTERVAL`
    times the median R-R interval, with an :func:`unannotated_qrs` ratio over :data:`MISSED_RATIO`.

    A beat whose annotation is left out joins the two intervals around it into one about twice the usual
    length (a premature beat and its pause), with its QRS inside; noise between the beats lands in intervals of
    every length, and a clean record's long pauses hold no QRS.

    Returns:
        bool (n - 1,), one per interval.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    r = np.sort(r)
    if len(r) < 2:
        return np.zeros(0, dtype=bool)
    rr = np.diff(r)
    return (rr > LONG_INTERVAL * np.median(rr)) & (unannotated_qrs(x, fs, r, envelope) > MISSED_RATIO)


def beat_windows(signal, fs, r_peaks, before=SEARCH_SECONDS, after=SEARCH_SECONDS):
    """Each beat's stretch of the lead band-passed 0.5-40 Hz, ``before`` s before its R peak to ``after`` s after it.

    The band-pass (2nd-order Butterworth, forward and backward) removes the
    baseline and the high-frequency noise, and keeps the shape of P, QRS and
    T; a window that runs past either end repeats the end sample. By
    default the QRS within :data:`SEARCH_SECONDS` of the R peak, which
    :func:`qrs_polarity` and :func:`flipped_beats` read.

    Args:
        signal: 1-D array, the lead (NaN and infinite samples are interpolated).
        fs: float, its sampling rate in Hz.
        r_peaks: int array of R-peak samples.
        before, after: float, seconds before and after the R peak; both ends
            are included, so a window holds ``round(before * fs) + round(after * fs) + 1`` samples.

    Returns:
        float64 ``(len(r_peaks), round(before * fs) + round(after * fs) + 1)``, one beat per row.

    Raises:
        DataFormatError: a signal or R peaks that are not 1-D, a signal under 2 samples, a sampling rate that
            is not a positive number. (An R peak outside the signal is not refused: shifted annotations, which
            the checks must measure, put some there; its window repeats the end sample.)

    Example:
        >>> beat_windows(ecg, 360, peaks).shape   # 0.1 s on each side at 360 Hz
        (len(peaks), 73)
    """
    from scipy.signal import butter, sosfiltfilt

    x, fs, r = _checked(signal, fs, r_peaks)
    if len(x) < 2:
        raise DataFormatError(f"beat_windows: a signal of {len(x)} samples has no beats to cut")
    sos = butter(2, (0.5, min(40.0, 0.45 * fs)), btype="band", fs=fs, output="sos")
    y = sosfiltfilt(sos, x, padlen=min(3 * (2 * len(sos) + 1), len(x) - 1))
    offsets = np.arange(-int(round(before * fs)), int(round(after * fs)) + 1)
    return y[np.clip(r[:, None] + offsets, 0, len(y) - 1)]


def qrs_polarity(signal, fs, r_peaks):
    """Whether each beat's largest QRS deflection points up: True up, False down.

    The signal is band-passed 0.5-40 Hz; within :data:`SEARCH_SECONDS` of the
    R peak the largest positive and the largest negative value are compared.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    if len(x) < 2 or len(r) == 0:
        return np.zeros(len(r), bool)
    windows = beat_windows(x, fs, r)
    return windows.max(axis=1) >= -windows.min(axis=1)


def flipped_beats(signal, fs, r_peaks):
    """Which beats lie in a stretch whose QRS points the other way from the rest of the record.

    Each beat's QRS (band-passed 0.5-40 Hz, within :data:`SEARCH_SECONDS` of
    the R peak, its mean removed) is set beside its :data:`FLIP_NEIGHBOURS`
    neighbours on each side; the median QRS of those 11 beats is compared
    with the median QRS of the whole record. Where a lead was reversed for a
    stretch, the two are mirror images (correlation near -1); a few ectopic
    beats do not move an 11-beat median, so a beat is marked only when that
    correlation is below ``-FLIP_CORRELATION`` and its own QRS also
    correlates negatively with the record's.

    A stretch shorter than about 6 beats is not found, nor is a lead reversed
    over more than half the record (its median QRS is then the reversed one,
    and the other part is marked: the record verdict says which part is
    which); a lead reversed throughout is :func:`check_record`'s ``inverted
    polarity``.

    Measured (``benchmarks/measure/bench_plausibility.py``): on the 48 clean
    MIT-BIH records 96 beats (0.088 %), all in record 207, whose QRS changes
    shape for a stretch; none in the 39 svdb records. Minutes 10 to 15 of a
    record reversed: every beat found in 100, 119 and 207, 60 % to 69 % in
    203, 208 and 217, none in 108 (a lead whose median QRS is nearly
    symmetric).

    Args:
        signal: 1-D array; fs: float, Hz; r_peaks: int array of R-peak samples.

    Returns:
        bool (n,).

    Example:
        >>> ecg[360 * 600 : 360 * 900] *= -1
        >>> flipped_beats(ecg, 360, peaks).sum()
    """
    from numpy.lib.stride_tricks import sliding_window_view

    x, fs, r = _checked(signal, fs, r_peaks)
    if len(x) < 2 or len(r) < 2 * FLIP_NEIGHBOURS + 1:
        return np.zeros(len(r), bool)
    windows = beat_windows(x, fs, r)
    windows = windows - windows.mean(axis=1, keepdims=True)
    template = np.median(windows, axis=0)
    template = template - template.mean()
    norm = float(np.linalg.norm(template))
    if norm == 0:
        return np.zeros(len(r), bool)
    own = windows @ template / (np.linalg.norm(windows, axis=1) * norm + 1e-300)
    k = FLIP_NEIGHBOURS
    padded = np.concatenate([np.repeat(windows[:1], k, axis=0), windows, np.repeat(windows[-1:], k, axis=0)])
    local = np.median(sliding_window_view(padded, 2 * k + 1, axis=0), axis=-1)
    together = local @ template / (np.linalg.norm(local, axis=1) * norm + 1e-300)
    return (together < -FLIP_CORRELATION) & (own < 0)


def qrs_width(signal, fs, r_peaks):
    """How wide the record's QRS complex is, in seconds of the sampling rate given.

    The median beat (the signal high-passed at 0.5 Hz, within
    :data:`TEMPLATE_SECONDS` of each R peak) is differentiated and squared;
    the width is the RMS spread of that slope energy around its centre, in
    seconds. The steep QRS dominates it: 10 to 35 ms on the clean MIT-BIH
    and svdb records. A header that claims twice the true sampling rate
    halves it, half the rate doubles it.

    Args:
        signal: 1-D array; fs: float, Hz; r_peaks: int array of R-peak samples.

    Returns:
        float, seconds (nan without a beat whose window lies inside the signal).
    """
    from scipy.signal import butter, sosfiltfilt

    x, fs, r = _checked(signal, fs, r_peaks)
    half = int(round(TEMPLATE_SECONDS * fs))
    r = r[(r - half >= 0) & (r + half < len(x))]
    if len(r) == 0 or len(x) < 16:
        return float("nan")
    sos = butter(2, 0.5, btype="high", fs=fs, output="sos")
    windows = sosfiltfilt(sos, x)[r[:, None] + np.arange(-half, half + 1)]
    template = np.median(windows - np.median(windows, axis=1, keepdims=True), axis=0)
    energy = (np.gradient(template) * fs) ** 2
    if not energy.sum() > 0:
        return float("nan")
    index = np.arange(len(energy))
    centre = (energy * index).sum() / energy.sum()
    return float(np.sqrt((energy * (index - centre) ** 2).sum() / energy.sum()) / fs)


def line_ratios(signal, fs, frequencies=(25.0, 30.0, 50.0, 60.0, 100.0, 120.0)):
    """How far a narrow spectral line stands out at each frequency: its power over its neighbours' median.

    Welch's spectrum of the first 5 minutes (4-s segments, 0.25 Hz bins):
    the largest bin within 0.5 Hz of the frequency over the median of the
    bins 1.5 to 4 Hz away. Mains interference gives tens to thousands
    (at 60 Hz in half the MIT-BIH records); no line gives about 1.

    Returns:
        dict {frequency: ratio}, for the frequencies below the Nyquist frequency less 4 Hz.
    """
    from scipy.signal import welch

    x, fs, _ = _checked(signal, fs, [])
    x = x[: int(300 * fs)]
    if len(x) < int(8 * fs):
        return {}
    f, power = welch(x, fs=fs, nperseg=int(4 * fs))
    found = {}
    for frequency in frequencies:
        if frequency + 4 >= fs / 2:
            continue
        at = np.abs(f - frequency) <= 0.5
        near = (np.abs(f - frequency) > 1.5) & (np.abs(f - frequency) <= 4)
        background = float(np.median(power[near]))
        found[frequency] = float(power[at].max() / background) if background > 0 else float("inf")
    return found


def sampling_rate_factor(signal, fs, r_peaks):
    """Whether the sampling rate given looks twice (2.0) or half (0.5) the true one, else 1.0; and why.

    Clocks of known rate are read in the signal:

    - the rate index (:func:`rate_index`): heart rate over QRS width, which a
      wrong factor of two moves by a factor of four; outside
      :data:`RATE_INDEX_RANGE` it names the factor;
    - the heart rate alone, where the mains line says nothing and the rate
      index stays in range: over the top of :data:`USUAL_HEART_RATES` (180)
      for the whole record says twice, under its bottom (40) half (the clean
      records: 47 to 135);
    - the mains line (:func:`line_ratios`): where a line stands at 50 or 60
      Hz, the rate is taken as right. A line at 100 or 120 Hz with none at 50
      or 60 Hz says twice, at 25 or 30 Hz half, when the rate index agrees
      (over twice, or under half, the range's geometric centre): record 121
      has a line at 30 Hz and none at 60 Hz at its true rate.

    Measured (``benchmarks/measure/bench_plausibility.py``): none of the 48
    clean MIT-BIH and 39 svdb records is flagged at its true rate; at twice
    or half its rate, see docs/robustness.md. A slow heart with a wide QRS at
    a rate given as half looks like a fast heart with a narrow QRS at the
    true rate: the clocks together find 58 of the 87 records at twice their
    rate and 57 at half.

    Returns:
        (factor, evidence): float, and a str that names the measurements.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    lines = line_ratios(x, fs)
    mains = max((lines.get(f, 0.0) for f in MAINS), default=0.0)
    index, heart_rate, width = rate_index(x, fs, r)
    if mains >= LINE_RATIO or not np.isfinite(index):  # the mains line, where there is one, is the better clock
        return 1.0, ""
    low, high = RATE_INDEX_RANGE
    typical = float(np.sqrt(low * high))
    evidence = f"heart rate {heart_rate:.0f} with a QRS {1000 * width:.0f} ms wide (rate index {index:.0f} per s²"
    if mains < NO_LINE_RATIO:
        for factor, candidates in ((2.0, (100.0, 120.0)), (0.5, (25.0, 30.0))):
            strongest = max(candidates, key=lambda f: lines.get(f, 0.0))
            agrees = index > 2 * typical if factor > 1 else index < typical / 2
            if lines.get(strongest, 0.0) >= LINE_RATIO and agrees:
                return factor, (f"a mains line at {strongest:g} Hz ({lines[strongest]:.0f} times its neighbours) and "
                                f"none at {' or '.join(f'{m:g}' for m in MAINS)} Hz; {evidence}, "
                                f"{'over' if factor > 1 else 'under'} {2 * typical if factor > 1 else typical / 2:.0f})")
    slow, fast = USUAL_HEART_RATES
    # The rate index names a factor only where the heart rate at the rate it implies is a human one: noise
    # widens the QRS measured (white noise at -1 dB on a 40-s excerpt of 208: 115 to 146 ms, index 13 to 16),
    # which reads as half the rate, whose heart rate (2 x 110) no clean record has. A true factor passes: the
    # clean records' heart rates (47 to 135) lie inside USUAL_HEART_RATES at any factor read back.
    if index > high and heart_rate / 2.0 >= slow:
        return 2.0, f"{evidence}, over {high:g})"
    if index < low and heart_rate * 2.0 <= fast:
        return 0.5, f"{evidence}, under {low:g})"
    # the third clock, alone: a whole record's heart rate beyond the clean records'
    if heart_rate > fast:
        return 2.0, f"{evidence}; a heart rate over {fast:g} for the whole record)"
    if heart_rate < slow:
        return 0.5, f"{evidence}; a heart rate under {slow:g} for the whole record)"
    return 1.0, ""


def rate_index(signal, fs, r_peaks):
    """Heart rate in beats per second over :func:`qrs_width` in seconds: (index in 1/s², heart rate per minute, width s).

    Both are physiology measured in seconds of the rate given: a header
    claiming twice the true rate doubles the heart rate and halves the
    width, so it multiplies the index by 4. On the clean records the index
    spans 19 (108) to 111 (222); :data:`RATE_INDEX_RANGE` adds a margin.
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    rr = np.diff(np.sort(r)) / fs
    heart_rate = float(60.0 / np.median(rr)) if len(rr) and np.median(rr) > 0 else float("nan")
    width = qrs_width(x, fs, r)
    index = heart_rate / 60.0 / width if np.isfinite(width) and width > 0 else float("nan")
    return index, heart_rate, width


def local_contrast(signal, fs, r_peaks, envelope=None):
    """Each beat's QRS energy over the background around it: :func:`beat_contrast` with a local median.

    The background is the median of the QRS envelope over the
    :data:`LOCAL_SECONDS` on either side of the R peak (from medians of
    1-second blocks), so a burst of muscle noise lowers the contrast of the
    beats inside it and of no others.

    Returns:
        float64 (n,).
    """
    x, fs, r = _checked(signal, fs, r_peaks)
    envelope = qrs_envelope(x, fs) if envelope is None else envelope
    block = max(1, int(round(fs)))
    count = len(envelope) // block
    if count == 0 or len(r) == 0:
        return beat_contrast(x, fs, r, envelope)
    medians = np.median(envelope[: count * block].reshape(count, block), axis=1)
    around = int(LOCAL_SECONDS)
    centre = np.clip(r // block, 0, count - 1)
    index = np.clip(centre[:, None] + np.arange(-around, around + 1), 0, count - 1)
    background = np.median(medians[index], axis=1)
    peaks = _peak_near(envelope, r, int(round(SEARCH_SECONDS * fs)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(background > 0, peaks / np.where(background > 0, background, 1), np.where(peaks > 0, np.inf, 0.0))


def baseline_drift(signal, fs, r_peaks):
    """How far the baseline moves under each beat, over the size of its QRS.

    The signal low-passed at :data:`BASELINE_HZ` (below the T wave) moves by
    its peak-to-peak range over the beat's span (from 0.25 s before the R
    peak to the end of its 1.496 s segment); the QRS size is the
    peak-to-peak amplitude of the signal high-passed at 0.5 Hz within 0.05 s
    of the R peak (as ``nst`` measures it). Respiration moves a clean
    baseline by a fraction of the QRS; baseline wander noise by several.

    Returns:
        float64 (n,).
    """
    from scipy.ndimage import maximum_filter1d, minimum_filter1d
    from scipy.signal import butter, sosfiltfilt

    x, fs, r = _checked(signal, fs, r_peaks)
    if len(x) < 16 or len(r) == 0:
        return np.zeros(len(r))
    low = sosfiltfilt(butter(2, BASELINE_HZ, btype="low", fs=fs, output="sos"), x)
    high = x - sosfiltfilt(butter(2, 0.5, btype="low", fs=fs, output="sos"), x)
    before, span = int(round(0.25 * fs)), int(np.ceil((0.25 + BEAT_SECONDS) * fs))
    centre = np.clip(r + (span // 2 - before), 0, len(x) - 1)
    moved = (maximum_filter1d(low, span, mode="nearest") - minimum_filter1d(low, span, mode="nearest"))[centre]
    half = int(round(0.05 * fs))
    index = np.clip(r[:, None] + np.arange(-half, half + 1), 0, len(x) - 1)
    size = np.ptp(high[index], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(size > 0, moved / np.where(size > 0, size, 1), np.inf)


def beat_reasons(signal, fs, r_peaks, envelope=None):
    """Why each beat is implausible: ``""`` for none, else reasons joined with ``"; "``.

    Reasons: ``"not QRS-like"`` (:func:`beat_contrast` below
    :data:`BEAT_CONTRAST`: no QRS energy near the R peak), ``"polarity
    flipped"`` (:func:`flipped_beats`: in a stretch whose QRS points the other
    way from the record's), ``"window past the end"`` (the beat's 1.496 s
    segment runs past the end of the signal, so it is padded with zeros).

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
    envelope = qrs_envelope(x, fs) if envelope is None else envelope
    reasons = [[] for _ in range(len(r))]
    for i in np.flatnonzero(beat_contrast(x, fs, r, envelope) < BEAT_CONTRAST):
        reasons[i].append("not QRS-like")
    for i in np.flatnonzero(flipped_beats(x, fs, r)):
        reasons[i].append("polarity flipped")
    noisy = (local_contrast(x, fs, r, envelope) < GATE_CONTRAST) | (baseline_drift(x, fs, r) > GATE_DRIFT)
    for i in np.flatnonzero(noisy):
        reasons[i].append(NOISY)
    for i in np.flatnonzero(r + int(np.ceil(BEAT_SECONDS * fs)) > len(x)):
        reasons[i].append("window past the end")
    return np.array(["; ".join(found) for found in reasons], dtype=str)


def check_record(signal, fs, r_peaks, lead=None):
    """Per-beat reasons and a verdict on a whole record (see the module doc).

    Verdicts (each a sentence that names the measurement):

    - ``"no QRS complexes"``: the beats' median contrast is below
      :data:`BEAT_CONTRAST`: noise, a sine wave, random bytes (but where
      QRS complexes lie within :data:`NEARBY_SECONDS` of the R peaks, the
      verdict is ``"annotations off the QRS"``);
    - ``"mostly implausible"``: more than :data:`MOSTLY` of the beats are marked;
    - ``"annotations off the QRS"``: the signal has QRS complexes, but under
      :data:`AGREEMENT` of the beats sit on the top of their QRS energy (the
      annotations of another record, or shifted);
      or their median :func:`qrs_offset` is beyond :data:`SHIFTED_SECONDS`
      (annotations shifted);
      or their offsets vary from beat to beat by more than
      :data:`SPREAD_SECONDS` (:func:`offset_spread`: annotations shifted by
      about one beat);
    - ``"mostly implausible: too noisy to read"``: under :data:`AGREEMENT`
      of the beats sit on the top of their QRS energy, and no QRS within
      :data:`NEARBY_SECONDS` of the R peaks stands out either (median
      contrast under :data:`NEARBY_CONTRAST`): noise of the QRS complexes'
      size, not misplaced annotations (a clean record with another record's
      or shifted annotations: 115 to 150; records 100, 118, 119, 208 under
      muscle noise at -6 dB: 4.0 to 4.4);
    - ``"annotations miss beats"``: over :data:`MISSED_SHARE` of the
      intervals between R peaks hold a QRS complex of their own
      (:func:`unannotated_qrs`; read where the median contrast is at least
      :data:`MISSED_MIN_CONTRAST`): annotations thinned, or of some classes only
      (but ``"annotations off the QRS"``, shifted by about one beat, where
      under :data:`ONE_BEAT_AGREEMENT` of the R peaks sit on their QRS); or,
      with the R peaks on their QRS, over :data:`LONG_MISSED_SHARE` of the
      intervals are long and hold one (:func:`long_unannotated_qrs`): the
      annotations of some classes only;
    - ``"heart rate"``: the median R-R implies a rate outside
      :data:`HEART_RATE_RANGE` (wrong R peaks, or a wrong sampling rate);
    - ``"sampling rate"``: the rate given looks twice or half the true one
      (:func:`sampling_rate_factor`; only when no verdict above is given);
    - ``"part unread"``: no R peak in more than :data:`UNREAD_SECONDS`
      at the start or the end of the signal (nothing there is classified);
    - ``"polarity flips"``: some beats are ``"polarity flipped"``
      (:func:`flipped_beats`): a lead reversed for a stretch;
    - ``"inverted polarity"``: a lead II (:data:`POLARITY_LEADS`) whose QRS
      points down in more than :data:`INVERTED` of the beats;
    - ``"lead"``: a lead name that is none of :data:`TRAINED_LEADS`.

    Args:
        signal: 1-D array, the lead.
        fs: float, its sampling rate in Hz.
        r_peaks: int array of the R-peak samples (annotated or detected).
        lead: str or None, the lead's name in the header (``"MLII"``, ``"V1"``; any case), ``""`` for a
            signal the header leaves unnamed, None to skip the lead's checks.

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
    offsets = qrs_offset(x, fs, r, envelope)  # measured once: agreement, shift and spread all read it
    on_qrs = (np.abs(offsets) <= SEARCH_SECONDS) & (contrast >= BEAT_CONTRAST)
    agreement = float(on_qrs.mean()) if len(r) else 0.0
    rr = np.diff(np.sort(r)) / fs
    heart_rate = float(60.0 / np.median(rr)) if len(rr) and np.median(rr) > 0 else float("nan")
    upward = qrs_polarity(x, fs, r)
    share_up = float(upward.mean()) if len(upward) else float("nan")

    verdict = []
    median_contrast = float(np.median(contrast)) if len(contrast) else 0.0
    marked = float(np.mean(np.char.find(reasons.astype(str), "not QRS-like") >= 0)) if len(reasons) else 0.0
    nearby = float(np.median(_peak_near(envelope, r, int(round(NEARBY_SECONDS * fs))))) / max(float(np.median(envelope)),
                                                                                              np.finfo(float).tiny) \
        if len(r) and (median_contrast < BEAT_CONTRAST or agreement < AGREEMENT) else 0.0  # read by those verdicts only
    if median_contrast < BEAT_CONTRAST and nearby >= NEARBY_CONTRAST:
        verdict.append(f"annotations off the QRS: no R peak sits on a QRS complex (median QRS contrast "
                       f"{median_contrast:.1f}), but QRS complexes lie within {NEARBY_SECONDS:g} s of them (median "
                       f"contrast {nearby:.0f}): the annotations of another record, or shifted?")
    elif median_contrast < BEAT_CONTRAST:
        low, high = USUAL_HEART_RATES
        rate_hint = (f"; the R peaks imply {heart_rate:.0f} beats per minute: is the header's sampling rate, {fs:g} Hz, "
                     "the signal's" if np.isfinite(heart_rate) and not low <= heart_rate <= high else "")
        verdict.append(f"no QRS complexes: the signal does not look like an ECG lead (median QRS contrast "
                       f"{median_contrast:.1f}, under {BEAT_CONTRAST:g}{rate_hint})")
    elif agreement < AGREEMENT and nearby < NEARBY_CONTRAST:  # no QRS stands out near them either: noise, not annotations
        verdict.append(f"mostly implausible: too noisy to read: only {agreement:.0%} of the beats stand out of the signal "
                       f"at their R peak, and no QRS complex within {NEARBY_SECONDS:g} s of them stands out more (median "
                       f"contrast {nearby:.1f}, under {NEARBY_CONTRAST:g}): noise as large as the QRS complexes, "
                       "not misplaced annotations")
    elif agreement < AGREEMENT:
        verdict.append(f"annotations off the QRS: only {agreement:.0%} of the annotated beats are on a QRS complex "
                       "(the annotations of another record, or shifted?)")
    elif len(r) and abs(shift := float(np.median(offsets))) > SHIFTED_SECONDS:
        verdict.append(f"annotations off the QRS: the R peaks lie a median {abs(shift):.3f} s "
                       f"{'after' if shift < 0 else 'before'} the top of their QRS complex (over {SHIFTED_SECONDS:g} s; "
                       "shifted annotations?)")
    elif (spread := _spread(offsets)) > SPREAD_SECONDS:
        verdict.append(f"annotations off the QRS: the R peaks' offsets from the top of their QRS complex vary by a "
                       f"median {spread:.3f} s from beat to beat (over {SPREAD_SECONDS:g} s, where each annotation sits "
                       "at the same point of its QRS): annotations shifted by about one beat (an R-R interval), or "
                       "another record's?")
    # R peaks on their QRS (else the QRS just past an early one reads as missed), in a signal clean enough that
    # noise between the beats does not read as a QRS
    if not verdict and len(r) > 1 and median_contrast >= MISSED_MIN_CONTRAST:
        missed = float(np.mean(unannotated_qrs(x, fs, r, envelope) > MISSED_RATIO))
        if missed > MISSED_SHARE and agreement < ONE_BEAT_AGREEMENT:  # not thinned: most R peaks are off their QRS
            verdict.append(f"annotations off the QRS: only {agreement:.0%} of the R peaks sit on the top of their QRS "
                           f"complex, and {missed:.0%} of the intervals between them hold a QRS complex of their own: "
                           "annotations shifted by about one beat (an R-R interval)?")
        elif missed > MISSED_SHARE:
            verdict.append(f"annotations miss beats: {missed:.0%} of the intervals between the R peaks hold a QRS "
                           f"complex of their own (over {MISSED_SHARE:.0%}; every other beat's annotation removed, or "
                           "only some classes annotated?)")
        elif agreement >= ONE_BEAT_AGREEMENT and (long := float(np.mean(long_unannotated_qrs(x, fs, r, envelope)))) \
                > LONG_MISSED_SHARE:
            verdict.append(f"annotations miss beats: {long:.0%} of the intervals between the R peaks are over "
                           f"{LONG_INTERVAL:g} times the median R-R and hold a QRS complex of their own (over "
                           f"{LONG_MISSED_SHARE:.0%}): only some classes annotated, or beats left out?")
    if len(r) and marked > MOSTLY:
        verdict.append(f"mostly implausible: {marked:.0%} of the beats are not QRS-like")
    low, high = HEART_RATE_RANGE
    if np.isfinite(heart_rate) and not low <= heart_rate <= high:
        verdict.append(f"heart rate {heart_rate:.0f} beats per minute is outside {low:g}..{high:g}: "
                       "wrong R peaks, or a wrong sampling rate in the header?")
    unreadable = bool(verdict)  # noise, wrong R peaks: no QRS width, heart rate or polarity to read
    if not unreadable:
        factor, evidence = sampling_rate_factor(x, fs, r)
        if factor != 1.0:
            verdict.append(f"sampling rate: the header's {fs:g} Hz looks {'twice' if factor > 1 else 'half'} the true "
                           f"rate ({fs / factor:g} Hz?): {evidence}")
    if len(r):
        before, after = float(r.min()) / fs, float(len(x) - 1 - r.max()) / fs
        ends = [f"the first {before:.1f} s" if before > UNREAD_SECONDS else "",
                f"the last {after:.1f} s (after {r.max() / fs:.1f} s)" if after > UNREAD_SECONDS else ""]
        if any(ends):
            verdict.append(f"part unread: no R peak in {' or in '.join(filter(None, ends))} of the {len(x) / fs:.1f} s "
                           "signal, so nothing there gets a class: annotations of a shorter record or an excerpt, "
                           "or no QRS found there?")
    flipped = np.char.find(reasons.astype(str), "polarity flipped") >= 0
    if flipped.any() and median_contrast >= BEAT_CONTRAST:
        times = r[flipped] / fs
        verdict.append(f"polarity flips: the QRS points the other way from the rest of the record in {flipped.sum()} "
                       f"beats ({times.min():.1f} to {times.max():.1f} s); a lead reversed for a stretch?")
    if lead is not None:
        key = str(lead).strip().upper()  # the header's case and spaces do not matter: "mlii" is MLII
        if not key:
            verdict.append(f"lead unnamed: the header names no lead, so its first signal was read; the models were "
                           f"trained on {', '.join(TRAINED_LEADS)}")
        elif key not in TRAINED_LEADS:
            verdict.append(f"lead {lead!r} is not one the models were trained on ({', '.join(TRAINED_LEADS)})")
        elif key in POLARITY_LEADS and len(upward) and 1 - share_up > INVERTED and not unreadable:
            verdict.append(f"inverted polarity: the QRS of lead {key} points down in {1 - share_up:.0%} of the beats "
                           f"(the lead inverted, or another lead, such as V1, named {lead.strip()}?)")
    return RecordPlausibility(reasons, verdict, contrast, agreement, heart_rate, share_up)
