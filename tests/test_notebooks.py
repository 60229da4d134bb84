"""The teaching notebooks: paired with their jupytext sources, clean, and runnable in quick mode.

Each notebook ``notebooks/NN_name.ipynb`` is paired with a jupytext "percent"
script ``notebooks/NN_name.py`` (the text teachers edit; ``jupytext --sync``
keeps the two in step). The fast tests here check the pairing and what every
notebook must hold; the ``notebook`` test runs all of them with papermill,
``QUICK=True``, into pytest's ``tmp_path`` (the committed notebooks are never
overwritten; training runs go to ``tmp_path`` too):

    python -m pytest -m notebook tests/test_notebooks.py
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ("01_data", "02_building_blocks", "03_training", "04_evaluation", "05_new_patients",
             "06_adapting_to_a_patient")
TRAINING_NOTEBOOKS = {"03_training", "04_evaluation", "05_new_patients"}  # they train a network: they ask Colab for a GPU
KERNEL = "python3"
# TensorFlow / absl C++ log lines ("I0000 00:00:...", "E0000 ...", "WARNING: All log messages before absl...")
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:|All log messages before absl", re.MULTILINE)


def _repository_url():
    """``Repository`` of ``[project.urls]`` in pyproject.toml (a regex: tomllib needs Python 3.11)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = re.search(r"^\[project\.urls\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert table, "pyproject.toml has no [project.urls] table"
    url = re.search(r'^Repository\s*=\s*"([^"]+)"', table.group(1), re.MULTILINE)
    assert url, "[project.urls] has no Repository"
    return url.group(1)


def _read(name):
    import nbformat

    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_script_and_notebook_hold_the_same_cells(name):
    """The .py source and the .ipynb agree cell by cell (type and source; outputs aside)."""
    jupytext = pytest.importorskip("jupytext")
    script = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    notebook = _read(name)
    script_cells = [(cell.cell_type, cell.source) for cell in script.cells]
    notebook_cells = [(cell.cell_type, cell.source) for cell in notebook.cells]
    assert script_cells == notebook_cells, f"{name}.py and {name}.ipynb differ: run `jupytext --sync notebooks/{name}.py`"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_clean(name):
    """One parameters cell with QUICK, no papermill leftovers, no machine paths, no TensorFlow log lines."""
    notebook = _read(name)
    tags = [cell.metadata.get("tags", []) for cell in notebook.cells]
    tagged = [cell for cell, cell_tags in zip(notebook.cells, tags) if "parameters" in cell_tags]
    assert len(tagged) == 1 and re.search(r"^QUICK = ", tagged[0].source, re.MULTILINE), f"{name}: one parameters cell with QUICK"
    assert not any("injected-parameters" in cell_tags for cell_tags in tags), f"{name}: papermill's injected cell was committed"
    metadata = json.dumps(notebook.metadata) + json.dumps([cell.metadata for cell in notebook.cells])
    assert not re.search(r"/(home|work|tmp|Users|content)/", metadata), f"{name}: a machine path in the metadata"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            assert not TF_LOG_LINE.search(text), f"{name}: TensorFlow log noise in an output: {text[:120]!r}"
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "## Summary" in sources and "## Exercises" in sources, f"{name}: ends with a Summary and Exercises"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_badge_and_clone_use_the_repository_url(name):
    """Every Colab badge and clone command points at pyproject.toml's Repository URL."""
    url = _repository_url()
    owner_repo = url.removeprefix("https://github.com/")
    text = "\n".join(cell.source for cell in _read(name).cells)
    badges = re.findall(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/notebooks/([\w.]+)", text)
    clones = re.findall(r"git clone [^\n]*?(https://\S+)", text)
    assert badges == [(owner_repo, f"{name}.ipynb")], f"{name}: Colab badge {badges}, expected {owner_repo}"
    assert clones == [url], f"{name}: clone URL {clones}, expected {url}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_only_training_notebooks_ask_colab_for_a_gpu(name):
    notebook = _read(name)
    asks = notebook.metadata.get("accelerator") == "GPU" or "gpuType" in notebook.metadata.get("colab", {})
    assert asks == (name in TRAINING_NOTEBOOKS), f"{name}: asks for a GPU: {asks}"


def test_setup_reports_the_environment(capsys):
    from ecgnet import notebook

    assert os.environ.get("TF_CPP_MIN_LOG_LEVEL")  # set on import, before TensorFlow
    env = notebook.setup(chdir=False)
    out = capsys.readouterr().out
    import tensorflow as tf

    assert env.is_colab is False
    assert env.has_gpu == bool(tf.config.list_physical_devices("GPU"))
    assert env.cpu_count >= 1
    assert f"TensorFlow {tf.__version__}" in out and "Keras" in out
    assert any(line.startswith("GPU: ") for line in out.splitlines()) == env.has_gpu


def test_runs_folder_outside_colab_is_the_local_folder(tmp_path, capsys):
    from ecgnet import notebook

    folder = notebook.runs_folder(tmp_path / "runs", on_drive=True)
    assert folder == tmp_path / "runs" and folder.is_dir()
    assert "only applies in Google Colab" in capsys.readouterr().out



def test_runs_folder_on_drive_in_colab_keeps_the_data_there_too(tmp_path, monkeypatch, capsys):
    import types

    from ecgnet import notebook
    from ecgnet.data.datasets import default_data_dir

    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(notebook, "DRIVE_FOLDER", tmp_path / "MyDrive" / "ecgnet")
    monkeypatch.delenv("ECGNET_DATA_DIR", raising=False)
    folder = notebook.runs_folder("runs", on_drive=True)
    assert mounted == [str(notebook.DRIVE_MOUNT)]
    assert folder == tmp_path / "MyDrive" / "ecgnet" / "runs" and folder.is_dir()
    assert default_data_dir() == tmp_path / "MyDrive" / "ecgnet" / "data"
    assert "kept there too" in capsys.readouterr().out
    # a data folder the learner chose stays theirs
    monkeypatch.setenv("ECGNET_DATA_DIR", str(tmp_path / "mine"))
    notebook.runs_folder("runs", on_drive=True)
    assert default_data_dir() == tmp_path / "mine"

def _require_kernel():
    """Skip (with the reason) unless papermill and a ``python3`` Jupyter kernel are available."""
    for module in ("papermill", "ipykernel", "nbformat"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
        return
    except NoSuchKernel:
        pass
    # ipykernel ships the spec; register it for this user when the environment lacks it.
    done = subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user", "--name", KERNEL],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"no Jupyter kernel named {KERNEL!r} and `ipykernel install` failed: {done.stderr.strip()[:200]}")


@pytest.mark.notebook
def test_notebooks_run_in_quick_mode(tmp_path, monkeypatch):
    """All the notebooks, in order (04 evaluates the model 03 saved), in quick mode."""
    import nbformat
    import papermill

    _require_kernel()
    runs = tmp_path / "runs"
    # The kernel imports this checkout's ecgnet, whatever else the environment has installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    seconds = {}
    for name in NOTEBOOKS:
        output = tmp_path / f"{name}.ipynb"
        started = time.perf_counter()
        parameters = dict(QUICK=True)
        if name in TRAINING_NOTEBOOKS:
            parameters["RUNS_DIR"] = str(runs)
        papermill.execute_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"), str(output), parameters=parameters,
                                   kernel_name=KERNEL, cwd=str(NOTEBOOK_DIR), progress_bar=False,
                                   execution_timeout=600)
        seconds[name] = time.perf_counter() - started
        streams = "".join(o.get("text", "") for cell in nbformat.read(output, as_version=4).cells
                          for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        assert not TF_LOG_LINE.search(streams), f"{name}: TensorFlow log noise in the outputs"
        if name == "04_evaluation":
            assert "evaluating notebook 03's model" in streams
    assert (runs / "quick" / "03_training" / "model.keras").is_file()
    assert (runs / "quick" / "04_kachuee2018" / "model.keras").is_file()
    print("quick-mode seconds:", {name: round(value) for name, value in seconds.items()})


@pytest.mark.notebook
def test_a_fresh_clone_reaches_a_prepared_split_through_the_notebook(physionet, tmp_path, monkeypatch):
    """Colab-like: no raw records and no prepared data anywhere; notebook 01 in full mode downloads
    the records (from a local mirror standing in for PhysioNet) and prepares the kaggle split."""
    import nbformat
    import papermill

    _require_kernel()
    data = tmp_path / "data"
    monkeypatch.setenv("ECGNET_DATA_DIR", str(data))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    output = tmp_path / "01_data.ipynb"
    papermill.execute_notebook(str(NOTEBOOK_DIR / "01_data.ipynb"), str(output), parameters=dict(QUICK=False),
                               kernel_name=KERNEL, cwd=str(NOTEBOOK_DIR), progress_bar=False, execution_timeout=600)
    streams = "".join(o.get("text", "") for cell in nbformat.read(output, as_version=4).cells
                      for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    assert "downloaded from http://127.0.0.1" in streams
    assert (data / "mitdb" / "SHA256SUMS.txt").is_file()
    assert (data / "mitbih-kaggle" / "manifest.json").is_file()
    assert "RECORDS" in physionet and "208.dat" in physionet
