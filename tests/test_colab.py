"""The path a Colab learner takes: the notebook's own setup cells, a fresh clone, no installed ecgnet.

Everywhere else the tests import an installed ``ecgnet``; a Colab kernel does
not see the package its setup cell has just installed, and finds it only
through the folder that cell puts on ``sys.path``. Worker processes started
with ``spawn`` (the only safe start once TensorFlow runs) inherit that
``sys.path`` and the working directory, so a relative entry there breaks them
as soon as :func:`ecgnet.notebook.setup` changes the working directory. These
tests hide the installed package (a ``sitecustomize`` on ``PYTHONPATH`` drops
its import hook, in the kernel and in every worker) and walk that path.
"""

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from test_notebooks import KERNEL, NOTEBOOKS, _read, _repository_url, _require_kernel

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
COLAB_REPOSITORY = "/content/ecgnet"  # where the setup cell clones the repository in Colab

# Run at the start of every Python process whose PYTHONPATH names its folder: the import hook of an
# editable install of ecgnet goes, so ecgnet is found only on sys.path, as in a fresh Colab kernel.
HIDE_INSTALLED_ECGNET = textwrap.dedent("""\
    import sys
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if not getattr(finder, "__module__", "").startswith("__editable__")
                        and not type(finder).__module__.startswith("__editable__")]
""")


def _hidden_environment(tmp_path, monkeypatch):
    """Set PYTHONPATH to a folder whose sitecustomize hides the installed ecgnet; skip if it stays visible."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_INSTALLED_ECGNET)
    monkeypatch.setenv("PYTHONPATH", str(hide))
    empty = tmp_path / "empty"
    empty.mkdir()
    probe = subprocess.run([sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('ecgnet'))"],
                           cwd=empty, capture_output=True, text=True)
    if probe.stdout.strip() != "None":
        pytest.skip(f"ecgnet is installed in a way these tests cannot hide (found {probe.stdout.strip()})")
    return hide


def _colab_cell(name):
    """The source of a notebook's Colab install cell."""
    cells = [cell.source for cell in _read(name).cells if cell.cell_type == "code" and "google.colab" in cell.source]
    assert len(cells) == 1, f"{name}: one Colab install cell, found {len(cells)}"
    return cells[0]


def test_every_notebook_has_the_same_colab_install_cell_with_an_absolute_path():
    cells = {name: _colab_cell(name) for name in NOTEBOOKS}
    assert len(set(cells.values())) == 1, "the Colab install cells differ between notebooks"
    cell = cells[NOTEBOOKS[0]]
    assert f'REPOSITORY = "{COLAB_REPOSITORY}"' in cell
    # every path in the cell is the absolute one: a re-run after setup() changed the directory means the same
    assert "./ecgnet" not in cell and 'insert(0, "ecgnet")' not in cell
    assert "git clone --depth 1" in cell and "{REPOSITORY}" in cell


def test_workers_that_cannot_import_ecgnet_fail_at_once_with_one_clear_error(tmp_path, monkeypatch):
    """A spawn pool whose workers die on start: one EcgnetError within seconds, not a pool that restarts them forever."""
    _hidden_environment(tmp_path, monkeypatch)
    script = textwrap.dedent(f"""\
        import sys, types
        sys.path.insert(0, {str(ROOT)!r})
        from ecgnet.data import records
        from ecgnet.errors import EcgnetError
        sys.path.remove({str(ROOT)!r})           # the workers start with this sys.path: no ecgnet for them
        sys.modules.setdefault("tensorflow", types.ModuleType("tensorflow"))  # as after TensorFlow: spawn
        records.MIN_RECORDS_FOR_POOL = 2
        try:
            records.build_mitbih_beats({str(FIXTURES)!r}, processes=2, progress=False)
        except EcgnetError as error:
            print("EcgnetError:", error)
        else:
            print("no error")
    """)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    assert "EcgnetError: the 2 worker processes that read the records stopped" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "processes=1" in done.stdout
    assert seconds < 100, f"the failure took {seconds:.0f} s"


@pytest.mark.notebook
def test_colab_setup_cells_then_load_split_with_worker_processes_then_setup_again(physionet, tmp_path, monkeypatch):
    """In a kernel that has no ecgnet installed: a stand-in ``google.colab``, notebook 01's own setup
    cells (the clone from this checkout), ``load_split`` preparing the mirror's records in two spawn
    workers, and the setup cells run a second time in the same kernel."""
    import nbformat
    from nbclient import NotebookClient

    _require_kernel()
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone, as the Colab cell does")
    _hidden_environment(tmp_path, monkeypatch)
    content = tmp_path / "content"  # Colab's working directory
    content.mkdir()
    repository = content / "ecgnet"
    monkeypatch.setenv("ECGNET_DATA_DIR", str(tmp_path / "data"))

    install = _colab_cell("01_data")
    # The clone comes from this checkout instead of GitHub, into a temporary "/content/ecgnet". The cell's
    # %pip install is left out: it would change this test's environment, and a running kernel does not
    # see a fresh install anyway, which is what the cell's sys.path line is for.
    for old, new in ((COLAB_REPOSITORY, str(repository)), (_repository_url(), ROOT.as_uri())):
        assert old in install
        install = install.replace(old, new)
    install = "\n".join(line for line in install.splitlines() if "%pip install" not in line)
    setup = next(cell.source for cell in _read("01_data").cells if "notebook.setup(" in cell.source)
    stand_in = ("import importlib.util, sys, types\n"
                "assert importlib.util.find_spec('ecgnet') is None, 'ecgnet must not be importable before the clone'\n"
                "sys.modules['google.colab'] = types.ModuleType('google.colab')")
    load = textwrap.dedent(f"""\
        import os
        import ecgnet
        from ecgnet.data import load_split, records
        assert ecgnet.__file__.startswith({str(repository)!r}), ecgnet.__file__
        assert os.getcwd() == {str(repository)!r}, os.getcwd()
        assert "tensorflow" in sys.modules   # so the records are read by spawn workers
        records.MIN_RECORDS_FOR_POOL = 2     # the mirror has 5 records: read them in 2 worker processes
        train, test = load_split("kaggle", progress=False)
    """)
    again = "import os, ecgnet\nprint('after the second setup:', os.getcwd(), ecgnet.__file__)"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (stand_in, install, setup, load, install, setup, again)]
    notebook.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(content)}}).execute()

    streams = ["".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream") for cell in notebook.cells]
    assert (repository / "ecgnet" / "__init__.py").is_file()
    assert "load_split('kaggle'):" in streams[3] and "train" in streams[3], streams[3]
    assert (tmp_path / "data" / "mitbih-kaggle" / "manifest.json").is_file()
    # the second run of the install cell neither clones into the clone nor breaks the import
    assert not (repository / "ecgnet" / "ecgnet").exists()
    assert f"after the second setup: {repository} {repository / 'ecgnet' / '__init__.py'}" in streams[6], streams[6]
    assert "RECORDS" in physionet and "208.dat" in physionet
