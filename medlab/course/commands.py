"""The registry of ``medlab`` commands, shared by the modules that define them.

:func:`register_command` adds ``medlab <name>`` (:mod:`medlab.course.cli` builds the parser
from :data:`COMMANDS`); :class:`CLIError` is an expected failure, printed as one line.
Only the standard library is imported here: ``medlab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

#: name -> (one-line help, configure(parser)), in the order the commands were registered.
COMMANDS: dict[str, tuple[str, object]] = {}


class CLIError(Exception):
    """An expected failure; ``main`` prints it as ``medlab: error: <message>``."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors become one-line CLIErrors."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def register_command(name, help):
    """Decorator registering ``medlab <name>``.

    Parameters
    ----------
    name : str
        Sub-command name.
    help : str
        One line shown by ``medlab --help``.

    The decorated function receives the sub-command's ``argparse`` parser,
    adds arguments (or further sub-commands) and calls
    ``parser.set_defaults(handler=...)``; ``handler(args)`` returns the exit
    code.
    """

    def decorator(configure):
        COMMANDS[name] = (help, configure)
        return configure

    return decorator


def show_progress():
    """Progress bars only for a person watching a terminal."""
    return sys.stderr.isatty()
