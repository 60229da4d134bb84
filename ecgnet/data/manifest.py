"""``manifest.json``: what a prepared data folder holds, and the check that it is whole.

:func:`ecgnet.data.prepare_split` writes every prepared folder in one piece
(a temporary sibling folder renamed into place) and puts a ``manifest.json``
in it last::

    {
      "format": "ecgnet-prepared-split",
      "format_version": 2,
      "split": "inter-patient",
      "seed": 0,
      "second_lead": false,
      "sources": [{"database": "mitdb", "records": ["101", "106", ...]}, ...],
      "counts": {"train": {"N": 45866, "S": 944, ...}, "test": {...}},
      "files": {"train.npz": "<sha256>", "train.csv": "<sha256>", ...},
      "ecgnet_version": "0.1.0"
    }

:func:`check_manifest` (called by :func:`ecgnet.data.load_part` and
:func:`ecgnet.data.load_split`) refuses a folder whose manifest is unreadable,
does not list the part being read, lists a file that is gone, or whose part
file has another SHA-256 than the one recorded. A folder of another
``format_version`` (:data:`FORMAT_VERSION`; version 1, without the field,
held no centred beat windows) is refused with one line that says to prepare
it again.
"""

import hashlib
import json
from pathlib import Path

from ecgnet.data.classes import CLASS_NAMES
from ecgnet.errors import DataFormatError
from ecgnet.files import write_text_atomic

MANIFEST = "manifest.json"
FORMAT = "ecgnet-prepared-split"
#: The layout of a prepared folder that this ecgnet reads and writes. 2: the
#: ``.npz`` parts hold each beat's centred window (``ecgnet.data.centred_windows``).
FORMAT_VERSION = 2


def sha256_file(path, chunk=1 << 20):
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def class_counts(y):
    """``{"N": n, "S": ..., "Q": ...}`` (and ``"unlabeled"`` when some labels are -1)."""
    import numpy as np

    y = np.asarray(y).astype(np.int64)
    counts = {name: int(np.sum(y == index)) for index, name in enumerate(CLASS_NAMES)}
    if np.any(y < 0):
        counts["unlabeled"] = int(np.sum(y < 0))
    return counts


def counts_table(counts, title):
    """A class count table to print: a title line, then one line per class with its count and share.

    Args:
        counts: dict of :func:`class_counts` (a manifest's ``"counts"`` part).
        title: str, what is counted.
    """
    total = max(sum(counts.values()), 1)
    lines = [f"{title}: {sum(counts.values())} beats"]
    for index, name in enumerate(CLASS_NAMES):
        lines.append(f"  {index} {name}: {counts.get(name, 0):7d}  {100.0 * counts.get(name, 0) / total:6.2f}%")
    if counts.get("unlabeled"):
        lines.append(f"  unlabeled: {counts['unlabeled']:7d}  {100.0 * counts['unlabeled'] / total:6.2f}%")
    return "\n".join(lines)


def write_manifest(folder, split, files, counts, sources, seed=None, second_lead=False, **extra):
    """Write ``folder/manifest.json`` for the part ``files`` (names in ``folder``), hashing each.

    Args:
        folder: the prepared folder.
        split: str, the split the parts hold (``"kaggle"``, ``"inter-patient"``, ``"sample"``).
        files: iterable of file names in ``folder``.
        counts: dict part -> class counts (:func:`class_counts`).
        sources: list of ``{"database": name, "records": [...]}``.
        seed: int or None.
        second_lead: bool.
        **extra: more JSON-serialisable fields.

    Returns:
        dict, the manifest written.
    """
    from ecgnet import __version__

    folder = Path(folder)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "split": split,
        "seed": seed,
        "second_lead": bool(second_lead),
        "sources": sources,
        "counts": counts,
        "files": {name: sha256_file(folder / name) for name in sorted(files)},
        "ecgnet_version": __version__,
        **extra,
    }
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(folder):
    """The manifest of ``folder`` as a dict, or None where it has no ``manifest.json``.

    Raises:
        DataFormatError: the file is not a JSON object of this format.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(f"{path}: not a readable manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise DataFormatError(f"{path}: not an ecgnet manifest (expected \"format\": \"{FORMAT}\" and a \"files\" table)")
    version = manifest.get("format_version", 1)
    if version != FORMAT_VERSION:
        by = "an older" if isinstance(version, int) and version < FORMAT_VERSION else "another"
        raise DataFormatError(
            f"{Path(folder)}: was prepared by {by} ecgnet (format_version {version}, this one reads {FORMAT_VERSION}); "
            "run `python -m ecgnet prepare ... --overwrite` again"
        )
    _check_fields(path, manifest)
    return manifest


def _check_fields(path, manifest):
    """Refuse a manifest whose fields are not of the kind ``write_manifest`` writes (an edited file): one line
    naming the field, where reading it would end in a traceback, or a listed file outside the folder be read."""
    def wrong(field, expected):
        raise DataFormatError(f"{path}: \"{field}\" is {json.dumps(manifest[field])[:60]}, not {expected}; "
                              "the manifest was edited or damaged, prepare the folder again")

    for name in manifest["files"]:
        if not name or Path(name).name != name or name in (".", ".."):
            raise DataFormatError(f"{path}: lists the file {name!r}, which is not a file of this folder; "
                                  "the manifest was edited or damaged, prepare the folder again")
    if "split" in manifest and not isinstance(manifest["split"], str):
        wrong("split", "the name of a split")
    if "seed" in manifest and manifest["seed"] is not None and (
            isinstance(manifest["seed"], bool) or not isinstance(manifest["seed"], int)):
        wrong("seed", "a whole number")
    sources = manifest.get("sources", [])
    if not isinstance(sources, list) or not all(
            isinstance(s, dict) and isinstance(s.get("database"), str) and isinstance(s.get("records"), list)
            for s in sources):
        wrong("sources", 'a list of {"database": NAME, "records": [...]}')
    counts = manifest.get("counts", {})
    if not isinstance(counts, dict) or not all(isinstance(c, dict) for c in counts.values()):
        wrong("counts", "a table of class counts per part")


def check_manifest(folder, part_file=None, split=None):
    """Check a prepared folder against its manifest; return the manifest (None where there is none).

    Args:
        folder: the prepared folder.
        part_file: name of a part file about to be read: it must be listed and
            have the recorded SHA-256 (the other listed files must exist).
        split: the split expected (checked when given).

    Raises:
        DataFormatError: one line naming the folder or file and what is wrong.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    where = folder / MANIFEST
    if split is not None and manifest.get("split") != split:
        raise DataFormatError(f"{where}: holds the {manifest.get('split')!r} split, not {split!r}")
    files = manifest["files"]
    gone = [name for name in files if not (folder / name).is_file()]
    if gone:
        raise DataFormatError(f"{folder / gone[0]}: listed in {MANIFEST} but missing; the folder is incomplete, prepare it again")
    if part_file is not None:
        name = Path(part_file).name
        if name not in files:
            raise DataFormatError(f"{folder / name}: not listed in {where}; the folder is inconsistent, prepare it again")
        digest = sha256_file(folder / name)
        if digest != files[name]:
            raise DataFormatError(
                f"{folder / name}: SHA-256 {digest} differs from {MANIFEST} ({files[name]}); "
                "the file changed or is damaged, prepare the folder again"
            )
    return manifest
