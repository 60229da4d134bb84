"""Does the R-R logistic regression add to the networks on new patients? Fusion on the same held-out records.

Question: on DS2 a logistic regression on R-R features alone finds far more S
beats (Se 66%) than the networks (20%), which find far more V beats with far
fewer false alarms. Does combining them help on patients neither saw?

Protocol (DS2 is never read): the held-out probabilities that
``benchmarks/experiments/cv_new_patients.py`` wrote (``cv.npz``: every network candidate,
every seed, 5 record-wise folds over DS1 + svdb) are read back. For each
fold, a logistic regression (standardised inputs, balanced class
weights) is trained on the same training records, on the network's own R-R
input (its width in ``CANDIDATES``: 3 for the intervals divided by the
record's mean R-R), and predicts the
held-out records. The fusion is the product of the two models' probabilities,
renormalised (equal weights, nothing tuned; ``ecgnet.layers.ProductOfExperts``,
the layer a shipped fused model holds). Every network, the regression
alone and every fusion are pooled and scored by the cross-validation's
selection rule (mean over seeds of (F1 of S + F1 of V) / 2). The regression
is deterministic, so its rows are the same for every seed.

Usage:
    python -m benchmarks.experiments.cv_fusion --data data/mitbih-interpatient-svdb --cv runs/cv-new-patients-cpu
"""

import argparse
import json
from pathlib import Path

import numpy as np

from ecgnet.data.features import select_rr_features
from ecgnet.data.prepared import load_part

from benchmarks.experiments.cv_new_patients import CANDIDATES, SELECTION, group_fold_numbers, pooled, row, score


def logistic_regression():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))


def rr_held_out(rr, y, record, folds, seed):
    """Held-out probabilities of the R-R logistic regression, fold by fold."""
    fold_of = group_fold_numbers(record, folds, seed)
    probabilities = np.zeros((len(y), 5))
    for fold in range(1, folds + 1):
        held = fold_of == fold
        model = logistic_regression().fit(rr[~held], y[~held])
        probabilities[np.ix_(held, model.classes_)] = model.predict_proba(rr[held])
    return probabilities


def fuse(p, q):
    """The product of two probability arrays, renormalised per beat: the shipped model's own layer.

    ``ecgnet.layers.ProductOfExperts`` is what ``ecgnet.ensembles.fuse_with_rr_regression``
    puts in a shipped model, so the cross-validation scores the very combination that ships.
    """
    from keras import ops

    from ecgnet.layers import ProductOfExperts

    return ops.convert_to_numpy(ProductOfExperts()([np.asarray(p, np.float32), np.asarray(q, np.float32)])).astype(np.float64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="the folder (or train.npz) that the cross-validation read")
    parser.add_argument("--cv", required=True, help="the cross-validation's --out folder (cv.npz, summary.json)")
    args = parser.parse_args(argv)

    summary = json.loads((Path(args.cv) / "summary.json").read_text(encoding="utf-8"))
    folds, seeds = summary["protocol"]["folds"], summary["protocol"]["seeds"]
    with np.load(Path(args.cv) / "cv.npz") as saved:
        held = {key: saved[key].astype(np.float64) for key in saved.files if key not in ("y", "record")}
        y, record = saved["y"].astype(np.int64), saved["record"]
    part = load_part(args.data, "train")
    if not np.array_equal(part.y, y) or not np.array_equal(part.record, record):
        raise SystemExit(f"error: {args.data} holds other beats than the cross-validation in {args.cv}")
    networks = sorted({key.rsplit(" s", 1)[0] for key in held})
    regression = {}  # R-R width -> {seed: held-out probabilities}

    def rr_regression(width):
        if width not in regression:
            rr = select_rr_features(part.rr_features(), width)
            regression[width] = {seed: rr_held_out(rr, y, record, folds, seed) for seed in seeds}
        return regression[width]

    scores, lines = {}, []
    rows = {"R-R logistic regression": rr_regression(3)}
    for name in networks:
        rows[name] = {seed: held[f"{name} s{seed}"] for seed in seeds}
        on_its_rr = rr_regression(CANDIDATES[name][2])
        rows[f"{name} x R-R regression"] = {seed: fuse(held[f"{name} s{seed}"], on_its_rr[seed]) for seed in seeds}
    print(f"Pooled over held-out records (Se/+P %), {folds} folds, seeds {seeds}:")
    for name, by_seed in rows.items():
        reports = {seed: pooled(p, y) for seed, p in by_seed.items()}
        scores[name] = float(np.mean([score(r) for r in reports.values()]))
        for seed, report in reports.items():
            line = f"  {name:36s} s{seed} {row(report)}"
            lines.append(line)
            print(line)
    best = max(scores, key=scores.get)
    print(f"\nBy the rule ({SELECTION}): " + ", ".join(f"{n} {100 * s:.1f}" for n, s in scores.items()) + f" -> {best}")
    (Path(args.cv) / "fusion.json").write_text(json.dumps({"scores": scores, "best": best, "rows": lines}, indent=1),
                                               encoding="utf-8")


if __name__ == "__main__":
    main()
