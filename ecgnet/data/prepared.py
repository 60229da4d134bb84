"""Prepared data folders, and the inputs a model needs from them.

A *part* is the ``"train"`` or ``"test"`` half of a data folder, as a dict:
``x`` (n, 187, 1), ``y`` (n,), ``rr`` ((n, 6) R-R features or None),
``record`` ((n,) names or None) and ``source`` (the file read). Folders written
by ``python -m ecgnet prepare`` hold ``.npz`` files with records and R-R
intervals; Kaggle downloads hold CSV files with beats and labels only.

Example:
    >>> test = load_part("data/mitbih-kaggle", "test")
    >>> probabilities = model.predict(model_inputs(model, test))
"""

from pathlib import Path

from ecgnet.data.beats import load_beats_npz, record_relative_beats, rr_features, select_rr_features
from ecgnet.data.csv_files import load_mitbih_csv
from ecgnet.errors import DataFormatError


def load_part(data, part):
    """Load the ``part`` ("train" or "test") of a data folder, or one data file.

    Returns a dict with ``x`` (n, 187, 1), ``y`` (n,), ``rr`` ((n, 6) or None for
    CSV files, which carry no R-R intervals), ``record`` ((n,) names, or None
    for CSV files) and ``source`` (the file read).
    """
    data = Path(data)
    if data.is_dir():
        candidates = [f"{part}.npz", f"mitbih_{part}.npz", f"{part}.csv", f"{part}.csv.gz", f"mitbih_{part}.csv", f"mitbih_{part}.csv.gz"]
        found = [data / name for name in candidates if (data / name).exists()]
        if not found:
            raise DataFormatError(f"{data}: no {part} data here (looked for {', '.join(candidates)})")
        path = found[0]
    elif data.exists():
        path = data
    else:
        raise DataFormatError(f"{data}: no such file or folder")
    if path.suffix == ".npz":
        return part_from_beats(load_beats_npz(path), source=path)
    x, y = load_mitbih_csv(path)
    return {"x": x, "y": y, "rr": None, "record": None, "source": path}


def part_from_beats(beats, source):
    """A part (see :func:`load_part`) from :class:`~ecgnet.data.beats.Beats`, with its R-R features."""
    return {
        "x": beats.x[..., None] if beats.x.ndim == 2 else beats.x,
        "y": beats.y.astype("int64"),
        "rr": rr_features(beats.rr, beats.record),
        "record": beats.record,
        "source": source,
    }


def model_inputs(model, part):
    """The input(s) for ``model`` from a loaded part, checking shapes first.

    A model whose beat input has 2 channels takes each beat beside its
    difference from its record's median beat (``ecgnet.data.record_relative_beats``),
    which needs the record names that only prepared ``.npz`` files carry. A
    model's R-R input width picks its R-R features (``select_rr_features``):
    6 for all of them, 3 for the record-relative ones.
    """
    names = [tensor.name.split(":")[0] for tensor in model.inputs]
    expected_beat = tuple(model.inputs[0].shape[1:])
    if expected_beat[-1:] == (2,) and part["x"].shape[-1] == 1:
        if part["record"] is None:
            raise DataFormatError(
                f"{part['source']}: the model compares each beat with its record's median beat, "
                "which needs record names that Kaggle CSV files do not carry; "
                "pass the folder written by `python -m ecgnet prepare` (test.npz) or a --record"
            )
        part = dict(part, x=record_relative_beats(part["x"], part["record"]))
    if tuple(part["x"].shape[1:]) != expected_beat:
        raise DataFormatError(
            f"{part['source']}: beats of shape {tuple(part['x'].shape[1:])}, "
            f"but the model expects {expected_beat}"
        )
    if len(model.inputs) == 1:
        return part["x"]
    if part["rr"] is None:
        raise DataFormatError(
            f"{part['source']}: the model takes R-R features (inputs {names}), which Kaggle CSV files do not carry; "
            "pass the folder written by `python -m ecgnet prepare` (train.npz / test.npz)"
        )
    return {"beat": part["x"], "rr": select_rr_features(part["rr"], model.inputs[1].shape[-1])}
