"""Run folders without TensorFlow: the training card, the run's identity, folds and pooling.

A run folder written by :func:`ecgnet.training.train` keeps, beside
``model.keras``, its training card ``training.json`` (:func:`training_card`,
:func:`write_training_card`, :func:`read_training_card`,
:func:`check_training_card`): the recipe, the validation split and the
validation figures, and ``run.json``, what the run was
(:func:`claim_run_folder` refuses a folder of another run).
:func:`validation_plan` and :func:`parse_fold` say which beats validate,
:func:`run_validation_index` rebuilds a run's validation beats from its card,
:func:`check_same_recipe` checks that runs can be ensembled, and
:func:`pool_runs` pools the folds of a record-wise cross-validation.

Nothing here imports TensorFlow or Keras, so the command line checks cards and
folders before the slow import, and benchmarks read cards without it.
"""

import json
import shutil
from pathlib import Path

import numpy as np

from ecgnet.data.splits import validation_indices
from ecgnet.errors import DataFormatError, EcgnetError
from ecgnet.files import write_text_atomic
from ecgnet.metrics import evaluate_confusion_matrix

# --------------------------------------------------------------------------
# Runs on disk: which run a folder holds
# --------------------------------------------------------------------------

#: The file of a run folder that records the run in it (:func:`claim_run_folder`).
RUN_FILE = "run.json"
#: What a run writes into its folder; ``overwrite`` removes these, and nothing else.
RUN_OUTPUTS = ("model.keras", "best.keras", "training_log.csv", "backup", "tensorboard", "training.json", "run.json", "evaluation")


def _fingerprint(*arrays):
    """SHA-256 of arrays' shapes, types and bytes (about 0.2 s for 87,554 beats)."""
    import hashlib

    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def run_options(x, y, rr, validation_fraction, validation_groups, validation_seed, validation_fold, seed, epochs,
                 batch_size, learning_rate, imbalance, augment, patience, warmup_epochs):
    """What makes one run of :func:`train` the same run as another: the data and the options that shape it."""
    groups = None if validation_groups is None else np.asarray(validation_groups).astype(str).astype(bytes)
    return {
        "data_sha256": _fingerprint(x, y, rr, groups),
        "beats": int(len(y)),
        "seed": int(seed),
        "validation_fraction": float(validation_fraction),
        "validation_seed": None if validation_seed is None else int(validation_seed),
        "validation_fold": None if validation_fold is None else "{}/{}".format(*validation_fold),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "imbalance": imbalance,
        "augment": augment if augment in (True, False, None) else type(augment).__name__,
        "patience": int(patience),
        "warmup_epochs": int(warmup_epochs),
    }


