"""Training: the loop learners can read from top to bottom.

:func:`train` does, in order:

1. seed everything (and make CPU runs bit-for-bit reproducible);
2. pick the hardware: :func:`select_strategy` (one device, several GPUs, or a
   Colab TPU) and mixed precision on GPUs;
3. carve a stratified validation split out of the training beats (the test
   split is never given to ``train``: selection and early stopping only see
   validation beats);
4. build the input pipelines, with augmentation and, for
   ``imbalance="balanced"``, class-balanced sampling;
5. build and compile the model inside the strategy scope, with a warmup +
   cosine-decay learning rate;
6. fit with callbacks: validation macro-F1, best checkpoint, early stopping,
   ``BackupAndRestore`` (an interrupted run resumes from its last finished
   epoch), ``CSVLogger`` (and TensorBoard on request);
7. reload the best weights, measure them on the validation beats, and save
   ``model.keras`` atomically.

Class imbalance (about 83 % of the beats are N, under 1 % are F) is handled by
one of four ``imbalance=`` options; ``benchmarks/measure/bench_imbalance.py`` measures
them against each other (see :func:`train` for the numbers).

A run folder keeps, beside ``model.keras``, its training card ``training.json``
(:func:`training_card`, :func:`write_training_card`, :func:`read_training_card`):
the recipe, the validation split and the validation figures.
:func:`run_validation_index` rebuilds a run's validation beats from it,
:func:`check_same_recipe` checks that runs can be ensembled, and
:func:`pool_runs` pools the folds of a record-wise cross-validation.
"""

import dataclasses
import math
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ecgnet.augmentation import EcgAugmentation
from ecgnet.data import classes
from ecgnet.data.classes import CLASS_NAMES
from ecgnet.data.pipeline import balanced_dataset, make_dataset
from ecgnet.data.splits import validation_indices
from ecgnet.errors import EcgnetError
from ecgnet.files import atomic_path, write_text_atomic
from ecgnet.metrics import evaluate_confusion_matrix, evaluate_predictions, macro_f1

IMBALANCE_OPTIONS = ("class_weight", "balanced", "focal", None)


# --------------------------------------------------------------------------
# Hardware
# --------------------------------------------------------------------------


def _colab_tpu_resolver():
    """A connected ``TPUClusterResolver`` on a Colab/Cloud TPU, else ``None``."""
    looks_like_tpu = (
        os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME") or Path("/dev/accel0").exists()
    )
    if not looks_like_tpu:  # don't wait on the cloud metadata server elsewhere
        return None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def select_strategy():
    """Pick a ``tf.distribute`` strategy for the hardware we run on.

    - a Colab (or Cloud) TPU: ``TPUStrategy``;
    - several GPUs: ``MirroredStrategy`` (one model copy per GPU, gradients summed);
    - one GPU or only the CPU: the default strategy (no distribution).

    Returns:
        A ``tf.distribute.Strategy``; ``strategy.num_replicas_in_sync`` says how
        many devices share each batch.

    Example:
        >>> strategy = select_strategy()
        >>> strategy.num_replicas_in_sync
        1
    """
    resolver = _colab_tpu_resolver()
    if resolver is not None:
        return tf.distribute.TPUStrategy(resolver)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _precision_policy(strategy):
    """``mixed_bfloat16`` on TPUs, ``mixed_float16`` on GPUs, ``float32`` on CPUs."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    return "float32"


# --------------------------------------------------------------------------
# Class imbalance
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------


class ValidationMacroF1(keras.callbacks.Callback):
    """Add ``val_macro_f1`` to the epoch logs (the mean F1 over the classes).

    Put it first in the callback list: the checkpoint and early stopping that
    come after it read ``val_macro_f1`` from the same logs. It costs one
    prediction pass over the validation beats per epoch.

    Args:
        dataset: ``tf.data.Dataset`` of validation batches (labels ignored).
        labels: int array (n,), the validation labels in dataset order.
        num_classes: int.
    """

    def __init__(self, dataset, labels, num_classes=5):
        super().__init__()
        self.dataset = dataset
        self.labels = np.asarray(labels)
        self.num_classes = num_classes

    def on_epoch_end(self, epoch, logs=None):
        scores = self.model.predict(self.dataset, verbose=0)
        logs["val_macro_f1"] = macro_f1(self.labels, scores.argmax(axis=-1), self.num_classes)


class LearningRateLogger(keras.callbacks.Callback):
    """Add the optimizer's current ``learning_rate`` to the epoch logs (and so to the CSV log)."""

    def on_epoch_end(self, epoch, logs=None):
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class BestCheckpoint(keras.callbacks.Callback):
    """Save the whole model whenever ``monitor`` beats its best value so far.

    Like ``keras.callbacks.ModelCheckpoint(save_best_only=True, mode="max")``,
    but the file is written atomically (a temporary file, then a rename), so
    an interruption mid-save never leaves a corrupt best checkpoint.

    Args:
        path: str or Path, the ``.keras`` file.
        monitor: str, a log entry to maximise (e.g. ``"val_macro_f1"``).
        initial_value: float or None, a value to beat before the first save
            (used when a run resumes with a checkpoint already on disk).
    """

    def __init__(self, path, monitor="val_macro_f1", initial_value=None):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = -math.inf if initial_value is None else initial_value

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value > self.best:
            return
        self.best = float(value)
        with atomic_path(self.path) as tmp:
            self.model.save(tmp)


