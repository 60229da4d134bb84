"""Signal quality: the stretches of a record no beat label should come from, and calibrated noise.

A classifier always answers, even on a lead that fell off. This module finds
the stretches of a record where the signal cannot carry a heartbeat, so that
their beats are reported as *unclassifiable* instead of getting a confident
class (``ecgnet.data.beats_from_record(..., check_quality=True)`` marks them,
``python -m ecgnet predict --record`` reports them), and it adds real
recorded noise to a clean record at a chosen signal-to-noise ratio for the
noise stress test of ANSI/AAMI EC57 (``benchmarks/measure/bench_noise.py``).

Three kinds of bad stretch, found by :func:`bad_stretches`:

- ``"invalid"``: samples that are not finite numbers. WFDB marks samples the
  recorder could not take with a reserved value that ``wfdb.rdrecord`` reads
  as NaN. Any such sample counts.
- ``"flat"``: the signal repeats exactly the same value for at least
  :data:`FLAT_SECONDS` (0.25 s). Why that threshold: a lead that is connected
  always moves by at least one ADC step within a few samples. In the 48
  MIT-BIH records the longest run of identical consecutive samples (lead MLII)
  is 0.028 s in 47 records; the 48th, record 116, reaches 0.74 s only where
  its signal is clipped at the converter's limits. A disconnected lead, a
  zero-filled gap or a frozen converter gives an exactly constant signal for
  far longer, so 0.25 s (nine times the longest run of a working lead) marks
  them without touching real ECG.
- ``"saturated"``: the signal stays at its own largest or smallest value for
  at least :data:`SATURATION_SECONDS` (0.02 s). Why: an amplifier or converter
  that clips holds the signal at its rail; a real waveform only touches its
  extreme. In MIT-BIH the signal stays at its record's extreme for at most 3
  samples (0.008 s) in 47 records; in record 116, which clips at 0 and 2047
  ADC units, it stays there for up to 265 samples (0.74 s). 0.02 s (7
  samples at 360 Hz) is 2.5 times the longest touch of a clean record.
  At low sampling rates 0.02 s is one or two samples, and every record's
  highest and lowest sample would count: so a run must also be at least
  :data:`SATURATION_MIN_SAMPLES` (3) samples long. The 48 MIT-BIH records
  resampled to 50 Hz touch their extremes for at most 2 samples (record
  202; 1 in the others); at 128 Hz (svdb) and above 0.02 s is 3 samples or
  more, so the rule is unchanged there.

A beat cut at R peak ``r`` uses the signal from ``r`` to ``r + 1.496 s`` (its
187 samples at 125 Hz), and its R-R features and previous-beat channel come
from the interval since the previous R peak. :func:`unusable_beats` marks a
beat when any sample of that span, from the previous R peak to the end of its
segment, lies in a bad stretch.

Noise is added as PhysioNet's ``nst`` program adds it (Moody, Muldrow and Mark,
"A noise stress test for arrhythmia detectors", Computers in Cardiology 1984):
the signal size is the peak-to-peak QRS amplitude ``A`` and the noise size its
RMS amplitude ``R``, and the SNR in dB is ``20 log10(A * sqrt(2) / 4 / R)``,
i.e. ``10 log10(S / N)`` with ``S = A**2 / 8`` (the power of a sine wave of
peak-to-peak amplitude ``A``) and ``N = R**2``. See :func:`add_noise`.

Example:
    >>> import numpy as np
    >>> from ecgnet import quality
    >>> signal = np.sin(np.linspace(0, 60, 3600)); signal[1000:1500] = np.nan
    >>> [(s.kind, s.start, s.stop) for s in quality.bad_stretches(signal, fs=360)]
    [('invalid', 1000, 1500)]
"""

import dataclasses

import numpy as np

from ecgnet.data.signals import BEAT_LENGTH, FS
from ecgnet.errors import DataFormatError

