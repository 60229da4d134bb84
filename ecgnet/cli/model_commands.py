"""Commands on models: ``train``, ``ensemble``, ``evaluate``, ``predict``, ``demo``.

Each handler is a thin layer over the library: load data with ``ecgnet.data``,
build with ``ecgnet.models``, fit with ``ecgnet.training.train``, measure with
``ecgnet.evaluation``. The functions here only parse, check and print.
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

from ecgnet.data.datasets import sample_dir
from ecgnet.data.prepared import load_part, part_named, require_beats
from ecgnet.data.splits import SPLITS
from ecgnet.errors import DataFormatError, EcgnetError
from ecgnet.files import check_not_an_input, check_not_the_data_folder, check_out_file, check_out_folder, folder_lock, kind_of
from ecgnet.prediction import UNCLASSIFIABLE, refuse_flat_beats
from ecgnet.recipe import CHANNEL_NAMES, OPTION_FLAGS, RR_FEATURE_NAMES, SYNTAX, WINDOWS, InputRecipe
from ecgnet.runs import parse_fold, validation_plan

MAX_LISTED = 10  # bad stretches and unclassifiable beat times listed on screen


def add_parsers(subparsers):
    train = subparsers.add_parser(
        "train",
        help="train a model on prepared data",
        description="Train a model; validation is carved from the training data, the test part is never seen.",
    )
    train.add_argument("--data", type=path_argument, required=True, metavar="DIR", help="folder from `prepare` (train.npz) or with mitbih_train.csv")
    train.add_argument("--split", choices=SPLITS, required=True, help="the split the folder holds (recorded in the model card)")
    train.add_argument("--preset", default="small", help="model preset: a build_ecgnet preset or 'kachuee2018' (default: small)")
    train.add_argument("--epochs", type=_positive_int, default=30, help="most epochs; early stopping may end sooner (default: 30)")
    train.add_argument("--batch-size", type=_positive_int, default=128, help="beats per step (default: 128)")
    train.add_argument(
        "--recipe",
        type=_recipe,
        default=None,
        metavar="RECIPE",
        help=f"what the model reads from a beat, as {SYNTAX} (ecgnet.recipe; "
        + "; ".join(f"{window} window channels, in order: {', '.join(names)}" for window, names in CHANNEL_NAMES.items())
        + f"; R-R sets: {', '.join(RR_FEATURE_NAMES)}); instead of the shorthand options "
        + ", ".join(OPTION_FLAGS.values()),
    )
    train.add_argument(
        "--rr",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="feed the per-beat R-R features as a second input (default: on for inter-patient, off for kaggle)",
    )
    train.add_argument(
        "--rr-features",
        choices=tuple(RR_FEATURE_NAMES),
        default=None,
        help="with --rr: all 6 R-R features; the 3 divided by the record's mean R-R (relative); or those 3 "
        "and the previous and next R-R divided by the local mean R-R (rhythm) (default: all)",
    )
    train.add_argument(
        "--window",
        choices=tuple(WINDOWS),
        default=None,
        help="the beat as Kachuee et al. cut it, from its R peak on (kachuee), or a window from 0.256 s before "
        "the R peak to 0.44 s after, holding the beat's own P wave, scaled per record (centred; needs a "
        "folder from `prepare`, not Kaggle CSVs) (default: kachuee)",
    )
    train.add_argument(
        "--relative",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add a second beat channel: the beat minus its record's median beat (needs prepared .npz data)",
    )
    train.add_argument(
        "--previous-beat",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --relative: add a third beat channel, the previous beat of the same record, "
        "which holds this beat's P wave (needs prepared .npz data)",
    )
    train.add_argument(
        "--second-lead",
        action=argparse.BooleanOptionalAction,
        default=None,
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
    train.add_argument("--seed", type=seed_int, default=0, help="seed of the weights, the validation split and the shuffling (default: 0)")
    train.add_argument(
        "--validation-seed",
        type=seed_int,
        default=None,
        help="seed of the validation split alone (default: --seed); give ensemble members the same one",
    )
    train.add_argument(
        "--validation-fold",
        type=_fold,
        default=None,
        metavar="K/N",
        help="inter-patient only: validate on the K-th of N record-wise folds instead of a 20%% hold-out, "
        "so that N runs hold out every training record once (pool them with benchmarks/measure/compare_runs.py --pool)",
    )
    train.add_argument(
        "--refit",
        action="store_true",
        help="train on every training beat for exactly --epochs epochs, without validation "
        "(choose --epochs with a validated run of the same recipe first)",
    )
    train.add_argument("--out", type=path_argument, required=True, metavar="DIR", help="run folder: checkpoints, logs, model.keras")
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the files of another run in --out (an interrupted run of other data or another recipe, "
        "or a finished one); without it such a folder is refused, and only the same run is resumed",
    )
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
    ensemble.add_argument("--runs", type=path_argument, nargs="+", required=True, metavar="DIR", help="run folders written by `train` (at least 2)")
    ensemble.add_argument("--data", type=path_argument, required=True, metavar="DIR", help="the data folder the runs were trained on")
    ensemble.add_argument("--out", type=path_argument, required=True, metavar="DIR", help="folder for model.keras and training.json")
    ensemble.set_defaults(handler=run_ensemble)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="evaluate a model on a test set; write report.json, report.md and confusion-matrix PNGs",
    )
    evaluate.add_argument("--model", type=name_or_path, required=True, help="a .keras file or a pretrained model name")
    evaluate.add_argument("--data", type=path_argument, required=True, metavar="DIR_OR_FILE", help="folder with test.npz / test.csv / mitbih_test.csv, or one such file")
    evaluate.add_argument("--out", type=path_argument, default=None, metavar="DIR", help="report folder (default: beside the model, or runs/evaluate-NAME)")
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser(
        "predict",
        help="label beats from a file of cut beats (.csv, .csv.gz, .npz) or a raw WFDB record",
        description=(
            "Label beats. A --beats file (.csv, .csv.gz or .npz) with a non-finite sample, or a CSV sample outside "
            "0..1 (the range of the Kaggle format), is refused (file, line or beat, column). In a --record, beats cut "
            "from invalid (NaN), flat or saturated signal (ecgnet.quality) get "
            f"no class: they are listed as {UNCLASSIFIABLE!r} with the reason in the 'signal' column; a record "
            "without one usable beat is an error."
        ),
    )
    predict.add_argument("--model", type=name_or_path, required=True, help="a .keras file or a pretrained model name")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--beats", "--csv", dest="beats", type=path_argument, metavar="FILE",
        help="a file of cut beats: the Kaggle CSV format (.csv, .csv.gz), or a prepared .npz (for models that take "
        "R-R features or more beat channels); --csv is another name for --beats",
    )
    source.add_argument("--record", type=path_argument, help="a WFDB record path without extension (e.g. mitdb/100), any sampling rate")
    predict.add_argument(
        "--detect",
        action="store_true",
        help="with --record: find the R peaks with the XQRS detector even where the record has reference "
        "annotations (.atr); without it a .atr file that is not valid WFDB annotations is an error",
    )
    predict.add_argument("--out", type=csv_out_argument, default=None, metavar="FILE.csv", help="write the per-beat predictions to this CSV file (replaced if it exists)")
    predict.add_argument(
        "--adapt-minutes", type=positive_float, default=None, metavar="MINUTES",
        help="with --record: first adapt the model to the annotated beats of the record's first MINUTES minutes "
        "(as the `adapt` command does; in memory), then label the whole record; the column 'adaptation' marks "
        "the beats it was adapted on",
    )
    predict.set_defaults(handler=run_predict)

    demo = subparsers.add_parser("demo", help="offline demo: train a small model on the sample that ships with ecgnet and evaluate it")
    demo.add_argument(
        "--data", type=path_argument, default=None, metavar="DIR",
        help="folder with mitbih_train and mitbih_test (.csv, .csv.gz or .npz) (default: the sample in the package, ecgnet/data/sample)",
    )
    demo.add_argument("--epochs", type=_positive_int, default=25, help="training epochs (default: 25)")
    demo.add_argument("--out", type=path_argument, default=Path("runs/demo"), metavar="DIR",
                      help="run folder; a new demo replaces an earlier demo there, never another run (default: runs/demo)")
    demo.add_argument("--seed", type=seed_int, default=0, help="random seed (default: 0)")
    demo.set_defaults(handler=run_demo)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def path_argument(text):
    """An argparse type: a path that is not empty. ``--out ""`` (a variable left unset, quoted) read as ``.``: the
    report written into the current folder, a record looked for as the folder ``.``."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a path, received {text!r} (a variable left unset?)")
    return Path(text)


