"""Features beside the beat: R-R intervals and the beat against its record.

- :func:`rr_intervals`: previous, next and local mean R-R of every R peak;
- :func:`rr_features`, :func:`select_rr_features`, :data:`RR_FEATURE_SETS`:
  those intervals, also divided by the record's (patient's) mean R-R;
- :func:`record_relative_beats`: each beat minus its record's median beat;
- :func:`previous_beats`: each beat's predecessor in its record;
- :func:`rhythm_features`: how irregular the R-R intervals around each beat
  are, and how premature the beat is against them;
- :func:`rr_irregularity`, :func:`irregular_rhythm`: whether a beat lies in a
  stretch of irregularly irregular rhythm (atrial fibrillation or flutter),
  from the beat times alone; :func:`rr_prematurity`: how early each beat
  comes against the same window.
"""

import numpy as np

from ecgnet.errors import DataFormatError
from ecgnet.recipe import RR_FEATURE_NAMES, RR_FEATURE_SETS  # noqa: F401  (ecgnet.data.features.RR_FEATURE_SETS)

#: The R-R intervals, this beat's previous one and those before it, that the local mean R-R averages.
LOCAL_RR_BEATS = 10
#: Beats on each side of a beat whose previous R-R intervals :func:`rhythm_features` looks at.
RHYTHM_HALF_WIDTH = 10
#: The columns of :func:`rhythm_features`.
RHYTHM_FEATURE_NAMES = ("rr_cv", "rr_irregularity", "rr_prematurity", "rr_prematurity_in_rhythm")
#: Added to the irregularity before it divides the prematurity (a perfectly regular rhythm has 0).
RHYTHM_IRREGULARITY_FLOOR = 0.02
#: Bound of ``rr_prematurity_in_rhythm``.
RHYTHM_PREMATURITY_BOUND = 10.0
#: :func:`irregular_rhythm`: beats on each side of a beat whose R-R intervals it reads (65 intervals).
IRREGULAR_HALF_WIDTH = 32
#: :func:`irregular_rhythm`: the percentile of the window's R-R differences at each lag it reads.
IRREGULAR_PERCENTILE = 25.0
#: :func:`irregular_rhythm`: the lags (in beats) between the R-R intervals it compares.
IRREGULAR_LAGS = (1, 2, 3)
#: :func:`irregular_rhythm`: a beat lies in irregular rhythm above this :func:`rr_irregularity`,
#: fitted with the window and percentile on the rhythm annotations of the 22 DS1 records
#: (``benchmarks/experiments/fit_irregular_rhythm.py``; docs/results.md, section 15).
IRREGULAR_THRESHOLD = 0.052
#: :func:`irregular_rhythm` with ``premature_ratio``: a marked beat whose :func:`rr_prematurity` is at or
#: above this many times its :func:`rr_irregularity` stands out of the rhythm and is left unmarked; fitted
#: on DS1's marked beats, those in atrial fibrillation or flutter that come early against those labelled S
#: outside it (``benchmarks/experiments/fit_irregular_rhythm.py --fit-prematurity``; docs/results.md, section 15).
IRREGULAR_PREMATURITY_RATIO = 4.4


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
    a record, and most beats of a subset such as ``ecgnet/data/sample`` (random beats
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


def rhythm_features(rr, record, r_peak, half_width=RHYTHM_HALF_WIDTH):
    """How irregular the rhythm around each beat is, and how premature the beat is within it: (n, 4).

    A supraventricular (S) beat comes early in an otherwise regular rhythm;
    in atrial fibrillation or flutter every interval differs from the next,
    so normal beats come "early" too. The R-R intervals of one beat say
    nothing of which of the two it is; those around it do. For each beat,
    the window is the previous R-R interval of the beats from ``half_width``
    before it to ``half_width`` after it in its record (21 intervals; fewer
    at a record's ends):

    - ``rr_cv``: their standard deviation over their mean;
    - ``rr_irregularity``: the median of the absolute differences between
      successive intervals of the window, over the window's median interval
      (the median keeps one premature beat and its pause from making a
      regular rhythm look irregular);
    - ``rr_prematurity``: 1 - this beat's previous interval over the
      window's median (0.3: 30% early; negative: late);
    - ``rr_prematurity_in_rhythm``: ``rr_prematurity`` divided by
      ``rr_irregularity + 0.02``, bounded to +-10: how early the beat is in
      units of how much the rhythm varies anyway.

    Like :func:`rr_features` it reads the record's unlabelled beats after
    the beat too (10 beats ahead).

    Args:
        rr: float array (n, k >= 1) whose first column is each beat's
            previous R-R interval in seconds (``Beats.rr``).
        record: array (n,) of record names (``Beats.record``).
        r_peak: int array (n,) of R-peak samples (``Beats.r_peak``), which
            order the beats within each record.
        half_width: int >= 1, beats on each side in the window.

    Returns:
        float32 (n, 4), columns :data:`RHYTHM_FEATURE_NAMES`.

    Example:
        >>> rhythm_features(beats.rr, beats.record, beats.r_peak).shape
        (1234, 4)
    """
    rr = np.asarray(rr, dtype=np.float64)
    rr = rr.reshape(len(rr), -1)
    record = np.asarray(record)
    r_peak = np.asarray(r_peak)
    if record.shape != (len(rr),) or r_peak.shape != (len(rr),) or rr.shape[1] < 1:
        raise DataFormatError(
            f"rhythm_features: rr has {len(rr)} rows but record has shape {record.shape} and r_peak {r_peak.shape}"
        )
    if int(half_width) < 1:
        raise DataFormatError(f"rhythm_features: half_width must be at least 1. Received: half_width={half_width}")
    half_width = int(half_width)
    out = np.zeros((len(rr), len(RHYTHM_FEATURE_NAMES)), np.float64)
    order = np.lexsort((r_peak, record))
    starts = np.flatnonzero(np.r_[True, record[order][1:] != record[order][:-1]]) if len(rr) else []
    for start, stop in zip(starts, list(starts[1:]) + [len(rr)]):
        members = order[start:stop]
        intervals = np.maximum(rr[members, 0], 1e-6)
        padded = np.pad(intervals, half_width, constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1)
        steps = np.abs(np.diff(windows, axis=1))  # NaN where a step leaves the record
        median = np.nanmedian(windows, axis=1)
        cv = np.nanstd(windows, axis=1) / np.nanmean(windows, axis=1)
        irregularity = (np.nanmedian(steps, axis=1) / median) if len(intervals) > 1 else np.zeros(len(intervals))
        prematurity = 1.0 - intervals / median
        in_rhythm = np.clip(prematurity / (irregularity + RHYTHM_IRREGULARITY_FLOOR),
                            -RHYTHM_PREMATURITY_BOUND, RHYTHM_PREMATURITY_BOUND)
        out[members] = np.stack([cv, irregularity, prematurity, in_rhythm], axis=1)
    return out.astype(np.float32)


def rr_irregularity(times, half_width=IRREGULAR_HALF_WIDTH, percentile=IRREGULAR_PERCENTILE, lags=IRREGULAR_LAGS):
    """How irregularly irregular the R-R intervals around each beat of one record are: float (n,).

    In atrial fibrillation every R-R interval differs from the one before it,
    and from the ones two and three before it, by a random amount; in a
    regular rhythm with premature beats most intervals equal their
    neighbours, and a repeating pattern (bigeminy, trigeminy) repeats at a
    lag of 2 or 3 beats. For each beat, over the window of the previous R-R
    interval of the beats from ``half_width`` before it to ``half_width``
    after it (fewer at the record's ends):

    - at each lag ``k`` of ``lags``, the ``percentile``-th percentile of
      ``|RR[j] - RR[j - k]|`` over the pairs inside the window: a low
      percentile (not the mean or the median) so that premature beats, even
      one in three, and their pauses do not count: the sinus intervals
      between them are enough to keep it small;
    - the smallest of those over the lags (bigeminy is regular at lag 2,
      trigeminy at lag 3), over the window's median interval.

    The measure is the successive-difference statistics of the AF detectors
    built on R-R intervals (RMSSD, Dash et al. 2009; the variation of
    successive differences, Lake and Moorman 2011), made robust to ectopic
    beats by the low percentile and the smallest over the lags. Why a
    measure of its own and not one of theirs as published: on the DS1
    records, while this one was designed, Dash et al.'s three statistics
    (normalised RMSSD, turning-point ratio, Shannon entropy, the extreme
    intervals trimmed) and the median of the differences marked more
    non-AF beats (the frequent ventricular and atrial premature beats of
    106, 119, 201, 208) at the same share of AF beats.

    Args:
        times: float array (n,), the R-peak times of one record's beats in
            seconds, in increasing order (any sampling rate).
        half_width: int >= 1, beats on each side in the window.
        percentile: float in [0, 100].
        lags: tuple of ints >= 1.

    Returns:
        float64 (n,); 0 where the window holds no pair at any lag (a record of
        fewer than 3 beats).

    Example:
        >>> rr_irregularity(np.arange(10) * 0.8).round(2)
        array([0., 0., 0., 0., 0., 0., 0., 0., 0., 0.])
    """
    times = np.asarray(times, np.float64)
    if times.ndim != 1 or (len(times) > 1 and not np.all(np.diff(times) > 0)) or not np.all(np.isfinite(times)):
        raise DataFormatError(f"rr_irregularity: times must be the increasing R-peak times of one record in seconds. "
                              f"Received: shape {times.shape}")
    if int(half_width) < 1 or not 0 <= percentile <= 100 or not lags or min(lags) < 1:
        raise DataFormatError(f"rr_irregularity: half_width >= 1, percentile in [0, 100], lags >= 1. "
                              f"Received: half_width={half_width}, percentile={percentile}, lags={lags}")
    if len(times) < 3:
        return np.zeros(len(times))
    half_width = int(half_width)
    steps = np.diff(times)
    intervals = np.concatenate([steps[:1], steps])  # each beat's previous R-R; the first beat's is its next
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(intervals, half_width, constant_values=np.nan),
                                                       2 * half_width + 1)
    median = np.nanmedian(windows, axis=1)
    found = np.full(len(times), np.inf)
    for lag in lags:
        if lag >= windows.shape[1]:
            continue
        differences = np.abs(windows[:, lag:] - windows[:, :-lag])  # NaN where a pair leaves the record
        value = np.full(len(times), np.inf)
        partial = np.isnan(differences).any(axis=1)  # the windows at the record's ends
        value[~partial] = np.percentile(differences[~partial], percentile, axis=1)  # 20 times faster than nanpercentile
        usable = partial & ~np.all(np.isnan(differences), axis=1)
        if usable.any():
            value[usable] = np.nanpercentile(differences[usable], percentile, axis=1)
        found = np.minimum(found, value / median)
    return np.where(np.isfinite(found), found, 0.0)


