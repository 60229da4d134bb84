"""The whole unlabelled record as context for each beat: the patient's sinus rhythm, not its majority.

On a new patient no beat is labelled, but the whole record is there. The
record-relative features of :mod:`ecgnet.data.features` compare a beat with
the record's *majority* (R-R divided by the record's mean R-R, the beat minus
the record's median beat). Where most of a record's beats are abnormal
(MIT-BIH record 232: most of its beats are atrial premature beats between
long sinus pauses) the majority describes the abnormal beats as that
patient's normal. The two references here look for the record's sinus
rhythm instead, from rhythm rather than from counts:

- :func:`sinus_rr_reference`, :func:`context_rr_features`: each beat's R-R
  against the record's slowest regular rhythm (intervals within 10% of the
  one before, the slowest level of them that is common enough), not its
  median or mean interval;
- :func:`sinus_cluster_features`: the record's beats clustered by shape (the
  R-centred window, :func:`ecgnet.data.centred_windows`); the sinus cluster
  is the one whose beats come most regularly at the reference interval, with
  the most P-wave evidence before the QRS, not the largest; each beat is
  then measured against that cluster's template (its P wave, its QRS, its
  whole window) and its R-R against that cluster's interval.

Both are transductive: they read all the beats of the test record
(unlabelled), past and future, like :func:`ecgnet.data.rr_features`. Pure
NumPy and SciPy; the beats of one record are ordered by ``r_peak``.
"""

import numpy as np

from ecgnet.data.signals import CENTRED_BEFORE, FS
from ecgnet.errors import DataFormatError

#: The share of a record's regular intervals that a rhythm needs to be taken for its sinus rhythm.
SLOWEST_SHARE = 0.1
#: Names of the columns of :func:`context_rr_features`.
CONTEXT_RR_FEATURES = ("previous / sinus", "next / sinus", "local mean / sinus", "next / previous", "sinus / record median")
#: Names of the columns of :func:`sinus_cluster_features`.
SINUS_CLUSTER_FEATURES = (
    "correlation with the sinus template",
    "P-wave correlation with the sinus template",
    "QRS difference from the sinus template",
    "window difference from the sinus template",
    "in the sinus cluster",
    "previous / sinus cluster R-R",
    "next / sinus cluster R-R",
)
#: Samples of the centred window (125 Hz, R peak at ``CENTRED_BEFORE``) that hold the P wave and the QRS.
P_WAVE = slice(CENTRED_BEFORE - round(0.24 * FS), CENTRED_BEFORE - round(0.06 * FS))
QRS = slice(CENTRED_BEFORE - round(0.06 * FS), CENTRED_BEFORE + round(0.08 * FS))


def _check(n, **arrays):
    for name, value in arrays.items():
        if len(value) != n:
            shapes = ", ".join(f"{key} {np.shape(v)}" for key, v in arrays.items())
            raise DataFormatError(f"record context: every argument needs one row per beat ({n} beats); received {shapes}")


def _record_order(record, r_peak):
    """Indices of the beats grouped by record, each record in R-peak order, and where each record starts."""
    record = np.asarray(record)
    order = np.lexsort((np.asarray(r_peak), record))
    names = record[order]
    starts = np.flatnonzero(np.concatenate([[True], names[1:] != names[:-1], [True]]))
    return order, starts