#: File endings of what ecgnet reads or writes other than a CSV table: ``predict --out`` refuses them (a table
#: written as ``model.keras`` or ``beats.npz`` replaced the file of that name with CSV text).
OTHER_FORMATS = (".keras", ".h5", ".hdf5", ".npz", ".npy", ".json", ".hea", ".dat", ".atr", ".png", ".pdf")


def csv_out_argument(text):
    """An argparse type: the CSV file ``predict --out`` writes, not empty (:func:`path_argument`), not ``-``, not a
    name ending in ``/`` (a folder); :func:`check_csv_name` refuses the endings of other kinds of file."""
    path = path_argument(text)
    if text.strip() == "-":
        raise argparse.ArgumentTypeError("expected a file name, received '-': ecgnet writes the table to a file, not to "
                                         "standard output (without --out it prints the beats)")
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text} ends in '/', which names a folder; name the CSV file to write "
                                         f"(e.g. {path / 'predictions.csv'})")
    return path


def check_csv_name(path, argument="--out"):
    """Refuse a CSV table's file name that ends in one of :data:`OTHER_FORMATS` (after
    :func:`ecgnet.files.check_not_an_input`, which names an input file more exactly)."""
    ending = next((suffix for suffix in OTHER_FORMATS if Path(path).name.lower().endswith(suffix)), None)
    if ending:
        raise EcgnetError(f"{argument} {path}: predict writes a CSV table, but the name ends in {ending}, another kind "
                          f"of file; name a .csv (or .csv.gz) file, e.g. {Path(path).with_suffix('.csv')}")