#: Shortest run of identical samples that counts as a flat line, in seconds (see the module doc).
FLAT_SECONDS = 0.25
#: Shortest run at the signal's own maximum or minimum that counts as clipping, in seconds.
SATURATION_SECONDS = 0.02
#: ... and in samples, whatever the sampling rate (see the module doc).
SATURATION_MIN_SAMPLES = 3
#: The span of signal one beat is cut from: 187 samples at 125 Hz.
BEAT_SECONDS = BEAT_LENGTH / FS
#: sigamp's QRS window: peak-to-peak amplitude from 0.05 s before to 0.05 s after the R peak.
QRS_HALF_WINDOW_SECONDS = 0.05
#: sigamp's RMS window for the noise: the baseline-corrected RMS of each 1-second window.
NOISE_WINDOW_SECONDS = 1.0
#: sigamp's trimmed mean: the largest and the smallest 5% of the measurements are discarded.
TRIM_FRACTION = 0.05
KINDS = ("invalid", "flat", "saturated")


@dataclasses.dataclass(frozen=True)
class Stretch:
    """A bad stretch of a signal: samples ``start`` to ``stop`` (exclusive) of kind ``kind``.

    Attributes:
        start: int, first sample.
        stop: int, one past the last sample.
        kind: str, ``"invalid"``, ``"flat"`` or ``"saturated"``.
    """

    start: int
    stop: int
    kind: str

    def describe(self, fs):
        """``"flat 12.00-20.00 s"``: the kind and the time span in seconds."""
        return f"{self.kind} {self.start / fs:.2f}-{self.stop / fs:.2f} s"


def describe_stretches(stretches, fs, limit=10):
    """One line for people: ``"invalid 10.00-20.00 s; flat+saturated 31.20-31.90 s"``.

    Stretches of different kinds over the same samples are shown once, their
    kinds joined with ``+``; past ``limit`` spans the count of the rest is given.
    """
    spans = {}
    for stretch in stretches:
        spans.setdefault((stretch.start, stretch.stop), []).append(stretch.kind)
    parts = [f"{'+'.join(kinds)} {start / fs:.2f}-{stop / fs:.2f} s" for (start, stop), kinds in sorted(spans.items())]
    if len(parts) > limit:
        parts = parts[:limit] + [f"... ({len(parts) - limit} more)"]
    return "; ".join(parts)


def _runs(mask):
    """(starts, stops) of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def bad_stretches(signal, fs):
    """The invalid, flat and saturated stretches of a 1-D signal (see the module doc).

    Args:
        signal: 1-D array of samples (any unit).
        fs: float, sampling rate in Hz.

    Returns:
        list of :class:`Stretch`, sorted by start; stretches of different kinds
        may overlap (a clipped rail is both flat and saturated when long enough).

    Example:
        >>> bad_stretches(np.r_[np.sin(np.arange(720) / 9), np.zeros(360)], fs=360)
        [Stretch(start=720, stop=1080, kind='flat')]
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise DataFormatError(f"bad_stretches: expected a 1-D signal, received shape {x.shape}")
    if not fs or fs <= 0:
        raise DataFormatError(f"bad_stretches: the sampling rate must be positive, received {fs}")
    found = []
    finite = np.isfinite(x)
    found += [Stretch(int(a), int(b), "invalid") for a, b in zip(*_runs(~finite))]
    if finite.sum() >= 2:
        # sample i belongs to a flat run when it equals its neighbour on either side
        same = np.zeros(len(x), bool)
        equal_next = (x[1:] == x[:-1]) & finite[1:] & finite[:-1]
        same[:-1] |= equal_next
        same[1:] |= equal_next
        starts, stops = _runs(same)
        # a run of equal flags may join two plateaus of different values: split where the value changes
        for a, b in zip(starts, stops):
            cuts = a + 1 + np.flatnonzero(x[a + 1 : b] != x[a : b - 1])
            for s, e in zip(np.r_[a, cuts], np.r_[cuts, b]):
                if e - s >= FLAT_SECONDS * fs:
                    found.append(Stretch(int(s), int(e), "flat"))
        low, high = np.min(x[finite]), np.max(x[finite])
        if high > low:
            for rail in (low, high):
                for a, b in zip(*_runs(x == rail)):
                    if b - a >= max(SATURATION_SECONDS * fs, SATURATION_MIN_SAMPLES):
                        found.append(Stretch(int(a), int(b), "saturated"))
    return sorted(found, key=lambda s: (s.start, s.stop, s.kind))


