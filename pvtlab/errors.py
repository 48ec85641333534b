"""Errors pvtlab raises on purpose, so the CLI can tell a user's mistake from a bug."""

import difflib
from collections.abc import Iterable


class UserInputError(ValueError):
    """A bad spec, flag, path or file given by the user: the CLI prints its one-line message and exits 2."""


def did_you_mean(word: object, allowed: Iterable[object]) -> str:
    """``"; did you mean 'X'?"`` for the allowed value closest to ``word`` (difflib), or ``""`` if none is close."""
    names = {str(a): a for a in allowed}
    close = difflib.get_close_matches(str(word), list(names), n=1)
    return f"; did you mean {names[close[0]]!r}?" if close else ""
