"""Metrics: confusion matrices and the AAMI EC57 figures, from labels alone.

The AAMI EC57 standard reports, per class,

- sensitivity ``Se = TP / (TP + FN)`` (recall: how many beats of the class we find),
- positive predictivity ``+P = TP / (TP + FP)`` (precision: how many of our calls are right),
- specificity ``Spec = TN / (TN + FP)``,

and we add the F1 score (the harmonic mean of Se and +P), the overall accuracy
and the macro-F1 (the plain mean of the per-class F1, so the rare classes S and F
count as much as N).

The counting is scikit-learn's (``sklearn.metrics.confusion_matrix``,
``precision_recall_fscore_support``); this module adds what is ECG-specific:
the AAMI names, specificity, and figures computed from a confusion matrix
alone, so that the matrices of several folds can be summed and measured as one.

Classes absent from the labels or the predictions: a ratio whose denominator is
zero is reported as **0.0**, never NaN, so reports stay valid JSON and match
scikit-learn's ``zero_division=0``. The ``support`` of each class (how many true
beats it has) is always reported next to it, so a 0.0 for a class with support 0
reads as "not measurable" rather than "failed". The macro-F1 is averaged over all
``num_classes`` classes, like ``sklearn.metrics.f1_score(..., labels=range(5),
average="macro", zero_division=0)``.

This module needs only NumPy and scikit-learn (no TensorFlow), so the
training loop can measure its validation beats with it;
:mod:`ecgnet.evaluation` builds reports and figures on top of it.
"""

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import EcgnetError


def _as_labels(y, name, num_classes):
    """Return ``y`` as a 1-D int array of class indices, checking the range."""
    y = np.asarray(y)
    if y.ndim == 2:  # one-hot or probabilities
        y = y.argmax(axis=-1)
    if y.ndim != 1:
        raise EcgnetError(f"{name} must be 1-D class indices or 2-D scores. Received shape {y.shape}.")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise EcgnetError(
            f"{name} must hold class indices in [0, {num_classes}). "
            f"Received values from {y.min()} to {y.max()}."
        )
    return y


def confusion_matrix(y_true, y_pred, num_classes=5):
    """Count the beats of each (true class, predicted class) pair.

    ``sklearn.metrics.confusion_matrix`` with ``labels=range(num_classes)``
    (every class gets a row and a column, present or not), after checking the
    labels and reducing one-hot labels or scores with argmax.

    Args:
        y_true: int array of shape (n,) with the true class indices (or one-hot (n, k)).
        y_pred: int array of shape (n,) with the predicted indices (or scores (n, k),
            reduced with argmax).
        num_classes: int, the number of classes k.

    Returns:
        An int64 array of shape (k, k): row ``i`` is the true class, column ``j``
        the predicted class.

    Raises:
        EcgnetError: labels that are neither 1-D nor 2-D, class indices
            outside ``0..num_classes-1``, or ``y_true`` and ``y_pred`` of
            different lengths.

    Example:
        >>> confusion_matrix([0, 0, 1], [0, 1, 1], num_classes=2)
        array([[1, 1],
               [0, 1]])
    """
    y_true = _as_labels(y_true, "y_true", num_classes)
    y_pred = _as_labels(y_pred, "y_pred", num_classes)
    if y_true.shape != y_pred.shape:
        raise EcgnetError(
            f"y_true and y_pred must have the same length. Received {len(y_true)} and {len(y_pred)}."
        )
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    return sklearn_confusion_matrix(y_true, y_pred, labels=np.arange(num_classes)).astype(np.int64)


def normalize_rows(cm):
    """Divide each row of a confusion matrix by its total (rows with no beats stay 0).

    Args:
        cm: array of shape (k, k), counts.

    Returns:
        A float array of shape (k, k) whose non-empty rows sum to 1: entry ``(i, j)``
        is the fraction of class-``i`` beats predicted as class ``j``.

    Example:
        >>> normalize_rows(np.array([[3, 1], [0, 0]]))
        array([[0.75, 0.25],
               [0.  , 0.  ]])
    """
    cm = np.asarray(cm, dtype=np.float64)
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def _ratio(numerator, denominator):
    """``numerator / denominator`` elementwise, 0.0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def per_class_metrics(cm):
    """Compute the AAMI EC57 figures of each class from a confusion matrix.

    Se, +P and F1 are ``sklearn.metrics.precision_recall_fscore_support`` (recall,
    precision, F1) of the matrix's cells, each (true, predicted) pair weighted
    by its count; specificity, which scikit-learn lacks, is counted here.

    Args:
        cm: array of shape (k, k), counts (rows true, columns predicted).

    Returns:
        A dict of float arrays of shape (k,): ``sensitivity``, ``positive_predictivity``,
        ``specificity``, ``f1``, and the int array ``support`` (true beats per class).
        Zero denominators give 0.0 (see the module docstring).

    Example:
        >>> m = per_class_metrics(np.array([[8, 2], [1, 4]]))
        >>> m["sensitivity"]  # 8/10 and 4/5
        array([0.8, 0.8])
    """
    from sklearn.metrics import precision_recall_fscore_support

    cm = np.asarray(cm, dtype=np.int64)
    k = len(cm)
    true_class, predicted_class = np.divmod(np.arange(k * k), k)  # one entry per cell of the matrix
    if cm.sum():
        positive_predictivity, sensitivity, f1, _ = precision_recall_fscore_support(
            true_class, predicted_class, labels=np.arange(k), sample_weight=cm.ravel(), zero_division=0
        )
    else:  # no beats at all: every ratio is 0/0
        positive_predictivity = sensitivity = f1 = np.zeros(k)
    true_positives = np.diag(cm)
    false_positives = cm.sum(axis=0) - true_positives  # predicted i, true class something else
    true_negatives = cm.sum() - cm.sum(axis=1) - false_positives
    specificity = _ratio(true_negatives, true_negatives + false_positives)
    return {
        "sensitivity": sensitivity,
        "positive_predictivity": positive_predictivity,
        "specificity": specificity,
        "f1": f1,
        "support": cm.sum(axis=1),
    }


def macro_f1(y_true, y_pred, num_classes=5):
    """The mean of the per-class F1 scores over all ``num_classes`` classes.

    Args:
        y_true: int array (n,), true class indices.
        y_pred: int array (n,), predicted class indices.
        num_classes: int, the number of classes.

    Returns:
        A float in [0, 1].

    Raises:
        EcgnetError: as :func:`confusion_matrix`.

    Example:
        >>> macro_f1([0, 1, 1], [0, 1, 0], num_classes=2)  # F1 2/3 and 2/3
        0.666...
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    return float(per_class_metrics(cm)["f1"].mean())


