"""Ship the model for new patients that record-wise cross-validation over DS1 + svdb chose, with its card.

Steps (DS2 is read once, in step 4, after the choice):

1. The choice: ``fusion.json`` of ``benchmarks/experiments/cv_fusion.py`` holds the score
   of every candidate by the cross-validation's rule: each network of
   ``benchmarks/experiments/cv_new_patients.py``, the R-R logistic regression alone, and
   each network fused with it. The best one is shipped; if that is the
   regression alone, no network is, and the script says so.
2. The network: the mean of the three final networks that
   ``cv_new_patients.py --final-seeds 0 1 2`` trained on every DS1 + svdb
   record (``final-<candidate>-s<seed>.keras``), as
   :func:`ecgnet.ensembles.build_ensemble`.
3. For a fusion: the R-R logistic regression (standardised inputs, balanced
   class weights, the network's 3 record-relative R-R features) fitted on
   every training beat, turned into Keras layers
   (:func:`ecgnet.ensembles.logistic_regression_model`) and multiplied with
   the network (:func:`ecgnet.ensembles.fuse_with_rr_regression`).
4. The model is measured on the test part of ``--data`` (DS2), saved as
   ``ecgnet/weights/NAME.keras`` and described in ``NAME.json``: training
   databases, recipe, the cross-validated figures, the DS2 figures, commands.

Usage:
    python -m benchmarks.release.ship_new_patients ecgnet-mitbih-svdb --data data/mitbih-interpatient-svdb \\
        --cv runs/cv-new-patients-cpu
"""

import argparse
import json
import re
from pathlib import Path

import numpy as np

from ecgnet.data import CLASS_NAMES, load_part, model_inputs
from ecgnet.data.features import select_rr_features
from ecgnet.files import atomic_path, write_text_atomic
from ecgnet.metrics import evaluate_predictions
from ecgnet.pretrained_models import WEIGHTS_DIR, load_model
from ecgnet.recipe import InputRecipe

from benchmarks.experiments.cv_fusion import logistic_regression
from benchmarks.experiments.cv_new_patients import CANDIDATES

