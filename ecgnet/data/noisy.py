"""Beats with real recorded noise, cut as ``prepare`` cuts them: training data for noise robustness.

:func:`noisy_record_beats` reads a WFDB record the way ``python -m ecgnet
prepare`` reads it (the lead of :data:`ecgnet.data.records.LEAD_PREFERENCE`,
the reference annotations in the AAMI classes), adds real noise from the
MIT-BIH Noise Stress Test Database (``bw``, baseline wander; ``ma``, muscle
artifact) stretch by stretch, and cuts the beats with
:func:`ecgnet.data.records.beats_from_signal`, the code ``prepare`` uses.
The beats are therefore one to one with the clean beats of the record (same
record, R peaks, labels and R-R intervals); only the signal differs.

The record is covered by consecutive stretches (30 to 60 s by default);
each gets a noise kind and an SNR drawn from the lists given, and a piece of
that noise record taken at a random place in the half asked for
(``"first"`` for training, ``"second"`` kept for the stress test of
``benchmarks/measure/bench_noise.py``). Each piece is scaled with
:func:`ecgnet.quality.add_noise`, the way PhysioNet's ``nst`` scales it:
signal size from the record's AAMI-N beats, noise size from the piece
itself. The noise records are at 360 Hz; a record at another rate (svdb,
128 Hz) gets the noise resampled with ``scipy.signal.resample_poly``.
Everything is drawn from one ``numpy`` generator seeded by ``seed`` and the
record's name: the same arguments give the same beats.

Example:
    >>> noise = read_noise_records("data/nstdb-noise")
    >>> beats = noisy_record_beats("data/mitdb/100", noise, snrs=(12, 6, 0), seed=0)
    >>> clean = beats_from_record("data/mitdb/100", aami_only=True).beats
    >>> (beats.r_peak == clean.r_peak).all(), (beats.y == clean.y).all()
    (True, True)
"""

import zlib
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ecgnet.errors import DataFormatError, EcgnetError

#: The real noise kinds: records of the MIT-BIH Noise Stress Test Database.
NOISE_KINDS = ("bw", "ma")
#: The SNRs of the stress test's gate rows (dB).
STRESS_SNRS = (12, 6, 0)
#: Length range of a stretch with one noise kind and one SNR (seconds).
STRETCH_SECONDS = (30.0, 60.0)
HALVES = ("first", "second", "whole")


class NoiseStretch(NamedTuple):
    """One stretch of a record: samples ``start:stop`` get ``kind`` at ``snr_db``, from ``offset`` of its noise half."""

    start: int
    stop: int
    kind: str
    snr_db: float
    offset: int


def read_noise_records(folder, kinds=NOISE_KINDS):
    """``{kind: (first channel as float64, sampling rate)}`` of the noise records in ``folder`` (``bw.hea``, ``ma.hea``).

    Args:
        folder: str or Path holding the noise records of the MIT-BIH Noise Stress Test Database.
        kinds: names of the records to read.

    Returns:
        dict of kind -> ``(signal, fs)``; the first channel, as ``nst`` pairs signal 0 with noise signal 0.
    """
    import wfdb

    folder = Path(folder)
    noises = {}
    for kind in kinds:
        if not (folder / f"{kind}.hea").is_file():
            raise DataFormatError(f"{folder}: no noise record {kind!r} ({kind}.hea missing)")
        record = wfdb.rdrecord(str(folder / kind), channels=[0])
        noises[kind] = (record.p_signal[:, 0].astype(np.float64), float(record.fs))
    return noises


def noise_half(noise, half):
    """The first or second half of a noise record, or all of it (``half``: ``"first"``, ``"second"``, ``"whole"``)."""
    if half not in HALVES:
        raise EcgnetError(f"half must be one of {HALVES}. Received: half={half!r}")
    middle = len(noise) // 2
    return {"first": noise[:middle], "second": noise[middle:], "whole": noise}[half]


def resample_noise(noise, noise_fs, fs):
    """``noise`` at ``noise_fs`` brought to ``fs`` with ``scipy.signal.resample_poly`` (unchanged when the rates agree)."""
    if abs(noise_fs - fs) < 1e-9:
        return np.asarray(noise, dtype=np.float64)
    from scipy.signal import resample_poly

    ratio = Fraction(fs / noise_fs).limit_denominator(1000)
    return resample_poly(np.asarray(noise, dtype=np.float64), ratio.numerator, ratio.denominator)


def _record_seed(seed, name):
    return [int(seed), zlib.crc32(str(name).encode())]


