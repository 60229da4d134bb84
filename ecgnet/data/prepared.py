"""Prepared data folders, and the inputs a model needs from them.

A *part* is the ``"train"`` or ``"test"`` half of a data folder, as a dict:
``x`` (n, 187, 1), ``y`` (n,), ``rr`` ((n, 6) R-R features or None),
``record`` ((n,) names or None), ``r_peak`` ((n,) R-peak samples or None),
``second_lead`` ((n, 187, 1) or None), ``centred`` ((n, 88, 1) R-centred
windows or None) and ``source`` (the file read). Folders written
by ``python -m ecgnet prepare`` hold ``.npz`` files with records and R-R
intervals; Kaggle downloads hold CSV files with beats and labels only.
:func:`input_recipe` says which beat channels and R-R features a model
takes; :func:`model_inputs` builds them from a part.

Example:
    >>> test = load_part("data/mitbih-kaggle", "test")
    >>> probabilities = model.predict(model_inputs(model, test))
"""

from pathlib import Path

import numpy as np

from ecgnet.data.container import load_beats_npz
from ecgnet.data.csv_files import load_mitbih_csv
from ecgnet.data.features import previous_beats, record_relative_beats, rr_features, select_rr_features
from ecgnet.data.manifest import MANIFEST, check_manifest, read_manifest
from ecgnet.data.signals import BEAT_LENGTH, CENTRED_LENGTH
from ecgnet.errors import DataFormatError, ModelFileError


#: The part files that ``prepare`` writes; a folder holding them needs its manifest.
PREPARED_PARTS = ("train.npz", "test.npz", "train.csv", "test.csv")


def load_part(data, part):
    """Load the ``part`` ("train" or "test") of a data folder, or one data file.

    Returns a dict with ``x`` (n, 187, 1), ``y`` (n,), ``rr`` ((n, 6) or None for
    CSV files, which carry no R-R intervals), ``record`` and ``r_peak`` ((n,)
    record names and R-peak samples, or None for CSV files) and ``source``
    (the file read).

    A folder with a ``manifest.json`` (written by :func:`ecgnet.data.prepare_split`)
    is checked first: the part file must be listed there with the same SHA-256
    (:func:`ecgnet.data.manifest.check_manifest`). A folder holding
    ``train.npz``/``test.npz`` but no manifest is refused. Kaggle CSV folders
    (``mitbih_train.csv``), which have no manifest, load as they are.

    Raises:
        DataFormatError: no such file or folder, no such part, or a manifest
            that is missing, unreadable or does not match (one line naming the file).
    """
    data = Path(data)
    if data.is_dir():
        candidates = [f"{part}.npz", f"mitbih_{part}.npz", f"{part}.csv", f"{part}.csv.gz", f"mitbih_{part}.csv", f"mitbih_{part}.csv.gz"]
        found = [data / name for name in candidates if (data / name).exists()]
        if not found:
            raise DataFormatError(f"{data}: no {part} data here (looked for {', '.join(candidates)})")
        path = found[0]
        if check_manifest(data, path.name) is None and path.name in PREPARED_PARTS:
            raise DataFormatError(
                f"{data}: has {path.name} but no {MANIFEST}, so it may be half-written or from an older version; "
                "prepare it again (python -m ecgnet prepare ... --overwrite)"
            )
    elif data.exists():
        path = data
        if path.name in PREPARED_PARTS:  # a part of a prepared folder: its manifest must agree
            manifest = read_manifest(path.parent)
            if manifest is not None and path.name in manifest["files"]:
                check_manifest(path.parent, path.name)
    else:
        raise DataFormatError(f"{data}: no such file or folder")
    if path.suffix == ".npz":
        return part_from_beats(load_beats_npz(path), source=path)
    x, y = load_mitbih_csv(path)
    return {"x": x, "y": y, "rr": None, "record": None, "r_peak": None, "second_lead": None, "centred": None, "source": path}


def part_from_beats(beats, source):
    """A part (see :func:`load_part`) from :class:`~ecgnet.data.container.Beats`, with its R-R features."""
    return {
        "x": beats.x[..., None] if beats.x.ndim == 2 else beats.x,
        "y": beats.y.astype("int64"),
        "rr": rr_features(beats.rr, beats.record),
        "record": beats.record,
        "r_peak": beats.r_peak,
        "second_lead": None if beats.second_lead is None else beats.second_lead[..., None],
        "centred": None if beats.centred is None else beats.centred[..., None],
        "source": source,
    }


#: What each beat channel holds, in order; a model with k beat channels takes
#: the first k (:func:`beat_channels`). These are the channels of the
#: ``"kachuee"`` window; the ``"centred"`` one has :data:`CENTRED_CHANNELS`.
BEAT_CHANNELS = {
    1: "the beat",
    2: "the beat minus its record's median beat (ecgnet.data.record_relative_beats)",
    3: "the previous beat of the same record, which holds this beat's P wave (ecgnet.data.previous_beats)",
    4: "the beat in the record's second lead (V1 in most MIT-BIH records)",
    5: "the second lead's beat minus its record's median beat",
    6: "the second lead's previous beat",
}

