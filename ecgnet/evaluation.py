"""Evaluation: confusion matrices, AAMI EC57 figures and reports.

The AAMI EC57 standard reports, per class,

- sensitivity ``Se = TP / (TP + FN)`` (recall: how many beats of the class we find),
- positive predictivity ``+P = TP / (TP + FP)`` (precision: how many of our calls are right),
- specificity ``Spec = TN / (TN + FP)``,

and we add the F1 score (the harmonic mean of Se and +P), the overall accuracy
and the macro-F1 (the plain mean of the per-class F1, so the rare classes S and F
count as much as N).

The counting is scikit-learn's (``sklearn.metrics.confusion_matrix``,
``precision_recall_fscore_support``, ``ConfusionMatrixDisplay``); this module
adds what is ECG-specific: the AAMI names, specificity, the EC57 report layout,
and figures computed from a confusion matrix alone, so that the matrices of
several folds can be summed and measured as one.

Classes absent from the labels or the predictions: a ratio whose denominator is
zero is reported as **0.0**, never NaN, so reports stay valid JSON and match
scikit-learn's ``zero_division=0``. The ``support`` of each class (how many true
beats it has) is always reported next to it, so a 0.0 for a class with support 0
reads as "not measurable" rather than "failed". The macro-F1 is averaged over all
``num_classes`` classes, like ``sklearn.metrics.f1_score(..., labels=range(5),
average="macro", zero_division=0)``.
"""

import json
from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import EcgnetError
from ecgnet.files import atomic_path, write_text_atomic


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
        A str table, one row per class.
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


def plot_confusion_matrices(cm, class_names=CLASS_NAMES, path=None):
    """Draw the confusion matrix as counts and row-normalised, side by side.

    Args:
        cm: array of shape (k, k), counts (rows true, columns predicted).
        class_names: sequence of str, names on both axes.
        path: str or Path, optional; when given the figure is saved there
            atomically (the format follows the suffix, e.g. ``.png``).

    Returns:
        The matplotlib ``Figure`` with two ``sklearn.metrics.ConfusionMatrixDisplay`` plots.

    Example:
        >>> fig = plot_confusion_matrices(np.eye(5, dtype=int) * 10)
        >>> len(fig.axes) >= 2
        True
    """
    import matplotlib

    if not _has_display():
        matplotlib.use("Agg")  # draw into memory: servers and CI have no screen
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.asarray(cm)
    class_names = list(class_names)
    fig, (ax_counts, ax_fraction) = plt.subplots(1, 2, figsize=(11, 4.5))
    ConfusionMatrixDisplay(cm, display_labels=class_names).plot(
        ax=ax_counts, cmap="Blues", values_format="d", colorbar=False
    )
    ax_counts.set_title("Counts")
    ConfusionMatrixDisplay(normalize_rows(cm), display_labels=class_names).plot(
        ax=ax_fraction, cmap="Blues", values_format=".2f", im_kw={"vmin": 0, "vmax": 1}
    )
    ax_fraction.set_title("Row-normalised (Se on the diagonal)")
    for ax in (ax_counts, ax_fraction):
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
    fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120)
    return fig


def _has_display():
    """True in notebooks and desktop sessions, where an interactive backend works."""
    import os
    import sys

    return "ipykernel" in sys.modules or bool(os.environ.get("DISPLAY"))


def report_to_markdown(report):
    """Render :func:`evaluate_predictions`' dict as a Markdown table.

    Args:
        report: dict returned by :func:`evaluate_predictions`.

    Returns:
        A str: one row per class (Se, +P, Spec, F1, support, in percent), then
        accuracy and macro-F1.
    """
    lines = [
        "| Class | Se (%) | +P (%) | Spec (%) | F1 (%) | Support |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in report["class_names"]:
        m = report["per_class"][name]
        lines.append(
            f"| {name} | {100 * m['sensitivity']:.2f} | {100 * m['positive_predictivity']:.2f} "
            f"| {100 * m['specificity']:.2f} | {100 * m['f1']:.2f} | {m['support']} |"
        )
    lines += [
        "",
        f"Accuracy: {100 * report['accuracy']:.2f} %  ",
        f"Macro-F1: {100 * report['macro_f1']:.2f} %  ",
        f"Beats: {report['num_beats']}",
        "",
        "Ratios with a zero denominator (a class with no beats or no predictions) are reported as 0.",
        "",
    ]
    return "\n".join(lines)


def write_report(report, out_dir):
    """Write ``report.json`` and ``report.md`` into ``out_dir``, each atomically.

    Args:
        report: dict returned by :func:`evaluate_predictions`.
        out_dir: str or Path, the folder (created if needed).

    Returns:
        A dict ``{"json": Path, "markdown": Path}`` of the written files.

    Example:
        >>> paths = write_report(evaluate_predictions([0, 1], [0, 1]), "runs/demo")
        >>> paths["json"].name
        'report.json'
    """
    out_dir = Path(out_dir)
    json_path = out_dir / "report.json"
    markdown_path = out_dir / "report.md"
    write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    write_text_atomic(markdown_path, report_to_markdown(report))
    return {"json": json_path, "markdown": markdown_path}


def evaluate_model(model, part, index=None, batch_size=512):
    """Predict the beats of a part with ``model`` and measure the predictions.

    Args:
        model: a ``keras.Model`` with softmax outputs.
        part: a dict from :func:`ecgnet.data.load_part` or :func:`ecgnet.data.part_from_beats`.
        index: None, or the indices (or mask) of the beats to measure on; the
            model's inputs are built from the whole part first
            (:func:`ecgnet.data.model_inputs`).
        batch_size: int.

    Returns:
        The dict of :func:`evaluate_predictions`.

    Example:
        >>> report = evaluate_model(model, load_part("data/mitbih-kaggle", "train"), val_index)
        >>> report["macro_f1"]
        0.9...
    """
    from ecgnet.data.prepared import model_inputs

    y_true = part["y"] if index is None else part["y"][index]
    y_pred = model.predict(model_inputs(model, part, index), batch_size=batch_size, verbose=0).argmax(axis=1)
    return evaluate_predictions(y_true, y_pred)


def report_test_part(model, part, out, extra=None):
    """Measure ``model`` on a test part and write the report files into ``out``.

    Writes ``report.json`` (:func:`evaluate_predictions`, plus ``extra``),
    ``report.md`` (:func:`report_to_markdown`) and ``confusion_matrix.png``
    (:func:`plot_confusion_matrices`), each atomically: what
    ``python -m ecgnet evaluate`` writes.

    Args:
        model: a ``keras.Model``.
        part: a dict from :func:`ecgnet.data.load_part`.
        out: str or Path, the report folder (created if needed).
        extra: optional dict of fields added to the report (e.g. the model and data names).

    Returns:
        The report dict.

    Example:
        >>> report = report_test_part(model, load_part("data/mitbih-kaggle", "test"), "runs/small/evaluation")
    """
    report = evaluate_model(model, part)
    report.update(extra or {})
    write_report(report, out)
    plot_confusion_matrices(np.asarray(report["confusion_matrix"]), path=Path(out) / "confusion_matrix.png")
    return report
