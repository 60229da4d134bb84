"""Tests for ecgnet.evaluation against hand-computed cases and scikit-learn."""

import json

import numpy as np
import pytest
from sklearn import metrics as sk

from ecgnet import evaluation, metrics
from ecgnet.errors import EcgnetError

# A small 3-class case worked out by hand.
#   true \ pred   0  1  2
#   0             5  1  0
#   1             2  3  1
#   2             0  0  4
Y_TRUE = [0] * 6 + [1] * 6 + [2] * 4
Y_PRED = [0] * 5 + [1] + [0, 0, 1, 1, 1, 2] + [2] * 4


def test_confusion_matrix_by_hand():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    np.testing.assert_array_equal(cm, [[5, 1, 0], [2, 3, 1], [0, 0, 4]])
    np.testing.assert_array_equal(cm, sk.confusion_matrix(Y_TRUE, Y_PRED, labels=[0, 1, 2]))


def test_row_normalised_by_hand():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    np.testing.assert_allclose(
        metrics.normalize_rows(cm), [[5 / 6, 1 / 6, 0], [2 / 6, 3 / 6, 1 / 6], [0, 0, 1]]
    )


def test_per_class_metrics_by_hand():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    m = metrics.per_class_metrics(cm)
    # Class 0: TP=5, FN=1, FP=2, TN=16-5-1-2=8
    # Class 1: TP=3, FN=3, FP=1, TN=9
    # Class 2: TP=4, FN=0, FP=1, TN=11
    np.testing.assert_allclose(m["sensitivity"], [5 / 6, 3 / 6, 4 / 4])
    np.testing.assert_allclose(m["positive_predictivity"], [5 / 7, 3 / 4, 4 / 5])
    np.testing.assert_allclose(m["specificity"], [8 / 10, 9 / 10, 11 / 12])
    np.testing.assert_allclose(m["f1"], [10 / 13, 6 / 10, 8 / 9])
    np.testing.assert_array_equal(m["support"], [6, 6, 4])


def test_metrics_match_sklearn_on_random_labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 5, 300))
    m = metrics.per_class_metrics(metrics.confusion_matrix(y_true, y_pred))
    labels = list(range(5))
    np.testing.assert_allclose(m["sensitivity"], sk.recall_score(y_true, y_pred, labels=labels, average=None))
    np.testing.assert_allclose(
        m["positive_predictivity"], sk.precision_score(y_true, y_pred, labels=labels, average=None)
    )
    np.testing.assert_allclose(m["f1"], sk.f1_score(y_true, y_pred, labels=labels, average=None))
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(
        sk.f1_score(y_true, y_pred, labels=labels, average="macro")
    )


def test_absent_classes_give_zero_like_sklearn_zero_division_0():
    # Q (4) never occurs and is never predicted; F (3) is predicted but never true.
    y_true = [0, 0, 1, 2]
    y_pred = [0, 3, 1, 2]
    report = metrics.evaluate_predictions(y_true, y_pred)
    q = report["per_class"]["Q"]
    assert q == {"sensitivity": 0.0, "positive_predictivity": 0.0, "specificity": 1.0, "f1": 0.0, "support": 0}
    assert report["per_class"]["F"]["positive_predictivity"] == 0.0
    assert report["macro_f1"] == pytest.approx(
        sk.f1_score(y_true, y_pred, labels=list(range(5)), average="macro", zero_division=0)
    )
    assert not any(np.isnan(v) for c in report["per_class"].values() for v in c.values())


def test_evaluate_predictions_accepts_scores_and_is_json():
    scores = np.eye(5)[[0, 1, 2, 3, 4, 0]]
    report = metrics.evaluate_predictions([0, 1, 2, 3, 4, 1], scores)
    assert report["accuracy"] == pytest.approx(5 / 6)
    assert report["num_beats"] == 6
    assert "precision" in report["classification_report"]
    json.loads(json.dumps(report))


def test_summed_fold_matrices_give_the_figures_of_all_predictions():
    # two "folds" of random predictions: the pooled figures equal scikit-learn's on the concatenation
    rng = np.random.default_rng(5)
    folds = [(rng.integers(0, 5, n), rng.integers(0, 5, n)) for n in (300, 200)]
    pooled = metrics.evaluate_confusion_matrix(sum(metrics.confusion_matrix(t, p) for t, p in folds))
    y_true, y_pred = (np.concatenate(parts) for parts in zip(*folds))
    assert pooled["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert pooled["macro_f1"] == pytest.approx(sk.f1_score(y_true, y_pred, labels=range(5), average="macro", zero_division=0))
    assert pooled["per_class"]["S"]["positive_predictivity"] == pytest.approx(sk.precision_score(y_true, y_pred, labels=[1], average="macro"))
    with pytest.raises(EcgnetError, match=r"shape \(5, 5\).*Received: \(2, 2\)"):
        metrics.evaluate_confusion_matrix([[1, 0], [0, 1]])


def test_bad_labels_raise_with_the_received_values():
    with pytest.raises(EcgnetError, match="Received values from 0 to 7"):
        metrics.confusion_matrix([0, 7], [0, 1])
    with pytest.raises(EcgnetError, match="same length"):
        metrics.confusion_matrix([0, 1], [0])


def test_write_report_files(tmp_path):
    report = metrics.evaluate_predictions(Y_TRUE, Y_PRED, class_names=("A", "B", "C"))
    paths = evaluation.write_report(report, tmp_path / "out")
    assert json.loads(paths["json"].read_text()) == report
    markdown = paths["markdown"].read_text()
    assert "| Class | Se (%) | +P (%) | Spec (%) | F1 (%) | Support |" in markdown
    assert "| A | 83.33 | 71.43 | 80.00 | 76.92 | 6 |" in markdown
    assert f"Accuracy: {100 * 12 / 16:.2f} %" in markdown
    assert f"Macro-F1: {100 * (10 / 13 + 0.6 + 8 / 9) / 3:.2f} %" in markdown
    assert not list((tmp_path / "out").glob(".*tmp*"))  # no temporary files left behind


def test_plot_confusion_matrices(tmp_path):
    import matplotlib.pyplot as plt

    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    fig = evaluation.plot_confusion_matrices(cm, ("A", "B", "C"), path=tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 1000
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["A", "B", "C"]
    counts = [int(t.get_text()) for t in fig.axes[0].texts]  # one per cell, row by row
    assert counts == cm.ravel().tolist()
    fractions = [float(t.get_text()) for t in fig.axes[1].texts]
    np.testing.assert_allclose(fractions, metrics.normalize_rows(cm).ravel(), atol=0.005)
    plt.close(fig)


def test_a_confusion_matrix_without_beats_gives_zeros_not_nan():
    report = metrics.evaluate_confusion_matrix(np.zeros((5, 5), int))
    assert report["num_beats"] == 0 and report["macro_f1"] == 0.0
    assert all(value == 0 for figures in report["per_class"].values() for value in figures.values())
