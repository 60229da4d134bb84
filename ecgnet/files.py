"""Safe writes: a file or a folder is either written whole or not at all, and never written twice at once.

Everything ecgnet writes (CSV, NPZ, reports, figures, models) goes through
:func:`atomic_path`: the data lands in a temporary file in the same folder and
is renamed over the target only after it was written and closed without error.
An interrupted run never leaves a half-written file behind, and never destroys
the previous good one. The target is checked first (:func:`output_file`): a
symbolic link is written through to the file it points at (the link stays a
link), and a device, a named pipe or a folder is refused, so ``--out /dev/null``
can never be replaced by a regular file.

Folders of several files (a prepared split, an evaluation report) are built in
a temporary sibling folder (:func:`temporary_folder`) and swapped in at the end
(:func:`replace_folder`, :func:`move_files_into`). Every temporary file or
folder is named ``.NAME.ecgnet-PID-...`` after the process that made it: it is
removed when that process stops on an error, Ctrl-C or SIGTERM (the command
line turns SIGTERM into an exception, :func:`exit_cleanly_on_sigterm`), and
when a process was killed outright (SIGKILL, a power cut) the next write
beside it finds it and removes it (:func:`remove_stale_temporaries`).
:func:`folder_lock` keeps two processes from writing the same folder at once.
:func:`stderr_to_null` silences what native libraries write straight to file
descriptor 2.
"""

import contextlib
import errno
import importlib.abc
import importlib.util
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

from ecgnet.errors import EcgnetError

#: The mark in the name of every temporary file or folder ecgnet makes: ``.NAME.ecgnet-PID-RANDOM.tmp``.
TEMPORARY_MARK = "ecgnet"
_TEMPORARY = re.compile(rf"^\.(?P<name>.+)\.{TEMPORARY_MARK}-(?P<pid>\d+)-[^.]+\.(tmp|old)")


def kind_of(mode):
    """What a file that is not a regular file is, from its ``os.stat`` mode: ``"a folder"``, ``"a character
    device"``, ...; ``"not a regular file"`` for anything else."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def output_file(path):
    """The regular file a write to ``path`` should replace: ``path``, or the file its symbolic link points at.

    Args:
        path: str or Path, a file to be written (it may not exist yet).

    Returns:
        Path: ``path`` itself, or the final target of its chain of symbolic
        links (a dangling link gives the file it would create, in a folder
        that exists).

    Raises:
        EcgnetError: ``path`` (or its target) exists and is not a regular file
            (a folder, a device such as ``/dev/null``, a named pipe, a socket),
            or is a dangling link into a folder that does not exist.

    Example:
        >>> output_file("report.json")
        PosixPath('report.json')
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        if target != path and not target.parent.is_dir():  # folders are made for a path, never along a link
            raise EcgnetError(f"{path}: is a link to {target}, whose folder {target.parent} does not exist; "
                              "a dangling link is not followed into new folders, name a file") from None
        return target
    except NotADirectoryError:
        raise EcgnetError(f"{path}: a file is in the way of its folder") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise EcgnetError(f"{path}: is a loop of symbolic links that never reaches a file; name a file") from None
        raise
    if not stat.S_ISREG(mode):
        shown = f"{path} (a link to {target})" if target != path else str(path)
        raise EcgnetError(f"{shown}: is {kind_of(mode)}, not a regular file; ecgnet writes only regular files, name one")
    return target


def output_folder(path):
    """The folder a write to ``path`` should make or replace: ``path``, or the folder its symbolic link points at.

    A folder built whole and renamed into place (:func:`replace_folder`)
    would otherwise replace the link itself, leaving the folder it points at
    untouched and the link gone.

    Args:
        path: str or Path, a folder to be written (it may not exist yet).

    Returns:
        Path: ``path``, or the final target of its chain of links.

    Raises:
        EcgnetError: ``path`` is a loop of symbolic links.

    Example:
        >>> output_folder("data/mitbih-kaggle")
        PosixPath('data/mitbih-kaggle')
    """
    path = Path(path)
    if not path.is_symlink():
        return path
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise EcgnetError(f"{path}: is a loop of symbolic links that never reaches a folder; name a folder") from None
    return Path(os.path.realpath(path))


