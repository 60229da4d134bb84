"""Commands on models: ``train``, ``ensemble``, ``evaluate``, ``predict``, ``demo``.

Each handler is a thin layer over the library: load data with ``ecgnet.data``,
build with ``ecgnet.models``, fit with ``ecgnet.training.train``, measure with
``ecgnet.evaluation``. The functions here only parse, check and print.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ecgnet.data.features import RR_FEATURE_NAMES
from ecgnet.data.prepared import input_recipe, load_part, model_inputs, part_from_beats
from ecgnet.errors import DataFormatError, EcgnetError

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
SPLITS = ("kaggle", "inter-patient")
#: What `predict --record` writes for a beat cut from invalid, flat or saturated signal (ecgnet.quality).
UNCLASSIFIABLE = "-"
MAX_LISTED = 10  # bad stretches and unclassifiable beat times listed on screen


def add_parsers(subparsers):
    train = subparsers.add_parser(
        "train",
        help="train a model on prepared data",
        description="Train a model; validation is carved from the training data, the test part is never seen.",
    )
    train.add_argument("--data", type=Path, required=True, help="folder from `prepare` (train.npz) or with mitbih_train.csv")
    train.add_argument("--split", choices=SPLITS, required=True, help="the split the folder holds (recorded in the model card)")
    train.add_argument("--preset", default="small", help="model preset: a build_ecgnet preset or 'kachuee2018' (default: small)")
    train.add_argument("--epochs", type=_positive_int, default=30)
    train.add_argument("--batch-size", type=_positive_int, default=128)
    train.add_argument(
        "--rr",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="feed the per-beat R-R features as a second input (default: on for inter-patient, off for kaggle)",
    )
    train.add_argument(
        "--rr-features",
        choices=tuple(RR_FEATURE_NAMES),
        default="all",
        help="with --rr: all 6 R-R features; the 3 divided by the record's mean R-R (relative); or those 3 "
        "and the previous and next R-R divided by the local mean R-R (rhythm) (default: all)",
    )
    train.add_argument(
        "--window",
        choices=("kachuee", "centred"),
        default="kachuee",
        help="the beat as Kachuee et al. cut it, from its R peak on (kachuee), or a window from 0.256 s before "
        "the R peak to 0.44 s after, holding the beat's own P wave, scaled per record (centred; needs data "
        "prepared by this version) (default: kachuee)",
    )
    train.add_argument(
        "--relative",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="add a second beat channel: the beat minus its record's median beat (needs prepared .npz data)",
    )
    train.add_argument(
        "--previous-beat",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --relative: add a third beat channel, the previous beat of the same record, "
        "which holds this beat's P wave (needs prepared .npz data)",
    )
    train.add_argument(
        "--second-lead",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --previous-beat: add the same three channels of the record's second lead (V1 in most records; "
        "needs data prepared with `prepare --second-lead`)",
    )
    train.add_argument(
        "--beat-dropout",
        type=float,
        default=0.0,
        metavar="RATE",
        help="with --rr: drop the beat's shape features whole for this share of training beats, "
        "so that the model also learns to classify from the R-R features alone (default: 0, off)",
    )
    train.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ECG augmentation of the training beats (amplitude, baseline wander, noise, shift; default: on)",
    )
    train.add_argument(
        "--imbalance",
        choices=("class_weight", "balanced", "focal", "none"),
        default=None,
        help="how to handle class imbalance (default: the library's, class_weight)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--validation-seed",
        type=int,
        default=None,
        help="seed of the validation split alone (default: --seed); give ensemble members the same one",
    )
    train.add_argument(
        "--validation-fold",
        type=_fold,
        default=None,
        metavar="K/N",
        help="inter-patient only: validate on the K-th of N record-wise folds instead of a 20%% hold-out, "
        "so that N runs hold out every training record once (pool them with benchmarks/compare_runs.py --pool)",
    )
    train.add_argument(
        "--refit",
        action="store_true",
        help="train on every training beat for exactly --epochs epochs, without validation "
        "(choose --epochs with a validated run of the same recipe first)",
    )
    train.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, logs, model.keras")
    train.set_defaults(handler=run_train)

    ensemble = subparsers.add_parser(
        "ensemble",
        help="average trained runs into one model, measured on their shared validation beats",
        description=(
            "Average the class probabilities of several `train` runs (same recipe, other --seed, "
            "same --validation-seed) into one .keras model; print each run's and the ensemble's "
            "figures on the validation beats they share. The test part is not read."
        ),
    )
    ensemble.add_argument("--runs", type=Path, nargs="+", required=True, help="run folders written by `train` (at least 2)")
    ensemble.add_argument("--data", type=Path, required=True, help="the data folder the runs were trained on")
    ensemble.add_argument("--out", type=Path, required=True, help="folder for model.keras and training.json")
    ensemble.set_defaults(handler=run_ensemble)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="evaluate a model on a test set; write report.json, report.md and confusion-matrix PNGs",
    )
    evaluate.add_argument("--model", required=True, help="a .keras file or a pretrained model name")
    evaluate.add_argument("--data", type=Path, required=True, help="folder with test.npz / test.csv / mitbih_test.csv, or one such file")
    evaluate.add_argument("--out", type=Path, default=None, help="report folder (default: beside the model, or runs/evaluate-NAME)")
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser(
        "predict",
        help="label beats from a CSV of beats or a raw WFDB record",
        description=(
            "Label beats. A --csv/.npz file with a non-finite or out-of-range sample is refused (file, line or beat, "
            "column). In a --record, beats cut from invalid (NaN), flat or saturated signal (ecgnet.quality) get "
            f"no class: they are listed as {UNCLASSIFIABLE!r} with the reason in the 'signal' column; a record "
            "without one usable beat is an error."
        ),
    )
    predict.add_argument("--model", required=True, help="a .keras file or a pretrained model name")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", type=Path, help="beats in the Kaggle CSV format (or a prepared .npz, for models that take R-R features)")
    source.add_argument("--record", type=Path, help="a WFDB record path without extension (e.g. mitdb/100), any sampling rate")
    predict.add_argument(
        "--detect",
        action="store_true",
        help="with --record: find the R peaks with the XQRS detector even where the record has reference "
        "annotations (.atr); without it a .atr file that is not valid WFDB annotations is an error",
    )
    predict.add_argument("--out", type=Path, default=None, help="write the per-beat predictions to this CSV file (replaced if it exists)")
    predict.add_argument(
        "--adapt-minutes", type=float, default=None, metavar="MINUTES",
        help="with --record: first adapt the model to the annotated beats of the record's first MINUTES minutes "
        "(as the `adapt` command does; in memory), then label the whole record; the column 'adaptation' marks "
        "the beats it was adapted on",
    )
    predict.set_defaults(handler=run_predict)

    demo = subparsers.add_parser("demo", help="offline demo: train a small model on the sample in data/sample and evaluate it")
    demo.add_argument("--data", type=Path, default=SAMPLE_DIR, help=f"folder with mitbih_train.csv(.gz) and mitbih_test.csv(.gz) (default: {SAMPLE_DIR})")
    demo.add_argument("--epochs", type=_positive_int, default=25)
    demo.add_argument("--out", type=Path, default=Path("runs/demo"))
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=run_demo)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def _fold(text):
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N and N >= 2."""
    try:
        fold, folds = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N, e.g. 2/5, received {text!r}") from None
    if not (folds >= 2 and 1 <= fold <= folds):
        raise argparse.ArgumentTypeError(f"expected K/N with N >= 2 and 1 <= K <= N, received {text!r}")
    return fold, folds