def _slowest_regular_rhythm(d, share=SLOWEST_SHARE):
    """The slowest regular rhythm of intervals ``d`` (seconds): its median interval.

    Regular intervals are those within 10% of the interval before them. A
    rhythm is a level of regular intervals: those within 10% of a value. The
    slowest level holding at least ``share`` of the regular intervals (and 3
    of them) is the sinus candidate: premature beats and runs of them are
    faster than the sinus rhythm they interrupt, and pauses are not regular.
    Without a level of 3 regular intervals: the plain median.
    """
    d = np.asarray(d, dtype=np.float64)
    if len(d) < 4:
        return float(np.median(d)) if len(d) else 1.0
    regular = np.sort(d[1:][np.abs(d[1:] - d[:-1]) <= 0.1 * d[:-1]])
    if len(regular) < 3:
        return float(np.median(d))
    count = np.searchsorted(regular, 1.1 * regular, side="right") - np.searchsorted(regular, 0.9 * regular, side="left")
    levels = np.flatnonzero(count >= max(3, share * len(regular)))
    if not len(levels):
        return float(np.median(d))
    level = regular[levels[-1]]
    return float(np.median(regular[(regular >= 0.9 * level) & (regular <= 1.1 * level)]))


def sinus_rr_reference(rr, record, r_peak, share=SLOWEST_SHARE):
    """Each beat's sinus R-R interval: its record's slowest regular rhythm, found from R-R regularity, not counts.

    Regular intervals are those within 10% of the interval before them (in
    time, by ``r_peak``); they are grouped into levels (all intervals within
    10% of one value), and the slowest level holding at least ``share`` of
    the record's regular intervals (and 3 of them) is the record's sinus
    rhythm; the reference is its median interval. Premature beats, and runs
    of them, are faster than the sinus rhythm they interrupt, and the pauses
    after them are not regular, so neither sets the reference however many
    they are; the record's median interval, in a record where most beats are
    premature, would be theirs. A record without such a level gets its median
    interval.

    The reference is one per record, by measurement: a running reference
    (the median of the last 8 to 64 preceding intervals within 0.85-1.25 of
    the running value) separated the S from the N beats of the 61 training
    records of the mitdb + svdb inter-patient split less well (area under the
    ROC curve of the previous R-R over the reference, all their S and N beats:
    0.82-0.84, against 0.95 for this one, 0.90 for the record's median
    interval and 0.96 for its mean, the floor's own normalisation; nothing
    is fitted, DS2 not read).

    Args:
        rr: float array (n, k >= 1) whose first column is the previous R-R
            interval in seconds (``Beats.rr``, :func:`ecgnet.data.rr_features`).
        record: array (n,) of record names (``Beats.record``).
        r_peak: int array (n,) of R-peak samples (``Beats.r_peak``), which order
            the beats within each record.
        share: float in (0, 1], the share of a record's regular intervals a rhythm needs.

    Returns:
        float64 (n,): the reference in seconds, in the order of the input beats.

    Example:
        >>> reference = sinus_rr_reference(beats.rr, beats.record, beats.r_peak)
        >>> prematurity = beats.rr[:, 0] / reference
    """
    rr = np.asarray(rr, dtype=np.float64)
    rr = rr[:, None] if rr.ndim == 1 else rr
    n = len(rr)
    _check(n, record=np.asarray(record), r_peak=np.asarray(r_peak))
    if not 0 < share <= 1:
        raise DataFormatError(f"sinus_rr_reference: share must be in (0, 1]. Received: share={share!r}")
    order, starts = _record_order(record, r_peak)
    reference = np.empty(n)
    for start, stop in zip(starts[:-1], starts[1:]):
        members = order[start:stop]
        reference[members] = _slowest_regular_rhythm(rr[members, 0], share)
    reference[~(reference > 0)] = 1.0
    return reference


