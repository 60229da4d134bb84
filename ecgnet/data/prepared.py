"""Prepared data folders, and the inputs a model needs from them.

A *part* is the ``"train"`` or ``"test"`` half of a data folder, read as
:class:`~ecgnet.data.container.Beats` whose ``source`` is the file read.
Folders written by ``python -m ecgnet prepare`` hold ``.npz`` files with
records, R-peak samples and R-R intervals (and centred windows, a second
lead); Kaggle downloads hold CSV files with beats and labels only, so those
fields are None. :class:`ecgnet.recipe.InputRecipe` says which beat channels
and R-R features a model takes; :func:`model_inputs` builds them from beats.

Example:
    >>> test = load_part("data/mitbih-kaggle", "test")
    >>> probabilities = model.predict(model_inputs(model, test))
"""

from pathlib import Path

from ecgnet.data.container import Beats, load_beats_npz
from ecgnet.data.csv_files import load_mitbih_csv
from ecgnet.data.manifest import MANIFEST, check_manifest, read_manifest
from ecgnet.errors import DataFormatError
from ecgnet.files import as_path
from ecgnet.recipe import (  # noqa: F401  the registries, under their ecgnet.data names
    BEAT_CHANNELS,
    CENTRED_CHANNELS,
    WINDOW_CHANNELS,
    WINDOWS,
    InputRecipe,
    feeds_flat_beats,
    window_channels,
)


#: The part files that ``prepare`` writes; a folder holding them needs its manifest.
PREPARED_PARTS = ("train.npz", "test.npz", "train.csv", "test.csv")


def part_named(path):
    """``"train"`` or ``"test"`` where a file's name is that of a split's part (``test.npz``, ``mitbih_train.csv``,
    ``.csv.gz``; any case), else None.

    Example:
        >>> part_named("data/mitbih-kaggle/test.npz"), part_named("beats.csv")
        ('test', None)
    """
    name = Path(path).name.lower()
    for part in ("train", "test"):
        if name in {f"{prefix}{part}{ending}" for prefix in ("", "mitbih_") for ending in (".npz", ".csv", ".csv.gz")}:
            return part
    return None


def load_part(data, part):
    """Load the ``part`` ("train" or "test") of a data folder, or one data file.

    Returns :class:`~ecgnet.data.container.Beats` with ``source`` the file
    read; beats of a CSV file have no ``record``, ``r_peak`` or ``rr`` (None).

    A folder with a ``manifest.json`` (written by :func:`ecgnet.data.prepare_split`)
    is checked first: the part file must be listed there with the same SHA-256
    (:func:`ecgnet.data.manifest.check_manifest`). A folder holding
    ``train.npz``/``test.npz`` but no manifest is refused. Kaggle CSV folders
    (``mitbih_train.csv``), which have no manifest, load as they are.

    Raises:
        DataFormatError: no such file or folder, no such part, a test part's
            file given for ``"train"``, or a manifest
            that is missing, unreadable or does not match (one line naming the file).
    """
    data = as_path(data, "data", "the path of a data folder or file (str or Path)", DataFormatError)
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
        if part == "train" and part_named(path) == "test":  # a model trained on the test part has no unseen beats left
            raise DataFormatError(
                f"{path}: is the test part of a split (its name says so); training on it leaves no unseen beats "
                f"to measure the model on: pass the folder, or its train file ({path.parent / path.name.replace('test', 'train')})"
            )
        if path.name in PREPARED_PARTS:  # a part of a prepared folder: its manifest must agree
            manifest = read_manifest(path.parent)
            if manifest is not None and path.name in manifest["files"]:
                check_manifest(path.parent, path.name)
    else:
        raise DataFormatError(f"{data}: no such file or folder")
    if path.suffix.lower() == ".npz":
        return load_beats_npz(path)
    x, y = load_mitbih_csv(path)
    return Beats(x[..., 0], y, source=path)


