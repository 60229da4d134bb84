"""New patients: DS2 per-class Se / +P of the R-R-only floor and of inter-patient models, in one table.

The DS2 records (de Chazal et al. 2004) are the test set of the inter-patient
split; no model was chosen on them. Rows:

- ``R-R logistic regression``: the floor that a network for new patients
  should not fall below: scikit-learn logistic regression (standardised
  inputs, balanced class weights) on the 6 R-R features of
  ``ecgnet.data.rr_features`` (previous, next and local mean R-R, and the
  same divided by the record's mean R-R), trained on the DS1 records of the
  training part only;
- each ``--model``: a shipped model name or a ``.keras`` file, fed the inputs
  its recipe asks for (``ecgnet.data.model_inputs``).

Usage:
    python -m benchmarks.measure.bench_ds2 --data data/mitbih-interpatient-svdb \\
        --model ecgnet-mitbih-interpatient ecgnet-mitbih-svdb

``--data`` is a folder written by ``python -m ecgnet prepare ... --split
inter-patient`` (its test part is DS2 whatever the training databases); models
on the centred window need one prepared by this version. ``--json`` writes the
figures too.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from ecgnet.data import CLASS_NAMES, DS1, load_part
from ecgnet.metrics import evaluate_predictions


def rr_floor(train, test):
    """Predictions on ``test`` of the R-R-only logistic regression trained on the DS1 beats of ``train``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ds1 = np.isin(train.record, [str(record) for record in DS1])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    model.fit(train.rr_features()[ds1], train.y[ds1])
    return model.predict(test.rr_features()), int(ds1.sum())


def row(name, report):
    pc = report["per_class"]
    cells = "  ".join(f"{100 * pc[c]['sensitivity']:5.1f} {100 * pc[c]['positive_predictivity']:5.1f}" for c in "NSVF")
    return f"{name:34s} {cells}  {100 * report['accuracy']:5.1f}  {100 * report['macro_f1']:5.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="prepared inter-patient folder (test part: DS2)")
    parser.add_argument("--model", nargs="*", default=["ecgnet-mitbih-interpatient"], help="shipped names or .keras files")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    train, test = load_part(args.data, "train"), load_part(args.data, "test")
    predictions, ds1_beats = rr_floor(train, test)
    results = {"R-R logistic regression (DS1)": evaluate_predictions(test.y, predictions, CLASS_NAMES)}
    if args.model:
        from ecgnet.data import model_inputs
        from ecgnet.pretrained_models import load_model

        for name in args.model:
            model = load_model(name)
            probabilities = model.predict(model_inputs(model, test), batch_size=1024, verbose=0)
            results[Path(name).name] = evaluate_predictions(test.y, probabilities.argmax(axis=1), CLASS_NAMES)
    print(f"DS2: {len(test.y)} beats (S {int((test.y == 1).sum())}, V {int((test.y == 2).sum())}); "
          f"the R-R floor trained on {ds1_beats} DS1 beats")
    print(f"{'':34s} " + "  ".join(f"{c + ' Se':>5s} {c + ' +P':>5s}" for c in "NSVF") + "    acc    mF1")
    for name, report in results.items():
        print(row(name, report))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
