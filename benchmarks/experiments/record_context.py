"""New patients without labels: does reading the whole record beat the R-R floor on S?

Question: on DS2 the six R-R features of ``ecgnet.data.rr_features`` in a
logistic regression (the floor of ``benchmarks/measure/bench_ds2.py``) find
S beats better than the networks. Those features divide a beat's R-R by the
record's mean: the record's majority, which is not its sinus rhythm where
most beats are abnormal. Do references to the record's sinus rhythm, found
from the unlabelled record itself (``ecgnet.data.context``), do better?

Candidates (features; every one keeps the six R-R features of the floor):

- ``rr6``: the floor's six R-R features alone;
- ``rr6+sinus-rr``: and the R-R against the local sinus reference
  (``context_rr_features``: the median of the preceding intervals that were
  neither premature nor pauses);
- ``rr6+sinus-cluster``: and the beat against its record's sinus shape cluster
  (``sinus_cluster_features``: clusters of the centred window, the sinus one
  found from regular R-R at the sinus rate and P-wave evidence, not size);
- ``rr6+both``: all three.

Each with two scikit-learn classifiers, balanced class weights: ``logistic``
(standardised logistic regression) and ``boosting`` (histogram gradient
boosting, seed 0); trained on DS1 + svdb records, and the floor also on DS1
records only (as ``bench_ds2`` trains it).

Protocol (cross-validation; DS2 is not read): the training part of an
inter-patient folder prepared from mitdb and svdb (22 DS1 + 39 svdb records)
is cut into 5 record-wise folds (``ecgnet.data.group_kfold_indices``, seed
0); the held-out predictions of the 5 folds are pooled, over all 61 records
and over the 22 DS1 records alone (the MIT-BIH patients, who resemble DS2's).

Selection rule, fixed before DS2 is read: the candidate with the highest F1
of S pooled over the held-out DS1 records, among those whose F1 of F there is
at least the floor's (``rr6``, ``logistic``, trained on DS1). ``--ds2`` then
refits the chosen candidate and the floor on all their training records and
reads DS2 once, printing both beside each other. The rule chose
``rr6+both/logistic/DS1+svdb`` (docs/results.md, section 16).

Usage:
    python -m ecgnet prepare --raw data/mitdb --raw data/svdb --split inter-patient --out data/mitbih-interpatient-svdb
    python -m benchmarks.experiments.record_context --data data/mitbih-interpatient-svdb
    python -m benchmarks.experiments.record_context --data data/mitbih-interpatient-svdb --ds2 --candidate rr6+both/logistic/DS1+svdb
"""

import argparse
import time

import numpy as np

from ecgnet.data import DS1, group_kfold_indices, load_part
from ecgnet.data.context import context_rr_features, sinus_cluster_features
from ecgnet.metrics import confusion_matrix, evaluate_confusion_matrix

FEATURE_SETS = ("rr6", "rr6+sinus-rr", "rr6+sinus-cluster", "rr6+both")
FLOOR = "rr6/logistic/DS1"


def classifiers():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000)),
        "boosting": lambda: HistGradientBoostingClassifier(class_weight="balanced", random_state=0),
    }


def features_of(part):
    """Every feature set of a part, by name: the floor's six R-R features and the record-context ones."""
    rr6 = np.asarray(part.rr_features(), np.float32)
    sinus_rr = context_rr_features(rr6, part.record, part.r_peak)
    cluster = sinus_cluster_features(part.centred, rr6, part.record, part.r_peak)
    return {
        "rr6": rr6,
        "rr6+sinus-rr": np.concatenate([rr6, sinus_rr], axis=1),
        "rr6+sinus-cluster": np.concatenate([rr6, cluster], axis=1),
        "rr6+both": np.concatenate([rr6, sinus_rr, cluster], axis=1),
    }


def candidates():
    """Names ``features/classifier/trained-on`` of every candidate, the floor first."""
    names = [FLOOR]
    for features in FEATURE_SETS:
        for classifier in ("logistic", "boosting"):
            names.append(f"{features}/{classifier}/DS1+svdb")
    return names


def fit(name, features, y, train):
    """The candidate ``name`` fitted on the ``train`` beats (all of them, or those of DS1 records)."""
    feature_set, classifier, _ = name.split("/")
    return classifiers()[classifier]().fit(features[feature_set][train], y[train])


