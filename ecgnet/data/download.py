"""Download the data: the Kaggle beat CSVs or raw WFDB records from PhysioNet.

PhysioNet downloads (:func:`download_physionet`; databases ``mitdb``,
``svdb`` and ``incartdb``, :data:`PHYSIONET_DATABASES`) are checked file by
file against PhysioNet's own ``SHA256SUMS.txt``: each file goes to a temporary
name, is hashed, and is renamed to its final name only when the hash matches.
A mismatching (corrupt or partial) file is fetched once more; if it is still
wrong the download stops with a :class:`DownloadError` naming the file and
both hashes. A bad file is never kept under its real name, and files already
present with the right hash are kept, so an interrupted download resumes.

``$ECGNET_PHYSIONET_URL`` replaces ``https://physionet.org/files/`` (a mirror
laid out the same way, ``MIRROR/mitdb/1.0.0/...``; ``file://`` URLs work).
"""

import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ecgnet.data.manifest import sha256_file
from ecgnet.errors import EcgnetError
from ecgnet.files import atomic_path, write_text_atomic

PHYSIONET_URL = "https://physionet.org/files/"
#: PhysioNet databases with reference beat annotations (``.atr``), and their versions.
PHYSIONET_DATABASES = {
    "mitdb": "1.0.0",  # MIT-BIH Arrhythmia Database, 48 records, 360 Hz
    "svdb": "1.0.0",  # MIT-BIH Supraventricular Arrhythmia Database, 78 records, 128 Hz
    "incartdb": "1.0.0",  # St Petersburg INCART 12-lead Arrhythmia Database, 75 records, 257 Hz
}
KAGGLE_DATASET = "shayanfazeli/heartbeat"
RECORD_EXTENSIONS = (".hea", ".dat", ".atr")
URL_SCHEMES = ("http", "https", "file")


class DownloadError(EcgnetError):
    """A download failed or a downloaded file does not match its checksum."""


def physionet_url(database="mitdb"):
    """The folder URL of a PhysioNet database: ``$ECGNET_PHYSIONET_URL`` (else physionet.org) + ``DB/VERSION/``.

    Raises:
        DownloadError: unknown database.
    """
    if database not in PHYSIONET_DATABASES:
        raise DownloadError(f"unknown PhysioNet database {database!r}; expected one of {', '.join(PHYSIONET_DATABASES)}")
    root = os.environ.get("ECGNET_PHYSIONET_URL") or PHYSIONET_URL
    root = root if root.endswith("/") else root + "/"
    return f"{root}{database}/{PHYSIONET_DATABASES[database]}/"


def check_url(url):
    """Return ``url`` with a trailing slash; raise :class:`DownloadError` unless it is an http(s) or file URL."""
    parsed = urllib.parse.urlparse(str(url))
    if parsed.scheme not in URL_SCHEMES or (parsed.scheme != "file" and not parsed.netloc):
        raise DownloadError(f"not a download URL: {url!r} (expected http://, https:// or file:// and a host)")
    return url if url.endswith("/") else url + "/"


# A hand-written loop rather than keras.utils.get_file(file_hash=...) or pooch:
# pooch is not a dependency, and importing keras takes 7 s of CPU (measured:
# `python -c "import keras.utils"`, 6.9 s user, against 0.08 s for urllib), which
# `python -m ecgnet download` would pay for every run; neither reads PhysioNet's
# SHA256SUMS.txt listing, which drives this loop anyway.
def _fetch(url, timeout=60):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
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