def name_or_path(text):
    """An argparse type: a model name or a path, not empty (see :func:`path_argument`), and not a folder: a run
    folder given for its model read as "not a Keras model file"."""
    path = path_argument(text)
    if path.exists() and not path.is_file() and not path.is_dir():  # /dev/zero was read until a MemoryError
        raise argparse.ArgumentTypeError(f"{text} is {kind_of(path.stat().st_mode)}, not a model file")
    if path.is_dir():
        inside = path / "model.keras"
        raise argparse.ArgumentTypeError(
            f"{text} is a folder; its model is {inside}: name that file" if inside.is_file()
            else f"{text} is a folder, not a model; name a .keras file or a pretrained model name"
        )
    return text


#: The seeds numpy and Keras take (``numpy.random.seed``, which ``keras.utils.set_random_seed`` calls; a
#: negative seed failed in ``numpy.random.default_rng`` with a traceback).
SEED_RANGE = (0, 2**32 - 1)


def seed_int(text):
    """An argparse type: a whole number in :data:`SEED_RANGE` (``--seed``, ``--validation-seed``)."""
    low, high = SEED_RANGE
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, received {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high} (a seed), received {value}")
    return value


def positive_float(text):
    """An argparse type: a finite number > 0 (``--minutes``, ``--adapt-minutes``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    return value


def _recipe(text):
    """``--recipe TEXT`` -> :class:`ecgnet.recipe.InputRecipe`."""
    try:
        return InputRecipe.parse(text)
    except EcgnetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fold(text):
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N and N >= 2 (:func:`ecgnet.runs.parse_fold`)."""
    try:
        return parse_fold(text)
    except EcgnetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# -- handlers --------------------------------------------------------------------------------------------


def run_train(args):
    if args.validation_fold and (args.split != "inter-patient" or args.refit):
        raise EcgnetError("--validation-fold splits the training records into folds: it needs --split inter-patient and no --refit")
    if not 0 <= args.beat_dropout < 1:
        raise EcgnetError(f"--beat-dropout must be in [0, 1). Received: {args.beat_dropout}")
    recipe = InputRecipe.from_train_options(args.recipe, args.split, **{dest: getattr(args, dest) for dest in OPTION_FLAGS})
    if args.beat_dropout and recipe.rr_features is None:
        raise EcgnetError("--beat-dropout drops the beat's shape features so that the model learns from the R-R features: "
                          f"it needs --rr (the recipe {recipe} has none)")
    _check_split_of_data(args.data, args.split)
    check_out_folder(args.out)
    check_not_the_data_folder(args.out, args.data)
    with folder_lock(args.out, "`train` (--out)"):  # two runs into one folder would mix their files
        return _train(args, recipe)


def _check_split_of_data(data, split):
    """Refuse a ``--split`` other than the one a prepared folder's manifest records: the run's card would claim
    it (``train --data KAGGLE --split inter-patient`` validated record-wise on beats whose records are also in
    the test part, and its card said inter-patient). The sample (split ``sample``) serves either."""
    from ecgnet.data.manifest import MANIFEST, read_manifest

    data = Path(data)
    folder = data if data.is_dir() else data.parent
    manifest = read_manifest(folder) if (folder / MANIFEST).is_file() else None
    if manifest is None or not (data.is_dir() or data.name in manifest["files"]):
        return
    held = manifest.get("split")
    if held in SPLITS and held != split:
        raise EcgnetError(f"--split {split}: {data} holds the {held!r} split (its {MANIFEST} says so), and the run's "
                          f"card would claim {split!r}; pass --split {held}, or the folder of the {split} split")


