"""Do more patients help on new patients? Record-wise CV on DS1, training with and without svdb.

The question: the inter-patient model trains on the 22 DS1 records, which hold
only 943 S beats. Does adding the records of the MIT-BIH Supraventricular
Arrhythmia Database (svdb: 39 more patients, 6,694 S beats) to training help
on held-out MIT-BIH patients, and which beat representation profits?

Protocol (DS2 is never read):

- DS1 is cut into 5 record-wise folds (:func:`ecgnet.data.group_kfold_indices`,
  the library's one definition of a record-wise fold: the largest record
  first, to the fold with the fewest beats; the DS1 records all differ in
  size, so the folds are the same for every seed). Each fold's DS1 records
  are the test patients; the classifier trains on the other DS1 records,
  alone or together with the svdb records of training in ``--svdb``
  (:data:`ecgnet.data.SVDB_TRAINING`; the held-back ones are never read). The
  confusion matrices of the 5 folds are summed (pooled) and reported as
  AAMI Se / +P.
- Beats are read by the library, as ``python -m ecgnet prepare`` reads them
  (:func:`ecgnet.data.beats_from_record` with ``aami_only=True``): the lead
  of ``ecgnet.data.records.LEAD_PREFERENCE`` (MLII in mitdb, ECG1 in svdb),
  resampled to 125 Hz, the reference annotations in the AAMI classes. Each
  record's first beat (no previous R-R of its own) and last (no next one) are
  left out.
- Inputs:
  - ``rr3``: previous, next and local mean R-R divided by the record's mean R-R
    (``select_rr_features(rr_features(...), 3)``);
  - ``rr6``: those 3, the previous and next R-R over the local mean
    (``select_rr_features(..., 5)``), and next over previous (prematurity and
    the pause after it);
  - ``win``: the R-centred window of :func:`ecgnet.data.centred_windows`
    (0.256 s before to 0.44 s after the R peak, band-passed 0.5-40 Hz,
    divided by the record's median R amplitude: the beat's own P wave, QRS
    and T), every third sample;
  - ``rel``: the window minus the record's median window
    (:func:`ecgnet.data.record_relative_beats`), every third sample.
- Classifiers: logistic regression (standardised inputs) and scikit-learn's
  histogram gradient boosting, both with balanced class weights.

Usage (from the repository root):
    python -m benchmarks.measure.bench_more_patients --mitdb data/mitdb --svdb data/svdb
    python -m benchmarks.measure.bench_more_patients ... --recipes LR:rr3 HGB:rr6

The beats of each record are cached in a temporary folder (``--cache`` to keep them).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgnet.data import (
    CLASS_NAMES,
    DS1,
    beats_from_record,
    group_kfold_indices,
    list_records,
    record_relative_beats,
    rr_features,
    select_rr_features,
)
from ecgnet.data.datasets import training_records
from ecgnet.errors import EcgnetError
from ecgnet.metrics import confusion_matrix, evaluate_confusion_matrix


def record_beats(path, cache):
    """Labels, R-R intervals and centred windows of the AAMI beats of one record (cached)."""
    cached = Path(cache) / (str(path).strip("/").replace("/", "_") + ".npz")
    if cached.exists():
        with np.load(cached) as saved:
            return {key: saved[key] for key in saved.files}
    beats = beats_from_record(path, aami_only=True).beats
    keep = beats.y >= 0
    keep[:1] = False  # the first beat's previous R-R is a copy of its next one
    out = dict(win=beats.centred[keep], y=beats.y[keep].astype(np.int64), rr=beats.rr[keep])
    np.savez(cached, **out)
    return out


def build(records, cache):
    """The inputs of every beat of ``records`` ((database, folder, name) triples), relative to its record."""
    rows = []
    for database, folder, name in records:
        f = record_beats(Path(folder) / name, cache)
        group = np.full(len(f["y"]), f"{database}/{name}")
        rr5 = select_rr_features(rr_features(f["rr"], group), 5)
        rr = np.concatenate([rr5, f["rr"][:, 1:2] / f["rr"][:, 0:1]], axis=1)  # and next R-R over previous
        window = record_relative_beats(f["win"], group)
        rows.append(dict(win=window[..., 0], rel=window[..., 1], rr=rr, y=f["y"], group=group))
    return {key: np.concatenate([row[key] for row in rows]) for key in rows[0]}


def inputs(data, kind):
    columns = {"rr3": data["rr"][:, :3], "rr6": data["rr"], "win": data["win"][:, ::3], "rel": data["rel"][:, ::3]}
    return np.hstack([columns[part] for part in kind.split("+")])


def classifier(name):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "LR":
        return make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=3000))
    return HistGradientBoostingClassifier(class_weight="balanced", max_iter=200, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mitdb", default=os.environ.get("ECGNET_MITDB_DIR"), help="raw MIT-BIH records (default $ECGNET_MITDB_DIR)")
    parser.add_argument("--svdb", default=os.environ.get("ECGNET_SVDB_DIR"), help="raw svdb records (default $ECGNET_SVDB_DIR)")
    parser.add_argument("--recipes", nargs="+", default=["LR:rr3", "LR:rr6", "HGB:rr6", "HGB:rr6+win", "HGB:rr6+win+rel"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="seeds of the folds (group_kfold_indices: they only order records of the same size)")
    parser.add_argument("--cache", default=None, help="folder for the per-record feature cache")
    args = parser.parse_args(argv)
    for flag in ("mitdb", "svdb"):
        if not getattr(args, flag) or not Path(getattr(args, flag)).is_dir():
            parser.error(f"--{flag}: no such folder of WFDB records ({getattr(args, flag)!r})")
    cache = args.cache or tempfile.mkdtemp(prefix="ecgnet-features-")
    Path(cache).mkdir(parents=True, exist_ok=True)
    ds1 = build([("mitdb", args.mitdb, r) for r in DS1], cache)
    try:  # the library's filter: the 39 records of training, the held-back ones named and never read
        training = training_records(list_records(args.svdb), "svdb", args.svdb)[0]
    except EcgnetError as error:  # none of the 39 there
        parser.error(f"--svdb: {error}")
    svdb = build([("svdb", args.svdb, r) for r in training], cache)
    print("DS1 beats per class", np.bincount(ds1["y"], minlength=5), "svdb", np.bincount(svdb["y"], minlength=5), flush=True)
    print("| seed | classifier:inputs | training | acc | macro-F1 (N,S,V,F) | S Se / +P | V Se / +P | F Se / +P |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for seed in args.seeds:
        folds = [group_kfold_indices(ds1["group"], 5, fold, seed=seed) for fold in range(1, 6)]
        for recipe in args.recipes:
            name, kind = recipe.split(":")
            x_ds1, x_svdb = inputs(ds1, kind), inputs(svdb, kind)
            for with_svdb in (False, True):
                cm = np.zeros((5, 5), np.int64)
                started = time.time()
                for train, test in folds:
                    x, y = x_ds1[train], ds1["y"][train]
                    if with_svdb:
                        x, y = np.vstack([x, x_svdb]), np.concatenate([y, svdb["y"]])
                    model = classifier(name).fit(x, y)
                    cm += confusion_matrix(ds1["y"][test], model.predict(x_ds1[test]), len(CLASS_NAMES))
                report = evaluate_confusion_matrix(cm)
                per = report["per_class"]
                f1 = np.mean([per[c]["f1"] for c in CLASS_NAMES[:4]])
                cells = " | ".join(f"{100 * per[c]['sensitivity']:.1f} / {100 * per[c]['positive_predictivity']:.1f}" for c in "SVF")
                print(f"| {seed} | {recipe} | {'DS1 + svdb' if with_svdb else 'DS1'} | {100 * report['accuracy']:.1f} | "
                      f"{100 * f1:.1f} | {cells} |  ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
