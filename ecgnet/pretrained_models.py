"""The models shipped with the repository, and loading any model file safely.

Three models live in ``ecgnet/weights/``, each a ``.keras`` file with a JSON model
card beside it (data, split, training command, test metrics; the README shows
the same cards):

- ``ecgnet-mitbih``: trained on the "kaggle" split (random 80/20 beats); beat
  plus 6 R-R features; the mean of three networks (seeds 0, 1, 2).
- ``ecgnet-mitbih-interpatient``: trained on DS1 of the inter-patient split; three
  beat channels (the beat, the beat minus its record's median beat, the
  previous beat of the record), plus the 3 record-relative R-R features; the
  mean of three networks refit on all of DS1.
- ``ecgnet-mitbih-svdb``: trained on DS1 and 39 records of the MIT-BIH
  Supraventricular Arrhythmia Database; the R-centred window and its difference
  from the record's median window, plus the 3 record-relative R-R features;
  the mean of three networks multiplied by an R-R logistic regression. On DS2
  it finds more V beats than ``ecgnet-mitbih-interpatient`` and fewer F.

Each card holds the model's input recipe as data (``"recipe"``, an
:meth:`ecgnet.recipe.InputRecipe.to_config`), the same as
:meth:`ecgnet.recipe.InputRecipe.from_model` of the model; the recipe builds
the inputs from beats (:meth:`~ecgnet.recipe.InputRecipe.inputs`,
:func:`ecgnet.data.model_inputs` for a prepared data folder,
:func:`ecgnet.predict_record` for a raw record).

Example:
    >>> import ecgnet
    >>> model = ecgnet.pretrained("ecgnet-mitbih")
    >>> [tensor.name for tensor in model.inputs]
    ['beat', 'rr']
"""

import json
import os
import zipfile
from pathlib import Path

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import ModelFileError
from ecgnet.files import as_path
from ecgnet.recipe import InputRecipe

#: The classes a model's output must have: the AAMI classes N, S, V, F, Q.
NUM_CLASSES = len(CLASS_NAMES)
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def available():
    """Names of the shipped pretrained models (sorted).

    The names are the stems of the ``.keras`` files in ``ecgnet/weights/``.

    Returns:
        list of str, sorted.

    Example:
        >>> available()
        ['ecgnet-mitbih', 'ecgnet-mitbih-interpatient', 'ecgnet-mitbih-svdb']
    """
    return sorted(path.stem for path in WEIGHTS_DIR.glob("*.keras"))


def model_card(name):
    """The model card (a dict) of a shipped model: data, split, command, metrics.

    Args:
        name: str, one of :func:`available`.

    Returns:
        dict, the JSON card ``ecgnet/weights/NAME.json`` as read (keys such as
        ``"split"``, ``"recipe"``, ``"train_command"``, ``"test"``).

    Raises:
        ModelFileError: no shipped model of that name.

    Example:
        >>> card = model_card("ecgnet-mitbih")
        >>> card["split"], card["preset"]
        ('kaggle', 'small')
    """
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.exists():
        raise ModelFileError(_unknown_name_message(name))
    return json.loads(path.read_text(encoding="utf-8"))


def pretrained(name):
    """Load a shipped pretrained model by name.

    Args:
        name: str, one of :func:`available` (``"ecgnet-mitbih"``,
            ``"ecgnet-mitbih-interpatient"``, ``"ecgnet-mitbih-svdb"``).

    Returns:
        An uncompiled ``keras.Model`` ready for ``predict``, loaded by
        :func:`load_model`.

    Raises:
        ModelFileError: no shipped model of that name.

    Example:
        >>> model = pretrained("ecgnet-mitbih-interpatient")
        >>> model.output_shape
        (None, 5)
    """
    path = WEIGHTS_DIR / f"{name}.keras"
    if not path.exists():
        raise ModelFileError(_unknown_name_message(name))
    return load_model(path)


def model_path(path_or_name):
    """The ``.keras`` file that :func:`load_model` would load, checked without importing TensorFlow.

    Args:
        path_or_name: str or Path, a ``.keras`` file or a name from :func:`available`.

    Returns:
        Path of an existing ``.keras`` zip archive.

    Raises:
        ModelFileError: no such file and no such pretrained name, or a file
            that is not a ``.keras`` archive.

    Example:
        >>> model_path("ecgnet-mitbih").name
        'ecgnet-mitbih.keras'
    """
    path = as_path(path_or_name, "model", "a .keras file or the name of a shipped model (str or Path)", ModelFileError)
    if not path.exists() and str(path_or_name) in available():
        path = WEIGHTS_DIR / f"{path_or_name}.keras"
    if not path.exists():
        raise ModelFileError(
            f"{path}: no such model file (and not a pretrained model name; "
            f"pretrained models: {', '.join(available()) or 'none'})"
        )
    if path.is_file() and not os.access(path, os.R_OK):
        raise ModelFileError(f"{path}: cannot be read (permission denied)")
    if path.is_dir() or path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path}: not a Keras model file (expected a .keras zip archive as written by model.save)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ModelFileError(f"{path}: not a readable zip archive ({error})") from None
    if "config.json" not in names:  # a zip of another kind (.npz, .docx, an empty archive) named .keras
        held = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise ModelFileError(
            f"{path}: a zip archive without config.json (it holds {held or 'nothing'}), so not a Keras model file "
            "(model.save writes config.json, metadata.json and model.weights.h5)"
        )
    return path


