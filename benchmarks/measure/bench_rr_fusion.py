"""Would an R-R-only classifier help the network on new patients? Record-wise CV on DS1 only.

For the fold runs of one record-wise cross-validation (``train --validation-fold
K/N``), predict each run's held-out records with the run's network, fit an
R-R-only logistic regression (``bench_rr_only.py``) on the same fold's training
records, and pool the held-out beats. Printed: how well each ranks S beats
against the rest (ROC AUC), the figures of the fused decision ``argmax(log
p_network + w log p_rr)`` for a few weights ``w``, and the best S F1 that any
threshold on each score could reach (an optimistic bound: the threshold is
picked on the very beats it is scored on). DS2 is never read.

Usage:
    python -m benchmarks.measure.bench_rr_fusion --data data/mitbih-interpatient runs/cv-prev-f{1,2,3,4,5}
"""

import argparse
from pathlib import Path

import numpy as np

from ecgnet.data import load_part, model_inputs, select_rr_features
from ecgnet.metrics import evaluate_predictions
from ecgnet.pretrained_models import load_model
from ecgnet.runs import read_training_card, run_validation_index

from benchmarks.measure.bench_rr_only import classifiers


def s_score(log_p):
    """Log-odds of S against the other classes."""
    return log_p[:, 1] - np.logaddexp.reduce(np.delete(log_p, 1, axis=1), axis=1)


def best_f1(is_s, score):
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(is_s, score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    i = f1.argmax()
    return f"best S F1 {100 * f1[i]:.1f} (Se {100 * recall[i]:.1f}, +P {100 * precision[i]:.1f})"


def main():
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="the fold runs of one cross-validation")
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    part = load_part(args.data, "train")
    network, rr_only, labels = [], [], []
    for run in args.runs:
        card = read_training_card(run)
        held = run_validation_index(card, part)
        train = np.setdiff1d(np.arange(len(part.y)), held)
        model = load_model(run / "model.keras")
        network.append(model.predict(model_inputs(model, part, held), batch_size=1024, verbose=0))
        features = select_rr_features(part.rr_features(), card["rr_features"] or 3)
        logistic = classifiers()["logistic"]().fit(features[train], part.y[train])
        probabilities = np.full((len(held), 5), 1e-9)
        probabilities[:, logistic.classes_] = logistic.predict_proba(features[held])
        rr_only.append(probabilities)
        labels.append(part.y[held])
    y = np.concatenate(labels)
    log_net = np.log(np.clip(np.concatenate(network), 1e-9, 1))
    log_rr = np.log(np.clip(np.concatenate(rr_only), 1e-9, 1))
    print(f"{len(y)} held-out DS1 beats from {len(args.runs)} runs, {int(np.sum(y == 1))} of them S")
    for name, log_p in (("network", log_net), ("R-R logistic", log_rr)):
        print(f"{name:22s} S AUC {roc_auc_score(y == 1, s_score(log_p)):.3f}  {best_f1(y == 1, s_score(log_p))}")
    for w in (0.5, 1.0, 2.0):
        fused = log_net + w * log_rr
        report = evaluate_predictions(y, fused.argmax(axis=1))
        s, v = report["per_class"]["S"], report["per_class"]["V"]
        print(
            f"{f'fused, w={w}':22s} S AUC {roc_auc_score(y == 1, s_score(fused)):.3f}  {best_f1(y == 1, s_score(fused))}; "
            f"argmax: acc {100 * report['accuracy']:.2f} macro-F1 {100 * report['macro_f1']:.2f} "
            f"S {100 * s['sensitivity']:.1f}/{100 * s['positive_predictivity']:.1f} V {100 * v['sensitivity']:.1f}/{100 * v['positive_predictivity']:.1f}"
        )
    report = evaluate_predictions(y, log_net.argmax(axis=1))
    print(f"{'network alone':22s} argmax: acc {100 * report['accuracy']:.2f} macro-F1 {100 * report['macro_f1']:.2f}")


if __name__ == "__main__":
    main()
