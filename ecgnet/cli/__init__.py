"""The command line: ``python -m ecgnet COMMAND ...`` (or ``ecgnet COMMAND``).

Each group of commands lives in its own module and registers its sub-parsers
through ``add_parsers(subparsers)``; every handler returns an exit status.

Bad input (an :class:`ecgnet.errors.EcgnetError`, a file that is missing,
unreadable or in the way) is printed as one line on stderr, ``error: ...``,
naming what was wrong and where, with exit status 2, never as a traceback.
SIGTERM ends a command the way Ctrl-C does, with its temporary files and
folders removed (exit status 143).
Handlers check their arguments and files before they import TensorFlow (a
few seconds), so a mistake is reported at once.

TensorFlow's own start-up log (CUDA probing, oneDNN notices) is kept off the
terminal: ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 (errors of TensorFlow's C++
core are raised as Python exceptions anyway), and the lines its native
libraries print while ``import tensorflow`` runs, before that setting is read,
go to the null device (:func:`ecgnet.files.quiet_tensorflow_import`). Set
``ECGNET_TF_LOG=1`` to see them.
"""

import argparse
import sys

from ecgnet import __version__
from ecgnet.errors import EcgnetError
from ecgnet.files import exit_cleanly_on_sigterm, quiet_tensorflow_import


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose mistakes are one line, like every other error of the command line.

    argparse prints the whole usage before its ``error:`` line; here a wrong or
    missing argument gets ``error: python -m ecgnet predict: argument --model
    is required (python -m ecgnet predict --help lists the options)`` on
    stderr and exit status 2, as argparse's own. Sub-parsers inherit the class
    (``add_subparsers`` makes them with the parent's type).
    """

    def error(self, message):
        self.exit(2, _one_line(f"error: {self.prog}: {message} ({self.prog} --help lists the options)") + "\n")


def build_parser():
    """The ``python -m ecgnet`` parser: one sub-command per handler of the three command modules.

    Returns:
        ``argparse.ArgumentParser`` whose errors are one line and exit status 2.
    """
    from ecgnet.cli import adapt_commands, data_commands, model_commands

    parser = OneLineParser(
        prog="python -m ecgnet",
        description="ResNeXt-1D heartbeat classification on MIT-BIH (AAMI classes N, S, V, F, Q).",
    )
    parser.add_argument("--version", action="version", version=f"ecgnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_commands.add_parsers(subparsers)
    model_commands.add_parsers(subparsers)
    adapt_commands.add_parsers(subparsers)
    return parser


def _os_error_line(error):
    """``"PATH: reason"`` for an OSError (permission denied, a file in the way, ...)."""
    where = error.filename if error.filename is not None else ""
    reason = error.strerror or str(error)
    if isinstance(error, PermissionError):
        reason += " (check the file's or folder's permissions)"
    elif isinstance(error, (FileExistsError, NotADirectoryError)):
        reason += " (a file is in the way of a folder this command writes)"
    return f"{where}: {reason}" if where else reason


def _one_line(message):
    """``message`` on one line: a line break inside it (a file name holding one) is written as ``\\n``."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def main(argv=None):
    """Run one command of ``python -m ecgnet`` (the console entry point).

    Bad input (an :class:`ecgnet.errors.EcgnetError` or an ``OSError`` on a
    named file) is printed as one ``error:`` line, never a traceback.

    Args:
        argv: list of str, the arguments (default: ``sys.argv[1:]``).

    Returns:
        int, the exit status: 0 on success, 2 on bad input, 130 on Ctrl-C.

    Example:
        >>> main(["info", "ecgnet/data/sample/mitbih_test.csv.gz"])  # doctest: +SKIP
        0
    """
    quiet_tensorflow_import()
    exit_cleanly_on_sigterm()  # so that temporary files and folders are removed on SIGTERM as on Ctrl-C
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except EcgnetError as error:
        print(_one_line(f"error: {error}"), file=sys.stderr)
        return 2
    except OSError as error:  # missing, unreadable or unwritable files and folders
        print(_one_line(f"error: {_os_error_line(error)}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