def _differences(recorded, wanted, keys):
    """``"epochs (30 there, 5 now), training.seed (0 there, 1 now)"``: the first four fields that differ."""

    def short(value):
        text = repr(value)
        return text[:14] + "...'" if len(text) > 18 and isinstance(value, str) else text

    shown = []
    for key in keys:
        old, new = _jsonable(recorded.get(key)), _jsonable(wanted.get(key))
        if isinstance(old, dict) and isinstance(new, dict):
            shown += [f"{key}.{k} ({short(old.get(k))} there, {short(new.get(k))} now)"
                      for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif old != new:
            shown.append(f"{key} ({short(old)} there, {short(new)} now)")
    return ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


def claim_run_folder(out_dir, run, overwrite=False):
    """Check that ``out_dir`` holds nothing of another run, then record ``run`` in it (``run.json``).

    ``keras.callbacks.BackupAndRestore`` resumes whatever backup it finds
    when the model's shapes match: a folder left by an interrupted run of
    another recipe would be "resumed" with that run's weights, train 0
    epochs, and its ``model.keras`` would claim the new recipe. So:

    - a ``backup/``, or the training card (``training.json``) of a finished
      run (:func:`ecgnet.training.train` writes one), is accepted only when ``run.json`` says it
      is this run (same data, same options, same recipe; a card from before
      ``run.json`` must agree with ``run`` on the recipe fields they share);
    - a folder with neither (a fresh one, or one of runs trained before
      :func:`ecgnet.training.train` wrote cards) is simply trained into;
    - otherwise the folder is refused, or with ``overwrite`` the files a run
      writes (:data:`RUN_OUTPUTS`) are removed first.

    Args:
        out_dir: str or Path, the run folder (made if needed).
        run: dict, JSON-serialisable: what this run is.
        overwrite: bool, replace another run's files instead of refusing.

    Raises:
        EcgnetError: naming the folder, what holds it, and up to four fields that differ.

    Example:
        >>> claim_run_folder("runs/small", {"preset": "small", "epochs": 30})
    """
    out_dir = Path(out_dir)
    run = _jsonable(run)
    problem = None
    backup = out_dir / "backup"
    recorded = read_json(out_dir / RUN_FILE)
    card = read_json(out_dir / CARD_FILE)
    same = isinstance(recorded, dict) and not _differences(recorded, run, _compared(recorded, run))
    if not same and (backup.exists() or isinstance(card, dict)):
        what = "the backup of an interrupted run" if backup.exists() else "a finished run (training.json)"
        if isinstance(recorded, dict):
            problem = f"{what} of other data or another recipe: {_differences(recorded, run, _compared(recorded, run))}"
        elif backup.exists():
            problem = f"{what} that does not say what it was (no readable {RUN_FILE})"
        else:  # a card without run.json: compare the recipe fields they share (a path may be spelt otherwise)
            shared = [key for key in run if key in card and key not in ("training", "train_data", "validation")]
            if _differences(card, run, shared):
                problem = f"{what} of another recipe: {_differences(card, run, shared)}"
    if problem is not None:
        if not overwrite:
            raise EcgnetError(
                f"{out_dir}: holds {problem}; pass --overwrite (overwrite=True) to replace it, or choose another folder"
            )
        for name in RUN_OUTPUTS:
            path = out_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / RUN_FILE, json.dumps(run, indent=2) + "\n")


def holds_finished_run(out_dir, run):
    """Whether ``out_dir`` holds ``run``, finished: its ``run.json`` records this run, beside a
    ``model.keras`` and a training card, and no backup of an interruption is left.

    Args:
        out_dir: str or Path, a run folder.
        run: dict, what the run is (as :func:`claim_run_folder` takes it).

    Returns:
        bool.

    Example:
        >>> holds_finished_run("runs/05_kaggle", run)
        True
    """
    out_dir = Path(out_dir)
    run = _jsonable(run)
    recorded = read_json(out_dir / RUN_FILE)
    return (isinstance(recorded, dict) and not _differences(recorded, run, _compared(recorded, run))
            and (out_dir / "model.keras").is_file() and isinstance(read_json(out_dir / CARD_FILE), dict)
            and not (out_dir / "backup").exists())


def _compared(recorded, run):
    """The fields of two run records that must agree: all but the data's path (its SHA-256 is compared)."""
    return [key for key in sorted(set(recorded) | set(run)) if key != "train_data"]


