"""Fine-tune a shipped model with real noise, and decide on validation beats whether it replaces the shipped one.

The recipe and the shipping rule are in ``docs/results.md`` section 9.1,
fixed before any fine-tuned model was measured:

1. the model's own training beats (its card says which): ``ecgnet-mitbih``
   the kaggle training part less its validation-seed-0 beats,
   ``ecgnet-mitbih-interpatient`` the DS1 records, ``ecgnet-mitbih-svdb``
   DS1 + the svdb records;
2. :func:`ecgnet.training.finetune_with_noise`: 2 epochs, each the clean
   beats and a fresh noisy copy (:func:`ecgnet.data.noisy.noisy_copy`: real
   ``bw``/``ma`` noise from the first half of each noise record, in 30-60 s
   stretches at 12, 6 or 0 dB), Adam from 1e-4, batch 256, batch
   normalisation frozen, the class handling of the original training
   (plain / class weights / 10 % of the N beats and class weights), the R-R
   regression of ``ecgnet-mitbih-svdb`` frozen;
3. the old and the new model on validation beats only (kaggle: the
   validation-seed-0 beats; inter-patient: the 39 svdb records; svdb: its
   training beats, a forgetting check), clean and with first-half noise at
   6 dB; the rule: clean macro-F1 drops by at most 1 point and the F1 of V
   with noise rises.

The fine-tuned model goes to ``OUT/NAME.keras`` and the figures to
``OUT/NAME.json``; nothing in ``ecgnet/weights`` changes here.

Usage:
    python -m benchmarks.release.finetune_noise ecgnet-mitbih-interpatient --data data/mitbih-interpatient \\
        --validation-data data/mitbih-interpatient-svdb --out runs/noise-finetune
    python -m benchmarks.release.finetune_noise ecgnet-mitbih-svdb --data data/mitbih-interpatient-svdb --out runs/noise-finetune
    python -m benchmarks.release.finetune_noise ecgnet-mitbih --data data/mitbih-kaggle --out runs/noise-finetune
(``--mitdb`` / ``--svdb`` / ``--noise`` default to ``$ECGNET_MITDB_DIR`` / ``$ECGNET_SVDB_DIR`` / ``$ECGNET_NSTDB_DIR``.)
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

#: The recipe of docs/results.md section 9.1.
EPOCHS = 2
LEARNING_RATE = 1e-4
BATCH_SIZE = 256
TRAIN_SNRS = (12, 6, 0)
STRETCH_SECONDS = (30.0, 60.0)
VALIDATION_SNRS = (6,)
VALIDATION_SEED = 1000
#: name -> (imbalance, keep_normal, frozen layers, validation beats)
PLANS = {
    "ecgnet-mitbih": (None, 1.0, (), "the validation-seed-0 beats of the kaggle training part"),
    "ecgnet-mitbih-interpatient": ("class_weight", 1.0, (), "the 39 svdb records (patients never seen)"),
    "ecgnet-mitbih-svdb": ("class_weight", 0.1, ("rr_regression",), "its own training beats (a forgetting check)"),
}
MAX_MACRO_F1_DROP = 0.01


def record_paths(mitdb=None, svdb=None):
    """``{record name: path}`` of every record in the folders given (None skipped), named as ``prepare`` names
    them: mitdb records by their name, those of another database as ``svdb/NAME``."""
    from ecgnet.data import list_records

    paths = {}
    for prefix, folder in (("", mitdb), ("svdb/", svdb)):
        if folder:
            paths.update({prefix + name: Path(folder) / name for name in list_records(folder)})
    return paths


def measure(model, clean, noisy):
    """Clean and noisy figures of ``model``: accuracy, macro-F1, V Se / +P / F1."""
    from ecgnet.data import model_inputs
    from ecgnet.metrics import evaluate_predictions

    figures = {}
    for label, beats in (("clean", clean), ("noisy 6 dB", noisy)):
        predicted = model.predict(model_inputs(model, beats), batch_size=2048, verbose=0).argmax(axis=1)
        report = evaluate_predictions(beats.y, predicted)
        v = report["per_class"]["V"]
        figures[label] = {"beats": int(len(beats)), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                          "V_se": v["sensitivity"], "V_pp": v["positive_predictivity"], "V_f1": v["f1"]}
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(PLANS))
    parser.add_argument("--data", required=True, help="the prepared folder the model was trained on (its train part)")
    parser.add_argument("--validation-data", help="for ecgnet-mitbih-interpatient: the prepared DS1 + svdb folder (its svdb beats)")
    parser.add_argument("--mitdb", default=os.environ.get("ECGNET_MITDB_DIR"))
    parser.add_argument("--svdb", default=os.environ.get("ECGNET_SVDB_DIR"))
    parser.add_argument("--noise", default=os.environ.get("ECGNET_NSTDB_DIR"))
    parser.add_argument("--out", type=Path, default=Path("runs/noise-finetune"))
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)

    from ecgnet.data import DS1, load_part
    from ecgnet.data.noisy import noisy_copy, read_noise_records
    from ecgnet.data.splits import validation_indices
    from ecgnet.files import write_text_atomic
    from ecgnet.pretrained_models import load_model
    from ecgnet.training import finetune_with_noise

    imbalance, keep_normal, frozen, validation_name = PLANS[args.name]
    paths = record_paths(args.mitdb, args.svdb)
    noises = read_noise_records(args.noise)
    part = load_part(args.data, "train")
    if args.name == "ecgnet-mitbih":
        train_index, val_index = validation_indices(part.y, 0.1, seed=0)
        train, validation = part.subset(train_index), part.subset(val_index)
    elif args.name == "ecgnet-mitbih-interpatient":
        if not args.validation_data:
            parser.error("ecgnet-mitbih-interpatient needs --validation-data (the DS1 + svdb folder: its svdb beats)")
        train = part
        other = load_part(args.validation_data, "train")
        validation = other.subset(~np.isin(other.record, list(DS1)))
    else:
        train = validation = part
    print(f"{args.name}: {len(train)} training beats; validation: {validation_name}, {len(validation)} beats", flush=True)

    started = time.perf_counter()
    noisy_validation = noisy_copy(validation, paths, noises, "first", VALIDATION_SNRS, VALIDATION_SEED, STRETCH_SECONDS)
    old = load_model(args.name)
    before = measure(old, validation, noisy_validation)
    print("before:", json.dumps(before), flush=True)

    model = load_model(args.name)
    result = finetune_with_noise(
        model, train, lambda epoch: noisy_copy(train, paths, noises, "first", TRAIN_SNRS, epoch, STRETCH_SECONDS),
        epochs=args.epochs, learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE, imbalance=imbalance,
        keep_normal=keep_normal, frozen=frozen, seed=0)
    print(f"fine-tuned in {result['seconds']:.0f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / f"{args.name}.keras")
    after = measure(load_model(args.out / f"{args.name}.keras"), validation, noisy_validation)
    print("after: ", json.dumps(after), flush=True)
    drop = before["clean"]["macro_f1"] - after["clean"]["macro_f1"]
    rises = after["noisy 6 dB"]["V_f1"] > before["noisy 6 dB"]["V_f1"]
    ship = drop <= MAX_MACRO_F1_DROP and rises
    print(f"clean macro-F1 {100 * before['clean']['macro_f1']:.2f} -> {100 * after['clean']['macro_f1']:.2f} "
          f"(drop {100 * drop:.2f}, at most {100 * MAX_MACRO_F1_DROP:.0f}); V F1 with noise "
          f"{100 * before['noisy 6 dB']['V_f1']:.2f} -> {100 * after['noisy 6 dB']['V_f1']:.2f}: "
          f"{'ship' if ship else 'do not ship'}", flush=True)
    summary = {
        "name": args.name, "recipe": {"epochs": args.epochs, "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE,
                                      "snrs": TRAIN_SNRS, "stretch_seconds": STRETCH_SECONDS, "noise_half": "first",
                                      "imbalance": imbalance, "keep_normal": keep_normal, "frozen": list(frozen)},
        "train_beats": int(len(train)), "finetune": result, "validation": validation_name,
        "before": before, "after": after, "ship": bool(ship), "seconds": time.perf_counter() - started,
    }
    write_text_atomic(args.out / f"{args.name}.json", json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
