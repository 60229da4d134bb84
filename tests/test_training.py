"""Tests for ecgnet.training with a tiny model on a few hundred synthetic beats."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ecgnet import runs, training
from ecgnet.data import Beats
from ecgnet.data import validation_indices
from ecgnet.data.classes import class_weights
from ecgnet.normalization import FusedBatchNormalization

CLASS_COUNTS = (120, 40, 40, 20, 30)  # synthetic, imbalanced like MIT-BIH (but mildly)


def synthetic_beats(counts=CLASS_COUNTS, seed=0):
    """Synthetic beats: a sinusoid whose frequency depends on the class, plus noise, zero-padded."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    t = np.arange(150) / 125
    x = np.zeros((len(y), 187), np.float32)
    x[:, :150] = 0.5 + 0.4 * np.sin(2 * np.pi * (1 + y[:, None]) * t) + rng.normal(0, 0.05, (len(y), 150))
    order = rng.permutation(len(y))
    return x[order], y[order]


def tiny_model():
    inputs = keras.Input((187, 1), name="beat")
    h = keras.layers.Conv1D(4, 7, strides=2)(inputs)
    h = keras.layers.ReLU()(FusedBatchNormalization()(h))  # the fused path also runs under a strategy
    h = keras.layers.GlobalAveragePooling1D()(h)
    outputs = keras.layers.Dense(5, activation="softmax", dtype="float32")(h)
    return keras.Model(inputs, outputs)


class StopAfterEpoch(keras.callbacks.Callback):
    """Simulate an interruption: raise at the end of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"simulated interruption after epoch {epoch}")


def quick_train(out_dir, **kwargs):
    x, y = synthetic_beats()
    options = dict(epochs=2, batch_size=32, verbose=0, out_dir=out_dir, validation_fraction=0.2)
    options.update(kwargs)
    return training.train(tiny_model, x, y, **options)


def test_class_weights_by_hand():
    weights = class_weights([0, 0, 0, 1], num_classes=3, power=1)
    assert weights == pytest.approx({0: 4 / 9, 1: 4 / 3, 2: 0.0})
    damped = class_weights([0, 0, 0, 1], num_classes=3)
    assert damped[1] == pytest.approx((4 / 3) ** 0.5)


@pytest.mark.parametrize("labels", [[0, 0, 1, -1], [0, 1, 5]])
def test_class_weights_refuse_labels_outside_the_classes(labels):
    from ecgnet.errors import EcgnetError

    with pytest.raises(EcgnetError, match=r"labels must be 0\.\.4"):
        class_weights(labels)


def test_select_strategy_on_cpu_is_the_default_strategy():
    strategy = training.select_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert not isinstance(strategy, tf.distribute.MirroredStrategy)


def test_train_writes_model_logs_and_validation_report(tmp_path):
    result = quick_train(tmp_path / "run")
    assert result.history["epoch"] == [0, 1]
    assert {"loss", "val_loss", "val_macro_f1", "categorical_accuracy", "learning_rate"} <= set(result.history)
    # warmup (epoch 0 ends at the peak 1e-3) then cosine decay
    assert result.history["learning_rate"][0] == pytest.approx(1e-3, rel=0.05)
    assert result.history["learning_rate"][1] < result.history["learning_rate"][0]
    assert result.validation["num_beats"] == 50  # stratified 20 % of 250
    assert [c["support"] for c in result.validation["per_class"].values()] == [24, 8, 8, 4, 6]
    for name in ("model", "best_checkpoint", "csv_log"):
        assert result.paths[name].exists(), name
    assert not result.paths["backup_dir"].exists()  # deleted after a finished run
    reloaded = keras.models.load_model(result.paths["model"])
    x, _ = synthetic_beats()
    np.testing.assert_allclose(reloaded.predict(x[:8], verbose=0), result.model.predict(x[:8], verbose=0), atol=1e-6)


@pytest.mark.parametrize("imbalance", ["balanced", "focal", None])
def test_each_imbalance_option_trains(tmp_path, imbalance):
    result = quick_train(tmp_path / "run", imbalance=imbalance, epochs=1, augment=False)
    assert np.isfinite(result.history["loss"][0])


def test_interrupted_run_resumes_at_the_next_epoch(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        quick_train(tmp_path / "run", epochs=4, callbacks=[StopAfterEpoch(1)], verbose=2)
    assert (tmp_path / "run" / "backup").exists()
    assert "resuming" not in capsys.readouterr().out  # a fresh run says nothing of the kind
    result = quick_train(tmp_path / "run", epochs=4, verbose=2)
    assert "resuming the interrupted run in" in capsys.readouterr().out  # Keras itself would not say it
    assert result.initial_epoch == 2
    assert result.history["epoch"] == [0, 1, 2, 3]  # epochs 0-1 before, 2-3 after the interruption
    assert result.paths["model"].exists()


def test_a_finished_run_is_reused_only_when_asked_and_only_the_same_run(tmp_path):
    first = quick_train(tmp_path / "run", seed=1)
    written = first.paths["model"].stat().st_mtime_ns
    again = quick_train(tmp_path / "run", seed=1, reuse_finished=True)
    assert first.paths["model"].stat().st_mtime_ns == written  # nothing trained, nothing written
    assert again.history == first.history and again.initial_epoch == 2
    assert again.validation["macro_f1"] == pytest.approx(first.validation["macro_f1"])
    x, _ = synthetic_beats()
    np.testing.assert_allclose(again.model.predict(x[:8], verbose=0), first.model.predict(x[:8], verbose=0), atol=1e-6)
    assert not runs.holds_finished_run(tmp_path / "run", {"preset": "other"})
    other = quick_train(tmp_path / "run", seed=2, reuse_finished=True, overwrite=True)  # another run: trained
    assert other.initial_epoch == 0 and first.paths["model"].stat().st_mtime_ns != written


def test_same_seed_gives_identical_runs(tmp_path):
    first = quick_train(tmp_path / "a", seed=3)
    second = quick_train(tmp_path / "b", seed=3)
    assert first.history["loss"] == second.history["loss"]
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_imbalance_option_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="imbalance='oversample'"):
        quick_train(tmp_path, imbalance="oversample")


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[2])
    from test_training import quick_train
    from ecgnet import training
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    result = quick_train(sys.argv[1], epochs=1, strategy=strategy)
    assert result.history["epoch"] == [0]
    print("replicas", strategy.num_replicas_in_sync, "macro_f1", result.validation["macro_f1"])
    """
)