def _train(args, recipe):
    """The rest of :func:`run_train`, while it holds the lock on ``--out``."""
    train_part = require_beats(load_part(args.data, "train"), labelled=True)
    needs_records = ([f"channels {', '.join(recipe.channel_names[1:])}"] if recipe.beat_channels > 1 else []) + (
        ["R-R features"] if recipe.rr_features is not None else [])
    if needs_records and train_part.record is None:
        raise DataFormatError(
            f"{train_part.source}: the recipe {recipe} ({' and '.join(needs_records)}) needs the records and R-R intervals "
            "that Kaggle CSV files lack; use the folder written by `python -m ecgnet prepare`"
        )
    inputs = recipe.inputs(train_part)
    from ecgnet.models import build_named_model  # TensorFlow loads here, after the quick checks
    from ecgnet.training import train

    validation_fraction, validation_groups = validation_plan(args.split, train_part.record)
    overrides = {"beat_dropout": args.beat_dropout} if args.beat_dropout else {}
    build_named_model(args.preset, recipe=recipe, **overrides)  # fail fast on an unknown preset
    options = {} if args.imbalance is None else {"imbalance": None if args.imbalance == "none" else args.imbalance}
    result = train(
        lambda: build_named_model(args.preset, recipe=recipe, **overrides),
        inputs["beat"], train_part.y, rr=inputs.get("rr"),
        validation_fraction=0.0 if args.refit else validation_fraction, validation_groups=validation_groups,
        epochs=args.epochs, batch_size=args.batch_size, augment=args.augment, seed=args.seed,
        validation_seed=args.validation_seed, validation_fold=args.validation_fold, out_dir=args.out,
        verbose=1 if sys.stdout.isatty() else 2,  # one line per epoch in logs
        recipe=recipe,
        card={"preset": args.preset, "split": args.split, "train_data": train_part.source, "beat_dropout": args.beat_dropout},
        overwrite=args.overwrite,
        **options,
    )
    print(f"model written to {result.paths['model']}")
    return 0


def run_ensemble(args):
    """Average the runs' models; measure members and ensemble on the shared validation beats."""
    _refuse_repeated_runs(args.runs)
    from ecgnet.evaluation import ensemble_runs

    model = ensemble_runs(args.runs, args.data, args.out)
    print(f"ensemble of {len(args.runs)} written to {args.out / 'model.keras'} ({model.count_params():,} parameters)")
    return 0


def _refuse_repeated_runs(runs):
    """Refuse ``--runs`` that name one run twice (the same folder, or copies of one model): an "ensemble" of one."""
    import hashlib

    seen = {}
    for run in runs:
        model = Path(run) / "model.keras"
        key = hashlib.sha256(model.read_bytes()).hexdigest() if model.is_file() else str(Path(run).resolve())
        if key in seen:
            raise EcgnetError(f"--runs {run}: the same run as {seen[key]} (the same model.keras); an ensemble averages "
                              "different runs (other --seed)")
        seen[key] = run


def run_evaluate(args):
    from ecgnet.pretrained_models import load_model, model_path

    model_path(args.model)
    if Path(args.data).is_file() and part_named(args.data) == "train":  # the figures would claim a test the model trained on
        raise EcgnetError(f"--data {args.data}: is the train part of a split (its name says so); evaluate measures a model "
                          "on beats it did not train on: pass the folder, or its test file")
    test_part = require_beats(load_part(args.data, "test"), labelled=True)  # the data first: before TensorFlow loads
    refuse_flat_beats(test_part)
    out = args.out or _default_report_dir(args.model)
    check_out_folder(out, "--out" if args.out else "the report folder (--out)")
    check_not_the_data_folder(out, args.data, "--out" if args.out else "the report folder (--out)")
    from ecgnet.evaluation import report_test_part

    model = load_model(args.model)
    report_test_part(model, test_part, out, extra={"model": str(args.model), "data": str(test_part.source)}, source=str(args.model))
    print(Path(out, "report.md").read_text(encoding="utf-8"))
    print(f"report and confusion matrices written to {out}")
    return 0


