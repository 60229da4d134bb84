"""Print the validation figures of finished runs side by side (never the test split).

Each run folder holds the ``training.json`` that ``python -m ecgnet train`` (or
``ensemble``) writes; its ``validation`` entry was measured on beats carved
from the training data. Use this table to choose between variants; read the
test split only afterwards, with ``python -m ecgnet evaluate``.

Usage:
    python benchmarks/compare_runs.py runs/ip-all-v1 runs/ip-relative-v1 ...
"""

import argparse
import csv
import json
from pathlib import Path


def best_epoch(run):
    """The epoch (from 1) with the best validation macro-F1 in the run's training_log.csv, or None."""
    log = run / "training_log.csv"
    if not log.exists():
        return None
    with log.open(encoding="utf-8", newline="") as f:
        scores = [float(row["val_macro_f1"]) for row in csv.DictReader(f) if row.get("val_macro_f1")]
    return 1 + max(range(len(scores)), key=scores.__getitem__) if scores else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    header = f"{'run':34s} {'beats':>6s} {'acc':>6s} {'mF1':>6s} {'best ep':>7s}" + "".join(
        f" {name + ' Se/+P':>13s}" for name in ("S", "V", "F")
    )
    print(header)
    print("-" * len(header))
    for run in args.runs:
        if not (run / "training.json").exists():
            print(f"{str(run):34s} (no training.json: not a finished `python -m ecgnet train` run)")
            continue
        card = json.loads((run / "training.json").read_text(encoding="utf-8"))
        validation = card.get("validation")
        if not validation:
            print(f"{str(run):34s} (no validation: refit on every training beat)")
            continue
        row = f"{str(run):34s} {validation.get('num_beats', 0):6d} {100 * validation['accuracy']:6.2f} {100 * validation['macro_f1']:6.2f} {best_epoch(run) or '':>7}"
        for name in ("S", "V", "F"):
            figures = validation.get("per_class", {}).get(name)
            row += (
                f" {100 * figures['sensitivity']:6.1f}/{100 * figures['positive_predictivity']:5.1f}"
                if figures
                else f" {'':>13s}"
            )
        print(row)


if __name__ == "__main__":
    main()