def rr_prematurity(times, half_width=IRREGULAR_HALF_WIDTH):
    """How early each beat of one record comes against the R-R intervals around it: float (n,).

    ``1 - RR / median``: the beat's previous R-R interval against the median
    of the window :func:`rr_irregularity` reads (the previous R-R interval
    of the beats from ``half_width`` before it to ``half_width`` after it;
    the first beat's previous interval is its next one). 0.3: the beat comes
    30 % early; negative: late. In atrial fibrillation every interval is
    early or late by chance, by about as much as the rhythm varies; a
    premature beat in a regular rhythm, even in a run of ectopic beats,
    comes earlier than that.

    Args:
        times: float array (n,), the R-peak times of one record's beats in
            seconds, increasing.
        half_width: int >= 1, beats on each side in the window.

    Returns:
        float64 (n,); 0 for a record of fewer than 2 beats.

    Example:
        >>> rr_prematurity([0.0, 0.8, 1.6, 2.0, 3.2, 4.0]).round(2)
        array([ 0. ,  0. ,  0. ,  0.5, -0.5,  0. ])
    """
    times = np.asarray(times, np.float64)
    if times.ndim != 1 or (len(times) > 1 and not np.all(np.diff(times) > 0)) or not np.all(np.isfinite(times)):
        raise DataFormatError(f"rr_prematurity: times must be the increasing R-peak times of one record in seconds. "
                              f"Received: shape {times.shape}")
    if int(half_width) < 1:
        raise DataFormatError(f"rr_prematurity: half_width must be at least 1. Received: half_width={half_width}")
    if len(times) < 2:
        return np.zeros(len(times))
    half_width = int(half_width)
    steps = np.diff(times)
    intervals = np.concatenate([steps[:1], steps])
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(intervals, half_width, constant_values=np.nan),
                                                       2 * half_width + 1)
    return 1.0 - intervals / np.nanmedian(windows, axis=1)


