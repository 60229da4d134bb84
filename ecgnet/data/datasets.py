"""The data in one call: :func:`load_split`, and :func:`prepare_split` that builds a prepared folder.

``train, test = ecgnet.data.load_split("kaggle")`` returns the two parts of a
split (two :class:`ecgnet.data.Beats` of :func:`ecgnet.data.load_part`), from the first of:

1. the prepared folder ``DATA_DIR/mitbih-kaggle`` (``mitbih-interpatient`` for
   the inter-patient split), checked against its ``manifest.json``;
2. the raw MIT-BIH records in ``DATA_DIR/mitdb``, else in ``$ECGNET_MITDB_DIR``,
   prepared into that folder (about 20 s) and kept there; a raw folder counts
   only when complete (every record its ``RECORDS`` file lists, else all 48),
   and a ``$ECGNET_MITDB_DIR`` that lacks records is an error naming them;
3. with ``download=True``: the records downloaded from PhysioNet into
   ``DATA_DIR/mitdb`` (checksummed, restartable), then prepared as in 2.

``load_split("sample")`` returns the small sample that ships inside the
package, ``ecgnet/data/sample`` (:func:`sample_dir`; it never downloads).

``DATA_DIR`` is ``$ECGNET_DATA_DIR``, else the ``data/`` folder of the
repository when ecgnet is imported from a source checkout, else ``./data``
(:func:`default_data_dir`).
"""

import contextlib
import os
import re
from pathlib import Path

import numpy as np

from ecgnet.data.manifest import MANIFEST, class_counts, read_manifest, write_manifest
from ecgnet.data.prepared import PREPARED_PARTS
from ecgnet.data.records import records_file_lines
from ecgnet.data.splits import SPLITS
from ecgnet.errors import DataFormatError, EcgnetError
from ecgnet.files import folder_lock, output_folder, replace_folder, temporary_folder

#: The prepared folder of each split (:data:`ecgnet.data.splits.SPLITS`), under the data folder.
SPLIT_FOLDERS = {"kaggle": "mitbih-kaggle", "inter-patient": "mitbih-interpatient"}
#: What :func:`load_split` accepts: the splits, and the sample that ships with the package.
LOAD_SPLITS = SPLITS + ("sample",)

# Folder names PhysioNet uses for each database (its short name, and the name of
# its ZIP download); any other folder is named after itself.
_DATABASE_FOLDERS = (
    ("mitdb", re.compile(r"^(mitdb|mit-bih-arrhythmia-database.*)$", re.I)),
    ("svdb", re.compile(r"^(svdb|mit-bih-supraventricular-arrhythmia-database.*)$", re.I)),
    ("incartdb", re.compile(r"^(incartdb|st-petersburg-incart-12-lead-arrhythmia-ecg.*)$", re.I)),
)


def repository_root():
    """The source checkout ecgnet is imported from (the folder holding ``pyproject.toml``), or None."""
    root = Path(__file__).resolve().parent.parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "ecgnet").is_dir() else None


def default_data_dir():
    """``$ECGNET_DATA_DIR``, else ``<repository>/data`` in a source checkout, else ``./data``."""
    if os.environ.get("ECGNET_DATA_DIR"):
        return Path(os.environ["ECGNET_DATA_DIR"])
    root = repository_root()
    return root / "data" if root is not None else Path("data")


def sample_dir():
    """The small real sample of MIT-BIH beats that ships inside the package, ``ecgnet/data/sample``.

    It holds ``mitbih_train`` / ``mitbih_test`` as ``.csv.gz`` and ``.npz``,
    a ``manifest.json`` and a README with the attribution; it is installed
    with the package (package data), so it is there in a wheel as in a clone.

    Returns:
        Path, the folder.

    Example:
        >>> x, y = load_mitbih_csv(sample_dir() / "mitbih_train.csv.gz")
    """
    return Path(__file__).resolve().parent / "sample"


