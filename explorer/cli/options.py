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
