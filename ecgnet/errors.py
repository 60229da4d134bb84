"""The exceptions ecgnet raises for bad input.

Every one is a ``ValueError`` (so ``except ValueError`` works) and carries a
message that says what was wrong and where: file, 1-based line and column,
or the argument received. The command line prints the message and exits with
status 2 instead of showing a traceback.
"""


class EcgnetError(ValueError):
    """Base class: bad input that the user can fix."""


class DataFormatError(EcgnetError):
    """A data file (CSV, NPZ, WFDB record) is missing, malformed or out of range."""


class ModelFileError(EcgnetError):
    """A model file is missing, is not a Keras model, or does not fit the data."""