def database_of(folder):
    """The database name of a folder of records: ``mitdb``, ``svdb``, ``incartdb`` or the folder's own name.

    PhysioNet's short names and the names of its ZIP downloads are recognised
    (``mit-bih-arrhythmia-database-1.0.0`` is ``mitdb``); a version folder is
    named by its parent (``physionet.org/files/mitdb/1.0.0`` is ``mitdb``).
    """
    path = Path(folder).resolve()
    name = path.parent.name if re.fullmatch(r"\d+(\.\d+)*", path.name) else path.name
    for database, pattern in _DATABASE_FOLDERS:
        if pattern.match(name):
            return database
    return name


def _raw_sources(raw_dirs):
    """``[(database, Path)]`` from a folder, a list of folders / ``"NAME=DIR"`` strings, or a dict."""
    if isinstance(raw_dirs, (str, os.PathLike)):
        raw_dirs = [raw_dirs]
    items = raw_dirs.items() if isinstance(raw_dirs, dict) else [
        str(item).split("=", 1) if isinstance(item, str) and "=" in item and not Path(item).exists() else (None, item)
        for item in raw_dirs
    ]
    sources, seen = [], {}
    for name, folder in items:
        if not str(folder).strip():  # Path("") is the current folder: its files would be read as the records
            raise EcgnetError(f"--raw {name or ''}={folder}: names no folder (after '='); give NAME=DIR")
        folder = Path(folder)
        given = f"{name}={folder}" if name else str(folder)
        if folder.resolve() in seen:  # one folder under two names: every record read as a copy of itself
            raise EcgnetError(f"--raw {given}: the same folder as --raw {seen[folder.resolve()]}; give each folder once")
        seen[folder.resolve()] = given
        sources.append((name or database_of(folder), folder))
    names = [name for name, _ in sources]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise EcgnetError(
            f"two raw folders are both database {duplicates[0]!r}; name them apart as NAME=DIR "
            "(record names must not collide)"
        )
    if not sources:
        raise EcgnetError("prepare_split needs at least one folder of raw records")
    return sources