def read_json(path):
    """The JSON in ``path``, or None where it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------
# Runs on disk: the validation plan and the training card
# --------------------------------------------------------------------------

#: The file of a run folder that holds its training card.
CARD_FILE = "training.json"

#: The validation figures a card keeps (the confusion matrix lets the folds of
#: a cross-validation be pooled, :func:`pool_runs`).
VALIDATION_KEYS = ("num_beats", "accuracy", "macro_f1", "per_class", "confusion_matrix")

#: The card fields that say how a run was trained. Members of an ensemble must
#: agree on all of them (and, unless refit, on the validation split).
RECIPE_KEYS = ("preset", "split", "window", "rr_features", "relative", "previous_beat", "second_lead", "beat_dropout", "refit")

#: Defaults of fields that cards written by older versions lack.
_CARD_DEFAULTS = {"refit": False, "beat_dropout": 0.0, "second_lead": False, "validation_fold": None, "window": "kachuee"}


def validation_plan(split, records=None):
    """``(validation_fraction, validation_groups)`` of :func:`ecgnet.training.train` for a split.

    The inter-patient task validates on whole held-out records (new patients,
    like its test records): 20 % of the beats, by record. The kaggle split
    validates on a stratified 10 % of the beats.

    Args:
        split: ``"kaggle"`` or ``"inter-patient"``.
        records: array (n,) of record names, or None (then the inter-patient
            validation is a stratified 20 % of the beats, as for data without records).

    Returns:
        A pair ``(float, records or None)``.

    Example:
        >>> validation_plan("kaggle")
        (0.1, None)
    """
    if split == "inter-patient":
        return 0.2, records
    return 0.1, None


def parse_fold(text):
    """``"K/N"`` (as ``train --validation-fold`` and a card give it) -> ``(K, N)``; ``None`` stays ``None``.

    Args:
        text: str ``"K/N"`` with N >= 2 and 1 <= K <= N, or None.

    Returns:
        A pair ``(K, N)`` of ints, or None.

    Raises:
        EcgnetError: echoing ``text``, when it is not two whole numbers or K is out of 1..N.

    Example:
        >>> parse_fold("2/5")
        (2, 5)
    """
    if text is None:
        return None
    try:
        fold, folds = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise EcgnetError(f"validation fold: expected K/N, e.g. 2/5, received {text!r}") from None
    if not (folds >= 2 and 1 <= fold <= folds):
        raise EcgnetError(f"validation fold: expected K/N with N >= 2 and 1 <= K <= N, received {text!r}")
    return fold, folds


def _jsonable(value):
    """``value`` with numpy numbers turned into plain floats and ints (what ``json`` writes)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else float(v)))


def training_card(
    *,
    preset,
    split,
    rr_features,
    train_data,
    train_beats,
    epochs,
    seed,
    relative=False,
    previous_beat=False,
    second_lead=False,
    beat_dropout=0.0,
    augment=True,
    window="kachuee",
    validation_seed=None,
    validation_fold=None,
    refit=False,
    validation_fraction=None,
    recipe=None,
    validation=None,
):
    """The training card of a run: the recipe, the data and the validation figures.

    ``python -m ecgnet train`` writes it as ``training.json`` beside
    ``model.keras`` (:func:`write_training_card`); :func:`read_training_card`
    reads it back, :func:`run_validation_index` rebuilds the run's validation
    beats from it and :func:`pool_runs` pools its
    ``validation`` confusion matrix with those of other folds.

    Args:
        preset: str, the model preset (or ``"kachuee2018"``).
        split: ``"kaggle"`` or ``"inter-patient"``.
        rr_features: int, width of the R-R input (0: none).
        train_data: str or Path, the training file read (None: arrays given to :func:`ecgnet.training.train`).
        train_beats: int, how many training beats it held (before the validation split).
        epochs: int.
        seed: int (a list of ints for an ensemble).
        relative, previous_beat, second_lead: bool, the extra beat channels
            (:data:`ecgnet.data.BEAT_CHANNELS`).
        beat_dropout: float.
        augment: bool.
        window: ``"kachuee"`` or ``"centred"``, the beat window (:data:`ecgnet.data.WINDOWS`).
        validation_seed: int or None (None: ``seed``; ignored for a refit, which has no validation).
        validation_fold: None or ``(k, n)``.
        refit: bool, trained on every beat without validation.
        validation_fraction: float or None, the share of beats validated on;
            recorded only where it is not the one :func:`validation_plan` gives ``split``.
        recipe: None or the config of the run's :class:`ecgnet.recipe.InputRecipe` (``to_config()``).
        validation: None or the dict of :func:`ecgnet.metrics.evaluate_predictions`;
            only :data:`VALIDATION_KEYS` are kept.

    Returns:
        A JSON-serialisable dict.

    Example:
        >>> card = training_card(preset="small", split="kaggle", rr_features=0, train_data="data/train.npz",
        ...                      train_beats=87554, epochs=30, seed=0, validation=result.validation)
        >>> write_training_card("runs/small", card)
    """
    if validation_fold is not None and not isinstance(validation_fold, str):
        validation_fold = "{}/{}".format(*validation_fold)
    card = {
        "preset": preset,
        "split": split,
        "window": window,
        "rr_features": int(rr_features),
        "relative": bool(relative),
        "previous_beat": bool(previous_beat),
        "second_lead": bool(second_lead),
        "beat_dropout": float(beat_dropout),
        "augment": bool(augment),
        "train_data": None if train_data is None else str(train_data),
        "train_beats": int(train_beats),
        "epochs": int(epochs),
        "seed": seed,
        "validation_seed": None if refit else (seed if validation_seed is None else validation_seed),
        "validation_fold": validation_fold,
        "refit": bool(refit),
        "validation": None if validation is None else _jsonable({key: validation[key] for key in VALIDATION_KEYS}),
    }
    if not refit and validation_fraction is not None and validation_fraction != validation_plan(split)[0]:
        card["validation_fraction"] = float(validation_fraction)
    if recipe is not None:
        card["recipe"] = recipe
    return card


