"""Errors pvtlab raises on purpose, so the CLI can tell a user's mistake from a bug."""


class UserInputError(ValueError):
    """A bad spec, flag, path or file given by the user: the CLI prints its one-line message and exits 2."""
