"""Errors a user can fix (exit code 2 on the command line): a bad instance (:class:`InstanceError`,
every problem with file, row, column, value and what was expected) or a bad request
(:class:`UsageError`: an option or argument that cannot be honoured)."""

from __future__ import annotations

from verdeelmodel.instance.problems import InstanceError, Problem


class UsageError(Exception):
    """A request that cannot be honoured as asked (an option out of range, a missing table)."""


__all__ = ["InstanceError", "Problem", "UsageError"]