# -- handlers --------------------------------------------------------------------------------------------


def run_train(args):
    from ecgnet.data import beat_channels, select_rr_features

    if args.validation_fold and (args.split != "inter-patient" or args.refit):
        raise EcgnetError("--validation-fold splits the training records into folds: it needs --split inter-patient and no --refit")
    if not 0 <= args.beat_dropout < 1:
        raise EcgnetError(f"--beat-dropout must be in [0, 1). Received: {args.beat_dropout}")
    if args.previous_beat and not args.relative:
        raise EcgnetError("--previous-beat adds the third beat channel, after the second one that --relative adds: pass both")
    if args.window == "centred" and args.previous_beat:
        raise EcgnetError("--previous-beat shows the P wave that Kachuee's cut misses; the centred window holds it already: "
                          "use --window centred with --relative at most")
    if args.second_lead and not args.previous_beat:
        raise EcgnetError("--second-lead adds the second lead's three channels after the first lead's three: pass --relative --previous-beat too")
    _check_out_folder(args.out)
    train_part = _require_beats(load_part(args.data, "train"), labelled=True)
    use_rr = (args.split == "inter-patient") if args.rr is None else args.rr
    needs_records = [
        flag for flag, wanted in (("--rr", use_rr), ("--relative", args.relative), ("--previous-beat", args.previous_beat)) if wanted
    ]
    if needs_records and train_part["record"] is None:
        raise DataFormatError(
            f"{train_part['source']}: {' and '.join(needs_records)} need the records and R-R intervals "
            "that Kaggle CSV files lack; use the folder written by `python -m ecgnet prepare`"
        )
    x = beat_channels(train_part, 6 if args.second_lead else 1 + args.relative + args.previous_beat, window=args.window)
    rr = select_rr_features(train_part["rr"], RR_FEATURE_NAMES[args.rr_features]) if use_rr else None
    rr_width = 0 if rr is None else rr.shape[1]
    if args.beat_dropout and not rr_width:
        raise EcgnetError("--beat-dropout drops the beat's shape features so that the model learns from the R-R features: it needs --rr")
    from ecgnet.models import build_named_model  # TensorFlow loads here, after the quick checks
    from ecgnet.training import train, training_card, validation_plan, write_training_card

    validation_fraction, validation_groups = validation_plan(args.split, train_part["record"])
    input_shape = x.shape[1:]
    overrides = {"beat_dropout": args.beat_dropout} if args.beat_dropout else {}
    build_named_model(args.preset, input_shape, rr_width, **overrides)  # fail fast on an unknown preset
    options = {} if args.imbalance is None else {"imbalance": None if args.imbalance == "none" else args.imbalance}
    result = train(
        lambda: build_named_model(args.preset, input_shape, rr_width, **overrides),
        x,
        train_part["y"],
        rr=rr,
        validation_fraction=0.0 if args.refit else validation_fraction,
        validation_groups=validation_groups,
        epochs=args.epochs,
        batch_size=args.batch_size,
        augment=args.augment,
        seed=args.seed,
        validation_seed=args.validation_seed,
        validation_fold=args.validation_fold,
        out_dir=args.out,
        verbose=1 if sys.stdout.isatty() else 2,  # one line per epoch in logs
        **options,
    )
    card = training_card(
        preset=args.preset,
        split=args.split,
        rr_features=rr_width,
        window=args.window,
        relative=args.relative,
        previous_beat=args.previous_beat,
        second_lead=args.second_lead,
        beat_dropout=args.beat_dropout,
        augment=args.augment,
        train_data=train_part["source"],
        train_beats=len(train_part["y"]),
        epochs=args.epochs,
        seed=args.seed,
        validation_seed=args.validation_seed,
        validation_fold=args.validation_fold,
        refit=args.refit,
        validation=result.validation,
    )
    write_training_card(args.out, card)
    print(f"model written to {Path(args.out) / 'model.keras'}")
    return 0


