"""The ``adapt`` command: a model adapted to one patient from the labelled first minutes of their record.

``python -m ecgnet adapt --model NAME --record PATH --minutes 5 --out adapted.keras``
labels the beats of the first ``--minutes`` minutes with the record's
reference annotations (or with ``--labels FILE.csv``, rows ``time_s,label``),
adapts the model to them with :func:`ecgnet.adapt` and writes the adapted
copy, which keeps the beats it was adapted on
(:func:`ecgnet.adaptation.with_patient_record`). ``predict --adapt-minutes 5``
does the same in memory and then labels the whole record; ``predict`` with
the saved copy labels the record the same way, beat for beat (the labelled
beats marked, the patient's rhythm gate applied).

The record and the labels are read and checked before TensorFlow is imported,
so a mistake is reported at once, as one line.
"""

from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.cli.model_commands import name_or_path, path_argument, positive_float, seed_int
from ecgnet.errors import DataFormatError, EcgnetError
from ecgnet.files import check_not_an_input, check_out_file


def add_parsers(subparsers):
    adapt = subparsers.add_parser(
        "adapt",
        help="adapt a model to one patient from the labelled first minutes of their record",
        description=(
            "Adapt a model to one patient (ANSI/AAMI EC57 patient-specific protocol): the beats of the first "
            "--minutes minutes of the record, labelled by its reference annotations (.atr) or by --labels, "
            "retrain the model's last layer (ecgnet.adapt); the adapted copy, which keeps the beats it was adapted on, "
            "is written to --out. predict --model FILE.keras --record PATH then labels the record as predict "
            "--adapt-minutes does."
        ),
    )
    adapt.add_argument("--model", type=name_or_path, required=True, help="a pretrained model name (its replay set is used) or a .keras file")
    adapt.add_argument("--record", type=path_argument, required=True, help="a WFDB record path without extension (e.g. mitdb/100)")
    adapt.add_argument("--minutes", type=positive_float, default=5.0, help="labelled minutes from the record's start (default: 5)")
    adapt.add_argument(
        "--labels", type=Path, default=None, metavar="FILE.csv",
        help="a CSV file with a header time_s,label and one row per labelled beat (R-peak time in seconds, "
        f"one of {', '.join(CLASS_NAMES)}), instead of the record's annotations",
    )
    adapt.add_argument("--seed", type=seed_int, default=0, help="random seed: the same seed gives the same adapted weights (default: 0)")
    adapt.add_argument("--out", type=path_argument, required=True, metavar="FILE.keras", help="the adapted model, a .keras file (replaced if it exists)")
    adapt.set_defaults(handler=run_adapt)


def run_adapt(args):
    from ecgnet.pretrained_models import model_path
    from ecgnet.adaptation import usable_span_labels
    from ecgnet.data.records import beats_from_record

    model_file = model_path(args.model)
    if args.out.suffix != ".keras":
        raise EcgnetError(f"--out {args.out}: name a .keras file (the adapted model is a Keras model file)")
    if args.out.is_dir():
        raise EcgnetError(f"--out {args.out}: is a folder; name the .keras file to write")
    check_out_file(args.out)  # a device, a pipe or a loop of links is refused before any work
    check_not_an_input(args.out, [model_file] + ([args.labels] if args.labels else []))  # the model it adapts kept
    found = beats_from_record(args.record, check_quality=True)
    if len(found.times) == 0:
        raise DataFormatError(f"{args.record}: no beats found")
    used, labels = usable_span_labels(args.record, found, args.minutes, args.labels)
    counts = np.bincount(labels[used], minlength=len(CLASS_NAMES))
    print(f"{int(used.sum())} labelled beats in the first {args.minutes:g} minutes of {args.record}: "
          + ", ".join(f"{name} {count}" for name, count in zip(CLASS_NAMES, counts)))

    from ecgnet.adaptation import adapt_to_span, record_rhythm_gate, with_patient_record
    from ecgnet.files import atomic_path
    from ecgnet.pretrained_models import load_model

    model = load_model(args.model)
    found.beats.source = str(args.record)
    adapted = adapt_to_span(model, args.model, found.beats, used, labels, seed=args.seed)
    adapted = with_patient_record(adapted, args.record, found.times, used, labels, args.minutes)
    gated = int(record_rhythm_gate(args.record, found, used, labels).sum())
    if gated:
        print(f"rhythm gate: no S call on the {gated} beats of {args.record} in irregular rhythm without a repeating "
              "P wave (the labelled minutes show no S beat in irregular rhythm; ecgnet.adaptation.rhythm_gate)")
    with atomic_path(args.out) as tmp:
        adapted.save(tmp)
    print(f"adapted model written to {args.out}; it keeps the beats it was adapted on: "
          f"python -m ecgnet predict --model {args.out} --record {args.record} labels the record as "
          f"--adapt-minutes {args.minutes:g} does")
    return 0