FUSED = " x R-R regression"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--data", required=True, help="the prepared DS1 + svdb inter-patient folder (test part: DS2)")
    parser.add_argument("--cv", required=True, type=Path, help="the cross-validation folder (summary.json, fusion.json, final models)")
    args = parser.parse_args()

    summary = json.loads((args.cv / "summary.json").read_text(encoding="utf-8"))
    fusion = json.loads((args.cv / "fusion.json").read_text(encoding="utf-8"))
    best = fusion["best"]
    print(f"chosen by cross-validation ({summary['protocol']['selection']}): {best}")
    if best not in CANDIDATES and not best.endswith(FUSED):
        raise SystemExit(f"the best candidate is {best!r}, not a network: nothing to ship")
    network_name = best.removesuffix(FUSED)
    window, channels, rr_width = CANDIDATES[network_name]
    members_files = sorted(args.cv.glob(f"final-{network_name}-s*.keras"))
    if len(members_files) < 2:
        raise SystemExit(f"{args.cv}: needs the final models of {network_name} (final-{network_name}-s*.keras)")

    from ecgnet.ensembles import build_ensemble, fuse_with_rr_regression, logistic_regression_model

    model = build_ensemble([load_model(path) for path in members_files], name=args.name.replace("-", "_"))
    train = load_part(args.data, "train")
    if best.endswith(FUSED):
        rr = select_rr_features(train.rr_features(), rr_width)
        regression = logistic_regression().fit(rr, train.y)
        model = fuse_with_rr_regression(model, logistic_regression_model(regression), name=args.name.replace("-", "_"))
    test = load_part(args.data, "test")
    probabilities = model.predict(model_inputs(model, test), batch_size=1024, verbose=0)
    report = evaluate_predictions(test.y, probabilities.argmax(axis=1), CLASS_NAMES)
    with atomic_path(WEIGHTS_DIR / f"{args.name}.keras") as tmp:
        model.save(tmp)

    records = sorted(set(train.record.tolist()))
    svdb = [r for r in records if r.startswith("svdb/")]
    recipe = InputRecipe.from_model(model)
    if recipe != InputRecipe(window, channels, rr_width):
        raise SystemExit(f"{network_name}: the final models take {recipe}, not the candidate's {InputRecipe(window, channels, rr_width)}")
    protocol = summary["protocol"]
    cv_rows = [" ".join(line.split()) for line in fusion["rows"] if re.match(re.escape(best) + r"\s+s\d", line.strip())]
    card = {
        "name": args.name,
        "file": f"ecgnet/weights/{args.name}.keras",
        "parameters": int(model.count_params()),
        "preset": "small",
        "inputs": recipe.describe(),
        "recipe": recipe.to_config(),
        "combination": ("the mean of the networks' probabilities, multiplied by those of a logistic regression on the "
                        f"same {rr_width} R-R features and renormalised (ecgnet.ensembles.fuse_with_rr_regression)"
                        if best.endswith(FUSED) else "the mean of the networks' probabilities"),
        "data": (f"MIT-BIH Arrhythmia Database 1.0.0 (mitdb): the {len(records) - len(svdb)} DS1 records; MIT-BIH "
                 f"Supraventricular Arrhythmia Database 1.0.0 (svdb): {len(svdb)} records "
                 f"({', '.join(r.split('/')[1] for r in svdb)}); beats rebuilt with `python -m ecgnet prepare`"),
        "split": "inter-patient",
        "train_beats": int(len(train)),
        "epochs": protocol["epochs"],
        "batch_size": protocol["batch_size"],
        "keep_normal": protocol.get("keep_normal", 1.0),
        "seed": [int(p.stem.rsplit("-s", 1)[1]) for p in members_files],
        "members": [p.name for p in members_files],
        "refit": True,
        "selection": f"record-wise {protocol['folds']}-fold cross-validation over DS1 + svdb, seeds "
                     f"{protocol['seeds']}: {protocol['selection']}; scores {fusion['scores']}",
        "cross_validation": cv_rows,
        "train_command": (
            f"python -m benchmarks.experiments.cv_new_patients --data {args.data} --out {args.cv} --candidates "
            f"{' '.join(sorted({k.rsplit(' s', 1)[0] for k in summary['results']}))} --seeds "
            f"{' '.join(map(str, protocol['seeds']))} --final-seeds 0 1 2 --epochs {protocol['epochs']} "
            f"--batch-size {protocol['batch_size']} --keep-normal {protocol.get('keep_normal', 1.0)} && "
            f"python -m benchmarks.experiments.cv_fusion --data {args.data} --cv {args.cv} && "
            f"python -m benchmarks.release.ship_new_patients {args.name} --data {args.data} --cv {args.cv}"
        ),
        "evaluate_command": f"python -m ecgnet evaluate --model {args.name} --data {args.data}",
        "validation": None,
        "test": {"beats": report["num_beats"], "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                 "per_class": report["per_class"]},
        "limits": (
            "Research and teaching only; not a medical device and not validated for clinical use. Trained on "
            "Holter records of the 1970s and 1980s, one lead (MLII in mitdb, ECG1 in svdb); beats located from the "
            "reference annotations in the figures here. Tested on patients never seen in training (DS2, 22 "
            "records of mitdb). Q has 7 test beats, so its Q figures mean little. It reads a beat against its "
            "record (the median window, the mean R-R interval): feed it whole records, not loose beats."
        ),
    }
    write_text_atomic(WEIGHTS_DIR / f"{args.name}.json", json.dumps(card, indent=2) + "\n")
    pc = report["per_class"]
    print(f"shipped {args.name}: DS2 accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}, "
          + ", ".join(f"{c} {100 * pc[c]['sensitivity']:.1f}/{100 * pc[c]['positive_predictivity']:.1f}" for c in "NSVF"))
    first = {key: value[:256] for key, value in model_inputs(model, test).items()}
    np.testing.assert_allclose(load_model(args.name).predict(first, verbose=0), probabilities[:256], atol=1e-5)  # the file is the model

if __name__ == "__main__":
    main()
