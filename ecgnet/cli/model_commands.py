"""Commands on models: ``train``, ``evaluate``, ``predict``, ``demo``."""


def add_parsers(subparsers):
    pass
