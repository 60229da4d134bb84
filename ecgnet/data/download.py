"""Download the data: the Kaggle beat CSVs or the raw MIT-BIH records from PhysioNet.

PhysioNet downloads are checked file by file against PhysioNet's own
``SHA256SUMS.txt``: each file goes to a temporary name, is hashed, and is
renamed to its final name only when the hash matches. A mismatching (corrupt
or partial) file is fetched once more; if it is still wrong the download stops
with a :class:`DownloadError` naming the file and both hashes. A bad file is
never kept under its real name.
"""

import hashlib
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from ecgnet.errors import EcgnetError
from ecgnet.files import atomic_path, write_text_atomic

PHYSIONET_MITDB_URL = "https://physionet.org/files/mitdb/1.0.0/"
KAGGLE_DATASET = "shayanfazeli/heartbeat"
RECORD_EXTENSIONS = (".hea", ".dat", ".atr")


class DownloadError(EcgnetError):
    """A download failed or a downloaded file does not match its checksum."""


def _fetch(url, timeout=60):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"could not download {url}: {error}") from None


def parse_sha256sums(text):
    """Parse ``sha256sum`` output into ``{file name: hex digest}``."""
    sums = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DownloadError(f"SHA256SUMS.txt line {line_no}: expected 'HASH  NAME', got {line[:80]!r}")
        sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def download_physionet(out_dir, base_url=PHYSIONET_MITDB_URL, records=None, progress=True, timeout=60):
    """Download MIT-BIH records from PhysioNet, verified against ``SHA256SUMS.txt``.

    Args:
        out_dir: folder to write ``NNN.hea/.dat/.atr``, ``RECORDS`` and ``SHA256SUMS.txt`` to.
        base_url: str, the ``mitdb`` folder URL (a local mirror works too).
        records: list of record names, default all listed in ``RECORDS``.
        progress: bool, show a tqdm progress bar.
        timeout: float, seconds per request.

    Returns:
        list of Path of the record files (already present good files are kept).

    Raises:
        DownloadError: a file cannot be fetched, is not in SHA256SUMS.txt, or
            fails its checksum twice.

    Example:
        >>> download_physionet("data/mitdb")
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    sums_text = _fetch(base_url + "SHA256SUMS.txt", timeout).decode("utf-8", "replace")
    sums = parse_sha256sums(sums_text)
    if records is None:
        records = _fetch(base_url + "RECORDS", timeout).decode().split()
        write_text_atomic(out_dir / "RECORDS", "\n".join(records) + "\n")
    names = [f"{r}{ext}" for r in records for ext in RECORD_EXTENSIONS]
    missing = [n for n in names if n not in sums]
    if missing:
        raise DownloadError(f"{base_url}SHA256SUMS.txt has no checksum for {', '.join(missing[:5])}")
    write_text_atomic(out_dir / "SHA256SUMS.txt", sums_text)
    done = []
    for name in tqdm(names, desc="physionet", unit="file", disable=not progress):
        target = out_dir / name
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sums[name]:
            done.append(target)
            continue
        data, digest = b"", ""
        for _attempt in range(2):
            data = _fetch(base_url + name, timeout)
            digest = hashlib.sha256(data).hexdigest()
            if digest == sums[name]:
                break
        else:
            raise DownloadError(
                f"{base_url}{name}: SHA-256 {digest} does not match SHA256SUMS.txt ({sums[name]}) "
                f"after 2 tries ({len(data)} bytes received); the file was not saved"
            )
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        done.append(target)
    return done


def download_kaggle(out_dir):
    """Download the Kaggle "ECG Heartbeat Categorization Dataset" (``shayanfazeli/heartbeat``).

    Uses ``kagglehub`` (Kaggle credentials may be needed) and copies the four
    CSV files (``mitbih_train/test.csv``, ``ptbdb_normal/abnormal.csv``) into
    ``out_dir``.

    Args:
        out_dir: folder to copy the CSV files into.

    Returns:
        list of Path of the copied files.

    Example:
        >>> download_kaggle("data/kaggle")
    """
    try:
        import kagglehub
    except ImportError:
        raise DownloadError("download_kaggle needs the kagglehub package (pip install kagglehub)") from None
    try:
        source = Path(kagglehub.dataset_download(KAGGLE_DATASET))
    except Exception as error:
        raise DownloadError(f"kagglehub could not download {KAGGLE_DATASET}: {error}") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for csv in sorted(source.rglob("*.csv")):
        with atomic_path(out_dir / csv.name) as tmp:
            shutil.copyfile(csv, tmp)
        copied.append(out_dir / csv.name)
    if not copied:
        raise DownloadError(f"kagglehub returned {source}, which holds no .csv files")
    return copied