def run_ensemble(args):
    """Average the runs' models; measure members and ensemble on the shared validation beats."""
    if len(args.runs) < 2:
        raise EcgnetError(f"--runs needs at least 2 run folders. Received: {len(args.runs)}")
    from ecgnet.pretrained_models import model_path

    _check_out_folder(args.out)
    for run in args.runs:  # the runs and the data are checked before TensorFlow loads
        _check_training_card(run)
        model_path(run / "model.keras")
    train_part = _require_beats(load_part(args.data, "train"), labelled=True)
    from ecgnet.ensembles import build_ensemble
    from ecgnet.files import atomic_path
    from ecgnet.pretrained_models import load_model
    from ecgnet.training import VALIDATION_KEYS, check_same_recipe, read_training_card, write_training_card

    cards = [read_training_card(run) for run in args.runs]
    check_same_recipe(cards, [str(run) for run in args.runs])
    if len(train_part["y"]) != cards[0]["train_beats"]:
        raise DataFormatError(
            f"{train_part['source']}: {len(train_part['y'])} training beats, but the runs were trained on "
            f"{cards[0]['train_beats']}; pass the data folder they were trained on"
        )
    members = [load_model(run / "model.keras") for run in args.runs]
    model = build_ensemble(members)
    validation = None
    if cards[0]["refit"]:
        print("the runs were refit on every training beat: no validation beats to measure the ensemble on")
    else:
        validation = _measure_on_validation(args.runs, members, model, train_part, cards[0])

    with atomic_path(args.out / "model.keras") as tmp:
        model.save(tmp)
    card = dict(
        cards[0],
        seed=[c["seed"] for c in cards],
        members=[str(run) for run in args.runs],
        validation=None if validation is None else {key: validation[key] for key in VALIDATION_KEYS},
    )
    write_training_card(args.out, card)
    print(f"ensemble of {len(members)} written to {args.out / 'model.keras'} ({model.count_params():,} parameters)")
    return 0


