"""pytest fixtures; the shared helpers are in tests/helpers.py."""

from __future__ import annotations

import pytest
from helpers import base_tables, write_instance


@pytest.fixture
def make(tmp_path):
    """make(edit=None, meta=None) -> path of a tiny instance, after edit(tables) changes it."""
    counter = {"n": 0}

    def _make(edit=None, meta=None):
        t = base_tables()
        if edit is not None:
            edit(t)
        counter["n"] += 1
        return write_instance(tmp_path / f"inst{counter['n']}", t, meta)

    return _make


@pytest.fixture
def english(monkeypatch):
    """Messages in English: the stable texts a test matches on (their Dutch: tests/test_messages_nl.py).
    Holds for the command line run in-process or as a subprocess (VERDEELMODEL_LANG) and for the API."""
    from verdeelmodel import fmt

    monkeypatch.setenv(fmt.LANG_ENV, "en")
    with fmt.using("en"):
        yield
