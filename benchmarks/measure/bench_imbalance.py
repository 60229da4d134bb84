"""Which way of handling class imbalance gives the best validation macro-F1?

Trains the same model once per ``imbalance=`` option of :func:`ecgnet.training.train`
(``class_weight``, ``balanced``, ``focal``, ``none``) on the prepared Kaggle-split
training beats ``data/mitbih-kaggle/train.npz`` (``python -m ecgnet prepare``
writes it). The validation beats are carved out of the training beats by
``train`` itself; the test split is never read.

Usage:
    python -m benchmarks.measure.bench_imbalance --quick      # stratified subset, few epochs (CPU, minutes)
    python -m benchmarks.measure.bench_imbalance              # all 87k beats, 30 epochs (GPU)
    python -m benchmarks.measure.bench_imbalance --options focal none --seeds 0 1

Prints one line per option and seed (validation macro-F1 and per-class F1) and
writes ``results.json`` under ``--out-dir``.

Measured with ``--quick`` (20,000 beats: 18,000 train / 2,000 validation, of which
15 F beats; ecgnet "small", 6 epochs, seed 0, 2 CPU cores, about 4 minutes per
option), validation macro-F1 / F1 of class F:

    class_weight  0.7132 / 0.35   (the default of ``train``)
    focal         0.6709 / 0.42
    balanced      0.6400 / 0.17
    none          0.6081 / 0.00

``--quick --seeds 1 --options class_weight focal`` (another split and
initialisation): class_weight 0.7461 / 0.33, focal 0.7618 / 0.38. Mean of the two
seeds: class_weight 0.730, focal 0.716: class_weight stays the default, but the
gap to focal is smaller than the spread between seeds.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ecgnet.data import default_data_dir

OPTIONS = {"class_weight": "class_weight", "balanced": "balanced", "focal": "focal", "none": None}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data_dir() / "mitbih-kaggle" / "train.npz"))
    parser.add_argument("--quick", action="store_true", help="a stratified subset of 20000 beats, 6 epochs")
    parser.add_argument("--subset", type=int, default=None, help="number of training beats to use (stratified)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--model", default="ecgnet-small", choices=["ecgnet-small", "kachuee2018"])
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--out-dir", default="runs/bench_imbalance")
    args = parser.parse_args(argv)
    if args.quick:
        args.subset = args.subset or 20000
        args.epochs = args.epochs or 6
    args.epochs = args.epochs or 30
    return args


def main(argv=None):
    args = parse_args(argv)
    data_path = Path(args.data)
    if not data_path.is_file():
        print(f"{data_path}: not found. Prepare it first: python -m ecgnet prepare (Kaggle split).", file=sys.stderr)
        return 1

    from ecgnet.data.splits import stratified_indices
    from ecgnet.data import CLASS_NAMES
    from ecgnet.files import write_text_atomic
    from ecgnet.models import build_ecgnet, build_kachuee2018
    from ecgnet.training import train

    with np.load(data_path) as data:  # the training split only; test.npz is never opened
        x, y = data["x"].astype(np.float32), data["y"].astype(np.int64)
    if args.subset and args.subset < len(y):
        _, keep = stratified_indices(y, test_fraction=args.subset / len(y), seed=0)
        x, y = x[keep], y[keep]
    print(f"{len(y)} training beats, per class {dict(zip(CLASS_NAMES, np.bincount(y, minlength=5).tolist()))}; "
          f"model {args.model}, {args.epochs} epochs, seeds {args.seeds}")
    build_model = (lambda: build_ecgnet("small")) if args.model == "ecgnet-small" else build_kachuee2018

    results = []
    for option in args.options:
        for seed in args.seeds:
            start = time.time()
            result = train(
                build_model, x, y, epochs=args.epochs, batch_size=args.batch_size, imbalance=OPTIONS[option],
                augment=not args.no_augment, out_dir=Path(args.out_dir) / f"{option}_seed{seed}", seed=seed,
                verbose=2,
            )
            per_class = {name: round(m["f1"], 4) for name, m in result.validation["per_class"].items()}
            row = {
                "option": option,
                "seed": seed,
                "val_macro_f1": round(result.validation["macro_f1"], 4),
                "val_accuracy": round(result.validation["accuracy"], 4),
                "per_class_f1": per_class,
                "epochs_run": len(result.history.get("epoch", [])),
                "seconds": round(time.time() - start, 1),
            }
            results.append(row)
            print(f"RESULT {option:>12s} seed {seed}: val macro-F1 {row['val_macro_f1']:.4f}  "
                  f"acc {row['val_accuracy']:.4f}  F1 {per_class}  ({row['seconds']} s)", flush=True)

    print("\nValidation macro-F1 (mean over seeds):")
    for option in args.options:
        scores = [r["val_macro_f1"] for r in results if r["option"] == option]
        print(f"  {option:>12s}: {np.mean(scores):.4f}" + (f" ± {np.std(scores):.4f}" if len(scores) > 1 else ""))
    out = Path(args.out_dir) / "results.json"
    write_text_atomic(out, json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
