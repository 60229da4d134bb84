"""Atomic file writes: a file is either written whole or not at all.

Everything ecgnet writes (CSV, NPZ, reports, figures, models) goes through
:func:`atomic_path`: the data lands in a temporary file in the same folder and
is renamed over the target only after it was written and closed without error.
An interrupted run never leaves a half-written file behind, and never destroys
the previous good one. :func:`stderr_to_null` silences what native libraries
write straight to file descriptor 2.
"""

import contextlib
import os
import sys
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    Args:
        path: str or Path, the final file.
        suffix: str, suffix of the temporary file (default: the suffix of ``path``,
            which keeps writers that dispatch on the extension, such as
            ``model.save`` or ``savefig``, happy).

    Example:
        >>> with atomic_path("report.json") as tmp:
        ...     Path(tmp).write_text("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def current_umask():
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
