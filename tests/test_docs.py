"""The generated documentation matches the code (run `verdeelmodel docs` after changing either)."""

from helpers import ROOT

from verdeelmodel.docs import DOCS


def test_generated_docs_are_up_to_date():
    for name, render in DOCS.items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == render(), f"docs/{name} is stale: run `verdeelmodel docs`"
