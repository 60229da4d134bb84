"""Label every beat of a WFDB record with a model: :func:`predict_record`.

What ``python -m ecgnet predict --record`` does, as a library call: read the
record (its reference annotations, or the XQRS detector), find its bad signal
(:mod:`ecgnet.quality`), build the model's inputs from its recipe
(:class:`ecgnet.recipe.InputRecipe`, reading the record's second lead too when
the model takes it) and classify every beat that touches no bad signal. The
others are listed, with the reason, as :data:`UNCLASSIFIABLE`.

Example:
    >>> import ecgnet
    >>> table = ecgnet.predict_record("ecgnet-mitbih-interpatient", "tests/fixtures/208_excerpt")
    >>> list(table.columns)
    ['time_s', 'predicted', 'confidence', 'signal', 'annotated']
"""

import os
from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import DataFormatError, ModelFileError
from ecgnet.files import as_path
from ecgnet.recipe import InputRecipe

#: The class given to a beat cut from invalid, flat or saturated signal (:mod:`ecgnet.quality`).
UNCLASSIFIABLE = "-"

#: Plausibility verdicts (:func:`ecgnet.plausibility.check_record`, first words) that say the
#: signal is no ECG with beats: such a record is refused. The other verdicts (an implausible
#: heart rate, an inverted or untrained lead) are kept in the table's ``attrs["verdict"]`` for
#: the caller to show.
NOT_AN_ECG = ("no QRS complexes", "mostly implausible")
#: Verdicts that say the record's annotations are not its own (another record's, shifted, a
#: reversed signal's): refused where the R peaks come from them, since the beats cut there,
#: their R-R intervals and their labels belong to no beat of this signal. The few annotations
#: that fall on a QRS by chance would otherwise be classified (100 with 101's annotations:
#: 984 of 1,864 beats; a signal reversed in time: 101 of 147, all N).
NOT_ITS_ANNOTATIONS = ("annotations off the QRS", "annotations miss beats")

#: What ``peaks`` in a table's ``attrs`` says, in words.
PEAK_SOURCES = {
    "annotations": "the record's reference annotations (.atr)",
    "detector": "the XQRS R-peak detector",
}


def _reasons(problems):
    """``"2270 too noisy, 3 window past the end"``: how many beats have each reason, most first."""
    from collections import Counter

    counts = Counter(reason for problem in problems for reason in str(problem).split("; ") if reason)
    return ", ".join(f"{count} {reason}" for reason, count in counts.most_common())


def _atr_path(record):
    """The reference annotation file of a record named with or without an extension."""
    from ecgnet.data.records import record_base

    return Path(f"{record_base(record)}.atr")


def _no_annotations(record):
    """Why a record's R peaks come from the detector without ``--detect``: no ``.atr``, or one without beats."""
    atr = _atr_path(record)
    return f"{atr.name} holds no beat annotation" if atr.exists() else "no annotations found"


