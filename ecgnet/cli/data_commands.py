"""Commands on data: ``download``, ``prepare``, ``info``."""


def add_parsers(subparsers):
    pass
