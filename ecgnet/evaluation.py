"""Evaluation: a model measured on a test part, reports and confusion-matrix figures.

- :func:`evaluate_model`, :func:`report_test_part`: predict the beats of a part
  and measure the predictions (what ``python -m ecgnet evaluate`` does);
- :func:`report_to_markdown`, :func:`write_report`: ``report.json`` and
  ``report.md``, the AAMI EC57 layout (Se, +P, Spec, F1 and support per class);
- :func:`plot_confusion_matrices`: counts and row-normalised, side by side
  (``sklearn.metrics.ConfusionMatrixDisplay``).

The figures themselves (confusion matrix, per-class Se, +P, specificity and F1,
macro-F1: :func:`ecgnet.metrics.evaluate_predictions`,
:func:`ecgnet.metrics.evaluate_confusion_matrix`) are computed in
:mod:`ecgnet.metrics`, which training uses too; import them from there.
"""

import json
from pathlib import Path

import numpy as np

from ecgnet.data.classes import CLASS_NAMES
from ecgnet import metrics
from ecgnet.files import atomic_path, move_files_into, temporary_folder, write_text_atomic

__all__ = [
    "evaluate_model", "plot_confusion_matrices", "report_test_part", "report_to_markdown", "write_report",
]


def plot_confusion_matrices(cm, class_names=CLASS_NAMES, path=None):
    """Draw the confusion matrix as counts and row-normalised, side by side.

    Args:
        cm: array of shape (k, k), counts (rows true, columns predicted).
        class_names: sequence of str, names on both axes.
        path: str or Path, optional; when given the figure is saved there
            atomically (the format follows the suffix, e.g. ``.png``).

    Returns:
        The matplotlib ``Figure`` with two ``sklearn.metrics.ConfusionMatrixDisplay`` plots.

    Example:
        >>> fig = plot_confusion_matrices(np.eye(5, dtype=int) * 10)
        >>> len(fig.axes) >= 2
        True
    """
    import matplotlib

    if not _has_display():
        matplotlib.use("Agg")  # draw into memory: servers and CI have no screen
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.asarray(cm)
    class_names = list(class_names)
    fig, (ax_counts, ax_fraction) = plt.subplots(1, 2, figsize=(11, 4.5))
    ConfusionMatrixDisplay(cm, display_labels=class_names).plot(
        ax=ax_counts, cmap="Blues", values_format="d", colorbar=False
    )
    ax_counts.set_title("Counts")
    ConfusionMatrixDisplay(metrics.normalize_rows(cm), display_labels=class_names).plot(
        ax=ax_fraction, cmap="Blues", values_format=".2f", im_kw={"vmin": 0, "vmax": 1}
    )
    ax_fraction.set_title("Row-normalised (Se on the diagonal)")
    for ax in (ax_counts, ax_fraction):
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
    fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120)
    return fig


def _has_display():
    """True in notebooks and desktop sessions, where an interactive backend works."""
    import os
    import sys

    return "ipykernel" in sys.modules or bool(os.environ.get("DISPLAY"))


