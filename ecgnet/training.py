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
and ``run.json`` (what the run was); :mod:`ecgnet.runs` reads, writes and checks
them without TensorFlow.
"""

import dataclasses
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ecgnet import runs
from ecgnet.augmentation import EcgAugmentation
from ecgnet.data import classes
from ecgnet.data.classes import CLASS_NAMES
from ecgnet.data.pipeline import balanced_dataset, make_dataset
from ecgnet.data.splits import validation_indices
from ecgnet.errors import EcgnetError
from ecgnet.files import atomic_path
from ecgnet.layers import all_sublayers
from ecgnet.metrics import evaluate_predictions
from ecgnet.recipe import feeds_flat_beats

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
        >>> strategy.num_replicas_in_sync  # the CPU or one GPU
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


class LearningRateLogger(keras.callbacks.Callback):
    """Add the optimizer's current ``learning_rate`` to the epoch logs (and so to the CSV log).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> model.compile("adam", "sparse_categorical_crossentropy")
        >>> history = model.fit(np.ones((8, 3)), np.zeros(8), epochs=2, verbose=0, callbacks=[LearningRateLogger()])
        >>> [round(rate, 6) for rate in history.history["learning_rate"]]
        [0.001, 0.001]
    """

    def on_epoch_end(self, epoch, logs=None):
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class BestCheckpoint(keras.callbacks.Callback):
    """Save the whole model whenever ``monitor`` beats its best value so far.

    Like ``keras.callbacks.ModelCheckpoint(save_best_only=True, mode="max",
    initial_value_threshold=...)``, but the file is written atomically (a
    temporary file, then a rename), so an interruption mid-save never leaves a
    corrupt best checkpoint. Kept by hand for that missing feature: Keras 3's
    ``ModelCheckpoint`` calls ``model.save(filepath)`` on the checkpoint itself,
    so a run stopped mid-save (a Colab disconnect) loses its best epoch.

    Args:
        path: str or Path, the ``.keras`` file.
        monitor: str, a log entry to maximise (e.g. ``"val_macro_f1"``).
        initial_value: float or None, a value to beat before the first save
            (used when a run resumes with a checkpoint already on disk).

    Example:
        >>> import tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> path = Path(tempfile.mkdtemp()) / "best.keras"
        >>> checkpoint = BestCheckpoint(path, monitor="accuracy")
        >>> history = model.fit(np.ones((8, 3)), np.zeros(8), epochs=2, verbose=0, callbacks=[checkpoint])
        >>> path.exists(), checkpoint.best == max(history.history["accuracy"])
        (True, True)
        >>> import shutil
        >>> shutil.rmtree(path.parent)
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

    Example:
        A run on the prepared training beats:

        >>> from ecgnet.data import load_part
        >>> from ecgnet.models import build_ecgnet
        >>> part = load_part("data/mitbih-kaggle", "train")  # doctest: +SKIP
        >>> result = train(lambda: build_ecgnet("small"), part.x, part.y, out_dir="runs/small")  # doctest: +SKIP
        >>> result.model.predict(part.x[:2], verbose=0).shape  # doctest: +SKIP
        (2, 5)
        >>> result.paths["model"]  # doctest: +SKIP
        PosixPath('runs/small/model.keras')
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
    card=None,
    overwrite=False,
    reuse_finished=False,
):
    """Train a heartbeat classifier, selecting the epoch by validation macro-F1.

    The validation beats are a stratified, seeded ``validation_fraction`` of
    ``(x, y)``; never pass the test split here. The best epoch is the one with
    the highest validation macro-F1 (``keras.metrics.F1Score(average="macro")``, logged as ``val_macro_f1``);
    early stopping watches the same number and restores the best weights.

    Calling ``train`` again with the same ``out_dir`` after an interruption
    (Ctrl-C, a Colab disconnect) resumes from the last finished epoch thanks to
    ``keras.callbacks.BackupAndRestore``; the weights, optimizer state and
    learning-rate schedule come back, the early-stopping patience counter
    starts afresh, and the best checkpoint only gets overwritten by a better epoch.
    A run resumes only the same run: ``out_dir/run.json`` records what each
    run was (the data's SHA-256, the training options and the card), and a
    folder holding the backup of another run, or the training card of
    another recipe, is refused unless ``overwrite`` (:func:`ecgnet.runs.claim_run_folder`).

    The finished run's training card (:func:`ecgnet.runs.training_card`, the
    same one ``python -m ecgnet train`` writes) goes to ``out_dir/training.json``,
    so runs trained from Python can be ensembled with ``python -m ecgnet ensemble``.

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
            ``training_log.csv``, ``training.json``, ``run.json``, ``backup/`` (and ``tensorboard/``).
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
        recipe: optional :class:`ecgnet.recipe.InputRecipe`, what the model reads
            from a beat; the card records it (None: read from the shapes of
            ``x`` and ``rr``, on the Kachuee window).
        card: optional dict of the card fields the arguments do not tell:
            ``preset`` (default None), ``split`` (default ``"inter-patient"``
            with ``validation_groups``, else ``"kaggle"``), ``train_data``
            (default None) and ``beat_dropout`` (default 0).
        overwrite: bool, replace the files of another run in ``out_dir``
            instead of refusing the folder.
        reuse_finished: bool, when ``out_dir`` already holds this very run,
            finished (:func:`ecgnet.runs.holds_finished_run`), return it without
            training again: its saved model, log and validation figures (a
            notebook run twice trains once).

    Returns:
        A :class:`TrainingResult`.

    Raises:
        EcgnetError: bad options, or ``out_dir`` holds another run (see above).

    Example:
        One epoch on random beats, into a temporary folder:

        >>> import tempfile
        >>> from ecgnet.models import build_ecgnet
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.random((200, 187), dtype="float32"), np.arange(200) % 5
        >>> folder = tempfile.mkdtemp()
        >>> result = train(lambda: build_ecgnet("small"), x, y, epochs=1, out_dir=folder, verbose=0)
        >>> result.history["epoch"], sorted(path.name for path in Path(folder).iterdir())
        ([0], ['best.keras', 'model.keras', 'run.json', 'training.json', 'training_log.csv'])
        >>> import shutil
        >>> shutil.rmtree(folder)

        On the training part of a prepared data folder:

        >>> from ecgnet.data import load_part
        >>> part = load_part("data/mitbih-kaggle", "train")  # doctest: +SKIP
        >>> result = train(lambda: build_ecgnet("small"), part.x, part.y, out_dir="runs/small")  # doctest: +SKIP
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
    card = _card_fields(recipe, card, x, rr, validation_fraction, validation_groups, validation_seed, validation_fold,
                        seed, epochs, augment, num_beats=len(y))
    run = dict(runs.training_card(**card))
    del run["validation"]
    run["training"] = runs.run_options(x, y, rr, validation_fraction, validation_groups, validation_seed, validation_fold, seed,
                                   epochs, batch_size, learning_rate, imbalance, augment, patience, warmup_epochs)
    if reuse_finished and runs.holds_finished_run(out_dir, run):
        return _finished_run(paths)
    runs.claim_run_folder(out_dir, run, overwrite=overwrite)
    resuming = paths["backup_dir"].exists()
    if resuming and verbose:  # Keras resumes silently, at "Epoch N/...": say so, or a resumed run's time reads as a whole one
        print(f"resuming the interrupted run in {out_dir} from its backup ({paths['backup_dir'].name}/)", flush=True)
    if not resuming and paths["csv_log"].exists():
        paths["csv_log"].unlink()  # a finished earlier run: start a fresh log

    # 1. Seeds, determinism and hardware.
    strategy, policy = _seeds_and_hardware(seed, strategy, mixed_precision, deterministic)
    # 2. Validation split, carved from the training beats only, and the input pipelines.
    data = _training_data(x, y, rr, validation_fraction, validation_groups, seed, validation_seed, validation_fold,
                          batch_size, imbalance, augment)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        # 3. Model, loss and learning-rate schedule, built inside the strategy scope.
        with strategy.scope():
            model = _compiled_model(build_model, learning_rate, epochs, warmup_epochs, data.steps_per_epoch, imbalance)
        num_classes = model.output_shape[-1]
        # 4. Fit, with the callbacks in the order they read each other's logs.
        first_epoch = _FirstEpoch()
        our_callbacks = [first_epoch] + _callbacks(data, paths, resuming, patience)
        if tensorboard:
            paths["tensorboard"] = out_dir / "tensorboard"
            our_callbacks.append(keras.callbacks.TensorBoard(paths["tensorboard"]))
        _fit(model, data, num_classes, epochs, imbalance, our_callbacks + list(callbacks), verbose)
        initial_epoch = first_epoch.first_epoch or 0
        # 5. Best weights back, measured on validation, saved atomically.
        validation = _best_weights_measured(model, strategy, data, num_classes, paths)
        with atomic_path(paths["model"]) as tmp:
            model.save(tmp)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    paths["card"] = runs.write_training_card(out_dir, runs.training_card(**card, validation=validation))

    return TrainingResult(model, _read_history(paths["csv_log"]), validation, paths, initial_epoch)


def _finished_run(paths):
    """The :class:`TrainingResult` of the finished run whose files are ``paths`` (nothing trained)."""
    import ecgnet.layers  # noqa: F401  registers the ecgnet layers for deserialisation

    model = keras.saving.load_model(paths["model"], compile=False)
    card = runs.read_training_card(paths["model"].parent)
    paths = dict(paths, card=paths["model"].parent / runs.CARD_FILE)
    history = _read_history(paths["csv_log"])
    return TrainingResult(model, history, card["validation"], paths, initial_epoch=len(history.get("epoch", [])))


def _seeds_and_hardware(seed, strategy, mixed_precision, deterministic):
    """Seed everything, make CPU runs deterministic, and pick ``(strategy, precision policy)``."""
    keras.utils.set_random_seed(seed)
    if deterministic == "auto":
        deterministic = not tf.config.list_logical_devices("GPU")
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = select_strategy() if strategy is None else strategy
    if mixed_precision == "auto":
        policy = _precision_policy(strategy)
    elif mixed_precision:
        policy = "mixed_bfloat16" if isinstance(strategy, tf.distribute.TPUStrategy) else "mixed_float16"
    else:
        policy = "float32"
    return strategy, policy


@dataclasses.dataclass
class _TrainingData:
    """The training and validation beats of a run and their pipelines (``val_dataset`` is None for a refit)."""

    y_train: np.ndarray
    y_val: np.ndarray
    train_dataset: object
    val_dataset: object
    steps_per_epoch: int

    @property
    def refit(self):
        return self.val_dataset is None


def _training_data(x, y, rr, validation_fraction, validation_groups, seed, validation_seed, validation_fold,
                   batch_size, imbalance, augment):
    """Split off the validation beats (none for a refit) and build both input pipelines.

    The augmentation's random generator lives outside the strategy.
    """
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
    if augment is True:
        augment = EcgAugmentation(seed=seed)
    augment = augment or None
    if imbalance == "balanced":
        train_dataset = balanced_dataset(x_train, y_train, batch_size, seed=seed, rr=rr_train, augment=augment)
    else:
        train_dataset = make_dataset(x_train, y_train, batch_size, shuffle=True, seed=seed, rr=rr_train, augment=augment)
    val_dataset = None if refit else make_dataset(x_val, y_val, batch_size, rr=rr_val)
    return _TrainingData(y_train, y_val, train_dataset, val_dataset, math.ceil(len(x_train) / batch_size))


def _compiled_model(build_model, learning_rate, epochs, warmup_epochs, steps_per_epoch, imbalance):
    """``build_model()`` compiled with Adam on a warmup + cosine-decay schedule (call inside the strategy scope)."""
    model = build_model()
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
    # macro-F1 as a compiled metric: Keras computes val_macro_f1 in its own validation pass (threshold=None
    # takes each beat's most probable class, as argmax does), where a callback cost one more prediction pass:
    # 0.28 s of a 6.3 s epoch (4 %) for the small preset on the committed sample, 10 % validation, on a CPU;
    # the two agree to 1e-7 (ecgnet.metrics.macro_f1 on the same predictions).
    macro_f1 = keras.metrics.F1Score(average="macro", name="macro_f1")
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=["categorical_accuracy", macro_f1])
    return model


def _callbacks(data, paths, resuming, patience):
    """Our callbacks; ``val_macro_f1`` comes from the compiled ``F1Score`` metric (:func:`_compiled_model`)."""
    callbacks = [LearningRateLogger()]
    if not data.refit:
        best_so_far = _best_logged(paths["csv_log"], "val_macro_f1") if resuming else None
        callbacks += [
            BestCheckpoint(paths["best_checkpoint"], "val_macro_f1", initial_value=best_so_far),
            keras.callbacks.EarlyStopping(monitor="val_macro_f1", mode="max", patience=patience, restore_best_weights=True),
        ]
    return callbacks + [
        keras.callbacks.CSVLogger(paths["csv_log"], append=True),
        keras.callbacks.BackupAndRestore(paths["backup_dir"]),
    ]


def _fit(model, data, num_classes, epochs, imbalance, callbacks, verbose):
    """``model.fit`` on one-hot labels (cross-entropy and focal loss share them), with the class weights if asked."""

    def one_hot(inputs, labels):
        return inputs, tf.one_hot(labels, num_classes)

    fit_kwargs = {"steps_per_epoch": data.steps_per_epoch} if imbalance == "balanced" else {}
    if imbalance == "class_weight":
        fit_kwargs["class_weight"] = classes.class_weights(data.y_train, num_classes)
    model.fit(
        data.train_dataset.map(one_hot),
        validation_data=None if data.refit else data.val_dataset.map(one_hot),
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the dataset shuffles itself
        **fit_kwargs,
    )


def _best_weights_measured(model, strategy, data, num_classes, paths):
    """Load the best checkpoint's weights and measure them on the validation beats (None for a refit)."""
    if data.refit:
        return None
    if paths["best_checkpoint"].exists():
        with strategy.scope():
            model.load_weights(paths["best_checkpoint"])
    scores = model.predict(data.val_dataset, verbose=0)
    class_names = CLASS_NAMES if num_classes == len(CLASS_NAMES) else [str(i) for i in range(num_classes)]
    return evaluate_predictions(data.y_val, scores.argmax(axis=-1), class_names)