def test_mirrored_strategy_with_two_cpu_replicas_trains_one_epoch(tmp_path):
    # Logical devices must be configured before TensorFlow initialises: a fresh process.
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run"), str(Path(__file__).parent)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replicas 2" in done.stdout


def test_runs_with_the_same_validation_seed_validate_on_the_same_beats(tmp_path):
    first = quick_train(tmp_path / "a", seed=1, validation_seed=0, epochs=1)
    second = quick_train(tmp_path / "b", seed=2, validation_seed=0, epochs=1)
    _, val_index = validation_indices(synthetic_beats()[1], 0.2, seed=0)
    assert first.validation["num_beats"] == second.validation["num_beats"] == len(val_index)
    supports = [c["support"] for c in first.validation["per_class"].values()]
    assert supports == list(np.bincount(synthetic_beats()[1][val_index], minlength=5))


def test_record_folds_validate_every_beat_once_and_pool(tmp_path):
    from ecgnet.metrics import evaluate_confusion_matrix

    x, y = synthetic_beats()
    records = np.repeat(np.arange(25), 10)  # synthetic "records" of 10 beats each
    with pytest.raises(ValueError, match="pass validation_groups"):
        validation_indices(y, validation_fold=(1, 3))
    results = [quick_train(tmp_path / f"fold{k}", epochs=1, validation_groups=records, validation_fold=(k, 3)) for k in (1, 2, 3)]
    held = [validation_indices(y, validation_groups=records, validation_fold=(k, 3))[1] for k in (1, 2, 3)]
    np.testing.assert_array_equal(np.sort(np.concatenate(held)), np.arange(len(y)))
    for result, index in zip(results, held):
        assert result.validation["num_beats"] == len(index)
    pooled = evaluate_confusion_matrix(np.sum([r.validation["confusion_matrix"] for r in results], axis=0))
    assert [c["support"] for c in pooled["per_class"].values()] == list(CLASS_COUNTS)
    expected_correct = sum(r.validation["accuracy"] * r.validation["num_beats"] for r in results)
    assert pooled["accuracy"] == pytest.approx(expected_correct / len(y))


