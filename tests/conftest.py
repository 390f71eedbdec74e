"""Shared helpers: write small instances from Python dicts, so each test states its data."""

from __future__ import annotations

import csv
import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"

BASE_META = {
    "name": "tiny",
    "year": 2024,
    "description": "hand-computed test instance",
    "units": {"money": "EUR"},
    "domains": {"jeugd": "Jeugdhulp", "wmo": "Wmo 2015"},
}


def base_tables() -> dict[str, list[dict]]:
    """One gemeente, one population, two jeugd lots; every number easy to follow by hand."""
    return {
        "sources": [{"source": "test", "kind": "assumption", "description": "test data", "reference": ""}],
        "gemeenten": [{"gemeente": "A", "inhabitants": 1000, "available_reserve_eur": 0, "source": "test"}],
        "budgets": [{"gemeente": "A", "domain": "jeugd", "region": "R", "budget_eur": 100, "own_funds_eur": 0, "source": "test"}],
        "populations": [{"gemeente": "A", "population": "jeugd", "kind": "target_group", "inhabitants": 100, "source": "test"}],
        "lots": [
            {"lot": "basis", "label": "Basis", "domain": "jeugd", "echelon": "basis", "funding_form": "taak", "scope": "local", "tariff_eur": 1, "unit": "eur", "priority_weight": 1, "statutory": "false", "source": "test"},
            {"lot": "spec", "label": "Specialistisch", "domain": "jeugd", "echelon": "specialist", "funding_form": "inspanning", "scope": "regional", "tariff_eur": 10, "unit": "hour", "priority_weight": 2, "statutory": "true", "source": "test"},
        ],
        "need": [
            {"gemeente": "A", "population": "jeugd", "lot": "basis", "volume": 30, "source": "test"},
            {"gemeente": "A", "population": "jeugd", "lot": "spec", "volume": 8, "source": "test"},
        ],
    }


def write_instance(folder: Path, tables: dict[str, list[dict]], meta: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    m = copy.deepcopy(BASE_META)
    for k, v in (meta or {}).items():
        if isinstance(v, dict) and isinstance(m.get(k), dict):
            m[k] = {**m[k], **v}
        else:
            m[k] = v
    (folder / "instance.yaml").write_text(yaml.safe_dump(m, sort_keys=False), encoding="utf-8")
    for name, rows in tables.items():
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({c: "" if r.get(c) is None else r.get(c, "") for c in cols})
    return folder


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


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from verdeelmodel.cli import main

    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err
