"""verdeelmodel/_gc.py: the collector is paused while a model is built, what was built moves
to the oldest generation, nothing leaks, and a program's own frozen objects stay frozen."""

from __future__ import annotations

import gc
import weakref

from helpers import INSTANCES

from verdeelmodel import AllocationModel, load_instance
from verdeelmodel._gc import building


class _Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_building_pauses_and_restores_the_collector():
    assert gc.isenabled()
    with building():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with building():
            pass
        assert not gc.isenabled()  # a program that switched the collector off keeps it off
    finally:
        gc.enable()


def test_built_objects_move_to_the_oldest_generation_and_are_still_collected():
    gc.collect()
    with building():
        node = _Node()
    assert gc.is_tracked(node)
    assert any(o is node for o in gc.get_objects(generation=2))
    ref = weakref.ref(node)
    del node
    gc.collect()
    assert ref() is None


def test_a_dropped_model_is_freed():
    model = AllocationModel(load_instance(INSTANCES / "nijmegen-2018"))
    ref = weakref.ref(model.model)
    del model
    gc.collect()
    assert ref() is None


def test_frozen_objects_of_the_program_stay_frozen():
    gc.collect()
    keep = _Node()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with building():
            _Node()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        del keep
