"""Print the validation figures of finished runs side by side (never the test split).

Each run folder holds the ``training.json`` that ``python -m ecgnet train`` (or
``ensemble``) writes; its ``validation`` entry was measured on beats carved
from the training data. Use this table to choose between variants; read the
test split only afterwards, with ``python -m ecgnet evaluate``.

With ``--pool``, the runs are the folds of one record-wise cross-validation
(``train --validation-fold K/N``): their validation confusion matrices are
summed and one line gives the figures over every held-out beat. Give
``--pool`` once per recipe to compare recipes.

Usage:
    python -m benchmarks.measure.compare_runs runs/ip-all-v1 runs/ip-relative-v1 ...
    python -m benchmarks.measure.compare_runs --pool runs/ip-cv-f{1,2,3,4,5} --pool runs/ip-bd-cv-f{1,2,3,4,5}
"""

import argparse
import csv
from pathlib import Path

from ecgnet.errors import EcgnetError
from ecgnet.runs import pool_runs, read_training_card


def best_epoch(run):
    """The epoch (from 1) with the best validation macro-F1 in the run's training_log.csv, or None."""
    log = run / "training_log.csv"
    if not log.exists():
        return None
    with log.open(encoding="utf-8", newline="") as f:
        scores = [float(row["val_macro_f1"]) for row in csv.DictReader(f) if row.get("val_macro_f1")]
    return 1 + max(range(len(scores)), key=scores.__getitem__) if scores else None


def read_validation(run):
    """The run's validation figures, or a one-line reason why there are none."""
    try:
        validation = read_training_card(run).get("validation")
    except EcgnetError:
        return None, "(no training.json: not a finished `python -m ecgnet train` run)"
    return (validation, None) if validation else (None, "(no validation: refit on every training beat)")


def format_row(label, validation, epoch=""):
    row = f"{label:34s} {validation.get('num_beats', 0):6d} {100 * validation['accuracy']:6.2f} {100 * validation['macro_f1']:6.2f} {epoch:>7}"
    for name in ("S", "V", "F"):
        figures = validation.get("per_class", {}).get(name)
        row += (
            f" {100 * figures['sensitivity']:6.1f}/{100 * figures['positive_predictivity']:5.1f}"
            if figures
            else f" {'':>13s}"
        )
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="*", help="run folders, one line each")
    parser.add_argument("--pool", type=Path, nargs="+", action="append", default=[], metavar="RUN",
                        help="the fold runs of one cross-validation, pooled into one line (repeatable)")
    args = parser.parse_args(argv)
    if not args.runs and not args.pool:
        parser.error("give run folders, or --pool with the fold runs of a cross-validation")
    header = f"{'run':34s} {'beats':>6s} {'acc':>6s} {'mF1':>6s} {'best ep':>7s}" + "".join(
        f" {name + ' Se/+P':>13s}" for name in ("S", "V", "F")
    )
    print(header)
    print("-" * len(header))
    for run in args.runs:
        validation, why = read_validation(run)
        print(format_row(str(run), validation, best_epoch(run) or "") if validation else f"{str(run):34s} {why}")
    for runs in args.pool:
        label = f"{runs[0]} +{len(runs) - 1} pooled"
        try:
            pooled = pool_runs(runs)
        except EcgnetError as error:
            raise SystemExit(f"error: {error}") from None
        print(format_row(label, pooled, "/".join(str(best_epoch(run) or "?") for run in runs)))


if __name__ == "__main__":
    main()
