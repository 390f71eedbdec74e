"""Garbage-collector handling while a model is built.

Building a model creates on the order of 100,000 small container objects (Pyomo variable
and constraint data, expressions, index tuples), every one of them alive for as long as
the model is. Python's cyclic collector would traverse them on the next young-generation
collection and again on the one after (about 20 ms each on the national instance), to
find nothing to free. So while a model is built the collector is paused, and afterwards
what was built is moved to the oldest generation directly (``gc.freeze()`` followed by
``gc.unfreeze()``: two list splices, no traversal). Full collections see these objects as
usual, so nothing is leaked: a model that is dropped later is freed like any other.

The move is skipped when the program froze objects itself (``gc.get_freeze_count() > 0``),
because ``gc.unfreeze()`` would undo that.

The command line does the same for its start (imports of pandas, pydantic and Pyomo, and
reading the instance create a few hundred thousand long-lived objects): it pauses the collector
first thing (:func:`pause`) and, once a command has its modules and its instance, promotes
them and resumes (:func:`resume`); about 0.2 s of a 1.2 s ``solve``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def pause() -> None:
    """Stop the cyclic collector (until :func:`resume`)."""
    gc.disable()


def resume() -> None:
    """Promote the young objects to the oldest generation (no traversal) and restart the collector."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    gc.enable()


@contextmanager
def building() -> Iterator[None]:
    """Pause the cyclic collector; on leaving, promote the young objects to the oldest generation."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()