def classification_report(y_true, y_pred, class_names=CLASS_NAMES):
    """scikit-learn's text report (precision = +P, recall = Se, F1, support).

    Args:
        y_true: int array (n,), true class indices.
        y_pred: int array (n,), predicted class indices.
        class_names: sequence of str, one name per class.

    Returns:
        A str table, one row per class (scores to 4 digits, 0 where a
        denominator is 0), then the accuracy and the macro and weighted
        averages.

    Raises:
        EcgnetError: labels that are not class indices of ``class_names``.

    Example:
        >>> report = classification_report([0, 1, 1], [0, 1, 0], ["N", "S"])
        >>> report.splitlines()[2].split()  # class, +P, Se, F1, support
        ['N', '0.5000', '1.0000', '0.6667', '1']
    """
    from sklearn.metrics import classification_report as sklearn_report

    num_classes = len(class_names)
    return sklearn_report(
        _as_labels(y_true, "y_true", num_classes),
        _as_labels(y_pred, "y_pred", num_classes),
        labels=list(range(num_classes)),
        target_names=list(class_names),
        digits=4,
        zero_division=0,
    )


def evaluate_predictions(y_true, y_pred, class_names=CLASS_NAMES):
    """Everything we report about a set of predictions, as a JSON-serialisable dict.

    Args:
        y_true: int array (n,), true class indices (or one-hot (n, k)).
        y_pred: int array (n,), predicted class indices (or scores (n, k)).
        class_names: sequence of str, one name per class.

    Returns:
        A dict with ``num_beats``, ``accuracy``, ``macro_f1``, ``class_names``,
        ``per_class`` (name -> ``sensitivity``, ``positive_predictivity``,
        ``specificity``, ``f1``, ``support``), ``confusion_matrix`` (list of lists of
        counts) and ``classification_report`` (the scikit-learn text).

    Raises:
        EcgnetError: as :func:`confusion_matrix`.

    Example:
        >>> report = evaluate_predictions([0, 1, 4], [0, 1, 1])
        >>> report["per_class"]["Q"]["sensitivity"]
        0.0
    """
    class_names = list(class_names)
    y_true = _as_labels(y_true, "y_true", len(class_names))
    y_pred = _as_labels(y_pred, "y_pred", len(class_names))
    report = evaluate_confusion_matrix(confusion_matrix(y_true, y_pred, num_classes=len(class_names)), class_names)
    report["classification_report"] = classification_report(y_true, y_pred, class_names)
    return report


def evaluate_confusion_matrix(cm, class_names=CLASS_NAMES):
    """The figures of :func:`evaluate_predictions` from a confusion matrix alone.

    Confusion matrices add up: summing those of the folds of a cross-validation
    and passing the sum here gives the figures over all held-out beats.

    Args:
        cm: int array (k, k), counts (rows true, columns predicted).
        class_names: sequence of k str.

    Returns:
        A dict with ``num_beats``, ``accuracy``, ``macro_f1``, ``class_names``,
        ``per_class`` and ``confusion_matrix``, as in :func:`evaluate_predictions`.

    Raises:
        EcgnetError: ``cm`` is not of shape (k, k) for the k ``class_names``.

    Example:
        >>> evaluate_confusion_matrix([[8, 2], [1, 4]], ["N", "S"])["per_class"]["S"]["positive_predictivity"]
        0.666...
    """
    class_names = list(class_names)
    cm = np.asarray(cm, dtype=np.int64)
    if cm.shape != (len(class_names),) * 2:
        raise EcgnetError(f"cm must have shape ({len(class_names)}, {len(class_names)}), one row per class. Received: {cm.shape}")
    metrics = per_class_metrics(cm)
    per_class = {
        name: {
            "sensitivity": float(metrics["sensitivity"][i]),
            "positive_predictivity": float(metrics["positive_predictivity"][i]),
            "specificity": float(metrics["specificity"][i]),
            "f1": float(metrics["f1"][i]),
            "support": int(metrics["support"][i]),
        }
        for i, name in enumerate(class_names)
    }
    num_beats = int(cm.sum())
    return {
        "num_beats": num_beats,
        "accuracy": float(np.trace(cm) / num_beats) if num_beats else 0.0,
        "macro_f1": float(metrics["f1"].mean()),
        "class_names": class_names,
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
    }
