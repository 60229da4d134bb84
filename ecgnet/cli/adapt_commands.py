"""The ``adapt`` command: a model adapted to one patient from the labelled first minutes of their record.

``python -m ecgnet adapt --model NAME --record PATH --minutes 5 --out adapted.keras``
labels the beats of the first ``--minutes`` minutes with the record's
reference annotations (or with ``--labels FILE.csv``, rows ``time_s,label``),
adapts the model to them with :func:`ecgnet.adapt` and writes the adapted
copy. ``predict --adapt-minutes 5`` does the same in memory
(:func:`adapted_for_record`) and then labels the whole record.

The record and the labels are read and checked before TensorFlow is imported,
so a mistake is reported at once, as one line.
"""

import csv
import math
from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import DataFormatError, EcgnetError

#: How far a row of ``--labels`` may lie from the R peak it labels, in seconds.
LABEL_TOLERANCE_S = 0.15


def add_parsers(subparsers):
    adapt = subparsers.add_parser(
        "adapt",
        help="adapt a model to one patient from the labelled first minutes of their record",
        description=(
            "Adapt a model to one patient (ANSI/AAMI EC57 patient-specific protocol): the beats of the first "
            "--minutes minutes of the record, labelled by its reference annotations (.atr) or by --labels, "
            "retrain the model's last layer (ecgnet.adapt); the adapted copy is written to --out."
        ),
    )
    adapt.add_argument("--model", required=True, help="a pretrained model name (its replay set is used) or a .keras file")
    adapt.add_argument("--record", type=Path, required=True, help="a WFDB record path without extension (e.g. mitdb/100)")
    adapt.add_argument("--minutes", type=_positive_float, default=5.0, help="labelled minutes from the record's start (default: 5)")
    adapt.add_argument(
        "--labels", type=Path, default=None,
        help="a CSV file with a header time_s,label and one row per labelled beat (R-peak time in seconds, "
        f"one of {', '.join(CLASS_NAMES)}), instead of the record's annotations",
    )
    adapt.add_argument("--seed", type=int, default=0)
    adapt.add_argument("--out", type=Path, required=True, help="the adapted model, a .keras file (replaced if it exists)")
    adapt.set_defaults(handler=run_adapt)


