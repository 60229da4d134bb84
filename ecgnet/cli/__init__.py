"""The command line: ``python -m ecgnet COMMAND ...`` (or ``ecgnet COMMAND``).

Each group of commands lives in its own module and registers its sub-parsers
through ``add_parsers(subparsers)``; every handler returns an exit status.
Bad input (an :class:`ecgnet.errors.EcgnetError`, a missing file) is printed
as one clear line on stderr with exit status 2, never as a traceback.
"""

import argparse
import os
import sys

from ecgnet import __version__
from ecgnet.errors import EcgnetError


def build_parser():
    from ecgnet.cli import data_commands, model_commands

    parser = argparse.ArgumentParser(
        prog="python -m ecgnet",
        description="ResNeXt-1D heartbeat classification on MIT-BIH (AAMI classes N, S, V, F, Q).",
    )
    parser.add_argument("--version", action="version", version=f"ecgnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_commands.add_parsers(subparsers)
    model_commands.add_parsers(subparsers)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except (EcgnetError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