def noise_stretches(n_samples, fs, noise_lengths, snrs, seed, name, stretch_seconds=STRETCH_SECONDS):
    """The stretches that cover a record of ``n_samples``: where each starts and stops, its noise kind, SNR and noise offset.

    Args:
        n_samples: int, the record's length.
        fs: float, its sampling rate.
        noise_lengths: dict kind -> length (samples at ``fs``) of the noise half drawn from.
        snrs: SNRs to draw from (dB).
        seed: int; with ``name``, seeds the generator.
        name: str, the record's name.
        stretch_seconds: (shortest, longest) stretch, seconds.

    Returns:
        list of :class:`NoiseStretch`, in order, covering ``0:n_samples``; the last one runs to the end
        rather than leave a stretch shorter than the shortest (so it may be up to twice as long).
    """
    low, high = stretch_seconds
    if not 0 < low <= high:
        raise EcgnetError(f"stretch_seconds must be (shortest, longest) with 0 < shortest <= longest. Received: {stretch_seconds}")
    if not snrs or not noise_lengths:
        raise EcgnetError(f"at least one SNR and one noise kind are needed. Received: snrs={snrs}, kinds={list(noise_lengths)}")
    generator = np.random.default_rng(_record_seed(seed, name))
    kinds = sorted(noise_lengths)
    stretches, start = [], 0
    while start < n_samples:
        stop = min(n_samples, start + int(round(generator.uniform(low, high) * fs)))
        if n_samples - stop < low * fs:  # no stretch shorter than `low` at the end: this one runs to the end
            stop = n_samples
        kind = kinds[generator.integers(len(kinds))]
        snr = float(snrs[generator.integers(len(snrs))])
        length = stop - start
        room = noise_lengths[kind] - length
        if room < 0:
            raise DataFormatError(f"noise {kind!r}: {noise_lengths[kind] / fs:.1f} s, shorter than a stretch of {length / fs:.1f} s")
        stretches.append(NoiseStretch(start, stop, kind, snr, int(generator.integers(room + 1))))
        start = stop
    return stretches


def add_noise_stretches(signal, fs, normal_peaks, noises, stretches):
    """``signal`` with each stretch's piece of noise added, scaled by :func:`ecgnet.quality.add_noise` to its SNR.

    The signal size is the record's (its AAMI-N beats, ``normal_peaks``), the
    noise size the piece's own, as ``nst`` measures them. An SNR of ``inf``
    adds nothing.

    Args:
        signal: 1-D array, the clean lead.
        fs: float, sampling rate of the signal and of ``noises``.
        normal_peaks: R-peak samples of the record's normal beats (all beats if it has none).
        noises: dict kind -> 1-D noise at ``fs`` (the half drawn from).
        stretches: list of :class:`NoiseStretch`.

    Returns:
        float64 array like ``signal``.
    """
    from ecgnet.quality import add_noise

    signal = np.asarray(signal, dtype=np.float64)
    noisy = signal.copy()
    for stretch in stretches:
        if np.isinf(stretch.snr_db) and stretch.snr_db > 0:
            continue
        length = stretch.stop - stretch.start
        piece = noises[stretch.kind][stretch.offset : stretch.offset + length]
        # add_noise measures the signal's QRS size on the whole record and the noise's on this piece;
        # its first `length` samples are the piece, scaled.
        scaled = add_noise(signal, piece, stretch.snr_db, fs, normal_peaks) - signal
        noisy[stretch.start : stretch.stop] += scaled[:length]
    return noisy


def noisy_record_beats(path, noises, half="first", snrs=STRESS_SNRS, seed=0, stretch_seconds=STRETCH_SECONDS,
                       return_stretches=False):
    """The beats of one WFDB record, cut as ``prepare`` cuts them, from its lead with real noise added stretch by stretch.

    Args:
        path: str or Path of the record without extension (``".../mitdb/100"``).
        noises: dict kind -> ``(noise, fs)`` (:func:`read_noise_records`);
            the kinds drawn from are its keys.
        half: ``"first"``, ``"second"`` or ``"whole"``: the part of each noise record drawn from.
        snrs: SNRs to draw from, dB (``inf``: no noise).
        seed: int, with the record's name seeds every draw.
        stretch_seconds: (shortest, longest) stretch, seconds.
        return_stretches: bool, also return the stretches.

    Returns:
        :class:`ecgnet.data.Beats` one to one with the clean beats of
        ``beats_from_record(path, aami_only=True)`` (``source``: the path);
        with ``return_stretches``, ``(beats, stretches)``.
    """
    from ecgnet.data.records import beats_from_signal, read_annotated_lead

    path = Path(path)
    signal, fs, peaks, labels = read_annotated_lead(path)
    at_rate = {kind: noise_half(resample_noise(noise, noise_fs, fs), half) for kind, (noise, noise_fs) in noises.items()}
    stretches = noise_stretches(len(signal), fs, {kind: len(n) for kind, n in at_rate.items()}, snrs, seed, path.name,
                                stretch_seconds)
    normal = peaks[labels == 0]
    noisy = add_noise_stretches(signal, fs, normal if len(normal) else peaks, at_rate, stretches)
    beats = beats_from_signal([noisy], fs, peaks, labels, path.name, source="annotations").beats
    beats.source = str(path)
    return (beats, stretches) if return_stretches else beats