def predict_record(model, record_path, *, detect=False, adapt_minutes=None, labels=None, seed=0, batch_size=512):
    """Classify every beat of a WFDB record; beats cut from bad signal get no class.

    The record is read and checked before the model is loaded (so a bad
    record is reported at once): the lead of
    :data:`ecgnet.data.records.LEAD_PREFERENCE`, R peaks from its reference
    annotations (``.atr``) or, without them or with ``detect``, the XQRS
    detector; its invalid, flat and saturated stretches
    (:func:`ecgnet.quality.bad_stretches`). A model whose recipe takes the
    second lead (beat channels 4 to 6) reads the record's other lead too, and
    a beat is usable only where both leads are clean. The inputs are built
    from every beat of the record (record medians, previous beats), then the
    usable beats are classified.

    Args:
        model: a ``keras.Model``, a ``.keras`` file, or the name of a shipped
            model (:func:`ecgnet.pretrained_models.available`).
        record_path: str or Path of the record without extension
            (``".../mitdb/208"``), any sampling rate.
        detect: bool, find R peaks with the detector even where the record has
            reference annotations. Without it, a ``.atr`` file that is not
            valid WFDB annotations is an error.
        adapt_minutes: None, or adapt the model to this patient first
            (:func:`ecgnet.adapt`, in memory; the model given is untouched): on
            the usable beats of the record's first ``adapt_minutes`` minutes,
            labelled by its reference annotations or by ``labels``. The table
            then has a column ``adaptation`` (``"yes"`` on those beats). No
            beat in irregular rhythm without a repeating P wave (atrial
            fibrillation) is called S, unless the patient's labelled beats
            in irregular rhythm include S beats
            (:func:`ecgnet.adaptation.rhythm_gate`); ``attrs``
            ``rhythm_gate`` counts the beats so gated, ``adapted_minutes``
            gives the span and ``adapted_in_memory`` whether it was adapted
            here (True) or saved adapted (False). A model adapted and
            saved (``python -m ecgnet adapt``) does the same on its own
            record without ``adapt_minutes``: it carries the beats it was
            adapted on (:func:`ecgnet.adaptation.saved_span`).
        labels: None, or a CSV file ``time_s,label`` that labels the beats of
            that span (:func:`ecgnet.adaptation.read_labels`).
        seed: int, the adaptation's seed.
        batch_size: int, beats per ``model.predict`` batch.

    Returns:
        A ``pandas.DataFrame``, one row per beat in time order, with columns
        ``time_s`` (R peak, seconds from the start, rounded to 1 ms),
        ``predicted`` (a class name of :data:`ecgnet.data.CLASS_NAMES`, or
        :data:`UNCLASSIFIABLE`), ``confidence`` (the predicted class's
        probability; NaN for an unclassifiable beat), ``signal`` (``"ok"``, or
        the kinds of bad signal the beat touches, e.g. ``"flat"``, or what
        :mod:`ecgnet.plausibility` finds: ``"not QRS-like"``, ``"polarity
        flipped"``, ``"too noisy"`` (the noise gate), ``"window past the
        end"``) and, for a
        record with annotated beats, ``annotated`` (the annotation's class
        name, ``""`` for a beat type outside the AAMI classes). Its ``attrs``
        hold ``record``, ``peaks`` (``"annotations"`` or ``"detector"``),
        ``fs``, ``leads`` (1, or 2 for a model that reads the second lead),
        ``stretches`` (the bad stretches of those leads, as
        :class:`ecgnet.quality.Stretch`), ``recipe`` (its ``to_config()``),
        ``lead`` (the name of the lead read) and ``verdict`` (what
        :func:`ecgnet.plausibility.check_record` finds implausible, as
        sentences: a sampling rate that looks twice or half the true one,
        polarity that flips, an inverted, untrained or unnamed lead).

    Raises:
        DataFormatError: ``record_path`` is no path (a record number), the record cannot be read, has no beats, no
            usable beat (in the lead or leads the model reads), or is no ECG
            with beats (:data:`NOT_AN_ECG`), or its annotations are not on
            its QRS complexes (:data:`NOT_ITS_ANNOTATIONS`; ``detect=True``
            reads it with the detector's R peaks).
        ModelFileError: no such model (or ``model`` of another type), not a heartbeat classifier, or its
            outputs are not probabilities.

    Example:
        >>> table = predict_record("ecgnet-mitbih", "data/mitdb/208")
        >>> table["predicted"].value_counts()
    """
    from ecgnet.data.records import RECORD_PATH_EXPECTED, beats_from_record
    from ecgnet.quality import describe_stretches

    record = as_path(record_path, "record_path", RECORD_PATH_EXPECTED, DataFormatError)
    if not (hasattr(model, "predict") or isinstance(model, (str, os.PathLike))):
        raise ModelFileError(f"model: expected a keras.Model, a .keras file or the name of a shipped model. "
                             f"Received: {model!r} ({type(model).__name__})")
    source = getattr(model, "name", "the model") if hasattr(model, "predict") else str(model)  # for messages
    if not hasattr(model, "predict"):
        from ecgnet.pretrained_models import model_path

        model_path(model)  # a missing or wrong model file is named before the record is read
    found = beats_from_record(record, use_annotations=not detect, check_quality=True)
    peak_source = PEAK_SOURCES[found.source] + (
        "" if found.source == "annotations" else " (asked for)" if detect else f" ({_no_annotations(record)})")
    stretches = describe_stretches(found.stretches, found.fs, limit=10)
    if len(found.usable) == 0 and found.source == "annotations":  # one annotated beat: it has no next R-R interval
        raise DataFormatError(f"{record_path}: no beat to classify: {_atr_path(record).name} holds one beat annotation, and a beat is cut "
                              "only with the next R peak (its R-R interval); `--detect` finds the R peaks with the detector")
    if len(found.usable) == 0:
        raise DataFormatError(f"{record_path}: no beats found by {peak_source}" + (f"; bad signal: {stretches}" if stretches else ""))
    foreign = [line for line in found.verdict if line.startswith(NOT_ITS_ANNOTATIONS) and found.source == "annotations"]
    unusable = foreign + [line for line in found.verdict if line.startswith(NOT_AN_ECG)]
    if unusable and not (found.stretches and not found.usable.any()):  # all bad signal: say that, below
        raise DataFormatError(f"{record_path}: {'; '.join(unusable)}; nothing is classified"
                              + ("; `--detect` finds the R peaks with the detector instead" if foreign else ""))
    if not found.usable.any():
        raise DataFormatError(
            f"{record_path}: no usable beat: all {len(found.usable)} beats touch bad signal ({stretches or _reasons(found.problems)}); "
            "nothing can be classified"
        )
    if adapt_minutes is not None:
        from ecgnet.data.records import check_span

        check_span(record, adapt_minutes, "--adapt-minutes")  # before TensorFlow loads
        if detect and labels is None:  # the detector's R peaks carry no labels: it was "no reference annotations"
            atr = _atr_path(record)
            where = (f"the annotations of {atr.name} label only their own R peaks); adapt on the annotations "
                     "(leave out --detect), or" if atr.is_file() else f"and the record has no annotations, {atr.name});")
            raise DataFormatError(
                f"--adapt-minutes {adapt_minutes:g} with --detect: the beats the detector finds carry no labels ({where} "
                "label the span in a CSV file (time_s,label) and adapt with `python -m ecgnet adapt --labels FILE.csv`"
            )
    if not hasattr(model, "predict"):
        from ecgnet.pretrained_models import load_model

        model = load_model(model)
    recipe = InputRecipe.from_model(model)
    if recipe.second_lead:
        found = beats_from_record(record, use_annotations=not detect, second_lead=True, check_quality=True)
        if not found.usable.any():
            raise DataFormatError(
                f"{record_path}: no usable beat in the two leads the model reads: all {len(found.usable)} beats touch "
                f"bad signal ({describe_stretches(found.stretches, found.fs, limit=10)}); nothing can be classified"
            )
    usable = found.usable
    beats = found.beats
    beats.source = str(record_path)
    from ecgnet.data.prepared import model_inputs

    # inputs from every beat of the record, then the usable ones: a usable beat's previous beat may
    # itself be unusable (bad signal before its R peak) yet clean where it is used; their shapes are
    # checked against the model's inputs (a model of another beat length is one clear error)
    feed = model_inputs(model, beats, usable)
    verdict = list(found.verdict)
    if adapt_minutes is not None:
        from ecgnet.adaptation import adapt_to_span, usable_span_labels

        used, span = usable_span_labels(record_path, found, adapt_minutes, labels, argument="--adapt-minutes")
        model = adapt_to_span(model, source, beats, used, span, seed=seed)
    else:  # a saved adapted model labelling its own record: its labelled beats and rhythm gate, as when adapted
        from ecgnet.adaptation import saved_span

        used, span, warning = saved_span(model, record, found.times)
        verdict += [warning] if warning else []
    from ecgnet.pretrained_models import check_probabilities

    probabilities = model.predict(feed, batch_size=batch_size, verbose=0)
    probabilities = check_probabilities(probabilities, source, beats=np.flatnonzero(usable))
    gated = np.zeros(len(usable), bool)
    if used is not None:
        from ecgnet.adaptation import gate_irregular_rhythm, record_rhythm_gate

        gated = record_rhythm_gate(record, found, used, span)
        probabilities = gate_irregular_rhythm(probabilities, gated[usable])
    predicted = np.full(len(usable), -1)
    predicted[usable] = probabilities.argmax(axis=1)
    confidence = np.full(len(usable), np.nan)
    confidence[usable] = probabilities.max(axis=1)
    import pandas as pd

    columns = {
        "time_s": np.round(found.times, 3),
        "predicted": [CLASS_NAMES[i] if i >= 0 else UNCLASSIFIABLE for i in predicted],
        "confidence": confidence,
        "signal": [problem or "ok" for problem in found.problems],
    }
    truth = found.beats.y.astype(np.int64)
    if (truth >= 0).any():
        columns["annotated"] = [CLASS_NAMES[i] if i >= 0 else "" for i in truth]
    if used is not None:
        columns["adaptation"] = np.where(used, "yes", "")
    table = pd.DataFrame(columns)
    table.attrs.update(record=str(record_path), peaks=found.source, fs=found.fs, stretches=list(found.stretches),
                       leads=2 if recipe.second_lead else 1, recipe=recipe.to_config(), lead=found.lead,
                       verdict=verdict)
    if used is not None:
        from ecgnet.adaptation import patient_record

        table.attrs.update(rhythm_gate=int(gated.sum()), adapted_in_memory=adapt_minutes is not None,
                           adapted_minutes=adapt_minutes if adapt_minutes is not None else patient_record(model)["minutes"])
    return table