def context_rr_features(rr, record, r_peak):
    """R-R features against the record's sinus rhythm (:func:`sinus_rr_reference`): shape (n, 5).

    Columns (:data:`CONTEXT_RR_FEATURES`): the previous, next and local mean
    R-R divided by the beat's sinus reference; next over previous R-R (the
    pause after a premature beat); the reference over the record's median
    interval (how far the record's majority is from its sinus rhythm).

    Args:
        rr: float array (n, 3 or 6), previous, next and local mean R-R in
            seconds first (``Beats.rr``, :func:`ecgnet.data.rr_features`).
        record: array (n,) of record names.
        r_peak: int array (n,) of R-peak samples.

    Returns:
        float32 (n, 5).

    Example:
        >>> context_rr_features(beats.rr_features(), beats.record, beats.r_peak).shape
        (1234, 5)
    """
    rr = np.asarray(rr, dtype=np.float64)
    if rr.ndim != 2 or rr.shape[1] < 3:
        raise DataFormatError(f"context_rr_features: rr needs the previous, next and local mean R-R (n, >=3). Received: shape {rr.shape}")
    reference = sinus_rr_reference(rr, record, r_peak)
    _, inverse = np.unique(np.asarray(record), return_inverse=True)
    median = np.array([np.median(rr[inverse == k, 0]) for k in range(inverse.max() + 1)])[inverse] if len(rr) else np.ones(0)
    median[~(median > 0)] = 1.0
    previous = np.where(rr[:, 0] > 0, rr[:, 0], 1.0)
    features = np.stack([rr[:, 0] / reference, rr[:, 1] / reference, rr[:, 2] / reference, rr[:, 1] / previous, reference / median], axis=1)
    return features.astype(np.float32)