def _measure_on_validation(runs, members, model, train_part, card):
    """Print each member's and the ensemble's figures on the runs' shared validation beats."""
    from ecgnet.evaluation import evaluate_model
    from ecgnet.training import run_validation_index

    val_index = run_validation_index(card, train_part)

    fold_text = f", fold {card['validation_fold']}" if card.get("validation_fold") else ""
    print(f"validation: {len(val_index)} beats of {train_part['source']} (validation seed {card['validation_seed']}{fold_text})")
    print(f"{'model':40s} {'accuracy':>9s} {'macro-F1':>9s}")
    for run, member in zip(runs, members):
        report = evaluate_model(member, train_part, val_index)
        print(f"{str(run):40s} {report['accuracy']:9.4f} {report['macro_f1']:9.4f}")
    validation = evaluate_model(model, train_part, val_index)
    print(f"{'ensemble (mean probability)':40s} {validation['accuracy']:9.4f} {validation['macro_f1']:9.4f}")
    return validation


def run_evaluate(args):
    from ecgnet.pretrained_models import load_model, model_path

    model_path(args.model)
    test_part = _require_beats(load_part(args.data, "test"), labelled=True)  # the data first: before TensorFlow loads
    out = args.out or _default_report_dir(args.model)
    _check_out_folder(out, "--out" if args.out else "the report folder (--out)")
    from ecgnet.evaluation import report_test_part

    model = load_model(args.model)
    report_test_part(model, test_part, out, extra={"model": str(args.model), "data": str(test_part["source"])})
    print(Path(out, "report.md").read_text(encoding="utf-8"))
    print(f"report and confusion matrices written to {out}")
    return 0