def _process_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(folder, name=None):
    """Remove the temporary files and folders that a killed ecgnet process left in ``folder``.

    Only names ecgnet makes (``.NAME.ecgnet-PID-...``) whose process is no
    longer running are removed; with ``name``, only those of that target.

    Args:
        folder: str or Path.
        name: str or None, the file or folder name whose temporaries to look for.

    Returns:
        list of Path, what was removed.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or (name is not None and match["name"] != name) or _process_alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.remove(entry.path)
            removed.append(Path(entry.path))
    return removed


def _temporary_prefix(name):
    return f".{name}.{TEMPORARY_MARK}-{os.getpid()}-"


def _with_path(error, path):
    """An OSError that names ``path`` when it names no file (a full disk, a quota)."""
    if isinstance(error, OSError) and error.filename is None and error.errno is not None:
        return type(error)(error.errno, error.strerror or os.strerror(error.errno), str(path))
    return error


def _outside_temporary(error, tmp, out):
    """An OSError naming a file in the temporary folder ``tmp`` (removed by now) as the file of ``out`` it was
    to become: a full disk while ``evaluate`` saved its plot named ``.OUT.ecgnet-PID-*.tmp/confusion_matrix.png``."""
    if isinstance(error, OSError) and error.filename is not None and error.errno is not None:
        try:
            inside = Path(os.fsdecode(error.filename)).relative_to(tmp)
        except ValueError:
            return error
        return type(error)(error.errno, error.strerror or os.strerror(error.errno), str(out / inside))
    return error


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    A symbolic link ``path`` is written through (its target is replaced, the
    link stays); a ``path`` that is a folder, a device or a named pipe is
    refused (:func:`output_file`). An error without a file name, such as a
    full disk while writing, is raised again naming ``path``.

    Args:
        path: str or Path, the final file.
        suffix: str, suffix of the temporary file (default: the suffix of ``path``,
            which keeps writers that dispatch on the extension, such as
            ``model.save`` or ``savefig``, happy).

    Example:
        >>> with atomic_path("report.json") as tmp:
        ...     Path(tmp).write_text("{}")
    """
    path = output_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        named = _with_path(error, path)
        if named is not error:
            raise named from None
        raise


@contextlib.contextmanager
def temporary_folder(out):
    """Yield a new temporary folder beside ``out`` (``.OUT.ecgnet-PID-RANDOM.tmp``); remove it on any error.

    What a killed process left beside ``out`` is removed first
    (:func:`remove_stale_temporaries`). The caller moves the folder, or its
    files, into place before the block ends (:func:`replace_folder`,
    :func:`move_files_into`); whatever is left is removed.
    """
    out = output_folder(out)  # beside the folder a link points at: the rename into place stays on its disk
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(out.name), suffix=".tmp", dir=out.parent))
    try:
        yield tmp
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        named = _with_path(_outside_temporary(error, tmp, out), out)
        if named is not error:
            raise named from None
        raise
    shutil.rmtree(tmp, ignore_errors=True)


def replace_folder(tmp, out):
    """Rename the finished folder ``tmp`` to ``out``, replacing an old ``out`` only after that succeeded.

    A symbolic link ``out`` stays a link: the folder it points at is replaced (:func:`output_folder`).
    """
    tmp, out = Path(tmp), output_folder(out)
    os.chmod(tmp, 0o777 & ~current_umask())
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=_temporary_prefix(out.name), suffix=".old", dir=out.parent))
    os.rmdir(old)
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def move_files_into(tmp, out):
    """Move the finished files of ``tmp`` into the folder ``out`` (made if needed), each by a rename.

    All of them were written (and the disk had room for all of them) before
    the first is moved; a rename needs no room, so the folder never holds
    some new files beside some old ones of the same set. Other files in
    ``out`` are left alone.
    """
    tmp, out = Path(tmp), output_folder(out)
    if not out.exists():
        replace_folder(tmp, out)
        return
    mask = 0o666 & ~current_umask()
    for item in sorted(tmp.iterdir()):
        target = output_file(out / item.name)
        os.chmod(item, mask)
        os.replace(item, target)