class _FirstEpoch(keras.callbacks.Callback):
    """Remember the epoch ``fit`` starts from (later than 0 when resuming)."""

    first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch


def _best_logged(csv_path, monitor):
    """The best ``monitor`` value in a CSV log of an interrupted run (``None`` if none)."""
    if not csv_path.exists():
        return None
    import pandas as pd

    log = pd.read_csv(csv_path)
    return float(log[monitor].max()) if monitor in log and len(log) else None


# --------------------------------------------------------------------------
# The training run
# --------------------------------------------------------------------------


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained ``keras.Model`` with the best validation weights.
        history: dict of per-epoch lists read from the CSV log (``epoch``, ``loss``,
            ``val_loss``, ``val_macro_f1``, ``learning_rate``...), the whole run
            including epochs before an interruption.
        validation: dict from :func:`ecgnet.metrics.evaluate_predictions` on
            the validation beats with the best weights (None for a refit,
            ``validation_fraction=0``).
        paths: dict of the files written: ``model``, ``best_checkpoint``,
            ``csv_log``, ``backup_dir`` (and ``tensorboard``).
        initial_epoch: int, the epoch this call started from (0, or later when it
            resumed an interrupted run).
    """

    model: keras.Model
    history: dict
    validation: dict | None
    paths: dict
    initial_epoch: int = 0


def train(
    build_model,
    x,
    y,
    *,
    rr=None,
    validation_fraction=0.1,
    validation_groups=None,
    epochs=30,
    batch_size=128,
    learning_rate=1e-3,
    imbalance="class_weight",
    augment=True,
    out_dir="runs/ecgnet",
    seed=0,
    validation_seed=None,
    validation_fold=None,
    patience=8,
    warmup_epochs=1,
    strategy=None,
    mixed_precision="auto",
    deterministic="auto",
    tensorboard=False,
    verbose=1,
    callbacks=(),
    recipe=None,
    overwrite=False,
):
    """Train a heartbeat classifier, selecting the epoch by validation macro-F1.

    The validation beats are a stratified, seeded ``validation_fraction`` of
    ``(x, y)``; never pass the test split here. The best epoch is the one with
    the highest validation macro-F1 (computed by :class:`ValidationMacroF1`);
    early stopping watches the same number and restores the best weights.

    Calling ``train`` again with the same ``out_dir`` after an interruption
    (Ctrl-C, a Colab disconnect) resumes from the last finished epoch thanks to
    ``keras.callbacks.BackupAndRestore``; the weights, optimizer state and
    learning-rate schedule come back, the early-stopping patience counter
    starts afresh, and the best checkpoint only gets overwritten by a better epoch.
    A run resumes only the same run: ``out_dir/run.json`` records what each
    run was (the data's SHA-256, the training options and ``recipe``), and a
    folder holding the backup of another run, or the training card of
    another ``recipe``, is refused unless ``overwrite`` (:func:`claim_run_folder`).

    Class imbalance, measured with ``benchmarks/measure/bench_imbalance.py``:
    ``imbalance="class_weight"`` (the default, square-root damped inverse frequency,
    :func:`ecgnet.data.classes.class_weights`), ``"balanced"`` (every class equally often in a batch,
    :func:`ecgnet.data.balanced_dataset`), ``"focal"`` (categorical focal loss, gamma=2, Lin et
    al. 2017) or ``None`` (plain cross-entropy). Validation macro-F1 of the
    ``"small"`` ResNeXt-1D measured with ``python -m benchmarks.measure.bench_imbalance
    --quick`` (a stratified 20,000-beat subset of the Kaggle training split,
    6 epochs, augmentation on, CPU). Seed 0: class_weight 0.713, focal 0.671,
    balanced 0.640, None 0.608 (F1 of the rare F class 0.35, 0.42, 0.17, 0.00).
    Seed 1 (another split and initialisation): class_weight 0.746, focal 0.762.
    Mean of the two seeds: class_weight 0.730, focal 0.716, so class_weight is
    the default, but its lead over focal is within the seed-to-seed spread;
    balanced sampling and no handling are clearly behind. Re-check with a full
    run on a GPU before trusting the ranking.

    Args:
        build_model: zero-argument callable returning an uncompiled Keras model
            with a softmax output (called inside the strategy scope), e.g.
            ``lambda: build_ecgnet("small")``.
        x: float array (n, 187) or (n, 187, 1), training beats.
        y: int array (n,), class indices.
        rr: optional float array (n, k), R-R features for a model with an ``"rr"`` input.
        validation_fraction: float in [0, 1), share of the beats held out for
            validation. 0 trains on every beat for exactly ``epochs`` epochs,
            with no validation, checkpoint selection or early stopping: the
            "refit" step after a run with validation chose the epoch count.
        validation_groups: optional array (n,) of record names. When given, the
            validation beats are whole records (:func:`ecgnet.data.group_holdout_indices`)
            instead of a stratified sample of beats: the right choice for the
            inter-patient task, where the model must generalise to new patients.
        epochs: int, the most epochs to train.
        batch_size: int, the global batch (split over the replicas).
        learning_rate: float, the peak learning rate of Adam.
        imbalance: one of ``"class_weight"``, ``"balanced"``, ``"focal"``, ``None``.
        augment: ``True`` for :class:`~ecgnet.augmentation.EcgAugmentation` with its
            defaults, ``False``/``None`` for none, or a callable on a batch of beats.
        out_dir: str or Path; receives ``model.keras``, ``best.keras``,
            ``training_log.csv``, ``backup/`` (and ``tensorboard/``).
        seed: int, seeds the split, the shuffling, the augmentation and the weights.
        validation_seed: int or None, seeds the validation split alone (None:
            ``seed``). Members of a seed ensemble share one validation split
            this way, so the ensemble can be measured on beats none of them saw.
        validation_fold: None, or ``(k, n)`` with ``validation_groups``: validate
            on the k-th of n record-wise folds, so that n runs together hold
            out every record once (record-wise cross-validation).
        patience: int, epochs without a better validation macro-F1 before stopping.
        warmup_epochs: int, epochs of linear learning-rate warmup before the cosine decay.
        strategy: a ``tf.distribute.Strategy``; ``None`` asks :func:`select_strategy`.
        mixed_precision: ``"auto"`` (float16 on GPUs, bfloat16 on TPUs), ``True`` or ``False``.
        deterministic: ``"auto"`` (on when there is no GPU), ``True`` or ``False``;
            enables ``tf.config.experimental.enable_op_determinism()`` for the
            rest of the process, so a seed gives identical runs.
        tensorboard: bool, also write TensorBoard logs.
        verbose: int, 1 shows Keras progress bars, 0 is silent.
        callbacks: extra Keras callbacks, run after ours.
        recipe: optional dict that says what is trained (e.g. the training card
            of ``python -m ecgnet train`` without its validation figures):
            recorded in ``run.json`` and compared with the folder's card.
        overwrite: bool, replace the files of another run in ``out_dir``
            instead of refusing the folder.

    Returns:
        A :class:`TrainingResult`.

    Raises:
        EcgnetError: bad options, or ``out_dir`` holds another run (see above).

    Example:
        >>> from ecgnet.models import build_ecgnet
        >>> result = train(lambda: build_ecgnet("small"), x_train, y_train, epochs=2)
        >>> result.validation["macro_f1"]
        0.8...
    """
    if imbalance not in IMBALANCE_OPTIONS:
        raise EcgnetError(f"imbalance must be one of {IMBALANCE_OPTIONS}. Received: imbalance={imbalance!r}")
    if not 0 <= validation_fraction < 1:
        raise EcgnetError(f"validation_fraction must be in [0, 1). Received: validation_fraction={validation_fraction}")
    x = np.asarray(x, dtype=np.float32)
    x = x.reshape(len(x), -1, 1) if x.ndim == 2 else x
    y = np.asarray(y, dtype=np.int64)
    if y.shape != (len(x),):
        raise EcgnetError(f"y must have shape ({len(x)},). Received: y.shape={y.shape}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "model": out_dir / "model.keras",
        "best_checkpoint": out_dir / "best.keras",
        "csv_log": out_dir / "training_log.csv",
        "backup_dir": out_dir / "backup",
    }
    run = dict(recipe or {})
    run["training"] = _run_options(x, y, rr, validation_fraction, validation_groups, validation_seed, validation_fold, seed,
                                   epochs, batch_size, learning_rate, imbalance, augment, patience, warmup_epochs)
    claim_run_folder(out_dir, run, overwrite=overwrite)
    resuming = paths["backup_dir"].exists()
    if not resuming and paths["csv_log"].exists():
        paths["csv_log"].unlink()  # a finished earlier run: start a fresh log

    # 1. Seeds and determinism.
    keras.utils.set_random_seed(seed)
    if deterministic == "auto":
        deterministic = not tf.config.list_logical_devices("GPU")
    if deterministic:
        tf.config.experimental.enable_op_determinism()

    # 2. Hardware.
    strategy = select_strategy() if strategy is None else strategy
    if mixed_precision == "auto":
        policy = _precision_policy(strategy)
    elif mixed_precision:
        policy = "mixed_bfloat16" if isinstance(strategy, tf.distribute.TPUStrategy) else "mixed_float16"
    else:
        policy = "float32"

    # 3. Validation split, carved from the training beats only.
    refit = validation_fraction == 0
    if refit:  # every beat trains; the epoch count was chosen beforehand
        train_index, val_index = np.arange(len(y)), np.arange(0)
    else:
        train_index, val_index = validation_indices(
            y,
            validation_fraction,
            validation_groups,
            seed if validation_seed is None else validation_seed,
            validation_fold=validation_fold,
        )
    if len(val_index) == 0 and not refit:
        raise EcgnetError(f"validation_fraction={validation_fraction} leaves no validation beats out of {len(y)}.")
    rr = None if rr is None else np.asarray(rr, dtype=np.float32)
    rr_train = None if rr is None else rr[train_index]
    rr_val = None if rr is None else rr[val_index]
    x_train, y_train, x_val, y_val = x[train_index], y[train_index], x[val_index], y[val_index]

    # 4. Input pipelines. Labels become one-hot so cross-entropy and focal loss
    # share them; the augmentation's random generator lives outside the strategy.
    if augment is True:
        augment = EcgAugmentation(seed=seed)
    augment = augment or None
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    if imbalance == "balanced":
        train_dataset = balanced_dataset(x_train, y_train, batch_size, seed=seed, rr=rr_train, augment=augment)
    else:
        train_dataset = make_dataset(x_train, y_train, batch_size, shuffle=True, seed=seed, rr=rr_train, augment=augment)
    val_dataset = None if refit else make_dataset(x_val, y_val, batch_size, rr=rr_val)

    # 5. Model, loss and learning-rate schedule, built inside the strategy scope.
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        with strategy.scope():
            model = build_model()
            num_classes = model.output_shape[-1]
            warmup_steps = min(warmup_epochs, epochs - 1) * steps_per_epoch
            schedule = keras.optimizers.schedules.CosineDecay(
                initial_learning_rate=learning_rate / 10 if warmup_steps else learning_rate,
                decay_steps=max(1, epochs * steps_per_epoch - warmup_steps),
                alpha=0.01,
                warmup_target=learning_rate if warmup_steps else None,
                warmup_steps=warmup_steps,
            )
            if imbalance == "focal":
                loss = keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0)
            else:
                loss = keras.losses.CategoricalCrossentropy()
            model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["categorical_accuracy"])

        # 6. Fit, with the callbacks in the order they read each other's logs.
        def one_hot(inputs, labels):
            return inputs, tf.one_hot(labels, num_classes)

        best_so_far = _best_logged(paths["csv_log"], "val_macro_f1") if resuming else None
        first_epoch = _FirstEpoch()
        our_callbacks = [first_epoch]
        if not refit:  # val_macro_f1 first: the callbacks after it read it from the logs
            our_callbacks.append(ValidationMacroF1(val_dataset, y_val, num_classes))
        our_callbacks.append(LearningRateLogger())
        if not refit:
            our_callbacks += [
                BestCheckpoint(paths["best_checkpoint"], "val_macro_f1", initial_value=best_so_far),
                keras.callbacks.EarlyStopping(
                    monitor="val_macro_f1", mode="max", patience=patience, restore_best_weights=True
                ),
            ]
        our_callbacks += [
            keras.callbacks.CSVLogger(paths["csv_log"], append=True),
            keras.callbacks.BackupAndRestore(paths["backup_dir"]),
        ]
        if tensorboard:
            paths["tensorboard"] = out_dir / "tensorboard"
            our_callbacks.append(keras.callbacks.TensorBoard(paths["tensorboard"]))
        fit_kwargs = {"steps_per_epoch": steps_per_epoch} if imbalance == "balanced" else {}
        if imbalance == "class_weight":
            fit_kwargs["class_weight"] = classes.class_weights(y_train, num_classes)
        model.fit(
            train_dataset.map(one_hot),
            validation_data=None if refit else val_dataset.map(one_hot),
            epochs=epochs,
            callbacks=our_callbacks + list(callbacks),
            verbose=verbose,
            shuffle=False,  # the dataset shuffles itself
            **fit_kwargs,
        )
        initial_epoch = first_epoch.first_epoch or 0

        # 7. Best weights back, measured on validation, saved atomically.
        validation = None
        if not refit:
            if paths["best_checkpoint"].exists():
                with strategy.scope():
                    model.load_weights(paths["best_checkpoint"])
            scores = model.predict(val_dataset, verbose=0)
            class_names = CLASS_NAMES if num_classes == len(CLASS_NAMES) else [str(i) for i in range(num_classes)]
            validation = evaluate_predictions(y_val, scores.argmax(axis=-1), class_names)
        with atomic_path(paths["model"]) as tmp:
            model.save(tmp)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)

    return TrainingResult(model, _read_history(paths["csv_log"]), validation, paths, initial_epoch)


def _read_history(csv_path):
    """The CSV log as a dict of lists (the whole run, across interruptions)."""
    import pandas as pd

    if not Path(csv_path).exists():
        return {}
    log = pd.read_csv(csv_path).dropna(axis=1, how="all")  # Keras logs empty val_ columns without validation
    return {column: values.tolist() for column, values in log.items()}


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


def _run_options(x, y, rr, validation_fraction, validation_groups, validation_seed, validation_fold, seed, epochs,
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
      ``python -m ecgnet train``, is accepted only when ``run.json`` says it
      is this run (same data, same options, same recipe; a card from before
      ``run.json`` must agree with ``run`` on the recipe fields they share);
    - a folder with neither (a fresh one, or runs of the library's
      :func:`train` without a card) is simply trained into;
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
    import json
    import shutil

    out_dir = Path(out_dir)
    run = _jsonable(run)
    problem = None
    backup = out_dir / "backup"
    recorded = _read_json(out_dir / RUN_FILE)
    card = _read_json(out_dir / CARD_FILE)
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


def _compared(recorded, run):
    """The fields of two run records that must agree: all but the data's path (its SHA-256 is compared)."""
    return [key for key in sorted(set(recorded) | set(run)) if key != "train_data"]


def _read_json(path):
    """The JSON in ``path``, or None where it is missing or not JSON."""
    import json

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
    """``(validation_fraction, validation_groups)`` of :func:`train` for a split.

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
    """``"K/N"`` (as a card stores it) -> ``(K, N)``; ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        fold, folds = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise EcgnetError(f"validation_fold must look like K/N, e.g. 2/5. Received: {text!r}") from None
    return fold, folds


def _jsonable(value):
    """``value`` with numpy numbers turned into plain floats and ints (what ``json`` writes)."""
    import json

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
        train_data: str or Path, the training file read.
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
    return {
        "preset": preset,
        "split": split,
        "window": window,
        "rr_features": int(rr_features),
        "relative": bool(relative),
        "previous_beat": bool(previous_beat),
        "second_lead": bool(second_lead),
        "beat_dropout": float(beat_dropout),
        "augment": bool(augment),
        "train_data": str(train_data),
        "train_beats": int(train_beats),
        "epochs": int(epochs),
        "seed": seed,
        "validation_seed": None if refit else (seed if validation_seed is None else validation_seed),
        "validation_fold": validation_fold,
        "refit": bool(refit),
        "validation": None if validation is None else _jsonable({key: validation[key] for key in VALIDATION_KEYS}),
    }


def write_training_card(run_dir, card):
    """Write ``card`` as ``run_dir/training.json``, atomically; returns the path."""
    import json

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
    import json

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
        train_part: the training part the run was trained on (``ecgnet.data.load_part(data, "train")``).

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
    fraction, groups = validation_plan(card["split"], train_part["record"])
    seed = card.get("validation_seed", card["seed"])
    return validation_indices(train_part["y"], fraction, groups, seed, validation_fold=parse_fold(card.get("validation_fold")))[1]


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
