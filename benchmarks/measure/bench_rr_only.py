"""How far do R-R intervals alone go on new patients? Record-wise CV on DS1 only.

A reference line for the inter-patient models: classifiers that see only the
R-R features of a beat (no shape), scored with the same record-wise K-fold of
DS1 as ``train --validation-fold K/N`` (``ecgnet.data.group_kfold_indices``,
seed 0), their held-out predictions pooled over the folds. Also the area
under the ROC curve of S against the rest, pooled, for each feature set: how
well the features separate S beats before any decision threshold. DS2 is
never read.

- ``logistic``: scikit-learn logistic regression, balanced class weights,
  standardised features.
- ``boosting``: scikit-learn histogram gradient boosting, balanced class weights.

Usage:
    python -m benchmarks.measure.bench_rr_only [--folds 5]
"""

import argparse
from pathlib import Path

import numpy as np

from ecgnet.data import RR_FEATURE_SETS, default_data_dir, group_kfold_indices, load_part, select_rr_features
from ecgnet.metrics import confusion_matrix, evaluate_confusion_matrix


def classifiers():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000)),
        "boosting": lambda: HistGradientBoostingClassifier(class_weight="balanced", random_state=0),
    }


def cross_validate(make, features, y, records, folds):
    """Pooled held-out confusion matrix and the held-out probability of S for every beat."""
    cm = np.zeros((5, 5), np.int64)
    p_s = np.zeros(len(y))
    for fold in range(1, folds + 1):
        train, held = group_kfold_indices(records, folds, fold, seed=0)
        model = make().fit(features[train], y[train])
        probabilities = np.zeros((len(held), 5))
        probabilities[:, model.classes_] = model.predict_proba(features[held])
        cm += confusion_matrix(y[held], probabilities.argmax(axis=1))
        p_s[held] = probabilities[:, 1]
    return cm, p_s


def main():
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir() / "mitbih-interpatient")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    part = load_part(args.data, "train")
    y, records = part.y, part.record
    print(f"{len(y)} DS1 beats, {len(np.unique(records))} records, {args.folds} record-wise folds (seed 0); pooled held-out figures")
    print(f"{'features':10s} {'classifier':10s} {'acc':>6s} {'mF1':>6s} {'S AUC':>6s}" + "".join(f" {n + ' Se/+P':>13s}" for n in "SVF"))
    for width, description in RR_FEATURE_SETS.items():
        name = description.split(":")[0]
        features = select_rr_features(part.rr_features(), width)
        for label, make in classifiers().items():
            cm, p_s = cross_validate(make, features, y, records, args.folds)
            report = evaluate_confusion_matrix(cm)
            auc = roc_auc_score(y == 1, p_s)
            row = f"{name:10s} {label:10s} {100 * report['accuracy']:6.2f} {100 * report['macro_f1']:6.2f} {auc:6.3f}"
            for c in "SVF":
                figures = report["per_class"][c]
                row += f" {100 * figures['sensitivity']:6.1f}/{100 * figures['positive_predictivity']:5.1f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