def run_predict(args):
    import numpy as np

    from ecgnet.data import CLASS_NAMES
    from ecgnet.pretrained_models import load_model, model_path

    model_path(args.model)
    if args.out is not None:
        _check_out_file(args.out)
    if args.detect and args.record is None:
        raise EcgnetError("--detect finds R peaks in a --record; beats in a --csv file are already cut")
    if args.adapt_minutes is not None and (args.record is None or not args.adapt_minutes > 0):
        raise EcgnetError(f"--adapt-minutes {args.adapt_minutes:g}: needs a --record and a positive number of minutes")
    if args.csv is not None:
        part = _require_beats(load_part(args.csv, "test"))
        rows = {"beat": np.arange(len(part["y"]))}
        truth = part["y"]
        usable = np.ones(len(truth), bool)
        print(f"{len(truth)} beats read from {args.csv}")
        model = load_model(args.model)
    else:
        from ecgnet.quality import record_beats

        found = record_beats(args.record, detect=args.detect)  # the record is read and checked before TensorFlow
        peak_source = {
            "annotations": "the record's reference annotations (.atr)",
            "detector": "the XQRS R-peak detector (" + ("--detect)" if args.detect else "no annotations found)"),
        }[found.source]
        _report_bad_signal(args.record, found, peak_source)
        model = load_model(args.model)
        if input_recipe(model)["beat_channels"] > 3:  # beat channels 4 to 6 (ecgnet.data.BEAT_CHANNELS)
            one_lead = int(found.usable.sum())
            found = record_beats(args.record, detect=args.detect, second_lead=True)
            if int(found.usable.sum()) < one_lead:
                _report_second_lead(args.record, found)
        usable = found.usable
        # channels from every beat of the record, then the usable ones: a usable beat's previous
        # beat may itself be unusable (bad signal before its R peak) yet clean where it is used
        part = part_from_beats(found.beats, source=args.record)
        rows = {"time_s": np.round(found.times, 3)}
        truth = found.beats.y.astype(np.int64)
        if args.adapt_minutes is not None:  # ecgnet.adapt on the annotated first minutes (ecgnet.cli.adapt_commands)
            from ecgnet.cli.adapt_commands import adapted_for_record

            model, adapted_on = adapted_for_record(model, args.model, part, found, args.adapt_minutes)
            print(f"adapted to the {int(adapted_on.sum())} annotated beats of the first {args.adapt_minutes:g} minutes")
    probabilities = model.predict(model_inputs(model, part, usable), batch_size=512, verbose=0)
    if not np.isfinite(probabilities).all():
        first = int(np.flatnonzero(~np.isfinite(probabilities).all(axis=1))[0])
        raise EcgnetError(f"{args.model}: the model gave non-finite probabilities (first at beat {np.flatnonzero(usable)[first]}); is it a trained classifier?")
    predicted = np.full(len(usable), -1)
    predicted[usable] = probabilities.argmax(axis=1)
    confidence = np.full(len(usable), np.nan)
    confidence[usable] = probabilities.max(axis=1)
    rows["predicted"] = [CLASS_NAMES[i] if i >= 0 else UNCLASSIFIABLE for i in predicted]
    rows["confidence"] = [f"{c:.4f}" if ok else "" for c, ok in zip(confidence, usable)]
    if args.record is not None:
        rows["signal"] = [problem or "ok" for problem in found.problems]
    if truth is not None and (truth >= 0).any():
        rows["annotated"] = [CLASS_NAMES[i] if i >= 0 else "" for i in truth]
        known = (truth >= 0) & usable
        if known.any():
            print(f"agreement with the annotations: {np.mean(predicted[known] == truth[known]):.2%} of {known.sum()} labelled, classifiable beats")
    if args.adapt_minutes is not None:
        rows["adaptation"] = ["yes" if used else "" for used in adapted_on]
    import pandas as pd

    table = pd.DataFrame(rows)
    counts = table["predicted"].value_counts().reindex(list(CLASS_NAMES) + [UNCLASSIFIABLE], fill_value=0)
    print("predicted classes: " + ", ".join(f"{name} {count}" for name, count in counts.items() if name != UNCLASSIFIABLE or count))
    if args.out is not None:
        from ecgnet.files import atomic_path

        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False)
        print(f"per-beat predictions written to {args.out}")
    else:
        print(table.to_string(index=False, max_rows=40))
    return 0


def _report_bad_signal(record, found, peak_source):
    """Print the beats found, the bad stretches and the unclassifiable beats; refuse a record with no usable beat."""
    from ecgnet.quality import describe_stretches

    stretches = describe_stretches(found.stretches, found.fs, limit=MAX_LISTED)
    if len(found.usable) == 0:
        raise DataFormatError(
            f"{record}: no beats found by {peak_source}" + (f"; bad signal: {stretches}" if stretches else "")
        )
    print(f"{len(found.usable)} beats in {record}: R peaks from {peak_source}")
    if not found.usable.any():
        raise DataFormatError(
            f"{record}: no usable beat: all {len(found.usable)} beats touch bad signal ({stretches}); "
            "nothing can be classified"
        )
    if found.stretches:
        print(f"bad signal (ecgnet.quality): {stretches}")
    bad = np.flatnonzero(~found.usable)
    if len(bad):
        times = ", ".join(f"{t:.2f}" for t in found.times[bad[:MAX_LISTED]]) + (", ..." if len(bad) > MAX_LISTED else "")
        print(f"unclassifiable: {len(bad)} beats touch that signal and get no class ({UNCLASSIFIABLE!r}); at {times} s")


def _report_second_lead(record, found):
    """The second lead left fewer beats classifiable: say how many, or refuse when none is left."""
    from ecgnet.quality import describe_stretches

    stretches = describe_stretches(found.stretches, found.fs, limit=MAX_LISTED)
    if not found.usable.any():
        raise DataFormatError(
            f"{record}: no usable beat in the two leads the model reads: all {len(found.usable)} beats touch "
            f"bad signal ({stretches}); nothing can be classified"
        )
    print(f"with the second lead: bad signal {stretches}; {int((~found.usable).sum())} beats unclassifiable")