def refuse_flat_beats(beats):
    """Refuse cut beats whose samples are all equal: a flat line is no heartbeat, yet a model gives it a class.

    No beat of the 109,446 of MIT-BIH's 48 records is flat (the smallest
    range of a beat's 187 samples is 0.16, on the 0..1 scale of the Kaggle
    format); a flat row is padding, a placeholder or a broken export.

    Raises:
        DataFormatError: naming the source and the first flat beat (and its line in a CSV file).
    """
    x = np.asarray(beats.x)
    x = x.reshape(len(x), -1) if x.ndim == 3 and x.shape[2] == 1 else x[..., 0] if x.ndim == 3 else x
    flat = np.flatnonzero(x.max(axis=1) == x.min(axis=1)) if len(x) else np.array([], int)
    if len(flat):
        first = int(flat[0])
        where = f"line {first + 1}" if str(beats.source).endswith((".csv", ".csv.gz")) else f"beat {first}"
        raise DataFormatError(
            f"{beats.source}: {where}: the beat is flat (its {x.shape[1]} samples all equal {x[first, 0]:g}; "
            f"{len(flat)} of {len(x)} beats are): a flat line is no heartbeat and gets no class"
        )


def predict_beats(model, beats, batch_size=512, source=None):
    """Label cut beats (``python -m ecgnet predict --beats``): one row per beat.

    Args:
        model: a ``keras.Model``, or a ``.keras`` file or shipped model name.
        beats: :class:`ecgnet.data.Beats` (e.g. of :func:`ecgnet.data.load_part`).
        batch_size: int.
        source: str, the model's file or name in messages.

    Returns:
        A ``pandas.DataFrame``: ``beat`` (its row), ``predicted`` (a class
        name), ``confidence`` and, when some beats are labelled, ``annotated``
        (their class name, "" where unknown).

    Raises:
        ModelFileError: the model's outputs are not class probabilities.
    """
    import pandas as pd

    from ecgnet.data.prepared import model_inputs
    from ecgnet.pretrained_models import check_probabilities, load_model

    refuse_flat_beats(beats)
    if not hasattr(model, "predict"):
        source, model = source or str(model), load_model(model)
    probabilities = model.predict(model_inputs(model, beats), batch_size=batch_size, verbose=0)
    probabilities = check_probabilities(probabilities, source or f"model {model.name!r}")
    rows = {
        "beat": np.arange(len(beats)),
        "predicted": [CLASS_NAMES[i] for i in probabilities.argmax(axis=1)],
        "confidence": probabilities.max(axis=1).astype(np.float64),
    }
    if (beats.y >= 0).any():
        rows["annotated"] = [CLASS_NAMES[i] if i >= 0 else "" for i in beats.y]
    return pd.DataFrame(rows)