def beat_channels(beats, channels, window="kachuee"):
    """The beats with their first ``channels`` channels.

    The same as ``InputRecipe(window, channels).beat_input(beats)``
    (:meth:`ecgnet.recipe.InputRecipe.beat_input`), which builds them.

    Args:
        beats: :class:`~ecgnet.data.container.Beats`, e.g. from :func:`load_part`.
        channels: for the ``"kachuee"`` window 1 to 6 (:data:`BEAT_CHANNELS`),
            for the ``"centred"`` window 1 or 2 (:data:`CENTRED_CHANNELS`).
        window: ``"kachuee"`` or ``"centred"`` (:data:`WINDOWS`).

    Returns:
        float32 (n, 187, channels) for ``"kachuee"``, (n, 88, channels) for ``"centred"``.

    Raises:
        DataFormatError: ``channels`` or ``window`` is not one of those, or the beats lack the
            record names that channels 2 and 3 need (and the R-peak samples and
            R-R intervals that channel 3 needs), or the second lead that
            channels 4 to 6 need, or the centred windows.

    Example:
        >>> beat_channels(load_part("data/mitbih-interpatient", "train"), 3).shape
        (50999, 187, 3)
        >>> beat_channels(load_part("data/mitbih-interpatient", "train"), 2, window="centred").shape
        (50999, 88, 2)
    """
    return window_channels(beats, window, channels)


def model_inputs(model, beats, index=None):
    """The input(s) for ``model`` from :class:`~ecgnet.data.container.Beats`, checking shapes first.

    ``index`` (an index array or mask) keeps only those beats, after the
    channels were built from all the beats: record medians and previous
    beats need every beat of a record, not just the selected ones.

    The model's recipe (:meth:`ecgnet.recipe.InputRecipe.from_model`) builds
    them (:meth:`~ecgnet.recipe.InputRecipe.inputs`): its window (the
    ``"centred"`` one, with 1 or 2 channels, needs data prepared with
    centred windows), its beat channels (:data:`BEAT_CHANNELS`): 1, the
    beat; 2, also its difference from its record's median beat; 3, also the
    previous beat of the same record; 6, the same three of the second lead
    too. Channels 2 and 3 need the record names that only prepared ``.npz``
    files (or WFDB records) carry; 4 to 6 need the second lead. Its R-R
    features (``select_rr_features``): 6 for all of them, 3 for the
    record-relative ones, 5 for those and two against the local rhythm
    (:data:`RR_FEATURE_SETS`).

    A model whose beat input has no channel axis (``keras.Input((187,))``,
    :func:`ecgnet.recipe.feeds_flat_beats`) gets the one-channel beat with
    that axis squeezed out: ``(n, 187)``.

    Returns:
        The beat array for a model with one input, else ``{"beat": ..., "rr": ...}``.

    Raises:
        DataFormatError: ``beats`` is no ``Beats`` (a plain array), or not of the shape the model expects.
    """
    if not isinstance(beats, Beats):  # a plain array has none of the records, R-R intervals or windows a recipe reads
        raise DataFormatError(
            f"model_inputs: beats must be ecgnet.data.Beats (load_part, load_beats_npz, beats_from_record give them), "
            f"not {type(beats).__name__}{f' of shape {beats.shape}' if hasattr(beats, 'shape') else ''}"
        )
    recipe = InputRecipe.from_model(model)
    expected_beat = tuple(model.inputs[0].shape[1:])
    inputs = recipe.inputs(beats, index)
    if feeds_flat_beats(model):  # keras.Input((187,)): the one-channel beat without its channel axis
        inputs["beat"] = inputs["beat"][..., 0]
    if tuple(inputs["beat"].shape[1:]) != expected_beat:
        raise DataFormatError(
            f"{beats.source}: beats of shape {tuple(inputs['beat'].shape[1:])}, "
            f"but the model expects {expected_beat}"
        )
    return inputs["beat"] if recipe.rr_features is None else inputs


def require_beats(beats, labelled=False):
    """``beats``, refused if they hold no beat or (``labelled``) a beat whose class is unknown (-1).

    Training and evaluation need labelled beats; prediction only some.

    Raises:
        DataFormatError: one line naming the source and the first unlabelled beat.

    Example:
        >>> train = require_beats(load_part("data/mitbih-kaggle", "train"), labelled=True)
    """
    import numpy as np

    if len(beats.y) == 0:
        raise DataFormatError(f"{beats.source}: holds no beats")
    if labelled and (beats.y < 0).any():
        unknown = np.flatnonzero(beats.y < 0)
        raise DataFormatError(
            f"{beats.source}: beat {unknown[0]}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + " has no class label (-1); training and evaluation need labelled beats"
        )
    return beats