def _correlation(a, b):
    """Pearson correlation of each row of ``a`` with the vector ``b`` (0 where either is flat)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
    return np.where(denominator > 0, (a @ b) / np.where(denominator > 0, denominator, 1.0), 0.0)


def _clusters(windows, n_clusters, seed):
    """k-means labels of one record's windows on their first principal components (SciPy's ``kmeans2``)."""
    from scipy.cluster.vq import kmeans2

    k = int(min(n_clusters, max(1, len(windows) // 20)))
    if k == 1:
        return np.zeros(len(windows), int)
    centred = windows - windows.mean(axis=0)
    rng = np.random.default_rng(seed)
    fit_on = centred[rng.choice(len(centred), min(len(centred), 3000), replace=False)]
    _, _, components = np.linalg.svd(fit_on, full_matrices=False)
    projected = centred @ components[:8].T
    _, labels = kmeans2(projected, k, minit="++", seed=seed)
    return labels


def sinus_clusters(windows, rr, record, r_peak, n_clusters=6, seed=0, band=(0.9, 1.1)):
    """Each beat's shape cluster within its record, and whether that cluster is the record's sinus cluster.

    The windows of each record are clustered with k-means (SciPy ``kmeans2``,
    k-means++ start, ``seed``) on their first 8 principal components, into
    ``n_clusters`` clusters (fewer in records of under 20 beats per cluster).
    Among the clusters holding at least 5% of the record's beats, the sinus
    cluster is the one with the highest score: the fraction of its beats whose
    previous *and* next R-R lie within ``band`` of the sinus reference
    (the record's :func:`sinus_rr_reference`: regular beats at the sinus rate, neither
    premature nor followed by a pause), plus the P-wave evidence of its median
    window (the range of the P-wave segment over the range of the whole window,
    at most 0.5). Size only decides which clusters are considered, not which
    one wins.

    Args:
        windows: float array (n, steps) or (n, steps, 1), R-centred windows
            (``Beats.centred``, the prepared part's ``centred``).
        rr: float array (n, >= 2), previous and next R-R in seconds first.
        record: array (n,) of record names.
        r_peak: int array (n,) of R-peak samples.
        n_clusters: int >= 1, clusters per record.
        seed: int, the k-means start.
        band: (low, high), the regular range as fractions of the sinus reference.

    Returns:
        ``(cluster, sinus)``: int64 (n,) cluster of each beat within its record,
        and bool (n,) whether it is that record's sinus cluster.

    Example:
        >>> cluster, sinus = sinus_clusters(beats.centred, beats.rr_features(), beats.record, beats.r_peak)
    """
    windows = np.asarray(windows, dtype=np.float64)
    windows = windows[..., 0] if windows.ndim == 3 else windows
    rr = np.asarray(rr, dtype=np.float64)
    n = len(windows)
    _check(n, rr=rr, record=np.asarray(record), r_peak=np.asarray(r_peak))
    if rr.ndim != 2 or rr.shape[1] < 2:
        raise DataFormatError(f"sinus_clusters: rr needs the previous and next R-R (n, >=2). Received: shape {rr.shape}")
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1:
        raise DataFormatError(f"sinus_clusters: n_clusters must be an integer >= 1. Received: n_clusters={n_clusters!r}")
    reference = sinus_rr_reference(rr, record, r_peak)
    regular = (rr[:, 0] >= band[0] * reference) & (rr[:, 0] <= band[1] * reference)
    regular &= (rr[:, 1] >= band[0] * reference) & (rr[:, 1] <= band[1] * reference)
    cluster = np.zeros(n, np.int64)
    sinus = np.zeros(n, bool)
    order, starts = _record_order(record, r_peak)
    for start, stop in zip(starts[:-1], starts[1:]):
        members = order[start:stop]
        labels = _clusters(windows[members], n_clusters, seed)
        cluster[members] = labels
        best, best_score = None, -np.inf
        for label in np.unique(labels):
            inside = labels == label
            if inside.sum() < 0.05 * len(members) and len(np.unique(labels)) > 1:
                continue
            template = np.median(windows[members][inside], axis=0)
            span = np.ptp(template)
            p_wave = min(np.ptp(template[P_WAVE]) / span, 0.5) if span > 0 else 0.0
            score = regular[members][inside].mean() + p_wave
            if score > best_score:
                best, best_score = label, score
        sinus[members] = labels == best
    return cluster, sinus


def sinus_cluster_features(windows, rr, record, r_peak, n_clusters=6, seed=0):
    """Each beat against its record's sinus cluster (:func:`sinus_clusters`): shape (n, 7).

    The sinus template is the sample-wise median window of the record's sinus
    cluster. Columns (:data:`SINUS_CLUSTER_FEATURES`): the beat's correlation
    with the template over the whole window and over the P-wave segment
    (:data:`P_WAVE`, 0.24 s to 0.06 s before the R peak); the root mean square
    of beat minus template over the QRS (:data:`QRS`) and over the whole
    window; 1 for beats of the sinus cluster; the previous and next R-R
    divided by the median previous R-R of the sinus cluster's beats.

    Args:
        windows, rr, record, r_peak, n_clusters, seed: as in :func:`sinus_clusters`.

    Returns:
        float32 (n, 7).

    Example:
        >>> sinus_cluster_features(beats.centred, beats.rr_features(), beats.record, beats.r_peak).shape
        (1234, 7)
    """
    windows = np.asarray(windows, dtype=np.float64)
    windows = windows[..., 0] if windows.ndim == 3 else windows
    rr = np.asarray(rr, dtype=np.float64)
    _, sinus = sinus_clusters(windows, rr, record, r_peak, n_clusters, seed)
    features = np.zeros((len(windows), len(SINUS_CLUSTER_FEATURES)))
    record = np.asarray(record)
    for name in np.unique(record):
        members = np.flatnonzero(record == name)
        own = windows[members]
        template_beats = own[sinus[members]]
        template = np.median(template_beats, axis=0)
        interval = float(np.median(rr[members[sinus[members]], 0]))
        interval = interval if interval > 0 else 1.0
        difference = own - template
        features[members, 0] = _correlation(own, template)
        features[members, 1] = _correlation(own[:, P_WAVE], template[P_WAVE])
        features[members, 2] = np.sqrt((difference[:, QRS] ** 2).mean(axis=1))
        features[members, 3] = np.sqrt((difference ** 2).mean(axis=1))
        features[members, 4] = sinus[members]
        features[members, 5] = rr[members, 0] / interval
        features[members, 6] = rr[members, 1] / interval
    return features.astype(np.float32)
