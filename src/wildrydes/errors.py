"""Exceptions shared by the sub-commands (kept apart from cli.py so `python -m wildrydes.cli`
and the console script see the same class)."""


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2, no traceback."""