def irregular_rhythm(times, threshold=IRREGULAR_THRESHOLD, premature_ratio=None, **options):
    """Whether each beat of one record lies in irregularly irregular rhythm (atrial fibrillation or flutter).

    ``rr_irregularity(times, **options) > threshold``, from the beat times
    alone (no labels, no signal). The threshold was fitted on the rhythm
    annotations (``(AFIB``, ``(AFL``) of the 22 DS1 records of MIT-BIH; its
    beat-wise sensitivity and specificity there and on DS2 are in
    docs/results.md, section 15. Flutter with a fixed conduction ratio has a
    regular rhythm and is not found. Long runs of supraventricular beats at
    a varying rate, or premature beats in more than about a third of the
    beats, are marked too (on the svdb records 13 % of the S beats): which
    is why an adapted model is gated on it only where the atrial activity
    does not repeat, and not for a patient whose labelled beats in irregular
    rhythm include S beats (:func:`ecgnet.adaptation.rhythm_gate`).

    Why it matters: in the MIT-BIH (and AAMI) labelling, a beat inside atrial
    fibrillation or flutter is N (or V), never S: a premature supraventricular
    beat needs an underlying regular atrial rhythm to be premature against.

    Args:
        times: float array (n,), the R-peak times of one record's beats in
            seconds, increasing.
        threshold: float, see :data:`IRREGULAR_THRESHOLD`.
        premature_ratio: float > 0 or None (default: None, every beat above
            the threshold is marked). With a ratio, a beat above the
            threshold stays unmarked if its :func:`rr_prematurity` is at or
            above ``premature_ratio`` times its :func:`rr_irregularity`: it
            comes earlier than the rhythm around it varies
            (:data:`IRREGULAR_PREMATURITY_RATIO`, fitted on DS1).
        **options: ``half_width``, ``percentile``, ``lags`` of :func:`rr_irregularity`.

    Returns:
        bool (n,).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> irregular_rhythm(np.cumsum(rng.uniform(0.4, 1.2, 200)))[5:-5].all()
        True
    """
    irregularity = rr_irregularity(times, **options)
    marked = irregularity > threshold
    if premature_ratio is None:
        return marked
    if not premature_ratio > 0:
        raise DataFormatError(f"irregular_rhythm: premature_ratio must be above 0. Received: premature_ratio={premature_ratio}")
    half_width = options.get("half_width", IRREGULAR_HALF_WIDTH)
    return marked & (rr_prematurity(times, half_width=half_width) < premature_ratio * irregularity)