class _Recorder(keras.Model):
    """Stands in for a model: counts saves, or fails mid-save on request."""

    def __init__(self):
        super().__init__()
        self.saves, self.fail = 0, False

    def save(self, path):
        Path(path).write_text(f"save {self.saves}")
        if self.fail:
            raise OSError("disk full")
        self.saves += 1


def test_best_checkpoint_saves_only_improvements_and_atomically(tmp_path):
    path = tmp_path / "best.keras"
    callback = training.BestCheckpoint(path, "val_macro_f1", initial_value=0.5)
    model = _Recorder()
    callback.set_model(model)
    for epoch, value in enumerate([0.4, 0.6, 0.55, 0.7]):
        callback.on_epoch_end(epoch, {"val_macro_f1": value})
    assert model.saves == 2 and callback.best == 0.7
    assert path.read_text() == "save 1"
    model.fail = True
    with pytest.raises(OSError):
        callback.on_epoch_end(4, {"val_macro_f1": 0.9})
    assert path.read_text() == "save 1"  # the good checkpoint survives a failed save
    assert [p.name for p in tmp_path.iterdir()] == ["best.keras"]  # no temporary file left


def test_refit_trains_on_every_beat_for_exactly_the_epochs(tmp_path):
    result = quick_train(tmp_path / "run", validation_fraction=0.0, epochs=3, patience=1)
    assert result.validation is None
    assert result.history["epoch"] == [0, 1, 2]  # no early stopping
    assert "val_loss" not in result.history
    assert result.paths["model"].exists() and not result.paths["best_checkpoint"].exists()
    x, _ = synthetic_beats()
    steps = int(np.ceil(len(x) / 32))  # all 250 beats, batch 32
    assert result.model.optimizer.iterations.numpy() == 3 * steps


def test_a_training_card_round_trips_and_rebuilds_the_validation_beats(tmp_path):
    result = quick_train(tmp_path / "run", seed=3, epochs=1, validation_fraction=0.1)
    x, y = synthetic_beats()
    card = runs.training_card(
        preset="tiny", split="kaggle", rr_features=0, train_data="synthetic", train_beats=len(y),
        epochs=1, seed=3, validation_fold=None, validation=result.validation,
    )
    runs.write_training_card(tmp_path / "run", card)
    read = runs.read_training_card(tmp_path / "run")
    assert read == card and read["validation_seed"] == 3
    assert set(read["validation"]) == set(runs.VALIDATION_KEYS)
    # the same beats train() validated on: their count and class supports
    val_index = runs.run_validation_index(read, Beats(x, y))  # beats without records, as in a Kaggle CSV
    np.testing.assert_array_equal(val_index, validation_indices(y, 0.1, seed=3)[1])
    assert read["validation"]["num_beats"] == len(val_index)
    assert [c["support"] for c in read["validation"]["per_class"].values()] == list(np.bincount(y[val_index], minlength=5))


def test_cards_of_older_runs_get_defaults_and_refit_cards_have_no_validation(tmp_path):
    import json

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "training.json").write_text(json.dumps({"preset": "small", "split": "kaggle", "seed": 4}))
    card = runs.read_training_card(tmp_path / "old")
    assert card["validation_seed"] == 4 and card["refit"] is False and card["validation_fold"] is None
    refit = runs.training_card(preset="small", split="kaggle", rr_features=0, train_data="d", train_beats=9, epochs=2, seed=1, refit=True)
    assert refit["validation_seed"] is None and refit["validation"] is None
    with pytest.raises(ValueError, match="refit run .* no validation beats"):
        runs.run_validation_index(refit, Beats(np.zeros((9, 187)), np.zeros(9)))
    with pytest.raises(ValueError, match="training.json: not found"):
        runs.read_training_card(tmp_path / "nowhere")
    assert runs.validation_plan("kaggle", np.arange(3)) == (0.1, None)
    assert runs.validation_plan("inter-patient", np.arange(3))[0] == 0.2