def _card_fields(recipe, card, x, rr, validation_fraction, validation_groups, validation_seed, validation_fold, seed,
                 epochs, augment, num_beats):
    """The keyword arguments of :func:`ecgnet.runs.training_card` for a call of :func:`train` (all but ``validation``)."""
    fields = {"preset": None, "train_data": None, "beat_dropout": 0.0,
              "split": "kaggle" if validation_groups is None else "inter-patient"} | dict(card or {})
    unknown = sorted(set(fields) - {"preset", "split", "train_data", "beat_dropout"})
    if unknown:
        raise EcgnetError(f"card takes preset, split, train_data and beat_dropout. Received: {', '.join(unknown)}")
    if recipe is None:  # what the arrays hold, on the window most data has
        channels, width = x.shape[-1], 0 if rr is None else np.shape(rr)[-1]
        shape = {"window": "kachuee", "rr_features": width, "relative": channels >= 2, "previous_beat": channels >= 3,
                 "second_lead": channels >= 6}
    else:
        shape = {"window": recipe.window, "rr_features": recipe.rr_features or 0, "relative": recipe.beat_channels >= 2,
                 "previous_beat": recipe.beat_channels >= 3, "second_lead": recipe.second_lead,
                 "recipe": recipe.to_config()}
    refit = validation_fraction == 0
    return fields | shape | {
        "train_beats": num_beats, "epochs": epochs, "seed": seed, "augment": bool(augment),
        "validation_seed": validation_seed, "validation_fold": validation_fold, "refit": refit,
        "validation_fraction": validation_fraction,
    }


