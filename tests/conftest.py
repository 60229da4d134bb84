"""Shared test fixtures: paths to the committed WFDB excerpts and to the raw MIT-BIH records.

Tests marked ``shared_data`` need all 48 raw records, found in ``../shared/data/mitdb``
next to the repository root or wherever ``ECGNET_MITDB_DIR`` points; where that
folder is absent (a fresh clone) they are skipped with the reason.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def mitdb_dir():
    """The folder of the raw MIT-BIH records (it may not exist)."""
    env = os.environ.get("ECGNET_MITDB_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "mitdb"


def _have_mitdb():
    folder = mitdb_dir()
    return (folder / "100.hea").is_file() and (folder / "234.atr").is_file()


def pytest_collection_modifyitems(config, items):
    if _have_mitdb():
        return
    skip = pytest.mark.skip(reason=f"raw MIT-BIH records not found in {mitdb_dir()} (set ECGNET_MITDB_DIR)")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mitdb():
    """Path of the raw MIT-BIH records; the test is skipped where they are absent."""
    if not _have_mitdb():
        pytest.skip(f"raw MIT-BIH records not found in {mitdb_dir()} (set ECGNET_MITDB_DIR)")
    return mitdb_dir()


@pytest.fixture
def fixtures_dir():
    return FIXTURES


@pytest.fixture(autouse=True)
def _private_csv_cache(tmp_path_factory, monkeypatch):
    """Keep the CSV cache of the tests out of ~/.cache."""
    monkeypatch.setenv("ECGNET_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ecgnet-cache"))