def test_pool_runs_sums_the_validation_confusion_matrices_of_folds(tmp_path):
    import json

    # two folds by hand: S found 1 of 2, then 3 of 4 with one false alarm
    matrices = [np.diag([50, 1, 5, 0, 0]), np.diag([40, 3, 2, 1, 0])]
    matrices[0][1, 0] = 1
    matrices[1][1, 0], matrices[1][0, 1] = 1, 1
    for k, cm in enumerate(matrices):
        (tmp_path / f"f{k}").mkdir()
        (tmp_path / f"f{k}" / "training.json").write_text(json.dumps({"seed": 0, "validation": {"confusion_matrix": cm.tolist()}}))
    pooled = runs.pool_runs([tmp_path / "f0", tmp_path / "f1"])
    assert pooled["num_beats"] == 105 and pooled["accuracy"] == pytest.approx(102 / 105)
    assert pooled["per_class"]["S"]["sensitivity"] == pytest.approx(4 / 6)
    assert pooled["per_class"]["S"]["positive_predictivity"] == pytest.approx(4 / 5)
    (tmp_path / "refit").mkdir()
    (tmp_path / "refit" / "training.json").write_text(json.dumps({"seed": 0, "refit": True, "validation": None}))
    with pytest.raises(ValueError, match="refit.*cannot pool|cannot pool.*refit"):
        runs.pool_runs([tmp_path / "f0", tmp_path / "refit"])


def test_runs_trained_from_python_write_their_card_and_are_ensembled_by_the_cli(tmp_path):
    from ecgnet.data import load_part, sample_dir
    from ecgnet.recipe import InputRecipe

    part = load_part(sample_dir(), "train")
    recipe = InputRecipe.from_flags("kachuee", False, False, False, None)
    results = [
        training.train(tiny_model, part.x, part.y, epochs=1, batch_size=256, seed=seed, validation_seed=0,
                       augment=False, out_dir=tmp_path / f"s{seed}", verbose=0, recipe=recipe, card={"preset": "tiny"})
        for seed in (0, 1)
    ]
    card = runs.read_training_card(tmp_path / "s1")
    assert card["recipe"] == recipe.to_config() and card["preset"] == "tiny" and card["split"] == "kaggle"
    assert card["seed"] == 1 and card["validation_seed"] == 0 and card["train_beats"] == len(part.y)
    assert card["validation"]["confusion_matrix"] == np.asarray(results[1].validation["confusion_matrix"]).tolist()
    assert results[1].paths["card"] == tmp_path / "s1" / "training.json"

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-m", "ecgnet", "ensemble", "--runs", "s0", "s1", "--data", str(sample_dir()), "--out", "ens"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    held = validation_indices(part.y, 0.1, seed=0)[1]  # the split both runs validated on
    assert f"validation: {len(held)} beats" in done.stdout
    for name, result in zip(("s0", "s1"), results):  # the CLI measures each member as train() did
        line = next(line for line in done.stdout.splitlines() if line.startswith(name + " "))
        assert line.split()[1:] == [f"{result.validation['accuracy']:.4f}", f"{result.validation['macro_f1']:.4f}"]
    assert json.loads((tmp_path / "ens" / "training.json").read_text())["seed"] == [0, 1]


def test_val_macro_f1_logged_by_keras_is_the_macro_f1_of_the_best_weights(tmp_path):
    result = quick_train(tmp_path / "run", epochs=3, patience=3)
    # the compiled F1Score's val_macro_f1 of the best epoch against ecgnet.metrics on the reloaded best weights
    assert max(result.history["val_macro_f1"]) == pytest.approx(result.validation["macro_f1"], abs=1e-5)
    assert "macro_f1" in result.history  # the same metric on the training batches