def run_demo(args):
    """Train the small preset on the committed sample and evaluate it on the sample's test part."""
    started = time.perf_counter()
    _check_out_folder(args.out)
    train_part = _require_beats(load_part(args.data, "train"), labelled=True)
    test_part = _require_beats(load_part(args.data, "test"), labelled=True)
    from ecgnet.evaluation import report_test_part
    from ecgnet.models import build_ecgnet
    from ecgnet.training import train

    print(
        f"demo: {len(train_part['y'])} training and {len(test_part['y'])} test beats from {args.data} "
        "(a small real sample of MIT-BIH; see data/README.md)"
    )
    result = train(
        lambda: build_ecgnet("small"),
        train_part["x"],
        train_part["y"],
        epochs=args.epochs,
        seed=args.seed,
        out_dir=args.out,
        verbose=2,
    )
    report = report_test_part(result.model, test_part, args.out)
    print(report["classification_report"] + f"\naccuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}")
    print(
        f"demo finished in {time.perf_counter() - started:.0f} s; report and confusion matrix in {args.out}/ "
        "(the sample is small: these figures are a smoke test, not the model's accuracy; see the README)"
    )
    return 0


# -- helpers ---------------------------------------------------------------------------------------------


def _check_out_folder(folder, argument="--out"):
    """Refuse an output folder that cannot be made: a file in the way, or a parent that is not writable."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EcgnetError(f"{argument} {folder}: is a file, not a folder; name a new or existing folder")
    _check_writable_parent(folder, argument)


def _check_out_file(path, argument="--out"):
    """Refuse an output file that is a folder or whose folder cannot be written; an existing file is replaced."""
    path = Path(path)
    if path.is_dir():
        raise EcgnetError(f"{argument} {path}: is a folder; name the CSV file to write")
    _check_writable_parent(path.parent, argument, for_file=path)


def _check_writable_parent(path, argument, for_file=None):
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise EcgnetError(f"{argument} {for_file or path}: {existing} is a file, not a folder")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise EcgnetError(f"{argument} {for_file or path}: the folder {existing} is not writable")


def _require_beats(part, labelled=False):
    """Refuse a part with no beats, or (``labelled``) with beats whose class is unknown (-1)."""
    import numpy as np

    if len(part["y"]) == 0:
        raise DataFormatError(f"{part['source']}: holds no beats")
    if labelled and (part["y"] < 0).any():
        unknown = np.flatnonzero(part["y"] < 0)
        raise DataFormatError(
            f"{part['source']}: beat {unknown[0]}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + " has no class label (-1); "
            "training and evaluation need labelled beats"
        )
    return part


#: The keys a `train` run's training.json must have for `ensemble` (ecgnet.training.training_card writes them).
CARD_KEYS = ("preset", "split", "seed", "train_beats")


def _check_training_card(run):
    """One clear line for a run folder whose training.json is missing, corrupt or not a card, before TensorFlow loads.

    ``ecgnet.training.read_training_card`` reads the card afterwards; its module imports TensorFlow.
    """
    run = Path(run)
    if not run.is_dir():
        raise EcgnetError(f"--runs {run}: no such run folder; --runs takes folders written by `python -m ecgnet train`")
    card_path = run / "training.json"
    if not card_path.is_file():
        raise EcgnetError(f"{card_path}: not found; --runs takes folders written by `python -m ecgnet train`")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataFormatError(f"{card_path}: not a text file; expected the JSON card written by `train`") from None
    except json.JSONDecodeError as error:
        raise DataFormatError(f"{card_path}: line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})") from None
    if not isinstance(card, dict):
        raise DataFormatError(f"{card_path}: expected a JSON object (the card written by `train`), found {type(card).__name__}")
    missing = [key for key in CARD_KEYS if key not in card]
    if missing:
        raise DataFormatError(f"{card_path}: not a training card written by `train` (missing {', '.join(missing)})")
    if not isinstance(card["train_beats"], int):
        raise DataFormatError(f"{card_path}: train_beats is {card['train_beats']!r}, expected a whole number")


def _default_report_dir(model):
    path = Path(model)
    return path.parent / "evaluation" if path.exists() else Path("runs") / f"evaluate-{path.name}"