@contextlib.contextmanager
def folder_lock(out, what="this command"):
    """Hold an exclusive lock on the folder ``out`` (a lock file ``.OUT.lock`` beside it) for the block.

    The lock is an ``fcntl.flock`` on the lock file: the system drops it when
    the holder ends, even when killed, so a stale lock never blocks a later
    run. A second process that asks for the same folder is refused at once.

    Args:
        out: str or Path, the folder about to be written.
        what: str, what holds the lock, for the message (e.g. ``"`prepare`"``).

    Raises:
        EcgnetError: another process holds the lock (its process id is named).

    Example:
        >>> with folder_lock("data/mitbih-kaggle", "`prepare`"):
        ...     ...
    """
    import fcntl

    out = output_folder(out)  # a link and the folder it points at share one lock
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise EcgnetError(
                f"{out}: another process{f' ({holder})' if holder else ''} is writing this folder now; "
                f"wait until it ends, or choose another folder for {what}"
            ) from None
        try:  # the holder before us may have removed the file after we opened it: lock the file that is there
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()}\n".encode(), 0)
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.remove(lock)
        os.close(fd)


def exit_cleanly_on_sigterm():
    """Make SIGTERM raise ``SystemExit(143)`` in this process, so that cleanup code runs.

    Python's default for SIGTERM ends the process at once: no ``finally``
    block or ``except BaseException`` runs, and temporary files stay. Worker
    processes forked from this one keep the default (the handler kills them
    the default way), so a pool can still be terminated.
    """
    main_pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread: leave the default
        signal.signal(signal.SIGTERM, handler)


def as_path(value, argument, expected, error=EcgnetError):
    """``Path(value)``, or one line naming ``argument`` where ``value`` is no str or path.

    ``Path(100)`` raises a ``TypeError`` that names no argument; the library's
    functions that take a path call this first, so that a wrong type gets the
    same one line as other bad input.

    Args:
        value: what the caller passed.
        argument: str, the argument's name, to begin the message with.
        expected: str, what was expected, as the message says it.
        error: the :class:`ecgnet.errors.EcgnetError` class to raise.

    Returns:
        Path.

    Raises:
        error: ``value`` is neither a str nor an ``os.PathLike``.

    Example:
        >>> as_path("data/mitdb/100", "record", "the path of a WFDB record")
        PosixPath('data/mitdb/100')
    """
    if not isinstance(value, (str, os.PathLike)):
        raise error(f"{argument}: expected {expected}. Received: {value!r} ({type(value).__name__})")
    return Path(value)


def current_umask():
    """The process's umask (the permission bits new files lose), read without changing it for long.

    ``os.umask`` can only set it and return the old value, so it is set to 0
    and back at once; a file written by :func:`atomic_path` gets the
    permissions ``0o666 & ~umask``, as ``open(path, "w")`` would give it.
    """
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def stderr_to_null():
    """Point file descriptor 2 at the null device for a moment.

    Native libraries write there directly: TensorFlow's C++ start-up lines
    (absl's "All log messages before absl::InitializeLog()", CUDA probing on
    machines without a GPU) ignore ``TF_CPP_MIN_LOG_LEVEL`` in TensorFlow 2.21
    and would land on the terminal, or in a notebook's outputs through
    ipykernel's capture of the process's stderr.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (some embedded interpreters)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def check_out_folder(folder, argument="--out"):
    """Refuse an output folder that cannot be made: a file in the way, or a parent that is not writable.

    Args:
        folder: str or Path of the folder to write into (it may not exist yet).
        argument: str, how the user named it, for the message (``--out``).

    Raises:
        EcgnetError: one line naming ``argument`` and the folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EcgnetError(f"{argument} {folder}: is a file, not a folder; name a new or existing folder")
    _check_writable_parent(folder, argument)


