"""Per-record validation figures of finished runs: which held-out patients fail, and how.

A run's validation figures (``compare_runs.py``) pool its held-out records; for
the inter-patient task the interesting question is which records the errors
come from. For every run this script predicts the run's own validation beats
(the records its training held out, never the test split) with the run's
``model.keras`` and prints, per record, the beats found / the beats there and
the false alarms of S, V and F, and how premature the record's S beats are
(their mean previous R-R over the record's mean R-R). Runs that hold out the
same record (folds of different splits) print it once per run.

Usage:
    python -m benchmarks.measure.per_record --data data/mitbih-interpatient runs/cv-prev-f{1,2,3,4,5}
"""

import argparse
from pathlib import Path

import numpy as np

from ecgnet.data import CLASS_NAMES, load_part, model_inputs
from ecgnet.pretrained_models import load_model
from ecgnet.runs import read_training_card, run_validation_index

SHOWN = (1, 2, 3)  # S, V, F


def record_rows(y_true, y_pred, records, relative_rr):
    """One row per record: (record, beats, per shown class (found, there, false alarms), S beats' mean relative R-R)."""
    rows = []
    for record in np.unique(records):
        mine = records == record
        t, p = y_true[mine], y_pred[mine]
        counts = [(int(np.sum((t == c) & (p == c))), int(np.sum(t == c)), int(np.sum((t != c) & (p == c)))) for c in SHOWN]
        s_rr = float(np.mean(relative_rr[mine][t == 1])) if np.any(t == 1) else None
        rows.append((str(record), int(mine.sum()), counts, s_rr))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders written by `python -m ecgnet train`")
    parser.add_argument("--data", type=Path, required=True, help="the data folder the runs were trained on")
    args = parser.parse_args(argv)
    part = load_part(args.data, "train")
    if part.record is None:
        raise SystemExit(f"{part.source}: no record names (a Kaggle CSV); pass the folder written by `python -m ecgnet prepare`")
    relative_rr = part.rr_features()[:, 3]  # previous R-R / the record's mean R-R (ecgnet.data.rr_features)
    print(f"{'run':26s} {'record':>6s} {'beats':>6s}" + "".join(f" {CLASS_NAMES[c] + ' found/there fp':>20s}" for c in SHOWN) + "  S prev R-R / mean")
    for run in args.runs:
        card = read_training_card(run)
        model = load_model(run / "model.keras")
        val_index = run_validation_index(card, part)
        y_pred = model.predict(model_inputs(model, part, val_index), batch_size=1024, verbose=0).argmax(axis=1)
        rows = record_rows(part.y[val_index], y_pred, part.record[val_index], relative_rr[val_index])
        for record, beats, counts, s_rr in rows:
            print(
                f"{str(run):26s} {record:>6s} {beats:6d}"
                + "".join(f" {f'{found}/{there}':>14s} {fp:5d}" for found, there, fp in counts)
                + (f"  {s_rr:17.2f}" if s_rr is not None else "")
            )


if __name__ == "__main__":
    main()