def _read_history(csv_path):
    """The CSV log as a dict of lists (the whole run, across interruptions)."""
    import pandas as pd

    if not Path(csv_path).exists():
        return {}
    log = pd.read_csv(csv_path).dropna(axis=1, how="all")  # Keras logs empty val_ columns without validation
    return {column: values.tolist() for column, values in log.items()}


# --------------------------------------------------------------------------
# Fine-tuning a trained model with real noise
# --------------------------------------------------------------------------


def _freeze(model, frozen_names):
    """Freeze the batch normalisation layers (inference mode) and the layers named in ``frozen_names``, nested ones too.

    Returns ``{layer: trainable before}`` for every layer frozen, so that the caller can give the
    model back with the flags it came with (a ``.keras`` file saves them).
    """
    frozen = {}
    for layer in all_sublayers(model):
        if isinstance(layer, keras.layers.BatchNormalization) or layer.name in frozen_names:
            frozen[layer] = layer.trainable
            layer.trainable = False
    return frozen


def finetune_with_noise(model, clean, noisy_copy, *, epochs=2, learning_rate=1e-4, batch_size=256,
                        imbalance="class_weight", keep_normal=1.0, frozen=(), seed=0, verbose=2):
    """Fine-tune a trained model (an ensemble too) on its clean beats and a fresh noisy copy of them each epoch.

    Each epoch fits ``model`` on the clean beats and ``noisy_copy(epoch)``
    (the same beats with noise, row for row: :func:`ecgnet.data.noisy.noisy_copy`),
    shuffled together, with Keras ``fit``. The learning rate decays from
    ``learning_rate`` to 1 % of it (cosine) over the whole fine-tune. Batch
    normalisation layers stay frozen (inference mode, the statistics of the
    clean training), as Keras' transfer-learning guide does, and so do the
    layers named in ``frozen`` (e.g. ``"rr_regression"``, the R-R logistic
    regression of a fused model).

    Args:
        model: a compiled or uncompiled ``keras.Model`` of 5 class probabilities.
        clean: :class:`ecgnet.data.Beats`, the training beats (with records:
            the model's inputs are built by its recipe, per record).
        noisy_copy: callable ``epoch -> Beats`` one to one with ``clean``.
        epochs: int.
        learning_rate: float, Adam's starting rate.
        batch_size: int.
        imbalance: ``"class_weight"`` (square-root damped, :func:`ecgnet.data.classes.class_weights`
            of the beats of the epoch) or None (plain cross-entropy).
        keep_normal: float in (0, 1]: each epoch keeps this random share of the N beats (a new draw per epoch).
        frozen: names of layers that do not train.
        seed: int, seeds the shuffling and the draws of N beats.
        verbose: Keras ``fit`` verbosity.

    Returns:
        dict: ``seconds`` (wall time), ``epochs``, ``beats_per_epoch``, ``frozen`` (layer names), ``history`` (loss per epoch).

    Raises:
        EcgnetError: ``imbalance`` other than ``"class_weight"`` or None, or
            ``keep_normal`` outside (0, 1].

    Example:
        The training beats of a data folder prepared from WFDB records, and
        the noise records of the MIT-BIH Noise Stress Test Database:

        >>> from ecgnet.data import load_part
        >>> from ecgnet.data.noisy import noisy_copy, read_noise_records
        >>> from ecgnet.pretrained_models import load_model
        >>> model = load_model("ecgnet-mitbih")
        >>> part = load_part("data/mitbih-kaggle", "train")  # doctest: +SKIP
        >>> paths = {name: f"data/mitdb/{name}" for name in set(part.record)}  # doctest: +SKIP
        >>> noises = read_noise_records("data/nstdb")  # doctest: +SKIP
        >>> result = finetune_with_noise(model, part, lambda epoch: noisy_copy(part, paths, noises, seed=epoch))  # doctest: +SKIP
        >>> sorted(result)  # doctest: +SKIP
        ['beats_per_epoch', 'epochs', 'frozen', 'history', 'seconds']
    """
    from ecgnet.recipe import InputRecipe

    if imbalance not in ("class_weight", None):
        raise EcgnetError(f"finetune_with_noise takes imbalance='class_weight' or None. Received: imbalance={imbalance!r}")
    if not 0 < keep_normal <= 1:
        raise EcgnetError(f"keep_normal must be in (0, 1]. Received: keep_normal={keep_normal}")
    started = time.perf_counter()
    recipe = InputRecipe.from_model(model)
    y = np.asarray(clean.y, dtype=np.int64)
    generator = np.random.default_rng(seed)
    expected = int(round((y != 0).sum() + keep_normal * (y == 0).sum()))
    steps = epochs * math.ceil(2 * expected / batch_size)
    flags = _freeze(model, set(frozen))
    try:
        return _finetune_epochs(model, recipe, clean, noisy_copy, y, generator, epochs, learning_rate, batch_size,
                                imbalance, keep_normal, seed, verbose, steps, started, [layer.name for layer in flags])
    finally:
        for layer, trainable in flags.items():  # the model goes back with the trainable flags it came with
            layer.trainable = trainable