#: The beat windows a model can take, by name: what they hold and their length in samples (125 Hz).
WINDOWS = {
    "kachuee": ("the beat from its R peak on, 1.2 periods long, zero-padded (ecgnet.data.segment_beats)", BEAT_LENGTH),
    "centred": ("a window from 0.256 s before the R peak to 0.44 s after it: P wave, QRS, T "
                "(ecgnet.data.signals.centred_windows)", CENTRED_LENGTH),
}

#: The channels of the ``"centred"`` window, in order (:func:`beat_channels`).
CENTRED_CHANNELS = {
    1: "the R-centred window, scaled by the record's median R amplitude",
    2: "that window minus its record's median window",
}

#: Each window's channels (:data:`BEAT_CHANNELS`, :data:`CENTRED_CHANNELS`), by window name.
WINDOW_CHANNELS = {"kachuee": BEAT_CHANNELS, "centred": CENTRED_CHANNELS}


def window_of_length(steps):
    """The name of the window (a key of :data:`WINDOWS`) that is ``steps`` samples long, or None."""
    return next((name for name, (_, length) in WINDOWS.items() if length == steps), None)


def beat_channels(part, channels, window="kachuee"):
    """The beats of a part with their first ``channels`` channels.

    Args:
        part: a dict from :func:`load_part` or :func:`part_from_beats`.
        channels: for the ``"kachuee"`` window 1 to 6 (:data:`BEAT_CHANNELS`),
            for the ``"centred"`` window 1 or 2 (:data:`CENTRED_CHANNELS`).
        window: ``"kachuee"`` or ``"centred"`` (:data:`WINDOWS`).

    Returns:
        float32 (n, 187, channels) for ``"kachuee"``, (n, 88, channels) for ``"centred"``.

    Raises:
        DataFormatError: ``channels`` or ``window`` is not one of those, or the part lacks the
            record names that channels 2 and 3 need (and the R-peak samples and
            R-R intervals that channel 3 needs), or the second lead that
            channels 4 to 6 need, or the centred windows.

    Example:
        >>> beat_channels(load_part("data/mitbih-interpatient", "train"), 3).shape
        (50999, 187, 3)
        >>> beat_channels(load_part("data/mitbih-interpatient", "train"), 2, window="centred").shape
        (50999, 88, 2)
    """
    if window not in WINDOWS:
        raise DataFormatError(f"beat windows are {sorted(WINDOWS)}. Received: window={window!r}")
    if window == "centred":
        return _centred_channels(part, channels)
    if channels not in BEAT_CHANNELS:
        raise DataFormatError(f"beats have {sorted(BEAT_CHANNELS)} channels ({'; '.join(BEAT_CHANNELS.values())}). Received: {channels}")
    if channels > 3:
        if part.get("second_lead") is None:
            raise DataFormatError(
                f"{part['source']}: beat channels 4 to 6 are the record's second lead, which this data lacks; "
                "prepare it with `python -m ecgnet prepare --second-lead`, or pass a two-lead --record"
            )
        other = beat_channels(dict(part, x=part["second_lead"]), 3)
        return np.concatenate([beat_channels(part, 3), other[..., : channels - 3]], axis=-1)
    x = part["x"][..., :1]
    if channels == 1:
        return x
    if part.get("record") is None or (channels == 3 and (part.get("r_peak") is None or part.get("rr") is None)):
        raise DataFormatError(
            f"{part['source']}: beat channel {channels} ({BEAT_CHANNELS[channels]}) needs the record names "
            "(and R-peak samples and R-R intervals) that Kaggle CSV files do not carry; "
            "pass the folder written by `python -m ecgnet prepare` (test.npz) or a --record"
        )
    stacked = record_relative_beats(x, part["record"])
    if channels == 3:
        stacked = np.concatenate([stacked, previous_beats(x, part["record"], part["r_peak"], part["rr"])[..., None]], axis=-1)
    return stacked


def _centred_channels(part, channels):
    if channels not in CENTRED_CHANNELS:
        raise DataFormatError(
            f"centred windows have {sorted(CENTRED_CHANNELS)} channels ({'; '.join(CENTRED_CHANNELS.values())}). "
            f"Received: {channels}"
        )
    if part.get("centred") is None:
        raise DataFormatError(
            f"{part['source']}: has no centred beat windows (Kaggle CSV files and folders prepared by older "
            "versions lack them); prepare the data again with `python -m ecgnet prepare ... --overwrite` "
            "(predict also reads a raw --record)"
        )
    x = part["centred"][..., :1]
    if channels == 1:
        return x
    if part.get("record") is None:
        raise DataFormatError(f"{part['source']}: centred channel 2 ({CENTRED_CHANNELS[2]}) needs the record names")
    return record_relative_beats(x, part["record"])


