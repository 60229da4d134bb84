"""Run every teaching notebook in quick mode (the committed sample only, tiny sizes).

Each notebook runs with papermill, ``QUICK=True``, kernel ``python3`` and the
notebooks folder as working directory, into pytest's ``tmp_path``: the committed
notebooks (with their full-mode outputs) are never overwritten, and the training
runs go to ``tmp_path`` too (``RUNS_DIR``). Notebook 04 evaluates the model that
notebook 03 saved, so they run in order in one test.

    python -m pytest -m notebook tests/test_notebooks.py

All five take a few minutes on 2 CPU cores.
"""

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ("01_data_exploration", "02_model_building", "03_gpu_training", "04_evaluation", "05_inter_patient")
KERNEL = "python3"

pytestmark = pytest.mark.notebook


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


def _run(name, tmp_path, **parameters):
    import papermill

    output = tmp_path / f"{name}.ipynb"
    started = time.perf_counter()
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / f"{name}.ipynb"),
        str(output),
        parameters=dict(QUICK=True, **parameters),
        kernel_name=KERNEL,
        cwd=str(NOTEBOOK_DIR),
        progress_bar=False,
        execution_timeout=600,
    )
    return output, time.perf_counter() - started


def test_notebooks_are_generated_from_make_notebooks(tmp_path):
    """The committed .ipynb files have the cells make_notebooks.py writes (outputs aside)."""
    import nbformat

    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))
    for name in NOTEBOOKS:
        committed = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        sources = [cell.source for cell in committed.cells
                   if "injected-parameters" not in cell.metadata.get("tags", [])]
        expected = [cell.source for cell in make_notebooks.build(name).cells]
        assert sources == expected, f"{name}.ipynb differs from make_notebooks.py: run it and re-execute"
        tagged = [cell for cell in committed.cells if "parameters" in cell.metadata.get("tags", [])]
        assert len(tagged) == 1 and "QUICK" in tagged[0].source, f"{name}: needs exactly one parameters cell with QUICK"


def test_notebooks_run_in_quick_mode(tmp_path):
    _require_kernel()
    runs = tmp_path / "runs"
    extra = {
        "03_gpu_training": dict(RUNS_DIR=str(runs)),
        "04_evaluation": dict(RUNS_DIR=str(runs)),
        "05_inter_patient": dict(RUNS_DIR=str(runs)),
    }
    seconds = {}
    for name in NOTEBOOKS:
        output, seconds[name] = _run(name, tmp_path, **extra.get(name, {}))
        assert output.is_file()
    assert (runs / "quick" / "03_gpu_training" / "model.keras").is_file()
    print("quick-mode seconds:", {name: round(value) for name, value in seconds.items()})