def load_model(path_or_name, num_classes=NUM_CLASSES):
    """Load a ``.keras`` model file (safe mode) or a shipped model by name.

    Every failure becomes a :class:`~ecgnet.errors.ModelFileError` that names the
    file and what is wrong with it, instead of a deep Keras traceback. That
    includes a model that is not a heartbeat classifier: it must have one
    output of ``num_classes`` class probabilities, and inputs that an input
    recipe makes (:meth:`ecgnet.recipe.InputRecipe.from_model`: the beat,
    ``(187, 1)`` or ``(187,)`` and the like, and at most the R-R features).

    Args:
        path_or_name: str or Path, a ``.keras`` file or a name from :func:`available`.
        num_classes: int, the classes the model's one output must have
            (default 5, the AAMI classes N, S, V, F, Q); None skips both checks.

    Returns:
        The ``keras.Model``.

    Raises:
        ModelFileError: one line naming the file: not a model Keras loads,
            another output, or inputs no recipe makes (three inputs, a beat
            input of shape ``(None, 1)`` or ``(1, 187)``).

    Example:
        >>> load_model("ecgnet-mitbih").inputs[0].shape
        (None, 187, 1)
    """
    path = model_path(path_or_name)
    import keras

    import ecgnet.layers  # noqa: F401  registers the ecgnet layers for deserialisation

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types; the user needs one clear line
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path}: could not load the model: {first_line}") from error
    if num_classes is not None:
        shapes = [tuple(tensor.shape) for tensor in model.outputs]
        if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][-1] != num_classes:
            raise ModelFileError(
                f"{path}: the model outputs {', '.join(str(s) for s in shapes) or 'nothing'}, but a heartbeat "
                f"classifier here outputs one probability per class, shape (batch, {num_classes}) "
                f"({', '.join(CLASS_NAMES)})"
            )
        InputRecipe.from_model(model, source=str(path))  # inputs that no recipe makes: one line naming the file
    return model


def _unknown_name_message(name):
    return f"unknown pretrained model {name!r}; available: {', '.join(available()) or 'none'}"


#: How far a row of class probabilities may sum from 1 (float16 softmax under mixed precision is off by up to ~1e-3).
PROBABILITY_TOLERANCE = 1e-2


def check_probabilities(probabilities, source, tolerance=PROBABILITY_TOLERANCE, beats=None):
    """Refuse model outputs that are not class probabilities; return them as a float array.

    A heartbeat classifier here ends in a softmax: every output is a finite
    number in [0, 1] and each beat's outputs sum to 1. A model that outputs
    logits, or one sigmoid per class, still has the right shape, and its
    ``argmax`` still picks a class, but its "confidence" means nothing (it
    can exceed 1). ``python -m ecgnet evaluate`` and ``predict`` check what
    the model gave with this before reporting it.

    Args:
        probabilities: array (n, classes), the model's outputs.
        source: str, the model (file or name), for the message.
        tolerance: float, how far an output may be below 0 or a row's sum from 1.
        beats: optional int array (n,), the beat numbers to name (default 0..n-1).

    Returns:
        float64 array (n, classes).

    Raises:
        ModelFileError: naming ``source``, the first beat at fault and what is wrong.

    Example:
        >>> check_probabilities([[0.9, 0.1, 0.0, 0.0, 0.0]], "model.keras").shape
        (1, 5)
    """
    import numpy as np

    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:  # one row of class probabilities per beat; a model's (n, steps, classes) or (n,) output is not that
        raise ModelFileError(
            f"{source}: the model's output has shape {p.shape}; a heartbeat classifier gives one row of class "
            "probabilities per beat, (beats, classes)"
        )
    if p.shape[0] == 0:
        return p
    number = (lambda i: int(i)) if beats is None else (lambda i: int(np.asarray(beats)[i]))
    hint = ("a heartbeat classifier here ends in a softmax (outputs in [0, 1] summing to 1); "
            "is it a model that outputs logits or one sigmoid per class?")
    finite = np.isfinite(p).all(axis=1)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise ModelFileError(f"{source}: the model gave non-finite outputs (first at beat {number(first)}); is it a trained classifier?")
    low = p.min(axis=1) < -tolerance
    high = p.max(axis=1) > 1 + tolerance
    sums = p.sum(axis=1)
    off = np.abs(sums - 1) > tolerance
    for bad, what in ((low, lambda i: f"an output of {p[i].min():.4g}"), (high, lambda i: f"an output of {p[i].max():.4g}"),
                      (off, lambda i: f"outputs summing to {sums[i]:.4g}")):
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ModelFileError(
                f"{source}: the model's outputs are not class probabilities: beat {number(first)} has {what(first)} "
                f"({int(bad.sum())} of {len(p)} beats are off); {hint}"
            )
    return p