def write_training_card(run_dir, card):
    """Write ``card`` as ``run_dir/training.json``, atomically; returns the path."""
    path = Path(run_dir) / CARD_FILE
    write_text_atomic(path, json.dumps(_jsonable(card), indent=2))
    return path


def read_training_card(run_dir):
    """The training card of a run folder, with the defaults of fields older cards lack.

    Args:
        run_dir: str or Path, a folder written by ``python -m ecgnet train`` (or ``ensemble``).

    Returns:
        The dict of :func:`training_card` (an ensemble's also has ``members``,
        and a list of seeds).

    Raises:
        EcgnetError: no ``training.json`` in the folder, or not valid JSON.

    Example:
        >>> read_training_card("runs/cv-prev-f1")["validation_fold"]
        '1/5'
    """
    path = Path(run_dir) / CARD_FILE
    if not path.is_file():
        raise EcgnetError(f"{path}: not found; a run folder written by `python -m ecgnet train` holds one")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise EcgnetError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}") from None
    if not isinstance(card, dict):
        raise EcgnetError(f"{path}: expected a JSON object (a training card). Received: {type(card).__name__}")
    for key, value in _CARD_DEFAULTS.items():
        card.setdefault(key, value)
    if not card["refit"] and "seed" in card:
        card.setdefault("validation_seed", card["seed"])  # cards from before validation_seed
    return card


def check_same_recipe(cards, names):
    """Raise unless all ``cards`` share the recipe (:data:`RECIPE_KEYS`) and validation split.

    Args:
        cards: list of training cards (:func:`read_training_card`).
        names: list of str, one per card, named in the message (e.g. the run folders).

    Raises:
        EcgnetError: naming the first card that differs from the first one,
            with each differing field and both values.
    """
    shared = RECIPE_KEYS
    if not cards[0].get("refit"):  # refit runs have no validation split to share
        shared += ("validation_seed", "validation_fold")
    for name, card in zip(names, cards):
        differing = [key for key in shared if card.get(key) != cards[0].get(key)]
        if differing:
            raise EcgnetError(
                f"{name}: differs from {names[0]} in "
                f"{', '.join(f'{k} ({card.get(k)!r} vs {cards[0].get(k)!r})' for k in differing)}; "
                "ensemble members need the same recipe and the same validation split (--validation-seed)"
            )


