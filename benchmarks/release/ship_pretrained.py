"""Copy a finished training run into ``ecgnet/weights/`` as a shipped model with its card.

The run folder must hold ``model.keras`` and ``training.json`` (written by
``python -m ecgnet train``) and ``evaluation/report.json`` (written by
``python -m ecgnet evaluate ... --out RUN/evaluation``). The model is saved
again without its optimizer state (smaller; inference only), and the model card
``NAME.json`` records the data, split, input recipe (as data, and in words),
exact commands, validation and test figures.

Usage:
    python -m benchmarks.release.ship_pretrained NAME RUN_DIR --train-command "python -m ecgnet train ..."
"""

import argparse
import json
from pathlib import Path

from ecgnet.files import atomic_path, write_text_atomic
from ecgnet.pretrained_models import WEIGHTS_DIR, load_model
from ecgnet.recipe import InputRecipe

LIMITS = (
    "Research and teaching only; not a medical device and not validated for clinical use. "
    "Trained and tested on the 48 MIT-BIH records (47 subjects, 1975-1979 Holter tapes, lead MLII); "
    "beats are located from the reference annotations, not detected. "
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("run", type=Path)
    parser.add_argument("--train-command", required=True, help="the command(s) that trained the run (joined with ' && ' for several)")
    args = parser.parse_args()

    training = json.loads((args.run / "training.json").read_text())
    report = json.loads((args.run / "evaluation" / "report.json").read_text())
    model = load_model(args.run / "model.keras")
    with atomic_path(WEIGHTS_DIR / f"{args.name}.keras") as tmp:
        model.save(tmp)  # loaded with compile=False: no optimizer state is stored

    recipe = InputRecipe.from_model(model)
    if "recipe" in training and InputRecipe.from_config(training["recipe"]) != recipe:
        raise SystemExit(f"{args.run}: training.json names the recipe {InputRecipe.from_config(training['recipe'])}, "
                         f"but model.keras takes {recipe}")
    channels = recipe.beat_channels
    split_limit = (
        "Kaggle split: beats of every patient are in both training and test, so these figures are "
        "intra-patient and flatter the model; expect far less on new patients (see the inter-patient model)."
        if training["split"] == "kaggle"
        else "Inter-patient split: tested on patients never seen in training (DS2). Q has 7 test beats and "
        "the paced records are excluded, so its Q figures mean little."
    )
    if channels >= 3:
        split_limit += (
            " It needs whole records (each beat's predecessor): on beats without their predecessor, such as "
            "the random beats of ecgnet/data/sample, it is barely better than calling every beat normal."
        )
    if channels == 6:
        split_limit += (
            " It reads both leads of a record; data prepared without `--second-lead`, and one-lead records, "
            "cannot feed it."
        )
    card = {
        "name": args.name,
        "file": f"ecgnet/weights/{args.name}.keras",
        "parameters": int(model.count_params()),
        "preset": training["preset"],
        "inputs": recipe.describe(),
        "recipe": recipe.to_config(),
        "data": "MIT-BIH Arrhythmia Database 1.0.0 (PhysioNet mitdb), beats rebuilt with `python -m ecgnet prepare`",
        "split": training["split"],
        "train_beats": training["train_beats"],
        "epochs": training["epochs"],
        "seed": training["seed"],
        "members": training.get("members"),
        "refit": training.get("refit", False),
        "train_command": args.train_command,
        "evaluate_command": f"python -m ecgnet evaluate --model {args.name} --data {Path(training['train_data']).parent}",
        "validation": training["validation"],
        "test": {
            "beats": report["num_beats"],
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "per_class": report["per_class"],
        },
        "limits": LIMITS + split_limit,
    }
    write_text_atomic(WEIGHTS_DIR / f"{args.name}.json", json.dumps(card, indent=2) + "\n")
    size = (WEIGHTS_DIR / f"{args.name}.keras").stat().st_size
    print(f"shipped {args.name}: {size / 1e6:.2f} MB, test accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