def download_physionet(out_dir, base_url=None, records=None, progress=True, timeout=60, database="mitdb"):
    """Download the records of a PhysioNet database, verified against its ``SHA256SUMS.txt``.

    Args:
        out_dir: folder to write ``NNN.hea/.dat/.atr``, ``RECORDS`` and ``SHA256SUMS.txt`` to.
        base_url: str, the database folder URL (a mirror, ``file://`` too);
            default :func:`physionet_url` of ``database``.
        records: list of record names (each one the database's ``RECORDS`` lists),
            e.g. :data:`ecgnet.data.SVDB_TRAINING`; default all of them.
        progress: bool, show a tqdm progress bar.
        timeout: float, seconds per request.
        database: ``"mitdb"``, ``"svdb"`` or ``"incartdb"`` (used when ``base_url`` is None).

    The folder's ``RECORDS`` file is the database's list of records: a
    download of all of them writes it first (so that an interrupted download
    is seen as incomplete). A download of some records adds them to the
    folder's ``RECORDS`` where it has one, and writes none otherwise: such a
    folder is read by its ``*.hea`` files (``prepare`` reads what is there),
    and is never taken for the whole database.

    Returns:
        list of Path of the record files (already present good files are kept).

    Raises:
        DownloadError: the URL is not http(s)/file, a file cannot be fetched,
            is not in SHA256SUMS.txt, or fails its checksum twice; a record
            asked for is not in the database's ``RECORDS`` (nothing is written).

    Example:
        >>> download_physionet("data/svdb", database="svdb")
        >>> download_physionet("data/svdb", database="svdb", records=SVDB_TRAINING)  # the 39 of training
    """
    from tqdm.auto import tqdm

    base_url = check_url(physionet_url(database) if base_url is None else base_url)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DownloadError(f"{out_dir}: exists and is not a folder")
    sums_text = _fetch(base_url + "SHA256SUMS.txt", timeout).decode("utf-8", "replace")
    sums = parse_sha256sums(sums_text)
    listing = _fetch(base_url + "RECORDS", timeout).decode("utf-8", "replace").split()
    if records is None:
        records, listed = listing, listing
    else:
        records = list(dict.fromkeys(str(r) for r in records))
        unknown = [r for r in records if r not in listing]
        if unknown:  # also keeps a name such as "../x" from naming a file outside out_dir
            raise DownloadError(
                f"{base_url}RECORDS does not list {len(unknown)} of the records asked for "
                f"({', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}); it lists {len(listing)}: "
                f"{' '.join(listing[:3])} ... {listing[-1] if listing else ''}"
            )
        listed = _records_added(out_dir / "RECORDS", records, listing)
    names = [f"{r}{ext}" for r in records for ext in RECORD_EXTENSIONS]
    missing = [n for n in names if n not in sums]
    if missing:
        raise DownloadError(f"{base_url}SHA256SUMS.txt has no checksum for {', '.join(missing[:5])}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if listed is not None:
        write_text_atomic(out_dir / "RECORDS", "\n".join(listed) + "\n")
    write_text_atomic(out_dir / "SHA256SUMS.txt", sums_text)
    done = []
    # the bar is closed before an error propagates, so the error prints on a line of its own
    with tqdm(total=len(names), desc=database, unit="file", disable=not progress) as bar:
        for name in names:
            done.append(_fetch_checked(base_url, name, sums[name], out_dir / name, timeout))
            bar.update()
    return done


def _records_added(path, records, listing):
    """The ``RECORDS`` file ``path`` with ``records`` added (in the database's order, ``listing``), or None
    where there is no such file: a folder of some records has none, so it is never taken for the whole database."""
    from ecgnet.data.records import records_file_lines

    if not path.is_file():
        return None
    present = [name for _, name in records_file_lines(path)]
    wanted = set(present) | set(records)
    return [r for r in listing if r in wanted] + [r for r in dict.fromkeys(present) if r not in listing]


def _fetch_checked(base_url, name, expected, target, timeout):
    """Keep ``target`` when its SHA-256 is ``expected``; else fetch it (twice at most) and save it atomically."""
    if target.is_file() and sha256_file(target) == expected:
        return target
    data, digest = b"", ""
    for _attempt in range(2):
        data = _fetch(base_url + name, timeout)
        digest = hashlib.sha256(data).hexdigest()
        if digest == expected:
            break
    else:
        raise DownloadError(
            f"{base_url}{name}: SHA-256 {digest} does not match SHA256SUMS.txt ({expected}) "
            f"after 2 tries ({len(data)} bytes received); the file was not saved"
        )
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


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
