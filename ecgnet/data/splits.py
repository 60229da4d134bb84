"""Train/test splits of MIT-BIH beats.

- ``"kaggle"``: a stratified random 80/20 split of all beats, as in the Kaggle
  files (87,554 / 21,892). Beats of one patient land on both sides, so test
  scores are optimistic ("intra-patient").
- ``"inter-patient"``: de Chazal, O'Dwyer and Reilly (2004): train on the
  records DS1, test on the records DS2; no patient is on both sides. The four
  paced records (:data:`PACED_RECORDS`) are left out, as AAMI recommends.

Of the 78 records of the MIT-BIH Supraventricular Arrhythmia Database (svdb),
:data:`SVDB_TRAINING` names the 39 that ``ecgnet-mitbih-svdb`` was trained on;
the other 39 are held back as patients no shipped model has seen, and
:func:`ecgnet.data.prepare_split` leaves them out unless asked to include them.
"""

import numpy as np

from ecgnet.errors import EcgnetError

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
       "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
PACED_RECORDS = ("102", "104", "107", "217")
#: The svdb records of training: the 39 that ``ecgnet-mitbih-svdb`` was trained on (its model card lists
#: them). svdb's other 39 records are held back, to measure a model on patients it has not seen.
SVDB_TRAINING = ("803", "804", "807", "809", "811", "812", "820", "821", "825", "826", "827", "829", "840",
                 "841", "843", "844", "848", "850", "852", "853", "854", "855", "856", "857", "859", "862",
                 "863", "864", "865", "866", "867", "868", "870", "874", "875", "881", "883", "884", "888")
SPLITS = ("kaggle", "inter-patient")
TEST_FRACTION = 0.2


def stratified_indices(y, test_fraction=TEST_FRACTION, seed=0):
    """Indices ``(train, test)`` of a stratified random split (each class split alike).

    Args:
        y: int labels (n,).
        test_fraction: float in (0, 1).
        seed: int, the split is the same for the same seed and labels.

    Returns:
        Two sorted int64 arrays.
    """
    # Not sklearn's train_test_split(stratify=y): it draws other beats for the
    # same seed (on the kaggle training part, 10 %, seed 0: 907 of 8,755
    # validation beats in common) and rounds the per-class counts otherwise
    # (8,756 beats). The validation beats of the documented runs are these.
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        test.append(members[: int(round(len(members) * test_fraction))])
    test = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    mask = np.zeros(len(y), bool)
    mask[test] = True
    return np.flatnonzero(~mask), test


