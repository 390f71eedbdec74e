"""Errors a user can fix (exit code 2 on the command line): a bad instance (:class:`InstanceError`,
every problem with file, row, column, value and what was expected) or a bad request
(:class:`UsageError`: an option or argument that cannot be honoured)."""

from __future__ import annotations

from verdeelmodel.instance.problems import InstanceError, Problem


class UsageError(Exception):
    """A request that cannot be honoured as asked (an option out of range, a missing table).

    The message is English (``args[0]``, stable for programs and tests); ``nl`` is the Dutch a
    controller reads by default. ``str()`` gives the one of the current language (``--lang``)."""

    def __init__(self, message: str, nl: str):
        super().__init__(message)
        self.nl = nl

    def __str__(self) -> str:
        from verdeelmodel.fmt import language

        return self.nl if (self.nl and language() == "nl") else str(self.args[0])


__all__ = ["InstanceError", "Problem", "UsageError"]