def _positive_float(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    return value


def read_labels(path):
    """``(times, labels)`` of a labels CSV file: header ``time_s,label``, one row per beat.

    Raises:
        DataFormatError: a missing column, a time that is not a finite number
            of seconds >= 0, or a label outside N, S, V, F, Q (file, line, column).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise DataFormatError(f"{path}: empty; expected a header time_s,label and one row per labelled beat")
    header = [cell.strip() for cell in rows[0]]
    missing = [name for name in ("time_s", "label") if name not in header]
    if missing:
        raise DataFormatError(f"{path}: line 1: the header has no column {' or '.join(missing)} (found: {','.join(header)}); expected time_s,label")
    at_time, at_label = header.index("time_s"), header.index("label")
    times, labels = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        cell = row[at_time].strip()
        try:
            time_s = float(cell)
        except ValueError:
            time_s = math.nan
        if not math.isfinite(time_s) or time_s < 0:
            raise DataFormatError(f"{path}: line {line}, column {at_time + 1} (time_s): {cell!r} is not a time in seconds >= 0")
        label = row[at_label].strip()
        if label not in CLASS_NAMES:
            raise DataFormatError(f"{path}: line {line}, column {at_label + 1} (label): {label!r} is not one of {', '.join(CLASS_NAMES)}")
        times.append(time_s)
        labels.append(CLASS_NAMES.index(label))
    if not times:
        raise DataFormatError(f"{path}: no labelled beats after the header")
    return np.asarray(times), np.asarray(labels, np.int64)


def span_labels(record, beat_times, annotated, minutes, labels_file=None, min_beats=None):
    """Which beats adapt the model, and their labels: ``(used, labels)``, both over all beats.

    Args:
        record: the record path (for messages).
        beat_times: float (n,), R-peak times of the record's beats in seconds.
        annotated: int (n,), the reference label of each beat (-1 unknown or none).
        minutes: float, the labelled span from the record's start.
        labels_file: None (the annotations label the span) or a labels CSV file.
        min_beats: int, fewest labelled beats accepted (default: ``ecgnet.adaptation.MIN_BEATS``).

    Raises:
        DataFormatError: a span longer than the record, no labelled beat in it,
            too few, or a labels row beyond the span or far from every R peak.
    """
    from ecgnet.data.records import _read_leads
    from ecgnet.adaptation import MIN_BEATS

    min_beats = MIN_BEATS if min_beats is None else min_beats
    signals, fs = _read_leads(Path(record), None, False)
    duration = len(signals[0]) / fs
    span = 60.0 * minutes
    if span > duration:
        raise DataFormatError(f"--minutes {minutes:g}: the record {record} lasts only {duration / 60:.2f} minutes")
    in_span = beat_times < span
    labels = np.full(len(beat_times), -1, np.int64)
    if labels_file is None:
        labels[in_span] = annotated[in_span]
        if not (labels >= 0).any():
            raise DataFormatError(
                f"{record}: no annotated beat in the first {minutes:g} minutes (no reference annotations "
                f"{record}.atr, or none of an AAMI class); pass --labels FILE.csv"
            )
    else:
        times, given = read_labels(labels_file)
        for row, (time_s, label) in enumerate(zip(times, given), start=2):
            if time_s >= span:
                raise DataFormatError(f"{labels_file}: line {row}, column time_s: {time_s:g} s is after the first {minutes:g} minutes (--minutes)")
            nearest = int(np.argmin(np.abs(beat_times - time_s))) if len(beat_times) else -1
            if nearest < 0 or abs(beat_times[nearest] - time_s) > LABEL_TOLERANCE_S:
                raise DataFormatError(f"{labels_file}: line {row}, column time_s: no beat of {record} within "
                                      f"{LABEL_TOLERANCE_S} s of {time_s:g} s")
            labels[nearest] = label
    used = labels >= 0
    if used.sum() < min_beats:
        raise DataFormatError(
            f"{labels_file or record}: {int(used.sum())} labelled beats in the first {minutes:g} minutes; "
            f"adaptation needs at least {min_beats}"
        )
    return used, labels


def adapted_for_record(model, model_name, part, found, minutes, labels_file=None, seed=0):
    """The model adapted to the labelled first minutes of a record: ``(adapted, used)``.

    Args:
        model: the loaded ``keras.Model``.
        model_name: what ``--model`` named (a shipped name selects its replay set).
        part: the record's beats as a part (``ecgnet.data.part_from_beats``).
        found: ``ecgnet.quality.record_beats`` of the record (times, labels, usable beats).
        minutes, labels_file, seed: as the ``adapt`` command's options.

    Returns:
        The adapted copy and a bool (n,) marking the beats it was adapted on.
    """
    import ecgnet
    from ecgnet.adaptation import _select, replay_path
    from ecgnet.data.prepared import model_inputs

    used, labels = span_labels(part["source"], found.times, found.beats.y.astype(np.int64), minutes, labels_file)
    used &= found.usable
    replay = str(model_name) if replay_path(str(model_name)).exists() else None
    inputs = model_inputs(model, part)
    adapted = ecgnet.adapt(model, _select(inputs, used), labels[used], seed=seed, replay=replay)
    return adapted, used


def run_adapt(args):
    from ecgnet.pretrained_models import model_path
    from ecgnet.quality import record_beats

    model_path(args.model)
    if args.out.suffix != ".keras":
        raise EcgnetError(f"--out {args.out}: name a .keras file (the adapted model is a Keras model file)")
    if args.out.is_dir():
        raise EcgnetError(f"--out {args.out}: is a folder; name the .keras file to write")
    found = record_beats(args.record)
    if len(found.times) == 0:
        raise DataFormatError(f"{args.record}: no beats found")
    used, labels = span_labels(args.record, found.times, found.beats.y.astype(np.int64), args.minutes, args.labels)
    if not (used & found.usable).sum():
        raise DataFormatError(f"{args.record}: every labelled beat of the first {args.minutes:g} minutes touches bad signal")
    counts = np.bincount(labels[used & found.usable], minlength=len(CLASS_NAMES))
    print(f"{int((used & found.usable).sum())} labelled beats in the first {args.minutes:g} minutes of {args.record}: "
          + ", ".join(f"{name} {count}" for name, count in zip(CLASS_NAMES, counts)))

    from ecgnet.data.prepared import part_from_beats
    from ecgnet.files import atomic_path
    from ecgnet.pretrained_models import load_model

    model = load_model(args.model)
    part = part_from_beats(found.beats, source=str(args.record))
    adapted, used = adapted_for_record(model, args.model, part, found, args.minutes, args.labels, seed=args.seed)
    with atomic_path(args.out) as tmp:
        adapted.save(tmp)
    print(f"adapted model written to {args.out}")
    return 0