def report_to_markdown(report):
    """Render :func:`ecgnet.metrics.evaluate_predictions`' dict as a Markdown table.

    Args:
        report: dict returned by :func:`ecgnet.metrics.evaluate_predictions`.

    Returns:
        A str: one row per class (Se, +P, Spec, F1 in percent, support), then
        accuracy, macro-F1 and the number of beats.

    Example:
        >>> text = report_to_markdown(metrics.evaluate_predictions([0, 1, 1], [0, 1, 0]))
        >>> text.splitlines()[0]
        '| Class | Se (%) | +P (%) | Spec (%) | F1 (%) | Support |'
        >>> text.splitlines()[2]
        '| N | 100.00 | 50.00 | 50.00 | 66.67 | 1 |'
    """
    lines = [
        "| Class | Se (%) | +P (%) | Spec (%) | F1 (%) | Support |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in report["class_names"]:
        m = report["per_class"][name]
        lines.append(
            f"| {name} | {100 * m['sensitivity']:.2f} | {100 * m['positive_predictivity']:.2f} "
            f"| {100 * m['specificity']:.2f} | {100 * m['f1']:.2f} | {m['support']} |"
        )
    lines += [
        "",
        f"Accuracy: {100 * report['accuracy']:.2f} %  ",
        f"Macro-F1: {100 * report['macro_f1']:.2f} %  ",
        f"Beats: {report['num_beats']}",
        "",
        "Ratios with a zero denominator (a class with no beats or no predictions) are reported as 0.",
        "",
    ]
    return "\n".join(lines)


def write_report(report, out_dir):
    """Write ``report.json`` and ``report.md`` into ``out_dir``, each atomically.

    Args:
        report: dict returned by :func:`ecgnet.metrics.evaluate_predictions`.
        out_dir: str or Path, the folder (created if needed).

    Returns:
        A dict ``{"json": Path, "markdown": Path}`` of the written files.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> paths = write_report(metrics.evaluate_predictions([0, 1], [0, 1]), folder)
        >>> paths["json"].name, paths["markdown"].name
        ('report.json', 'report.md')
        >>> import shutil
        >>> shutil.rmtree(folder)
    """
    out_dir = Path(out_dir)
    json_path = out_dir / "report.json"
    markdown_path = out_dir / "report.md"
    write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    write_text_atomic(markdown_path, report_to_markdown(report))
    return {"json": json_path, "markdown": markdown_path}


def evaluate_model(model, beats, index=None, batch_size=512, source=None):
    """Predict ``beats`` with ``model`` and measure the predictions.

    Args:
        model: a ``keras.Model`` with softmax outputs.
        beats: :class:`ecgnet.data.Beats`, e.g. of :func:`ecgnet.data.load_part`.
        index: None, or the indices (or mask) of the beats to measure on; the
            model's inputs are built from all the beats first
            (:func:`ecgnet.data.model_inputs`).
        batch_size: int.
        source: str, the model's file or name in messages (default: the model's name).

    Returns:
        The dict of :func:`ecgnet.metrics.evaluate_predictions`.

    Raises:
        ModelFileError: the model's outputs are not class probabilities
            (:func:`ecgnet.pretrained_models.check_probabilities`).

    Example:
        On the test part of the kaggle split, prepared by ``python -m ecgnet prepare``:

        >>> from ecgnet.data import load_part
        >>> from ecgnet.pretrained_models import pretrained
        >>> report = evaluate_model(pretrained("ecgnet-mitbih"), load_part("data/mitbih-kaggle", "test"))  # doctest: +SKIP
        >>> round(report["macro_f1"], 2)  # doctest: +SKIP
        0.94
    """
    from ecgnet.data.prepared import model_inputs

    from ecgnet.pretrained_models import check_probabilities

    y_true = beats.y if index is None else beats.y[index]
    probabilities = model.predict(model_inputs(model, beats, index), batch_size=batch_size, verbose=0)
    y_pred = check_probabilities(probabilities, source or f"model {getattr(model, 'name', '')!r}").argmax(axis=1)
    return metrics.evaluate_predictions(y_true, y_pred)


def report_test_part(model, beats, out, extra=None, source=None):
    """Measure ``model`` on a test part and write the report files into ``out``.

    Writes ``report.json`` (:func:`ecgnet.metrics.evaluate_predictions`, plus ``extra``),
    ``report.md`` (:func:`report_to_markdown`) and ``confusion_matrix.png``
    (:func:`plot_confusion_matrices`): what ``python -m ecgnet evaluate``
    writes. The three are written whole or not at all: they are built in a
    temporary folder beside ``out`` and moved in together only when all three
    are written (:func:`ecgnet.files.move_files_into`), so a full disk or a
    kill never leaves a new report beside the old report's figure.

    Args:
        model: a ``keras.Model``.
        beats: :class:`ecgnet.data.Beats`, e.g. of :func:`ecgnet.data.load_part`.
        out: str or Path, the report folder (created if needed).
        extra: optional dict of fields added to the report (e.g. the model and data names).
        source: str, the model's file or name in messages.

    Returns:
        The report dict.

    Raises:
        ModelFileError: as :func:`evaluate_model`.

    Example:
        >>> from ecgnet.data import load_part
        >>> from ecgnet.pretrained_models import load_model
        >>> model = load_model("runs/small/model.keras")  # doctest: +SKIP
        >>> report = report_test_part(model, load_part("data/mitbih-kaggle", "test"), "runs/small/evaluation")  # doctest: +SKIP
        >>> sorted(path.name for path in Path("runs/small/evaluation").iterdir())  # doctest: +SKIP
        ['confusion_matrix.png', 'report.json', 'report.md']
    """
    report = evaluate_model(model, beats, source=source)
    report.update(extra or {})
    with temporary_folder(out) as tmp:
        write_report(report, tmp)
        plot_confusion_matrices(np.asarray(report["confusion_matrix"]), path=tmp / "confusion_matrix.png")
        move_files_into(tmp, out)
    return report


def ensemble_runs(runs, data, out, echo=print):
    """Average finished ``train`` runs into one model (``python -m ecgnet ensemble``), measured on their validation beats.

    The runs' cards must agree on the recipe (:func:`ecgnet.runs.check_same_recipe`)
    and ``data`` must be what they were trained on; the runs and the data are
    checked before TensorFlow loads. Each member and the ensemble are measured
    on the validation beats the runs share (none for refit runs); the test part
    is not read. Writes ``out/model.keras`` and the ensemble's card ``out/training.json``.
    A run that is an ensemble, and an ``out`` that is one of the runs, another
    ``train`` run's folder or the data folder, are refused (``EcgnetError``).

    Args:
        runs: list of run folders (str or Path), at least 2.
        data: the data folder the runs were trained on.
        out: str or Path, the ensemble's folder.
        echo: callable that prints one line (``print``; the figures go there).

    Returns:
        The ensemble, a ``keras.Model``.

    Raises:
        EcgnetError: fewer than 2 runs, an ``out`` that cannot be written, a
            run without its card or model, runs of other recipes.
        DataFormatError: ``data`` has another number of training beats than the runs were trained on.

    Example:
        Three finished runs of ``python -m ecgnet train`` on one data folder:

        >>> runs = ["runs/seed0", "runs/seed1", "runs/seed2"]
        >>> model = ensemble_runs(runs, "data/mitbih-kaggle", "runs/ensemble")  # doctest: +SKIP
        >>> sorted(path.name for path in Path("runs/ensemble").iterdir())  # doctest: +SKIP
        ['model.keras', 'training.json']
    """
    from ecgnet.data.prepared import load_part, require_beats
    from ecgnet.errors import DataFormatError, EcgnetError
    from ecgnet.files import check_out_folder
    from ecgnet.pretrained_models import model_path
    from ecgnet.runs import VALIDATION_KEYS, check_same_recipe, check_training_card, run_validation_index, write_training_card

    runs, out = [Path(run) for run in runs], Path(out)
    if len(runs) < 2:
        raise EcgnetError(f"--runs needs at least 2 run folders. Received: {len(runs)}")
    check_out_folder(out)
    _refuse_run_folder_as_out(out, runs, data)
    cards = []
    for run in runs:
        try:
            cards.append(check_training_card(run))
        except EcgnetError as error:
            raise type(error)(f"--runs {error}") from None
        if cards[-1].get("members"):  # its runs would be weighted unequally, one named beside it twice
            raise EcgnetError(f"--runs {run}: is an ensemble (of {', '.join(map(str, cards[-1]['members']))}), not a `train` run; "
                              "name the runs themselves")
        model_path(run / "model.keras")
    check_same_recipe(cards, [str(run) for run in runs])
    train = require_beats(load_part(data, "train"), labelled=True)
    if len(train) != cards[0]["train_beats"]:
        raise DataFormatError(
            f"{train.source}: {len(train)} training beats, but the runs were trained on "
            f"{cards[0]['train_beats']}; pass the data folder they were trained on"
        )
    from ecgnet.ensembles import build_ensemble
    from ecgnet.pretrained_models import load_model

    members = [load_model(run / "model.keras") for run in runs]
    model = build_ensemble(members)
    validation = None
    if cards[0]["refit"]:
        echo("the runs were refit on every training beat: no validation beats to measure the ensemble on")
    else:
        card = cards[0]
        val_index = run_validation_index(card, train)
        fold_text = f", fold {card['validation_fold']}" if card.get("validation_fold") else ""
        echo(f"validation: {len(val_index)} beats of {train.source} (validation seed {card['validation_seed']}{fold_text})")
        echo(f"{'model':40s} {'accuracy':>9s} {'macro-F1':>9s}")
        for run, member in zip(runs, members):
            report = evaluate_model(member, train, val_index)
            echo(f"{str(run):40s} {report['accuracy']:9.4f} {report['macro_f1']:9.4f}")
        validation = evaluate_model(model, train, val_index)
        echo(f"{'ensemble (mean probability)':40s} {validation['accuracy']:9.4f} {validation['macro_f1']:9.4f}")
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    write_training_card(out, dict(
        cards[0],
        seed=[c["seed"] for c in cards],
        members=[str(run) for run in runs],
        validation=None if validation is None else {key: validation[key] for key in VALIDATION_KEYS},
    ))
    return model


def _refuse_run_folder_as_out(out, runs, data):
    """Refuse an ensemble's ``out`` that is one of its runs, another ``train`` run or the data folder: its
    ``model.keras`` and ``training.json`` would replace the run's own (the run lost, or its log and ``run.json``
    left beside an ensemble's model) or mix with the split's files."""
    import os

    from ecgnet.errors import EcgnetError
    from ecgnet.files import check_not_the_data_folder
    from ecgnet.runs import RUN_FILE

    if not out.is_dir():
        return
    for run in runs:
        if run.is_dir() and os.path.samefile(out, run):
            raise EcgnetError(f"--out {out}: is one of the --runs ({run}); the ensemble's model.keras and training.json "
                              "would replace that run's; write the ensemble in a folder of its own")
    trained = [name for name in (RUN_FILE, "training_log.csv", "best.keras") if (out / name).exists()]
    if trained:
        raise EcgnetError(f"--out {out}: holds a `train` run ({', '.join(trained)}); the ensemble's model.keras and "
                          "training.json would replace that run's; write the ensemble in a folder of its own")
    check_not_the_data_folder(out, data)
