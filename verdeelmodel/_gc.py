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
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