def _finetune_epochs(model, recipe, clean, noisy_copy, y, generator, epochs, learning_rate, batch_size, imbalance,
                     keep_normal, seed, verbose, steps, started, frozen_layers):
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps), alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.CategoricalCrossentropy())
    clean_inputs = recipe.inputs(clean)
    history, sizes = [], []
    keras.utils.set_random_seed(seed)
    for epoch in range(epochs):
        noisy = noisy_copy(epoch)
        if len(noisy) != len(clean) or not np.array_equal(noisy.y, clean.y):
            raise EcgnetError(f"noisy_copy({epoch}) is not one to one with the clean beats ({len(noisy)} vs {len(clean)})")
        noisy_inputs = recipe.inputs(noisy)  # record medians and previous beats from the noisy beats themselves
        keep = np.flatnonzero((y != 0) | (generator.random(len(y)) < keep_normal))
        order = generator.permutation(2 * len(keep))
        inputs = {name: np.concatenate([clean_inputs[name][keep], noisy_inputs[name][keep]])[order] for name in clean_inputs}
        if feeds_flat_beats(model):  # keras.Input((187,)): the beat without its channel axis
            inputs["beat"] = inputs["beat"][..., 0]
        labels = np.concatenate([y[keep], y[keep]])[order]
        fit_kwargs = {"class_weight": classes.class_weights(labels)} if imbalance == "class_weight" else {}
        fitted = model.fit(inputs, keras.utils.to_categorical(labels, 5), batch_size=batch_size, epochs=epoch + 1,
                           initial_epoch=epoch, shuffle=False, verbose=verbose, **fit_kwargs)
        history.append(float(fitted.history["loss"][-1]))
        sizes.append(int(len(labels)))
    return {"seconds": time.perf_counter() - started, "epochs": epochs, "beats_per_epoch": sizes,
            "frozen": frozen_layers, "history": history}