def run_predict(args):
    from ecgnet.pretrained_models import model_path
    from ecgnet.prediction import predict_beats, predict_record, record_lines, summary_lines

    model_file = model_path(args.model)
    if args.out is not None:
        check_out_file(args.out)
        from ecgnet.data.records import record_files  # the header's signal files too, the record named with or without .hea

        inputs = [args.beats] if args.beats else record_files(args.record)
        check_not_an_input(args.out, [model_file] + inputs)
        check_csv_name(args.out)
    if args.detect and args.record is None:
        raise EcgnetError("--detect finds R peaks in a --record; beats in a --beats file are already cut")
    if args.adapt_minutes is not None and (args.record is None or not args.adapt_minutes > 0):
        raise EcgnetError(f"--adapt-minutes {args.adapt_minutes:g}: needs a --record and a positive number of minutes")
    if args.record is not None:
        table = predict_record(args.model, args.record, detect=args.detect,  # the record is checked before TensorFlow loads
                               adapt_minutes=args.adapt_minutes)
        lines, warnings = record_lines(table, args.detect, limit=MAX_LISTED)
        print("\n".join(lines))
        for line in warnings:  # ecgnet.plausibility: what the record does not seem to be
            print(line, file=sys.stderr)
        if "adaptation" in table:
            how = "ecgnet.adapt" if table.attrs["adapted_in_memory"] else f"saved in {args.model}"
            print(f"adapted to the {int((table['adaptation'] == 'yes').sum())} labelled beats of the first "
                  f"{table.attrs['adapted_minutes']:g} minutes ({how})")
            if table.attrs.get("rhythm_gate"):
                print(f"no S call on the {table.attrs['rhythm_gate']} beats in irregular rhythm without a repeating "
                      "P wave (the labelled minutes show no S beat in irregular rhythm; ecgnet.adaptation.rhythm_gate)")
    else:
        beats = require_beats(load_part(args.beats, "test"))
        refuse_flat_beats(beats)  # before TensorFlow loads
        print(f"{len(beats)} beats read from {args.beats}")
        table = predict_beats(args.model, beats)
    print("\n".join(summary_lines(table)))
    classified = table["predicted"] != UNCLASSIFIABLE
    table = table.assign(confidence=[f"{c:.4f}" if ok else "" for c, ok in zip(table["confidence"], classified)])
    if args.out is not None:
        from ecgnet.files import atomic_path

        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False)
        print(f"per-beat predictions written to {args.out}")
    else:
        print(table.to_string(index=False, max_rows=40))
    return 0


#: How the demo's training card names its data: the mark of a folder a new demo may replace.
DEMO_DATA = "demo:"


def _refuse_another_run(folder):
    """Whether ``folder`` holds an earlier demo (a new one replaces it); refuse one that holds another run."""
    from ecgnet.runs import CARD_FILE, RUN_FILE, read_json

    for name in (CARD_FILE, RUN_FILE):
        path = Path(folder) / name
        if not path.is_file():
            continue
        card = read_json(path)
        if not (isinstance(card, dict) and str(card.get("train_data", "")).startswith(DEMO_DATA)):
            raise EcgnetError(f"--out {folder}: holds another run ({path.name}), which the demo would replace; "
                              "choose another --out")
        return True
    return False


def run_demo(args):
    """Train the small preset on the committed sample and evaluate it on the sample's test part."""
    started = time.perf_counter()
    check_out_folder(args.out)
    data = sample_dir() if args.data is None else args.data
    train_part = require_beats(load_part(data, "train"), labelled=True)
    test_part = require_beats(load_part(data, "test"), labelled=True)
    from ecgnet.evaluation import report_test_part
    from ecgnet.models import build_ecgnet
    from ecgnet.training import train

    earlier_demo = _refuse_another_run(args.out)
    print(f"demo: {len(train_part)} training and {len(test_part)} test beats from {data} "
          "(a small real sample of MIT-BIH; see its README.md)")
    result = train(lambda: build_ecgnet("small"), train_part.x, train_part.y, epochs=args.epochs, seed=args.seed,
                   out_dir=args.out, verbose=2, card={"preset": "small", "train_data": f"{DEMO_DATA} {data}"},
                   overwrite=earlier_demo)  # a new demo replaces the last one, never another run
    report = report_test_part(result.model, test_part, args.out)
    print(report["classification_report"] + f"\naccuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}")
    print(f"demo finished in {time.perf_counter() - started:.0f} s; report and confusion matrix in {args.out}/ "
          "(the sample is small: these figures are a smoke test, not the model's accuracy; see the README)")
    return 0


def _default_report_dir(model):
    path = Path(model)
    return path.parent / "evaluation" if path.exists() else Path("runs") / f"evaluate-{path.name}"