def _check_out(out, split, overwrite, seed=None, databases=None, second_lead=False, all_svdb_records=False):
    """Refuse an ``out`` that cannot become this split's folder, before any record is read.

    A folder that holds another split, or the same split from other databases,
    with another seed, another choice of second lead, or with the held-back
    svdb records where they are now left out (or the other way round), is
    replaced only with ``overwrite``; the same split prepared the same way is
    prepared again.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EcgnetError(f"{out}: exists and is not a folder; --out names the folder to write the split into")
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise EcgnetError(f"{ancestor}: is a file, so {out} cannot be created")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise EcgnetError(f"{ancestor}: not writable, so {out} cannot be written")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise EcgnetError(f"{out}: not writable")
        present = sorted(p.name for p in out.iterdir())
        others = [name for name in present if name not in PREPARED_PARTS + (MANIFEST,)]
        if others:
            raise EcgnetError(
                f"{out}: holds other files ({', '.join(others[:3])}), not a prepared split; choose another --out"
            )
        if present:
            try:
                manifest = read_manifest(out)
            except DataFormatError as error:  # unreadable, or of an older format: say so, not "no manifest"
                if not overwrite:
                    hint = "" if "--overwrite" in str(error) else "; pass --overwrite (overwrite=True) to replace it"
                    raise EcgnetError(f"{error}{hint}") from None
                manifest = None
            held = None if manifest is None else manifest.get("split")
            if not overwrite and held != split:
                what = f"the {held!r} split" if held else "an incomplete prepared split (no manifest.json)"
                raise EcgnetError(f"{out}: already holds {what}; pass --overwrite (overwrite=True) to replace it")
            before = None if manifest is None else (
                manifest.get("seed"), [s.get("database") for s in manifest.get("sources", [])], bool(manifest.get("second_lead")),
                bool(manifest.get("all_svdb_records")))
            held_back = bool(all_svdb_records)  # prepare_split passes it only where the folders hold svdb records
            if not overwrite and databases is not None and (before[0], sorted(before[1]), before[2], before[3]) != (
                    seed, sorted(databases), bool(second_lead), held_back):
                included = ", held-back svdb records included"
                raise EcgnetError(
                    f"{out}: already holds the {split!r} split prepared from {'+'.join(before[1])} (seed {before[0]}, "
                    f"second lead {before[2]}{included if before[3] else ''}), not from {'+'.join(databases)} (seed {seed}, "
                    f"second lead {bool(second_lead)}{included if held_back else ''}); "
                    "pass --overwrite (overwrite=True) to replace it"
                )


def prepare_split(raw_dirs, split, out, seed=0, second_lead=False, overwrite=False, progress=True, processes=2,
                  all_svdb_records=False):
    """Cut the beats of one or more WFDB databases and write a prepared train/test folder.

    Every record with reference beat annotations (``.atr``) is read the way
    :func:`ecgnet.data.build_mitbih_beats` reads MIT-BIH: the lead named MLII,
    else ``II``, else ``ECG1`` (svdb's first lead), else the first channel
    (:data:`ecgnet.data.records.LEAD_PREFERENCE`), at any sampling rate,
    resampled to 125 Hz. MIT-BIH (``mitdb``) record names stay as they are
    (``"100"``); records of any other database are named ``"DATABASE/RECORD"``
    (``"svdb/803"``), so names never collide.

    Splits (:func:`ecgnet.data.split_beats`): ``"kaggle"``, a stratified random
    80/20 of all beats; ``"inter-patient"``, test = DS2 of mitdb, untouched,
    train = DS1 plus every record of the other databases (of svdb, those of
    training, below).

    Of svdb (the MIT-BIH Supraventricular Arrhythmia Database), only the 39
    records ``ecgnet-mitbih-svdb`` was trained on (:data:`ecgnet.data.SVDB_TRAINING`)
    are prepared, in either split: its other records are held back as patients
    no shipped model has seen, and training on them would spoil any later
    measurement on them. Records left out are named in one printed line and
    in the manifest (``"left_out"`` of the svdb source); ``all_svdb_records=True``
    prepares them too. svdb's records are known by their names too
    (:func:`training_records`), so a folder of them under another name is
    filtered the same way.

    The folder is written whole or not at all: everything goes to a temporary
    sibling folder (removed on an error, Ctrl-C or SIGTERM, and by the next
    run after a kill: :func:`ecgnet.files.temporary_folder`), which is renamed
    to ``out`` at the end, with a
    ``manifest.json`` (split, seed, databases and records, class counts per
    part, SHA-256 of every file, ecgnet version; see :mod:`ecgnet.data.manifest`).
    It holds ``train.npz``/``test.npz`` (:class:`ecgnet.data.Beats`) and
    ``train.csv``/``test.csv`` (the Kaggle CSV layout).

    Args:
        raw_dirs: a folder of WFDB records, or a list of them (each a path or a
            ``"NAME=DIR"`` string), or a dict ``{database: folder}``. The
            database name is taken from the folder name otherwise
            (:func:`database_of`).
        split: ``"kaggle"`` or ``"inter-patient"``.
        out: the folder to write.
        seed: int, seed of the kaggle split.
        second_lead: bool, also cut each record's other lead (two-lead records only).
        overwrite: bool, replace a folder that holds another split.
        progress: bool, show progress bars.
        processes: int, records read in parallel.
        all_svdb_records: bool, also prepare the svdb records held back from training.

    Returns:
        dict, the manifest written.

    Raises:
        EcgnetError: ``out`` is a file, cannot be written, holds another
            split, or another process is preparing it now (checked before any
            record is read: :func:`ecgnet.files.folder_lock`); a raw folder is not
            readable; an svdb folder holds none of the records of training;
            the split leaves no train or no test beats.

    Example:
        >>> prepare_split(["data/mitdb", "data/svdb"], "inter-patient", "data/mitbih-svdb-interpatient")
        data/svdb: left out 39 svdb records held back from training (800, 801, ... and 31 more); pass --all-svdb-records ...
    """
    if split not in SPLITS:
        raise EcgnetError(f"prepare_split: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    out = output_folder(out)  # a link to a folder: that folder is written, and the link stays
    sources = _raw_sources(raw_dirs)
    # the flag counts (in the manifest, and against a folder prepared without it) only where svdb records are read
    all_svdb_records = bool(all_svdb_records) and any(
        database == "svdb" or any(is_svdb_record(p.stem) for p in Path(folder).glob("*.hea")) for database, folder in sources)
    check = dict(seed=seed if split == "kaggle" else None, databases=[database for database, _ in sources], second_lead=second_lead,
                 all_svdb_records=all_svdb_records)
    _check_out(out, split, overwrite, **check)
    with folder_lock(out, "`prepare` (--out)"):
        _check_out(out, split, overwrite, **check)  # again: another run may have written it meanwhile
        return _prepare_locked(sources, split, out, seed, second_lead, progress, processes, all_svdb_records)


def is_svdb_record(name):
    """Whether a record name is one of svdb's: three digits from 800 to 894 (no other PhysioNet database uses them).

    Example:
        >>> is_svdb_record("803"), is_svdb_record("100"), is_svdb_record("I01")
        (True, False, False)
    """
    return bool(re.fullmatch(r"8\d\d", str(name))) and int(name) <= 894


def training_records(records, database=None, folder=None, all_svdb_records=False):
    """``(records to train on, records left out)`` of one folder of raw records: svdb's held-back records left out.

    Of svdb, only :data:`ecgnet.data.SVDB_TRAINING` (the 39 records
    ``ecgnet-mitbih-svdb`` was trained on) is kept; its other records are held
    back as patients no shipped model has seen. A record is taken for svdb's
    when its folder is svdb's (``database == "svdb"``) or its name is
    (:func:`is_svdb_record`), so a full svdb download under another folder name
    is filtered too. The records left out are named in one printed line.
    ``prepare`` and the benchmarks that choose anything on a folder of records
    call this.

    Args:
        records: record names of the folder.
        database: str, the folder's database name (:func:`database_of`).
        folder: the folder, named in the printed line and in errors.
        all_svdb_records: bool, keep every record (nothing is left out).

    Returns:
        (list, list): the records kept and the records left out, in the given order.

    Raises:
        EcgnetError: the folder holds svdb records, all held back, and no other record (and
            ``all_svdb_records`` is false).

    Example:
        >>> training_records(["800", "803"], database="svdb")  # doctest: +ELLIPSIS
        None: left out 1 svdb record held back from training (800); pass --all-svdb-records ...
        (['803'], ['800'])
    """
    from ecgnet.data.splits import SVDB_TRAINING

    if all_svdb_records:
        return list(records), []
    held_back = [r for r in records if str(r) not in SVDB_TRAINING and (database == "svdb" or is_svdb_record(r))]
    kept = [r for r in records if r not in held_back]
    shown = ", ".join(str(r) for r in held_back[:8]) + (f" and {len(held_back) - 8} more" if len(held_back) > 8 else "")
    option = "pass --all-svdb-records (all_svdb_records=True) to prepare them"
    if held_back and not kept:
        raise EcgnetError(
            f"{folder}: none of its {len(records)} records ({shown}) is one of the 39 svdb records of training "
            f"(ecgnet.data.SVDB_TRAINING: {SVDB_TRAINING[0]} to {SVDB_TRAINING[-1]}); the others are held back: {option}"
        )
    if held_back:
        print(f"{folder}: left out {len(held_back)} svdb record{'s' if len(held_back) != 1 else ''} held back from "
              f"training ({shown}); {option}", flush=True)
    return kept, held_back


def _prepare_locked(sources, split, out, seed, second_lead, progress, processes, all_svdb_records=False):
    """:func:`prepare_split` once ``out`` is locked and checked."""
    from ecgnet.data.container import concat_beats
    from ecgnet.data.records import build_mitbih_beats, list_records
    from ecgnet.data.csv_files import write_beats_csv
    from ecgnet.data.splits import split_beats

    parts, listed, left_out = [], [], {}
    listings = []
    for database, folder in sources:  # listed once
        records, left_out[database] = training_records(list_records(folder), database, folder, all_svdb_records)
        listings.append((database, Path(folder), records))
    _refuse_copies([(folder, records) for _, folder, records in listings])
    for database, folder, records in listings:
        beats = build_mitbih_beats(folder, records=records, progress=progress, processes=processes, second_lead=second_lead)
        if database != "mitdb":
            beats.record = np.char.add(f"{database}/", beats.record.astype(str))
        parts.append(beats)
        listed.append({"database": database, "records": [str(r) for r in records]})
        if left_out[database]:
            listed[-1]["left_out"] = [str(r) for r in left_out[database]]
    beats = concat_beats(parts)
    train, test = split_beats(beats, split, seed=seed)
    if len(train) == 0 or len(test) == 0:
        raise EcgnetError(
            f"{', '.join(str(f) for _, f in sources)}: the {split} split leaves {len(train)} train and {len(test)} test beats "
            "(inter-patient needs the MIT-BIH records of DS1 and DS2)"
        )
    with temporary_folder(out) as tmp:
        from tqdm.auto import tqdm

        with tqdm(total=4, desc="writing", unit="file", disable=not progress) as bar:
            for name, part in (("train", train), ("test", test)):
                part.save_npz(tmp / f"{name}.npz")
                bar.update()
                write_beats_csv(tmp / f"{name}.csv", part.x, part.y)
                bar.update()
        manifest = write_manifest(
            tmp, split, PREPARED_PARTS, {"train": class_counts(train.y), "test": class_counts(test.y)},
            listed, seed=seed if split == "kaggle" else None, second_lead=second_lead,
            **({"all_svdb_records": True} if all_svdb_records else {}),
        )
        replace_folder(tmp, out)
    return manifest


def _refuse_copies(listings):
    """Refuse two records of the raw folders whose signal files hold the same bytes (one record under two names).

    Its beats would be prepared twice: the kaggle split puts copies of the
    same beats in train and test, and any split counts the patient twice.
    A record whose signal file is missing is left to the reader to report.

    Args:
        listings: list of ``(folder, record names)``.

    Raises:
        DataFormatError: naming both records and their signal files.
    """
    from ecgnet.data.manifest import sha256_file
    from ecgnet.data.records import record_files

    seen = {}
    for folder, names in listings:
        for name in names:
            signal_files = [f for f in record_files(folder / name)[2:] if f.is_file()]
            if not signal_files:
                continue
            key = tuple(sha256_file(f) for f in signal_files)
            if key in seen:
                first, first_files = seen[key]
                raise DataFormatError(
                    f"{folder / name}: its signal ({', '.join(f.name for f in signal_files)}) is the same as that of "
                    f"{first} ({', '.join(f.name for f in first_files)}): one record under two names, whose beats "
                    "would be prepared twice (the same beats in train and in test, or one patient counted twice); remove the copy"
                )
            seen[key] = (folder / name, signal_files)


def _missing_records(folder):
    """What ``folder`` lacks to be a complete set of MIT-BIH records: a list of ``"NAME.EXT"`` (empty: complete).

    The records are those its ``RECORDS`` file lists (a download, a mirror),
    else all 48 MIT-BIH records (:data:`ecgnet.data.DS1`, :data:`~ecgnet.data.DS2`
    and :data:`~ecgnet.data.PACED_RECORDS`): a folder of ``*.hea`` files cannot
    tell which ones are missing. Where the folder has a ``SHA256SUMS.txt``
    (a download), every record file must also match it (a damaged file counts
    as missing): an interrupted or damaged download is resumed, not prepared.
    """
    from ecgnet.data.download import DownloadError, parse_sha256sums
    from ecgnet.data.manifest import sha256_file
    from ecgnet.data.splits import DS1, DS2, PACED_RECORDS

    folder = Path(folder)
    listing = folder / "RECORDS"
    names = [name for _, name in records_file_lines(listing)] if listing.is_file() else sorted(DS1 + DS2 + PACED_RECORDS)
    if not names:
        return ["RECORDS (it lists no record)"]
    if _foreign_records(folder):
        return [f"{name}.hea" for name in sorted(DS1 + DS2 + PACED_RECORDS) if not (folder / f"{name}.hea").is_file()] or ["RECORDS"]
    files = [folder / f"{n}{ext}" for n in names for ext in (".hea", ".dat", ".atr")]
    missing = [f.name for f in files if not f.is_file()]
    if not missing and (folder / "SHA256SUMS.txt").is_file():
        try:
            sums = parse_sha256sums((folder / "SHA256SUMS.txt").read_text(encoding="utf-8", errors="replace"))
        except DownloadError:
            return ["SHA256SUMS.txt (unreadable)"]
        missing = [f.name for f in files if sums.get(f.name) != sha256_file(f)]
    return missing


def _foreign_records(folder):
    """The records a folder's ``RECORDS`` file lists that are not MIT-BIH Arrhythmia records (another
    database, such as svdb's 800 to 894): a named split of MIT-BIH is never built from them."""
    from ecgnet.data.splits import DS1, DS2, PACED_RECORDS

    listing = Path(folder) / "RECORDS"
    names = [name for _, name in records_file_lines(listing)] if listing.is_file() else []
    return [name for name in names if name not in set(DS1 + DS2 + PACED_RECORDS)]


def _complete_records(folder):
    """True where ``folder`` holds every record it should, each with its .hea, .dat and .atr (:func:`_missing_records`)."""
    return Path(folder).is_dir() and not _missing_records(folder)


def _describe_missing(missing, limit=8):
    records = sorted({name.rsplit(".", 1)[0] for name in missing})
    shown = ", ".join(records[:limit]) + (f" and {len(records) - limit} more" if len(records) > limit else "")
    return f"{len(records)} record{'s' if len(records) != 1 else ''} missing or incomplete ({shown})"


def _show(path):
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def load_split(split, data_dir=None, download=True, progress=True):
    """The ``(train, test)`` parts of a split, preparing (and downloading) the data on first use.

    Args:
        split: ``"kaggle"`` (stratified random 80/20 of all beats),
            ``"inter-patient"`` (DS1 / DS2, de Chazal 2004) or ``"sample"``
            (the small sample that ships with the package, :func:`sample_dir`).
        data_dir: the data folder (default :func:`default_data_dir`).
        download: bool, download the raw records from PhysioNet when neither a
            prepared folder nor raw records are found (the URL can be changed
            with ``$ECGNET_PHYSIONET_URL``, see :mod:`ecgnet.data.download`).
        progress: bool, show progress bars while downloading and preparing.

    Returns:
        ``(train, test)``, two :class:`ecgnet.data.Beats` of :func:`ecgnet.data.load_part`.

    Raises:
        DataFormatError: a prepared folder fails its manifest check; no data
            is found and ``download`` is false; ``$ECGNET_MITDB_DIR`` names a
            folder without all the records (its ``RECORDS`` file's, else the
            48 of MIT-BIH), which are named.
        DownloadError: the download failed.

    Example:
        >>> train, test = load_split("kaggle")
        load_split('kaggle'): prepared data/mitbih-kaggle (87556 train, 21890 test beats)
        >>> train.x.shape
        (87556, 187)
    """
    if split not in LOAD_SPLITS:
        raise EcgnetError(f"load_split: unknown split {split!r}; expected one of {', '.join(LOAD_SPLITS)}")
    if split == "sample":
        folder = sample_dir()
        train, test = _load_checked(folder, "sample")
        print(f"load_split('sample'): the sample {_show(folder)} ({len(train)} train, {len(test)} test beats)")
        return train, test
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    folder = data_dir / SPLIT_FOLDERS[split]
    how = "prepared"
    if not (folder.is_dir() and any(folder.iterdir())):
        raw, how = _raw_records(data_dir, folder, split, download, progress)
        prepare_split({"mitdb": raw}, split, folder, progress=progress)
    train, test = _load_checked(folder, split)
    print(f"load_split({split!r}): {how} {_show(folder)} ({len(train)} train, {len(test)} test beats)")
    return train, test


def _local_records(data_dir):
    """``(raw folder, where it was found)`` of complete MIT-BIH records here (``data_dir/mitdb``, else
    ``$ECGNET_MITDB_DIR``), or ``(None, None)``."""
    raw = data_dir / "mitdb"
    env = os.environ.get("ECGNET_MITDB_DIR")
    if _complete_records(raw):
        return raw, f"the raw records in {_show(raw)}"
    if env and _complete_records(env):
        return Path(env), f"the raw records in {_show(Path(env))} ($ECGNET_MITDB_DIR)"
    return None, None


def _check_environment_records():
    """Refuse a ``$ECGNET_MITDB_DIR`` that names a missing folder or one that lacks records (named in the message).

    A split prepared from a few records is not the split it is named after;
    and a folder the user pointed at is not silently passed over for a download.
    """
    env = os.environ.get("ECGNET_MITDB_DIR")
    if not env:
        return
    if not Path(env).is_dir():
        what = "is a file, not a folder" if Path(env).exists() else "no such folder"
        raise DataFormatError(f"$ECGNET_MITDB_DIR={env}: {what}; unset it or point it at the 48 MIT-BIH records")
    foreign = _foreign_records(env)
    if foreign:
        raise DataFormatError(
            f"$ECGNET_MITDB_DIR={env}: its RECORDS file lists {len(foreign)} records that are not MIT-BIH Arrhythmia "
            f"records ({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}): another database? A named split "
            "is built from the 48 MIT-BIH records only; point the variable at them, or unset it"
        )
    missing = _missing_records(env)
    if missing:
        raise DataFormatError(
            f"$ECGNET_MITDB_DIR={env}: {_describe_missing(missing)}; a named split needs all of them "
            "(`python -m ecgnet download --database mitdb --out DIR` fetches them), or unset the variable"
        )


def _raw_records(data_dir, folder, split, download, progress):
    """``(raw folder, how it was found)``: ``data_dir/mitdb``, ``$ECGNET_MITDB_DIR``, or a download."""
    raw, where = _local_records(data_dir)
    if raw is not None:
        return raw, f"prepared from {where} into"
    _check_environment_records()
    raw = data_dir / "mitdb"
    if download:
        from ecgnet.data.download import download_physionet, physionet_url

        url = physionet_url("mitdb")
        download_physionet(raw, base_url=url, progress=progress)
        return raw, f"downloaded from {url} into {_show(raw)}, prepared into"
    missing = _missing_records(raw) if raw.is_dir() else None
    found = f" ({raw}: {_describe_missing(missing)})" if missing else ""
    raise DataFormatError(
        f"{folder}: no prepared {split} split, and no raw MIT-BIH records in {raw}{found} "
        "or $ECGNET_MITDB_DIR; call load_split with download=True, or run `python -m ecgnet download --database mitdb`"
    )


def _load_checked(folder, split):
    from ecgnet.data.prepared import load_part

    manifest = read_manifest(folder)
    if manifest is None:
        raise DataFormatError(
            f"{folder}: has no {MANIFEST}, so it may be half-written or from an older version; "
            "delete the folder (it is prepared again) or run `python -m ecgnet prepare ... --overwrite`"
        )
    if manifest.get("split") != split:
        raise DataFormatError(f"{folder / MANIFEST}: holds the {manifest.get('split')!r} split, not {split!r}")
    return load_part(folder, "train"), load_part(folder, "test")