def check_out_file(path, argument="--out"):
    """Refuse an output file that is a folder, a device or a pipe, or whose folder cannot be written.

    An existing regular file is replaced; a symbolic link is written through to its target (:func:`output_file`).

    Raises:
        EcgnetError: one line naming ``argument`` and the file.
    """
    path = Path(path)
    if path.is_dir():
        raise EcgnetError(f"{argument} {path}: is a folder; name the CSV file to write")
    try:
        target = output_file(path)  # a link is written through; a device or a pipe is refused
    except EcgnetError as error:
        raise EcgnetError(f"{argument} {error}") from None
    _check_writable_parent(target.parent, argument, for_file=path)


def check_not_an_input(path, inputs, argument="--out"):
    """Refuse an output file that is one of the command's input files (or a link to one, or a hard link).

    ``predict --beats beats.npz --out beats.npz`` would replace the beats
    with the predictions once they are read: the input is lost, and the
    atomic write (:func:`atomic_path`) only makes sure it is lost whole.

    Args:
        path: str or Path, the file to be written.
        inputs: iterable of str or Path, the files the command reads (those
            that do not exist are skipped).
        argument: str, how the user named ``path``, for the message.

    Raises:
        EcgnetError: one line naming ``argument``, the file and the input it is.

    Example:
        >>> check_not_an_input("predictions.csv", ["beats.npz"])
    """
    target = output_file(path)
    if not target.exists():
        return
    for source in inputs:
        source = Path(source)
        if source.exists() and os.path.samefile(target, source):
            same = "" if Path(path) == source else f" (the same file as {source})"
            raise EcgnetError(f"{argument} {path}: is an input of this command{same}; writing there would replace "
                              "what is read; name another file")


def check_not_the_data_folder(folder, data, argument="--out"):
    """Refuse an output folder that is the data folder a command reads (``train --data D --out D``).

    A run's or a report's files written among a prepared split's would mix
    the two: ``prepare`` then refuses the folder as one that "holds other
    files", and the split's files are no longer the only ones its manifest lists.
    ``data`` may be a file of a prepared folder (one holding ``manifest.json``): its folder is the data folder.

    Raises:
        EcgnetError: one line naming ``argument`` and the folder.
    """
    folder, data = Path(folder), Path(data)
    what = "the --data folder"
    if data.is_file() and (data.parent / "manifest.json").is_file():  # --data D/test.npz: a file of the prepared folder D
        data, what = data.parent, f"the prepared folder of --data {data}"
    if folder.is_dir() and data.is_dir() and os.path.samefile(folder, data):
        raise EcgnetError(f"{argument} {folder}: is {what}; write the run or report in a folder of its own "
                          f"(e.g. {folder / 'run'})")


def _check_writable_parent(path, argument, for_file=None):
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise EcgnetError(f"{argument} {for_file or path}: {existing} is a file, not a folder")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise EcgnetError(f"{argument} {for_file or path}: the folder {existing} is not writable")


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` with stderr silenced, then steps aside."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with stderr_to_null():
            self.loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """A one-shot import hook: the first ``import tensorflow`` runs with stderr silenced.

    TensorFlow's native libraries log a few lines (no GPU found, CUDA plugins)
    while they load, before ``TF_CPP_MIN_LOG_LEVEL`` is consulted. An error
    of the import itself still surfaces: it is a Python exception, raised
    after stderr is restored.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_import():
    """Keep TensorFlow's start-up log off the terminal (the command line calls it first).

    ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3, and the first ``import tensorflow``
    runs with stderr silenced (:class:`_QuietTensorFlowImport`), unless
    ``$ECGNET_TF_LOG`` is set or TensorFlow is already imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("ECGNET_TF_LOG") or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
