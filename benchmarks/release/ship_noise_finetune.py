"""Ship a model fine-tuned with real noise (``finetune_noise.py``) in place of the shipped one, and update its card.

Only a model whose shipping rule said ``ship`` (``OUT/NAME.json`` of
``benchmarks/release/finetune_noise.py``, measured on validation beats) is
shipped. The card keeps its fields and gets: the fine-tune appended to
``train_command``; ``test`` from ``python -m ecgnet evaluate --model
OUT/NAME.keras --data ... --out OUT/NAME-evaluation`` (the figures of the
model before it in ``test_before_noise_finetune``); ``noise_finetune``: the
recipe, its time, the validation figures before and after; and, with
``--noise-json BEFORE AFTER`` (``bench_noise --json`` of the old and of the new
model on the same records), ``noise_stress_test``: accuracy, V Se and V +P at each SNR,
before and after.

Usage:
    python -m benchmarks.release.ship_noise_finetune ecgnet-mitbih-interpatient --finetuned runs/noise-finetune \\
        --fine-tune-command "python -m benchmarks.release.finetune_noise ..." \\
        --noise-json runs/noise-ds2-old.json runs/noise-ds2-new.json
"""

import argparse
import json
from pathlib import Path

from ecgnet.files import atomic_path, write_text_atomic
from ecgnet.pretrained_models import WEIGHTS_DIR, load_model


def noise_figures(before_path, after_path, old, new):
    """``{noise: {SNR: {"before": {...}, "after": {...}}}}`` from two ``bench_noise --json`` runs on the same
    records: the old model's column (``old``) of the first, the new one's (``new``) of the second."""
    before, after = (json.loads(Path(path).read_text(encoding="utf-8")) for path in (before_path, after_path))
    if before["records"] != after["records"] or before["noise_half"] != after["noise_half"]:
        raise SystemExit(f"{before_path} and {after_path} measured other records or noise")
    figures = {"records": before["records"], "noise_half": before["noise_half"], "beats_scored": before["beats_scored"]}
    for kind, rows in before["rows"].items():
        figures[kind] = {
            snr: {side: {k: round(v, 4) for k, v in measured["rows"][kind][snr][model].items() if k in ("accuracy", "V_se", "V_pp")}
                  for side, measured, model in (("before", before, old), ("after", after, new))}
            for snr in rows
        }
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--finetuned", type=Path, required=True, help="the --out folder of finetune_noise.py")
    parser.add_argument("--fine-tune-command", required=True, help="the finetune_noise.py command that made the model")
    parser.add_argument("--noise-json", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                        help="bench_noise --json of the old model (--models NAME) and of the new one (--models OUT/NAME.keras)")
    args = parser.parse_args()

    summary = json.loads((args.finetuned / f"{args.name}.json").read_text(encoding="utf-8"))
    if not summary["ship"]:
        raise SystemExit(f"{args.finetuned / args.name}.json: the shipping rule said do not ship; nothing changed")
    report = json.loads((args.finetuned / f"{args.name}-evaluation" / "report.json").read_text(encoding="utf-8"))
    card = json.loads((WEIGHTS_DIR / f"{args.name}.json").read_text(encoding="utf-8"))
    new_path = args.finetuned / f"{args.name}.keras"
    model = load_model(new_path)
    with atomic_path(WEIGHTS_DIR / f"{args.name}.keras") as tmp:
        model.save(tmp)  # loaded with compile=False: no optimizer state is stored

    old_test = card["test"]
    card["train_command"] = f"{card['train_command']} && {args.fine_tune_command}"
    card["test_before_noise_finetune"] = {k: old_test[k] for k in ("beats", "accuracy", "macro_f1")} | {
        "per_class": {c: {k: v[k] for k in ("sensitivity", "positive_predictivity", "f1")}
                      for c, v in old_test["per_class"].items()}}
    card["test"] = {"beats": report["num_beats"], "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                    "per_class": report["per_class"]}
    card["noise_finetune"] = {
        "recipe": summary["recipe"], "train_beats": summary["train_beats"],
        "seconds": round(summary["finetune"]["seconds"], 1),
        "rule": "shipped when, on the validation beats, clean macro-F1 drops by at most 1 point and the F1 of V "
                "with noise (first half of the noise records, 6 dB) rises (docs/results.md 9.1)",
        "validation": summary["validation"], "before": summary["before"], "after": summary["after"],
    }
    if args.noise_json:
        card["noise_stress_test"] = noise_figures(*args.noise_json, args.name, str(new_path))
    write_text_atomic(WEIGHTS_DIR / f"{args.name}.json", json.dumps(card, indent=2) + "\n")
    print(f"shipped {args.name}: test accuracy {old_test['accuracy']:.4f} -> {report['accuracy']:.4f}, "
          f"macro-F1 {old_test['macro_f1']:.4f} -> {report['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
