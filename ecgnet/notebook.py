"""What every teaching notebook does first: quiet TensorFlow, versions, the accelerator, Colab.

The notebooks in ``notebooks/`` start with two lines instead of a page of setup::

    from ecgnet import notebook
    env = notebook.setup()            # versions, GPU, working directory

and the notebooks that train keep their runs where a Colab runtime reset cannot
erase them when the learner allows it::

    RUN_ROOT = notebook.runs_folder("runs", on_drive=RUNS_ON_DRIVE)

Importing this module sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set)
before TensorFlow is imported, so TensorFlow's C++ log lines stay out of the
notebooks' outputs. Level 3 also hides C++ lines of level ERROR: in TensorFlow
2.21 ``tf.data`` prints harmless ones ("NodeDef mentions attribute
use_unbounded_threadpool ...") at every ``predict``; real failures still raise
Python exceptions.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

import platform  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from ecgnet.files import stderr_to_null  # noqa: E402

#: Where a Colab runtime mounts Google Drive, and the folder of it that holds ecgnet's runs.
DRIVE_MOUNT = Path("/content/drive")
DRIVE_FOLDER = DRIVE_MOUNT / "MyDrive" / "ecgnet"


def in_colab():
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


@dataclass(frozen=True)
class NotebookEnvironment:
    """What :func:`setup` found.

    Attributes:
        is_colab: bool, running in Google Colab.
        has_gpu: bool, TensorFlow sees at least one GPU.
        gpus: list of str, the GPUs' names (empty without a GPU).
        cpu_count: int, CPU cores available to this process.
        repository_root: Path or None, the checkout ``ecgnet`` was imported from
            (the working directory after :func:`setup`), None for an installed package.
    """

    is_colab: bool
    has_gpu: bool
    gpus: list = field(default_factory=list)
    cpu_count: int = 1
    repository_root: Path | None = None


def _gpu_names(tf):
    names = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (ValueError, RuntimeError):
            details = {}
        names.append(details.get("device_name", device.name))
    return names


def absolute_sys_path():
    """Make every relative entry of ``sys.path`` absolute, as the working directory now resolves it.

    A relative entry (Colab's setup cell once put ``"ecgnet"`` there) changes
    meaning when the working directory changes: after :func:`setup` moves to the
    repository root, ``"ecgnet"`` would name the package folder, not the
    checkout, and worker processes (which start with the parent's ``sys.path``
    and working directory) could no longer import ``ecgnet``. The empty entry
    (the working directory itself) is left as it is.
    """
    sys.path[:] = [os.path.abspath(entry) if isinstance(entry, str) and entry and not os.path.isabs(entry) else entry
                   for entry in sys.path]


def setup(want_gpu=False, chdir=True, quiet=False):
    """Print the versions and the accelerator, and work from the repository root.

    Args:
        want_gpu: bool, this notebook trains a network: without a GPU, print how
            to get one in Colab and that the CPU run will be slower.
        chdir: bool, make the repository root the working directory (when
            ``ecgnet`` is imported from a checkout), so that relative paths such
            as ``data/`` and ``runs/`` mean the same as on the command line.
        quiet: bool, print nothing.

    Returns:
        A :class:`NotebookEnvironment`.

    Example:
        >>> env = setup()
        Python 3.12.3, TensorFlow 2.21.0, Keras 3.13.2
        no GPU: running on 2 CPU cores
        >>> env.has_gpu
        False
    """
    # tqdm.auto falls back to text progress bars without ipywidgets, and says so with a warning
    # that names a site-packages path; the text bars are fine in a notebook.
    warnings.filterwarnings("ignore", message="IProgress not found")
    with stderr_to_null():
        import keras
        import tensorflow as tf

        gpus = _gpu_names(tf)
    if int(keras.__version__.split(".")[0]) < 3:
        raise RuntimeError(f"ecgnet needs Keras 3; found Keras {keras.__version__} (pip install -U keras)")
    from ecgnet.data.datasets import repository_root

    root = repository_root()
    if chdir and root is not None and Path.cwd().resolve() != root:
        absolute_sys_path()
        os.chdir(root)
    cpu_count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    env = NotebookEnvironment(is_colab=in_colab(), has_gpu=bool(gpus), gpus=gpus, cpu_count=cpu_count, repository_root=root)
    if not quiet:
        print(f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
        if gpus:
            print("GPU:", ", ".join(gpus))
        else:
            print(f"no GPU: running on {cpu_count} CPU core{'s' if cpu_count != 1 else ''}")
            if want_gpu:
                hint = ("in Colab choose Runtime > Change runtime type > GPU, then run the notebook again from the top"
                        if env.is_colab else "run it where TensorFlow sees a GPU")
                print(f"This notebook trains a network: it runs on the CPU, only slower. To use a GPU, {hint}.")
        if chdir and root is not None:
            print(f"working directory: the repository root ({root.name}/)")
    return env


def runs_folder(runs_dir="runs", on_drive=False):
    """The folder that training runs go to, on Google Drive when asked in Colab.

    ``ecgnet.training.train`` writes ``BackupAndRestore``'s backup inside each run
    folder. On a Colab VM's own disk that backup survives a kernel restart but
    not a runtime reset (a disconnect, the idle timeout, the usage limit): the
    VM and its disk are gone. On Google Drive it survives both, so running the
    training cell again resumes from the last finished epoch.

    Args:
        runs_dir: str or Path, the runs folder (relative paths are relative to
            the working directory, or to ``MyDrive/ecgnet/`` on Drive).
        on_drive: bool, in Colab mount Google Drive (Colab asks the user for
            permission) and keep the runs there; unless ``$ECGNET_DATA_DIR``
            is set, the downloaded and prepared data go to ``MyDrive/ecgnet/data``
            too, so later notebooks and runtimes do not download them again.
            Ignored, with a note, outside Colab.

    Returns:
        A ``Path``; the folder is created.
    """
    runs_dir = Path(runs_dir)
    if on_drive and in_colab():
        from google.colab import drive  # only importable in Colab

        drive.mount(str(DRIVE_MOUNT))
        folder = runs_dir if runs_dir.is_absolute() else DRIVE_FOLDER / runs_dir
        print(f"runs are kept on Google Drive in {folder}: an interrupted training resumes after a runtime reset")
        if not os.environ.get("ECGNET_DATA_DIR"):
            data = DRIVE_FOLDER / "data"
            os.environ["ECGNET_DATA_DIR"] = str(data)  # read by ecgnet.data.default_data_dir()
            print(f"downloaded and prepared data are kept there too ({data}): the next notebook reads them "
                  "instead of downloading again")
    else:
        folder = runs_dir
        if on_drive:
            print("on_drive=True only applies in Google Colab; keeping the runs in", folder)
        elif in_colab():
            print(f"runs are kept on this Colab VM's disk ({folder}): they survive a kernel restart, not a runtime "
                  "reset; set RUNS_ON_DRIVE = True to keep them on Google Drive")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