def summary_lines(table):
    """What a table of :func:`predict_record` or :func:`predict_beats` says, in lines to print.

    The agreement with the annotations (over the labelled beats that got a
    class), then the count of each predicted class (and of :data:`UNCLASSIFIABLE`).
    """
    classified = table["predicted"] != UNCLASSIFIABLE
    lines = []
    if "annotated" in table:
        known = (table["annotated"] != "") & classified
        if known.any():
            agreement = np.mean(table["predicted"][known] == table["annotated"][known])
            lines.append(f"agreement with the annotations: {agreement:.2%} of {known.sum()} labelled, classifiable beats")
    counts = table["predicted"].value_counts().reindex(list(CLASS_NAMES) + [UNCLASSIFIABLE], fill_value=0)
    lines.append("predicted classes: " + ", ".join(f"{name} {count}" for name, count in counts.items() if name != UNCLASSIFIABLE or count))
    return lines


def record_lines(table, detect=False, limit=10):
    """What :func:`predict_record` found in a record, as ``(lines, warnings)`` to print.

    The lines: how many beats, the lead read and where the R peaks came from;
    the bad signal (at most ``limit`` stretches); the beats that got no class
    and when (at most ``limit`` times). The warnings: the plausibility verdict
    (:mod:`ecgnet.plausibility`), one line each.
    """
    from ecgnet.quality import describe_stretches

    attrs = table.attrs
    peak_source = PEAK_SOURCES[attrs["peaks"]]
    if attrs["peaks"] == "detector":
        peak_source += " (--detect)" if detect else f" ({_no_annotations(attrs['record'])})"
    lead = attrs["lead"] or "unnamed (the header names none; its first signal)"
    lines = [f"{len(table)} beats in {attrs['record']}: lead {lead}, R peaks from {peak_source}"]
    if attrs["stretches"]:
        leads = " in the two leads the model reads" if attrs["leads"] == 2 else ""
        lines.append(f"bad signal (ecgnet.quality){leads}: {describe_stretches(attrs['stretches'], attrs['fs'], limit=limit)}")
    bad = np.flatnonzero(table["predicted"].to_numpy() == UNCLASSIFIABLE)
    if len(bad):
        times = ", ".join(f"{t:.2f}" for t in table["time_s"].to_numpy()[bad[:limit]]) + (", ..." if len(bad) > limit else "")
        lines.append(f"unclassifiable: {len(bad)} beats touch bad signal or are not QRS-like and get no class "
                     f"({UNCLASSIFIABLE!r}, the reason in the 'signal' column); at {times} s")
    return lines, [f"warning: {line}" for line in attrs["verdict"]]
