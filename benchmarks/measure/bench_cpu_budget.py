"""CPU budget: what the default preset reaches on the kaggle split in 10 minutes of training.

Trains ``build_ecgnet("small")`` on ``data/mitbih-kaggle/train.npz`` with the
library's ``train()`` (validation carved from the training beats; best epoch by
validation macro-F1), stops training once ``--budget-minutes`` of wall-clock
time have passed (the epoch in progress finishes), then measures the test split
once. The learning-rate schedule is planned for ``--epochs`` epochs, chosen so
that they fit the budget on 2 cores; the script prints the time actually used.

Usage:
    python -m benchmarks.measure.bench_cpu_budget [--rr] [--no-augment] [--epochs 10] [--budget-minutes 10]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import keras

from ecgnet.data import default_data_dir, load_part, model_inputs
from ecgnet.metrics import evaluate_predictions
from ecgnet.models import build_ecgnet
from ecgnet.training import train


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch that ends past the budget."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.started >= self.seconds:
            self.model.stop_training = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir() / "mitbih-kaggle")
    parser.add_argument("--rr", action="store_true", help="also feed the 6 R-R features")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_cpu_budget"))
    args = parser.parse_args()
    if not (args.data / "train.npz").exists():
        sys.exit(f"{args.data / 'train.npz'} not found: run `python -m ecgnet prepare ... --split kaggle` first")

    train_part = load_part(args.data, "train")
    rr = train_part.rr_features() if args.rr else None
    rr_width = 0 if rr is None else rr.shape[1]
    started = time.perf_counter()
    result = train(
        lambda: build_ecgnet("small", rr_features=rr_width),
        train_part.x, train_part.y, rr=rr,
        epochs=args.epochs, imbalance=None, augment=args.augment, out_dir=args.out, verbose=2,
        callbacks=[TimeBudget(args.budget_minutes * 60)],
    )
    minutes = (time.perf_counter() - started) / 60

    test_part = load_part(args.data, "test")  # read once, after training
    y_pred = result.model.predict(model_inputs(result.model, test_part), batch_size=512, verbose=0).argmax(axis=1)
    report = evaluate_predictions(test_part.y, y_pred)
    figures = {
        "inputs": "beat + R-R" if rr is not None else "beat",
        "augment": args.augment,
        "epochs_run": len(result.history.get("epoch", [])),
        "train_minutes_wall": round(minutes, 2),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "validation_accuracy": round(result.validation["accuracy"], 4),
        "test_accuracy": round(report["accuracy"], 4),
        "test_macro_f1": round(report["macro_f1"], 4),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