def bad_sample_mask(n_samples, stretches):
    """Boolean mask (n_samples,), True inside any of ``stretches``."""
    mask = np.zeros(int(n_samples), bool)
    for stretch in stretches:
        mask[stretch.start : stretch.stop] = True
    return mask


def unusable_beats(r_peaks, fs, bad_mask):
    """Which beats touch a bad stretch: from the previous R peak to the end of the beat's segment.

    Args:
        r_peaks: sorted int array of R-peak samples (at ``fs``).
        fs: float, sampling rate of ``r_peaks`` and ``bad_mask``.
        bad_mask: bool array over the signal's samples, from :func:`bad_sample_mask`.

    Returns:
        bool (n,), True for a beat whose label cannot be trusted.
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    bad_mask = np.asarray(bad_mask, bool)
    n = len(bad_mask)
    if len(r) == 0:
        return np.zeros(0, bool)
    count = np.concatenate([[0], np.cumsum(bad_mask)])
    start = np.clip(np.concatenate([[r[0]], r[:-1]]), 0, n)
    stop = np.clip(r + int(np.ceil(BEAT_SECONDS * fs)), 0, n)
    stop = np.maximum(stop, start)
    return (count[stop] - count[start]) > 0


def beat_problems(r_peaks, fs, n_samples, stretches):
    """What is wrong with each beat's signal: ``""`` for a usable beat, else the kinds it touches.

    Args:
        r_peaks: sorted R-peak samples of the beats.
        fs: float, sampling rate.
        n_samples: int, length of the signal.
        stretches: the signal's bad stretches (:func:`bad_stretches`).

    Returns:
        str array (n,): ``""``, or e.g. ``"invalid"`` or ``"flat+saturated"``.
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    problems = np.full(len(r), "", dtype=object)
    for kind in KINDS:
        touched = unusable_beats(r, fs, bad_sample_mask(n_samples, [s for s in stretches if s.kind == kind]))
        problems[touched] = [p + "+" + kind if p else kind for p in problems[touched]]
    return problems.astype(str)


def fill_invalid(signal):
    """A copy of ``signal`` with its non-finite samples replaced by linear interpolation (zeros if none is finite).

    Used before resampling and cutting beats, so that a gap of NaN does not
    spread over its neighbours' 10-second scaling windows and the resampling
    filter; the beats that touch the gap are marked unusable anyway.
    """
    x = np.array(signal, dtype=np.float64)
    finite = np.isfinite(x)
    if finite.all():
        return x
    if not finite.any():
        return np.zeros_like(x)
    index = np.arange(len(x))
    x[~finite] = np.interp(index[~finite], index[finite], x[finite])
    return x


# -- noise stress test -------------------------------------------------------------------------------------


def _trimmed_mean(values, fraction=TRIM_FRACTION):
    values = np.sort(np.asarray(values, dtype=np.float64))
    cut = int(len(values) * fraction)
    kept = values[cut : len(values) - cut] if len(values) > 2 * cut else values
    return float(np.mean(kept))