def _recipe_layers(model):
    """The ``InputRecipe`` layers of ``model`` and of the models nested in it (an ensemble's members)."""
    for layer in getattr(model, "layers", ()):
        if type(layer).__name__ == "InputRecipe":
            yield layer
        else:
            yield from _recipe_layers(layer)


def input_recipe(model):
    """The inputs that ``model`` needs: ``{"beat_channels": int, "rr_features": int or None, "window": str}``.

    ``window`` is the beat window its beat input takes (a key of
    :data:`WINDOWS`), ``beat_channels`` how many of that window's channels
    (:data:`BEAT_CHANNELS`, :data:`CENTRED_CHANNELS`) it
    holds, ``rr_features`` the width of its R-R input (a key of
    ``ecgnet.data.RR_FEATURE_SETS``), or None without one. Models built by
    :mod:`ecgnet.models` keep this in an ``InputRecipe`` layer
    (:class:`ecgnet.layers.InputRecipe`; an ensemble's members each hold one);
    for a model without it (``.keras`` files written before that layer, or
    a hand-built model) the recipe is read from its input shapes: the beat
    input's channels and the width of its second input, as they are, and
    the window whose length the beat input has (else ``"kachuee"``).

    The layer is found by its class name, so this module does not import
    the layers (data comes before layers).

    Args:
        model: a ``keras.Model`` whose first input is the beat and whose
            second input, if any, the R-R features.

    Returns:
        A dict ``{"beat_channels": int, "rr_features": int or None, "window": str}``.

    Raises:
        ModelFileError: the model's recipe layers disagree with each other or
            with its input shapes (the message gives both).

    Example:
        >>> input_recipe(ecgnet.pretrained("ecgnet-mitbih-interpatient"))
        {'beat_channels': 3, 'rr_features': 3, 'window': 'kachuee'}
    """
    shapes = {
        "beat_channels": model.inputs[0].shape[-1],
        "rr_features": model.inputs[1].shape[-1] if len(model.inputs) > 1 else None,
        "window": window_of_length(model.inputs[0].shape[1]) or "kachuee",
    }
    found = []
    for layer in _recipe_layers(model):
        config = layer.get_config()
        recipe = {"beat_channels": config["beat_channels"], "rr_features": config["rr_features"],
                  "window": config.get("window", "kachuee")}
        if recipe not in found:
            found.append(recipe)
    if not found:
        return shapes
    if len(found) > 1 or found[0] != shapes:
        raise ModelFileError(
            f"model {model.name!r}: its InputRecipe layers say {' and '.join(map(str, found))}, "
            f"but its inputs give {shapes}"
        )
    return found[0]


def model_inputs(model, part, index=None):
    """The input(s) for ``model`` from a loaded part, checking shapes first.

    ``index`` (an index array or mask) keeps only those beats, after the
    channels were built from the whole part: record medians and previous
    beats need every beat of a record, not just the selected ones.

    The model's recipe (:func:`input_recipe`) picks what it is given: its
    window (the ``"centred"`` one, with 1 or 2 channels, needs data
    prepared with centred windows), its
    beat channels (:func:`beat_channels`): 1, the beat; 2, also its
    difference from its record's median beat; 3, also the previous beat of
    the same record; 6, the same three of the second lead too. Channels 2
    and 3 need the record names that only prepared ``.npz`` files (or WFDB
    records) carry; 4 to 6 need the second lead. Its R-R features
    (``select_rr_features``): 6 for all of them, 3 for the record-relative
    ones, 5 for those and two against the local rhythm
    (``ecgnet.data.RR_FEATURE_SETS``).
    """
    recipe = input_recipe(model)
    names = [tensor.name.split(":")[0] for tensor in model.inputs]
    expected_beat = tuple(model.inputs[0].shape[1:])
    channels = recipe["beat_channels"]
    if recipe["window"] != "kachuee":
        part = dict(part, x=beat_channels(part, channels, window=recipe["window"]))
    elif part["x"].shape[-1] == 1 and channels in BEAT_CHANNELS and channels > 1:
        part = dict(part, x=beat_channels(part, channels))
    if tuple(part["x"].shape[1:]) != expected_beat:
        raise DataFormatError(
            f"{part['source']}: beats of shape {tuple(part['x'].shape[1:])}, "
            f"but the model expects {expected_beat}"
        )
    keep = slice(None) if index is None else index
    if recipe["rr_features"] is None:
        return part["x"][keep]
    if part["rr"] is None:
        raise DataFormatError(
            f"{part['source']}: the model takes R-R features (inputs {names}), which Kaggle CSV files do not carry; "
            "pass the folder written by `python -m ecgnet prepare` (train.npz / test.npz)"
        )
    return {"beat": part["x"][keep], "rr": select_rr_features(part["rr"], recipe["rr_features"])[keep]}
