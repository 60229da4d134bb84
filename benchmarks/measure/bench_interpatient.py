"""Inter-patient benchmark (de Chazal et al. 2004): train on DS1, test on DS2.

Trains the small preset with R-R features in two beat representations and picks
the winner on a *patient-wise* validation set carved from DS1 (whole records
held out, so validation asks the same question as the test: new patients).
DS2 is read only after the choice, and every variant's DS2 figures are printed
so that nothing is hidden; the choice itself never looks at them.

- ``beat+rr``: the beat (187, 1) and the 6 R-R features of ``rr_features``.
- ``relative+rr``: the beat and its difference from the record's median beat
  (``record_relative_beats``, (187, 2)), and the 6 R-R features.

Needs ``data/mitbih-interpatient/{train,test}.npz`` (``python -m ecgnet prepare
--raw data/mitdb --split inter-patient --out data/mitbih-interpatient``).

Usage:
    python -m benchmarks.measure.bench_interpatient [--epochs 15] [--variants beat+rr relative+rr] [--reuse]

``--reuse`` skips training a variant whose ``model.keras`` is already in ``--out``
and measures it on the same held-out DS1 records (the split is seeded).
"""

import argparse
import json
import sys
import time
from pathlib import Path

from ecgnet.data import default_data_dir, group_holdout_indices, load_beats_npz, record_relative_beats, rr_features
from ecgnet.metrics import evaluate_predictions
from ecgnet.models import build_ecgnet
from ecgnet.training import train

VARIANTS = ("beat+rr", "relative+rr")


def beat_input(beats, variant):
    if variant == "relative+rr":
        return record_relative_beats(beats.x, beats.record)
    return beats.x[..., None]


def summary(report):
    per_class = report["per_class"]
    figures = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
    for name in ("S", "V"):
        figures[f"{name}_Se"] = per_class[name]["sensitivity"]
        figures[f"{name}_+P"] = per_class[name]["positive_predictivity"]
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir() / "mitbih-interpatient")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path("runs/bench_interpatient"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="measure already trained variants instead of training them")
    args = parser.parse_args()
    if not (args.data / "train.npz").exists():
        sys.exit(f"{args.data / 'train.npz'} not found: run `python -m ecgnet prepare ... --split inter-patient` first")

    import keras

    ds1 = load_beats_npz(args.data / "train.npz")
    results = {}
    for variant in args.variants:
        x = beat_input(ds1, variant)
        rr = rr_features(ds1.rr, ds1.record)
        model_path = args.out / variant / "model.keras"
        if args.reuse and model_path.exists():
            _, val = group_holdout_indices(ds1.record, 0.2, seed=args.seed)  # as train() carves it
            model = keras.saving.load_model(model_path)
            y_pred = model.predict({"beat": x[val], "rr": rr[val]}, batch_size=512, verbose=0).argmax(axis=1)
            results[variant] = {"model": str(model_path), "validation": summary(evaluate_predictions(ds1.y[val], y_pred))}
            print(variant, "validation (held-out DS1 records, reused model):", json.dumps(results[variant]["validation"]))
            continue
        started = time.perf_counter()
        result = train(
            lambda: build_ecgnet("small", input_shape=x.shape[1:], rr_features=rr.shape[1]),
            x, ds1.y, rr=rr,
            validation_fraction=0.2, validation_groups=ds1.record,
            epochs=args.epochs, seed=args.seed, out_dir=args.out / variant, verbose=2,
        )
        results[variant] = {
            "model": str(result.paths["model"]),
            "train_minutes": (time.perf_counter() - started) / 60,
            "validation": summary(result.validation),
        }
        print(variant, "validation (held-out DS1 records):", json.dumps(results[variant]["validation"]))

    chosen = max(results, key=lambda name: results[name]["validation"]["macro_f1"])
    print(f"\nchosen on validation macro-F1: {chosen}\n")

    ds2 = load_beats_npz(args.data / "test.npz")
    rows = []
    for variant, entry in results.items():
        model = keras.saving.load_model(entry["model"])
        inputs = {"beat": beat_input(ds2, variant), "rr": rr_features(ds2.rr, ds2.record)}
        y_pred = model.predict(inputs, batch_size=512, verbose=0).argmax(axis=1)
        entry["test_ds2"] = summary(evaluate_predictions(ds2.y, y_pred))
        rows.append((variant, entry))

    print(f"{'variant':<14}{'split':<12}{'acc':>7}{'mF1':>7}{'S Se':>7}{'S +P':>7}{'V Se':>7}{'V +P':>7}")
    for variant, entry in rows:
        for split, figures in (("val (DS1)", entry["validation"]), ("test (DS2)", entry["test_ds2"])):
            print(
                f"{variant + ('*' if variant == chosen else ''):<14}{split:<12}"
                + "".join(f"{100 * figures[key]:7.1f}" for key in ("accuracy", "macro_f1", "S_Se", "S_+P", "V_Se", "V_+P"))
            )
    print("* chosen on validation; figures in %")
    (args.out / "results.json").write_text(json.dumps({"chosen": chosen, "results": results}, indent=2))


if __name__ == "__main__":
    main()