def qrs_amplitude(signal, r_peaks, fs):
    """Signal size as ``nst`` measures it: the trimmed mean peak-to-peak QRS amplitude.

    Each QRS is measured from 0.05 s before to 0.05 s after its R peak; the
    largest and the smallest 5% of the measurements are discarded (PhysioNet's
    ``sigamp -a``). ``sigamp`` stops after 250 beats; this uses them all.

    Args:
        signal: 1-D array.
        r_peaks: R-peak samples of the beats to measure (``nst`` uses the normal ones).
        fs: float, sampling rate.

    Returns:
        float, in the signal's unit.
    """
    x = np.asarray(signal, dtype=np.float64)
    half = int(round(QRS_HALF_WINDOW_SECONDS * fs))
    r = np.asarray(r_peaks, dtype=np.int64)
    r = r[(r - half >= 0) & (r + half < len(x))]
    if len(r) == 0:
        raise DataFormatError("qrs_amplitude: no R peak at least 0.05 s inside the signal")
    windows = x[r[:, None] + np.arange(-half, half + 1)]
    return _trimmed_mean(windows.max(axis=1) - windows.min(axis=1))


def noise_rms(noise, fs):
    """Noise size as ``nst`` measures it: the trimmed mean of the baseline-corrected RMS of 1-second windows.

    Each whole 1-second window has its own mean removed before its RMS is
    taken (PhysioNet's ``sigamp``), so slow baseline wander counts only by
    what it moves within a second. ``sigamp`` stops after 250 windows; this
    uses them all.

    Args:
        noise: 1-D array, at least one second long.
        fs: float, sampling rate.

    Returns:
        float, in the noise's unit.
    """
    x = np.asarray(noise, dtype=np.float64)
    width = int(round(NOISE_WINDOW_SECONDS * fs))
    count = len(x) // width
    if count == 0:
        raise DataFormatError(f"noise_rms: the noise is shorter than one second ({len(x)} samples at {fs} Hz)")
    windows = x[: count * width].reshape(count, width)
    return _trimmed_mean(windows.std(axis=1))


def add_noise(signal, noise, snr_db, fs, r_peaks):
    """Add ``noise`` to ``signal`` at ``snr_db`` dB, the way PhysioNet's ``nst`` scales it.

    The noise is multiplied by ``g = A * sqrt(2) / 4 * 10**(-snr_db / 20) / R``,
    where ``A`` is :func:`qrs_amplitude` of ``signal`` at ``r_peaks`` and ``R``
    :func:`noise_rms` of ``noise``; so the result has
    ``20 log10(A * sqrt(2) / 4 / (g R)) = snr_db``. Like ``nst``, the noise
    starts at its first sample and starts again from its beginning when it is
    shorter than the signal. Unlike ``nst``'s default protocol (a clean
    5-minute learning period, then noise switched on and off every 2
    minutes), the noise covers the whole signal: there is no detector to
    learn, every beat is tested under noise.

    Args:
        signal: 1-D array (a clean ECG lead).
        noise: 1-D array at the same sampling rate (e.g. the ``ma`` or ``bw``
            record of the MIT-BIH Noise Stress Test Database).
        snr_db: float, the signal-to-noise ratio wanted, in dB.
        fs: float, sampling rate of both.
        r_peaks: R-peak samples that measure the QRS amplitude (``nst`` uses
            the record's normal beats).

    Returns:
        float64 array like ``signal``: ``signal + g * noise``.

    Example:
        >>> noisy = add_noise(ecg, wfdb.rdrecord("nstdb/ma").p_signal[:, 0], 6, 360, normal_peaks)
    """
    x = np.asarray(signal, dtype=np.float64)
    n = np.asarray(noise, dtype=np.float64)
    if x.ndim != 1 or n.ndim != 1 or len(n) == 0:
        raise DataFormatError(f"add_noise: expected 1-D signal and noise, received shapes {x.shape} and {n.shape}")
    if not (np.isfinite(x).all() and np.isfinite(n).all()):
        raise DataFormatError("add_noise: the signal and the noise must be finite")
    rms = noise_rms(n, fs)
    if rms <= 0:
        raise DataFormatError("add_noise: the noise has zero RMS amplitude; it cannot be scaled to an SNR")
    gain = qrs_amplitude(x, r_peaks, fs) * np.sqrt(2.0) / 4.0 * 10.0 ** (-float(snr_db) / 20.0) / rms
    repeated = np.resize(n, len(x))  # np.resize repeats the noise from its start, as nst rewinds it
    return x + gain * repeated
