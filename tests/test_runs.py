"""Tests for ecgnet.runs: folds, training cards and run folders, read without TensorFlow."""

import json

import numpy as np
import pytest

from ecgnet import runs
from ecgnet.data import Beats, validation_indices
from ecgnet.errors import DataFormatError, EcgnetError


@pytest.mark.parametrize("text, expected", [("2/5", (2, 5)), ("5/5", (5, 5)), ("1/2", (1, 2)), (None, None)])
def test_parse_fold_reads_k_of_n(text, expected):
    assert runs.parse_fold(text) == expected


@pytest.mark.parametrize("text, message", [
    ("6/5", "1 <= K <= N, received '6/5'"),
    ("0/5", "1 <= K <= N, received '0/5'"),
    ("1/1", "N >= 2 and 1 <= K <= N, received '1/1'"),
    ("two", "expected K/N, e.g. 2/5, received 'two'"),
    ("1/2/3", "expected K/N, e.g. 2/5, received '1/2/3'"),
])
def test_parse_fold_refuses_what_is_not_a_fold(text, message):
    with pytest.raises(EcgnetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        runs.parse_fold(text)


def _write(folder, content):
    folder.mkdir()
    (folder / "training.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


@pytest.mark.parametrize("content, error, fragments", [
    (None, EcgnetError, ["nowhere", "no such run folder"]),
    ("", EcgnetError, ["training.json", "not found"]),
    ('{"preset": "small",\n "split": ', DataFormatError, ["training.json", "line 2", "not valid JSON"]),
    (b"\xff\xfe\x00", DataFormatError, ["training.json", "not a text file"]),
    ("[1, 2]", DataFormatError, ["expected a JSON object", "found list"]),
    ('{"preset": "small", "seed": 0}', DataFormatError, ["not a training card", "missing split, train_beats"]),
    ('{"preset": "small", "split": "kaggle", "seed": 0, "train_beats": true}', DataFormatError,
     ["train_beats is True, expected a whole number"]),
], ids=["no-folder", "no-card", "bad-json", "binary", "list", "missing-keys", "bool-beats"])
def test_check_training_card_refuses_with_one_line(tmp_path, content, error, fragments):
    if content is None:
        folder = tmp_path / "nowhere"
    elif content == "":
        folder = tmp_path / "empty"
        folder.mkdir()
    else:
        folder = _write(tmp_path / "run", content)
    with pytest.raises(error) as raised:
        runs.check_training_card(folder)
    assert all(fragment in str(raised.value) for fragment in fragments) and "\n" not in str(raised.value)


def test_check_training_card_returns_the_card_with_defaults(tmp_path):
    folder = _write(tmp_path / "run", json.dumps({"preset": "small", "split": "kaggle", "seed": 3, "train_beats": 9}))
    card = runs.check_training_card(folder)
    assert card["validation_seed"] == 3 and card["refit"] is False and card["window"] == "kachuee"


def test_a_card_keeps_a_validation_fraction_other_than_its_splits_and_rebuilds_those_beats(tmp_path):
    y = np.arange(400) % 5
    common = dict(preset=None, split="kaggle", rr_features=0, train_data=None, train_beats=len(y), epochs=1, seed=2)
    assert "validation_fraction" not in runs.training_card(**common, validation_fraction=0.1)  # the split's own
    assert "validation_fraction" not in runs.training_card(**common, validation_fraction=0.0, refit=True)
    card = runs.training_card(**common, validation_fraction=0.3)
    assert card["validation_fraction"] == 0.3 and card["train_data"] is None
    runs.write_training_card(tmp_path, card)
    index = runs.run_validation_index(runs.read_training_card(tmp_path), Beats(np.zeros((len(y), 187)), y))
    np.testing.assert_array_equal(index, validation_indices(y, 0.3, seed=2)[1])
    assert len(index) == 120


def test_claim_run_folder_refuses_another_recipe_and_overwrite_removes_only_run_files(tmp_path):
    folder = tmp_path / "run"
    runs.claim_run_folder(folder, {"preset": "small", "training": {"epochs": 3}})
    assert json.loads((folder / "run.json").read_text()) == {"preset": "small", "training": {"epochs": 3}}
    runs.write_training_card(folder, {"preset": "small"})
    (folder / "notes.txt").write_text("mine")
    runs.claim_run_folder(folder, {"preset": "small", "training": {"epochs": 3}})  # the same run: accepted
    with pytest.raises(EcgnetError, match=r"run: holds a finished run \(training.json\) of other data or another recipe: "
                                          r"preset \('small' there, 'tiny' now\)"):
        runs.claim_run_folder(folder, {"preset": "tiny", "training": {"epochs": 3}})
    runs.claim_run_folder(folder, {"preset": "tiny", "training": {"epochs": 3}}, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "run.json"]