def predict(model, name, features):
    return model.predict(features[name.split("/")[0]])


def figures(cm):
    report = evaluate_confusion_matrix(cm)
    pc = report["per_class"]
    return {
        "acc": report["accuracy"], "macro_f1": report["macro_f1"],
        **{f"{c} {k}": pc[c][key] for c in "NSVF" for k, key in (("Se", "sensitivity"), ("+P", "positive_predictivity"), ("F1", "f1"))},
    }


def header():
    return f"{'candidate':34s} {'acc':>5s} {'mF1':>5s} {'S Se':>5s} {'S +P':>5s} {'S F1':>5s} {'V Se':>5s} {'V +P':>5s} {'F Se':>5s} {'F +P':>5s} {'F F1':>5s}"


def line(name, f):
    cells = [f["acc"], f["macro_f1"], f["S Se"], f["S +P"], f["S F1"], f["V Se"], f["V +P"], f["F Se"], f["F +P"], f["F F1"]]
    return f"{name:34s} " + " ".join(f"{100 * value:5.1f}" for value in cells)


def cross_validate(part, features, folds):
    """Pooled held-out confusion matrices of every candidate: over all records and over the DS1 records."""
    y, record = part.y, part.record
    ds1 = np.isin(record, [str(name) for name in DS1])
    results = {}
    for name in candidates():
        started = time.time()
        cm_all, cm_ds1 = np.zeros((5, 5), np.int64), np.zeros((5, 5), np.int64)
        for fold in range(1, folds + 1):
            train, held = group_kfold_indices(record, folds, fold, seed=0)
            if name.endswith("/DS1"):
                train = train[ds1[train]]
            predictions = predict(fit(name, features, y, train), name, features)[held]
            cm_all += confusion_matrix(y[held], predictions)
            cm_ds1 += confusion_matrix(y[held][ds1[held]], predictions[ds1[held]])
        results[name] = {"all": figures(cm_all), "DS1": figures(cm_ds1), "seconds": time.time() - started}
        print(f"  {name}: {results[name]['seconds']:.0f} s", flush=True)
    return results


def choose(results):
    """The selection rule: highest S F1 on the held-out DS1 records, F F1 there at least the floor's."""
    floor_f = results[FLOOR]["DS1"]["F F1"]
    allowed = [name for name in results if results[name]["DS1"]["F F1"] >= floor_f]
    return max(allowed, key=lambda name: results[name]["DS1"]["S F1"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="inter-patient folder prepared from mitdb and svdb")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--ds2", action="store_true", help="refit --candidate and the floor on all training records and read DS2 once")
    parser.add_argument("--candidate", help="features/classifier/trained-on, the one the cross-validation chose (with --ds2)")
    args = parser.parse_args(argv)

    train = load_part(args.data, "train")
    started = time.time()
    features = features_of(train)
    y, record = train.y, train.record
    print(f"{len(y)} training beats, {len(np.unique(record))} records; record-context features in {time.time() - started:.0f} s")
    if not args.ds2:
        print(f"{args.folds} record-wise folds (seed 0), held-out predictions pooled")
        results = cross_validate(train, features, args.folds)
        for scope in ("all", "DS1"):
            print(f"\nheld out: {'all 61 records' if scope == 'all' else 'the 22 DS1 records'}\n{header()}")
            for name, result in results.items():
                print(line(name, result[scope]))
        print(f"\nchosen by the rule: {choose(results)}")
        return
    if args.candidate not in candidates():
        parser.error(f"--candidate must be one of {', '.join(candidates())}. Received: {args.candidate!r}")
    test = load_part(args.data, "test")
    test_features = features_of(test)
    ds1 = np.isin(record, [str(name) for name in DS1])
    print(f"DS2: {len(test.y)} beats (S {int((test.y == 1).sum())}, V {int((test.y == 2).sum())}, F {int((test.y == 3).sum())})")
    print(header())
    for name in dict.fromkeys([FLOOR, args.candidate]):
        rows = np.flatnonzero(ds1) if name.endswith("/DS1") else np.arange(len(y))
        predictions = predict(fit(name, features, y, rows), name, test_features)
        print(line(name, figures(confusion_matrix(test.y, predictions))))


if __name__ == "__main__":
    main()