def group_holdout_indices(groups, test_fraction=TEST_FRACTION, seed=0):
    """Indices ``(train, test)`` that keep every group (record, patient) whole.

    Groups are shuffled with ``seed`` and moved to the test side until it holds
    at least ``test_fraction`` of the beats. Use it to carve a validation set
    for the inter-patient task: validation beats then come from patients the
    model does not train on, as the test beats will.

    Args:
        groups: array (n,) of group names, e.g. ``Beats.record``.
        test_fraction: float in (0, 1), the least share of beats on the test side.
        seed: int.

    Returns:
        Two sorted int64 arrays; no group has beats in both.

    Example:
        >>> train, val = group_holdout_indices(beats.record, 0.15)
    """
    groups = np.asarray(groups)
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    held = np.zeros(len(names), bool)
    for group in order:
        if counts[held].sum() >= test_fraction * len(groups):
            break
        held[group] = True
    mask = held[inverse]
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def group_kfold_indices(groups, folds, fold, seed=0):
    """Indices ``(train, held)`` of fold ``fold`` (1..``folds``) of a group-wise K-fold.

    Every group (record, patient) is held out by exactly one fold, so the
    held-out predictions of all ``folds`` runs cover every beat once and can
    be pooled into one confusion matrix: record-wise cross-validation. Each
    group goes, largest first, to the fold with the fewest beats so far, which
    keeps the folds near equal in size. The folds therefore follow from the
    group sizes: ``seed`` only orders groups of the same size, so where no two
    groups have the same number of beats (the MIT-BIH and svdb records) every
    seed gives the same folds.

    Args:
        groups: array (n,) of group names, e.g. ``Beats.record``.
        folds: int >= 2, number of folds; at most the number of groups.
        fold: int in 1..folds, the fold to hold out.
        seed: int, the order of groups of the same size (ties).

    Returns:
        Two sorted int64 arrays; no group has beats in both.

    Example:
        >>> held = [group_kfold_indices(beats.record, 5, k)[1] for k in range(1, 6)]
        >>> sorted(np.concatenate(held)) == list(range(len(beats)))
        True
    """
    groups = np.asarray(groups)
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or not 2 <= folds <= len(names):
        raise EcgnetError(f"folds must be an integer from 2 to the number of groups ({len(names)}). Received: folds={folds!r}")
    if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or not 1 <= fold <= folds:
        raise EcgnetError(f"fold must be an integer from 1 to folds={folds}. Received: fold={fold!r}")
    # The rule of sklearn.model_selection.GroupKFold (largest group first, to the
    # lightest fold), which gives the same folds wherever no two groups have the
    # same size (the 22 DS1 records, any seed). Kept here for the ties: GroupKFold
    # breaks them by name, without a seed, and its shuffle=True deals groups out
    # by number rather than by beats, so it cannot honour `seed` with this rule.
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]  # largest first; ties in shuffled order
    assignment = np.empty(len(names), int)
    sizes = np.zeros(folds, int)
    for group in order:
        assignment[group] = np.argmin(sizes)
        sizes[assignment[group]] += counts[group]
    mask = assignment[inverse] == fold - 1
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def validation_indices(y, validation_fraction=0.1, validation_groups=None, seed=0, validation_fold=None):
    """The (train, validation) index arrays that :func:`ecgnet.training.train` uses.

    A stratified, seeded ``validation_fraction`` of the beats, or, with
    ``validation_groups`` (one group name per beat, e.g. record names), whole
    groups held out until about ``validation_fraction`` of the beats, or,
    with ``validation_groups`` and ``validation_fold=(k, n)``, the k-th of n
    group-wise folds (:func:`group_kfold_indices`; the fraction is
    then unused). Exposed so that an ensemble or a benchmark can measure on
    the very beats that selected the epoch, and on nothing else.

    Args:
        y: int array (n,), labels.
        validation_fraction: float in (0, 1).
        validation_groups: None or array (n,) of group names.
        seed: int, seed of the split.
        validation_fold: None or a pair ``(k, n)``, 1 <= k <= n; needs ``validation_groups``.

    Returns:
        Two int arrays ``(train_index, val_index)``.

    Example:
        >>> train_index, val_index = validation_indices(y, 0.1, seed=0)
        >>> train_index, val_index = validation_indices(y, validation_groups=records, validation_fold=(2, 5))
    """
    y = np.asarray(y)
    if validation_groups is not None and len(validation_groups) != len(y):
        raise EcgnetError(
            f"validation_groups must have one entry per beat ({len(y)}). Received: {len(validation_groups)} entries"
        )
    if validation_fold is not None:
        if validation_groups is None:
            raise EcgnetError(
                "validation_fold holds out whole groups (records): pass validation_groups too. "
                f"Received: validation_fold={validation_fold!r}, validation_groups=None"
            )
        fold, folds = validation_fold
        return group_kfold_indices(validation_groups, folds, fold, seed=seed)
    if validation_groups is None:
        return stratified_indices(y, test_fraction=validation_fraction, seed=seed)
    return group_holdout_indices(validation_groups, validation_fraction, seed=seed)


def split_beats(beats, split="kaggle", seed=0):
    """Split :class:`~ecgnet.data.container.Beats` into ``(train, test)``.

    Records of other databases than MIT-BIH are named ``"DATABASE/RECORD"``
    (``"svdb/803"``, see :func:`ecgnet.data.prepare_split`). The
    inter-patient split keeps DS2 as the test set, untouched, and trains on
    DS1 plus every record of the other databases.

    Args:
        beats: Beats (e.g. from :func:`build_mitbih_beats`).
        split: ``"kaggle"`` (stratified random 80/20) or ``"inter-patient"``
            (DS1 / DS2 of de Chazal 2004, paced records left out; other
            databases' records in training).
        seed: int, seed of the ``"kaggle"`` split (ignored for inter-patient).

    Returns:
        Tuple ``(train, test)`` of Beats.

    Example:
        >>> train, test = split_beats(beats, "inter-patient")
        >>> set(train.record) & set(test.record)
        set()
    """
    if split == "kaggle":
        train, test = stratified_indices(beats.y, TEST_FRACTION, seed)
        return beats.subset(train), beats.subset(test)
    if split == "inter-patient":
        other_database = np.char.find(beats.record.astype(str), "/") >= 0
        return beats.subset(np.isin(beats.record, DS1) | other_database), beats.subset(np.isin(beats.record, DS2))
    raise EcgnetError(f"split_beats: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
