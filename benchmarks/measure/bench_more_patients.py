"""Do more patients help on new patients? Record-wise CV on DS1, training with and without svdb.

The question: the inter-patient model trains on the 22 DS1 records, which hold
only 943 S beats. Does adding the records of the MIT-BIH Supraventricular
Arrhythmia Database (svdb: 39 more patients, 6,694 S beats) to training help
on held-out MIT-BIH patients, and which beat representation profits?

Protocol (DS2 is never read):

- DS1 is cut into 5 record-wise folds (scikit-learn ``GroupKFold`` with
  ``shuffle=True``, seeds 0 and 1). Each fold's DS1 records are the test
  patients; the classifier trains on the other DS1 records, alone or together
  with every svdb record given by ``--svdb``. The confusion matrices of the 5
  folds are summed (pooled) and reported as AAMI Se / +P.
- Beats are the reference annotations in the AAMI classes. The lead is the
  library's choice (``ecgnet.data.records.LEAD_PREFERENCE``: MLII in mitdb, ECG1
  in svdb), band-passed 0.5-40 Hz, resampled to 125 Hz.
- Inputs:
  - ``rr3``: previous, next and local mean R-R divided by the record's mean R-R;
  - ``rr6``: those 3, and the previous and next R-R over the local mean, and
    next over previous (prematurity and the pause after it);
  - ``win``: an R-centred window from 0.25 s before to 0.45 s after the R peak
    (holds the beat's own P wave, QRS and T), divided by the record's median
    R amplitude, every third sample;
  - ``rel``: the window minus the record's median window.
- Classifiers: logistic regression (standardised inputs) and scikit-learn's
  histogram gradient boosting, both with balanced class weights.

Usage:
    python benchmarks/bench_more_patients.py --mitdb data/mitdb --svdb data/svdb
    python benchmarks/bench_more_patients.py ... --recipes LR:rr3 HGB:rr6 --seeds 0

The feature cache goes to a temporary folder (``--cache`` to keep it).
"""

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecgnet.data.records import BEAT_SYMBOLS, LEAD_PREFERENCE, list_records  # noqa: E402
from ecgnet.data.classes import AAMI_MAP, CLASS_NAMES  # noqa: E402
from ecgnet.data.splits import DS1  # noqa: E402
from ecgnet.evaluation import evaluate_confusion_matrix  # noqa: E402

FS = 125
PRE, POST = int(0.25 * FS), int(0.45 * FS)


def record_features(path, cache):
    """Labels, R-R intervals and the R-centred window of every AAMI beat of one record."""
    import wfdb
    from scipy.signal import butter, resample_poly, sosfiltfilt

    cached = Path(cache) / (str(path).strip("/").replace("/", "_") + ".npz")
    if cached.exists():
        with np.load(cached) as saved:
            return {key: saved[key] for key in saved.files}
    header = wfdb.rdheader(str(path))
    channel = next((header.sig_name.index(n) for n in LEAD_PREFERENCE if n in header.sig_name), 0)
    record = wfdb.rdrecord(str(path), channels=[channel])
    fs = record.fs
    signal = np.nan_to_num(record.p_signal[:, 0].astype(np.float64))
    signal = sosfiltfilt(butter(2, [0.5, 40], btype="band", fs=fs, output="sos"), signal)
    ratio = Fraction(FS) / Fraction(fs).limit_denominator(1000)
    signal = resample_poly(signal, ratio.numerator, ratio.denominator)
    annotations = wfdb.rdann(str(path), "atr")
    symbols = np.asarray(annotations.symbol)
    is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
    samples, symbols = annotations.sample[is_beat], symbols[is_beat]
    labels = np.array([AAMI_MAP.get(s, -1) for s in symbols])
    r = np.round(samples * FS / fs).astype(int)
    rr = np.diff(samples) / fs
    previous = np.concatenate([[rr[0]], rr])
    following = np.concatenate([rr, [rr[-1]]])
    csum = np.concatenate([[0], np.cumsum(previous)])
    i = np.arange(len(previous))
    first = np.maximum(i - 9, 0)
    local = (csum[i + 1] - csum[first]) / (i + 1 - first)
    keep = (labels >= 0) & (r - PRE >= 0) & (r + POST < len(signal))
    keep[0] = keep[-1] = False
    window = signal[r[keep][:, None] + np.arange(-PRE, POST)]
    out = dict(win=window.astype(np.float32), y=labels[keep], pre=previous[keep], post=following[keep], local=local[keep])
    np.savez(cached, **out)
    return out


def build(records, cache):
    """Features of every beat of ``records`` ((database, folder, name) triples), normalised per record."""
    rows = []
    for database, folder, name in records:
        f = record_features(Path(folder) / name, cache)
        mean_rr = np.mean(f["pre"])
        window = f["win"] / (np.median(np.abs(f["win"][:, PRE])) or 1.0)
        rr = np.stack([f["pre"] / mean_rr, f["post"] / mean_rr, f["local"] / mean_rr,
                       f["pre"] / f["local"], f["post"] / f["local"], f["post"] / f["pre"]], 1)
        rows.append(dict(win=window, rel=window - np.median(window, axis=0), rr=rr, y=f["y"],
                         group=np.full(len(f["y"]), f"{database}/{name}")))
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
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--cache", default=None, help="folder for the per-record feature cache")
    args = parser.parse_args(argv)
    for flag in ("mitdb", "svdb"):
        if not getattr(args, flag) or not Path(getattr(args, flag)).is_dir():
            parser.error(f"--{flag}: no such folder of WFDB records ({getattr(args, flag)!r})")
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import GroupKFold

    cache = args.cache or tempfile.mkdtemp(prefix="ecgnet-features-")
    Path(cache).mkdir(parents=True, exist_ok=True)
    ds1 = build([("mitdb", args.mitdb, r) for r in DS1], cache)
    svdb = build([("svdb", args.svdb, r) for r in list_records(args.svdb)], cache)
    print("DS1 beats per class", np.bincount(ds1["y"], minlength=5), "svdb", np.bincount(svdb["y"], minlength=5), flush=True)
    print("| seed | classifier:inputs | training | acc | macro-F1 (N,S,V,F) | S Se / +P | V Se / +P | F Se / +P |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for seed in args.seeds:
        folds = list(GroupKFold(n_splits=5, shuffle=True, random_state=seed).split(ds1["y"], ds1["y"], ds1["group"]))
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
                    cm += confusion_matrix(ds1["y"][test], model.predict(x_ds1[test]), labels=range(5))
                report = evaluate_confusion_matrix(cm)
                per = report["per_class"]
                f1 = np.mean([per[c]["f1"] for c in CLASS_NAMES[:4]])
                cells = " | ".join(f"{100 * per[c]['sensitivity']:.1f} / {100 * per[c]['positive_predictivity']:.1f}" for c in "SVF")
                print(f"| {seed} | {recipe} | {'DS1 + svdb' if with_svdb else 'DS1'} | {100 * report['accuracy']:.1f} | "
                      f"{100 * f1:.1f} | {cells} |  ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
