"""What every command line's ``--help`` shares: each option's help ends with its default."""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's :class:`~argparse.ArgumentDefaultsHelpFormatter` (appends
    "(default: X)"), except where there is no default to show: a required option, a
    positional argument, or a default of None (the help text then says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required or action.default is None or not action.option_strings:
            return action.help or ""
        return super()._get_help_string(action)


def refuse_unwritable(p: argparse.ArgumentParser, path) -> bool:
    """True, after one line on stderr (``prog: error: cannot write ...``), when ``path``
    cannot be written (:func:`explorer.core.files.check_writable`): the command then exits 2
    before anything is loaded or trained. False when it can be written."""
    import sys

    from explorer.core.files import check_writable

    try:
        check_writable(path)
    except ValueError as exc:
        sys.stderr.write(f"{p.prog}: error: {exc}\n")
        return True
    return False