def run_validation_index(card, train_part):
    """The indices of the validation beats of a run, from its training card.

    The same beats that :func:`train` held out for that run (same split, seed
    and fold), so that an ensemble or a benchmark measures on them and on
    nothing else.

    Args:
        card: dict from :func:`read_training_card`.
        train_part: the training beats the run was trained on (``ecgnet.data.load_part(data, "train")``).

    Returns:
        A sorted int array of indices into ``train_part``.

    Raises:
        EcgnetError: the run was refit on every beat (it has no validation beats).

    Example:
        >>> card = read_training_card("runs/cv-prev-f1")
        >>> val_index = run_validation_index(card, load_part("data/mitbih-interpatient", "train"))
    """
    if card.get("refit"):
        raise EcgnetError("a refit run trained on every beat: it has no validation beats")
    fraction, groups = validation_plan(card["split"], train_part.record)
    fraction = card.get("validation_fraction", fraction)  # a run of train() with its own fraction
    seed = card.get("validation_seed", card["seed"])
    return validation_indices(train_part.y, fraction, groups, seed, validation_fold=parse_fold(card.get("validation_fold")))[1]


def pool_runs(runs):
    """The figures of the summed validation confusion matrices of ``runs``.

    The runs are the folds of one record-wise cross-validation
    (``train --validation-fold K/N``, K = 1..N): together they hold out every
    training record once, so their summed confusion matrix covers every
    training beat once, each predicted by the run that did not train on it.

    Args:
        runs: list of run folders (str or Path), each with a training card
            whose ``validation`` holds a ``confusion_matrix``.

    Returns:
        The dict of :func:`ecgnet.metrics.evaluate_confusion_matrix`.

    Raises:
        EcgnetError: a run without a card, a refit run (no validation), or a
            card without a confusion matrix; the message names the run.

    Example:
        >>> pooled = pool_runs([f"runs/cv-prev-f{k}" for k in range(1, 6)])
        >>> pooled["per_class"]["S"]["sensitivity"]
        0.4...
    """
    matrices = []
    for run in runs:
        validation = read_training_card(run).get("validation")
        if not validation:
            raise EcgnetError(f"{run}: cannot pool: no validation figures (refit on every training beat)")
        if "confusion_matrix" not in validation:
            raise EcgnetError(f"{run}: cannot pool: its training.json has no validation confusion matrix")
        matrices.append(np.asarray(validation["confusion_matrix"]))
    if not matrices:
        raise EcgnetError("pool_runs needs at least one run folder")
    return evaluate_confusion_matrix(np.sum(matrices, axis=0))


#: The keys a run's training.json must have to be ensembled (:func:`training_card` writes them).
CARD_KEYS = ("preset", "split", "seed", "train_beats")


def check_training_card(run_dir):
    """Read the card of a run to ensemble, refusing a missing, corrupt or incomplete one with one clear line.

    Stricter than :func:`read_training_card`, which also reads the partial
    cards of older runs: an ensemble needs :data:`CARD_KEYS`.

    Args:
        run_dir: str or Path, a folder written by :func:`ecgnet.training.train` or ``python -m ecgnet train``.

    Returns:
        The card, as :func:`read_training_card` returns it.

    Raises:
        EcgnetError: no such folder or no card in it.
        DataFormatError: the card is not text, not JSON, not an object, or lacks :data:`CARD_KEYS`.

    Example:
        >>> check_training_card("runs/s0")["train_beats"]
        87554
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EcgnetError(f"{run_dir}: no such run folder; expected a folder written by `python -m ecgnet train`")
    card_path = run_dir / CARD_FILE
    if not card_path.is_file():
        raise EcgnetError(f"{card_path}: not found; expected a folder written by `python -m ecgnet train`")
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
    if not isinstance(card["train_beats"], int) or isinstance(card["train_beats"], bool):
        raise DataFormatError(f"{card_path}: train_beats is {card['train_beats']!r}, expected a whole number")
    return read_training_card(run_dir)
