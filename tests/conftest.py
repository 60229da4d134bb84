"""Shared test fixtures: the committed WFDB excerpts, the raw databases, and the command line.

Tests marked ``mitdb_records`` need all 48 raw MIT-BIH Arrhythmia records, read
from the folder that ``ECGNET_MITDB_DIR`` names. Where it is unset or the
records are absent (a fresh clone) they are skipped with the reason. The
Supraventricular Arrhythmia records (``ECGNET_SVDB_DIR``) and the Noise Stress
Test noise records (``ECGNET_NSTDB_DIR``) are found the same way.
"""

import hashlib
import http.server
import os
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from physionet_mirror import write_records

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def database_dir(variable):
    """The folder an environment variable names, or None where it is unset."""
    value = os.environ.get(variable)
    return Path(value) if value else None


def mitdb_dir():
    """The folder of the raw MIT-BIH records (``$ECGNET_MITDB_DIR``), or None."""
    return database_dir("ECGNET_MITDB_DIR")


def _have_mitdb():
    folder = mitdb_dir()
    return folder is not None and (folder / "100.hea").is_file() and (folder / "234.atr").is_file()


def _mitdb_missing_reason():
    folder = mitdb_dir()
    if folder is None:
        return "raw MIT-BIH records not available: set ECGNET_MITDB_DIR to a folder holding them"
    return f"raw MIT-BIH records not found in {folder} (ECGNET_MITDB_DIR)"



def assert_one_line_error(result, *fragments):
    """Exit status 2 and one ``error: ...`` line on stderr holding every fragment (the CLI's contract for bad input)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(message) == 1, result.stderr
    for fragment in fragments:
        assert fragment in message[0], message[0]


def tiny_model(steps=187, rr_features=0, seed=0, channels=1):
    """A 2-layer classifier without an InputRecipe layer (its recipe is read from its input shapes):
    enough to exercise the commands and predict_record, seconds to build."""
    import keras

    keras.utils.set_random_seed(seed)
    beat = keras.Input((steps, channels), name="beat")
    features = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 5)(beat))
    inputs = beat
    if rr_features:
        rr = keras.Input((rr_features,), name="rr")
        features = keras.layers.Concatenate()([features, rr])
        inputs = [beat, rr]
    return keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(features))

def pytest_collection_modifyitems(config, items):
    if _have_mitdb():
        return
    skip = pytest.mark.skip(reason=_mitdb_missing_reason())
    for item in items:
        if "mitdb_records" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mitdb():
    """Path of the raw MIT-BIH records; the test is skipped where they are absent."""
    if not _have_mitdb():
        pytest.skip(_mitdb_missing_reason())
    return mitdb_dir()


@pytest.fixture(scope="session")
def svdb():
    """Path of the raw MIT-BIH Supraventricular Arrhythmia records (``$ECGNET_SVDB_DIR``), or skip."""
    folder = database_dir("ECGNET_SVDB_DIR")
    if folder is None or not any(folder.glob("*.hea")):
        pytest.skip("Supraventricular Arrhythmia records not available: set ECGNET_SVDB_DIR")
    return folder


@pytest.fixture(scope="session")
def nstdb():
    """Path of the Noise Stress Test noise records ``bw`` and ``ma`` (``$ECGNET_NSTDB_DIR``), or skip."""
    folder = database_dir("ECGNET_NSTDB_DIR")
    if folder is None or not (folder / "bw.hea").is_file():
        pytest.skip("Noise Stress Test noise records not available: set ECGNET_NSTDB_DIR")
    return folder


@pytest.fixture
def fixtures_dir():
    return FIXTURES


@pytest.fixture
def run_cli(tmp_path):
    """Run ``python -m ecgnet ARGS...`` as a user does; returns the CompletedProcess (text output).

    The command runs in a fresh interpreter from ``cwd`` (default: the test's
    temporary folder), so what it prints, its exit status and the files it
    writes are exactly what a user sees.
    """

    def run(*args, cwd=None, timeout=600):
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        for variable in ("TF_CPP_MIN_LOG_LEVEL", "ECGNET_TF_LOG"):  # the command's own log defaults, as for a user
            env.pop(variable, None)
        return subprocess.run(
            [sys.executable, "-m", "ecgnet", *map(str, args)],
            cwd=str(cwd or tmp_path), env=env, capture_output=True, text=True, timeout=timeout,
        )

    return run


@pytest.fixture(autouse=True)
def _private_csv_cache(tmp_path_factory, monkeypatch):
    """Keep the CSV cache of the tests out of ~/.cache."""
    monkeypatch.setenv("ECGNET_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ecgnet-cache"))


@pytest.fixture
def physionet(fixtures_dir, tmp_path, monkeypatch):
    """Serve a mitdb mirror; sets $ECGNET_PHYSIONET_URL to it and unsets $ECGNET_MITDB_DIR / $ECGNET_DATA_DIR."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "ECGNET_MITDB_DIR", "ECGNET_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "mirror"
    db = write_records(fixtures_dir, root / "mitdb" / "1.0.0")
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(db.iterdir())]
    (db / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    served = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path.rsplit("/", 1)[-1])
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ECGNET_PHYSIONET_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    yield served
    server.shutdown()
    server.server_close()