def noisy_beats(paths, noise_dir, half="first", snrs=STRESS_SNRS, kinds=NOISE_KINDS, seed=0,
                stretch_seconds=STRETCH_SECONDS):
    """Beats of several records with real noise (:func:`noisy_record_beats`), in the order of ``paths``.

    Args:
        paths: record paths without extension (mitdb at 360 Hz, svdb at 128 Hz, any WFDB record with beat annotations).
        noise_dir: folder of the noise records (``bw``, ``ma``).
        half: the part of each noise record drawn from (``"first"`` for training).
        snrs: SNRs to draw from, dB.
        kinds: noise kinds to draw from.
        seed: int.
        stretch_seconds: (shortest, longest) stretch, seconds.

    Returns:
        :class:`ecgnet.data.Beats`, the records' beats one after another.

    Example:
        >>> train_noisy = noisy_beats(["data/mitdb/101", "data/svdb/800"], "data/nstdb-noise", half="first")
    """
    from ecgnet.data.container import concat_beats

    noises = read_noise_records(noise_dir, kinds)
    return concat_beats([noisy_record_beats(path, noises, half, snrs, seed, stretch_seconds) for path in paths])


def noisy_copy(beats, record_paths, noises, half="first", snrs=STRESS_SNRS, seed=0, stretch_seconds=STRETCH_SECONDS):
    """A noisy copy of ``beats`` (of a prepared part, say), row for row: each beat cut again from its record with noise.

    Args:
        beats: :class:`ecgnet.data.Beats` with ``record`` and ``r_peak`` (beats of WFDB records, as ``prepare`` writes them).
        record_paths: dict record name -> record path without extension.
        noises: dict kind -> ``(noise, fs)`` (:func:`read_noise_records`).
        half, snrs, seed, stretch_seconds: as :func:`noisy_record_beats`.

    Returns:
        :class:`ecgnet.data.Beats` of the same length and order: the same
        labels, records, R peaks and R-R intervals, the windows cut from the noisy lead.

    Raises:
        DataFormatError: ``beats`` lack records or R peaks, a record has no path, or a beat is not in its record.
    """
    from ecgnet.data.container import Beats

    if beats.record is None or beats.r_peak is None:
        raise DataFormatError("noisy_copy: the beats carry no record names and R peaks (beats of WFDB records are needed)")
    parts = {}
    rows = np.empty(len(beats), dtype=np.int64)
    offset = 0
    for name in dict.fromkeys(beats.record.tolist()):
        if name not in record_paths:
            raise DataFormatError(f"noisy_copy: no path for record {name!r}")
        noisy = noisy_record_beats(record_paths[name], noises, half, snrs, seed, stretch_seconds)
        mine = np.flatnonzero(beats.record == name)
        where = np.searchsorted(noisy.r_peak, beats.r_peak[mine])
        where = np.minimum(where, len(noisy.r_peak) - 1)
        if not (noisy.r_peak[where] == beats.r_peak[mine]).all():
            missing = beats.r_peak[mine][noisy.r_peak[where] != beats.r_peak[mine]][0]
            raise DataFormatError(f"noisy_copy: record {name!r} has no beat at R peak {missing} in {record_paths[name]}")
        rows[mine] = offset + where
        parts[name] = noisy
        offset += len(noisy)
    from ecgnet.data.container import concat_beats

    every = concat_beats(list(parts.values()))
    copy = every.subset(rows)
    if not np.array_equal(copy.y, beats.y):
        raise DataFormatError("noisy_copy: the labels cut again differ from the beats given (another version of the records?)")
    return Beats(copy.x, beats.y, beats.record, beats.r_peak, beats.rr, None,
                 None if beats.centred is None else copy.centred, source=beats.source)
