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


POOL_RULES = {
    "solidair": {"kind": "solidariteit", "basis": "inhabitants"},
    "iu": {"kind": "solidariteit", "basis": "iu"},
    "uitgesteld3": {"kind": "uitgesteld_profijt", "years": 3},
    "mix": {"kind": "mixed", "w_own": 0.4, "w_inhabitants": 0.35, "w_budget": 0.25},
    "vast": {"kind": "vast_variabel", "fixed_eur": 12, "basis": "inhabitants"},
    "vast_share": {"kind": "vast_variabel", "fixed_share": 0.3, "basis": "budget"},
    "hoog": {"kind": "high_cost_pool", "threshold_eur": 0.25, "pool_share": 0.8, "basis": "inhabitants"},
    "onder": {"kind": "onderbenutting", "minimum_eur": 90, "gap_basis": "inhabitants"},
    "fonds": {"kind": "threshold_fund", "fund_threshold_eur_per_inhabitant": 0.001, "basis": "inhabitants"},
}


def pooled_tables(rule: str) -> dict:
    """Three gemeenten in region R; lot `verblijf` (tariff 1, statutory) pooled under `rule`."""
    t = base_tables()
    t["gemeenten"] += [{"gemeente": "B", "inhabitants": 3000, "source": "test"}, {"gemeente": "C", "inhabitants": 6000, "source": "test"}]
    t["budgets"] += [{"gemeente": g, "domain": "jeugd", "region": "R", "budget_eur": b, "source": "test"} for g, b in (("B", 60), ("C", 150))]
    t["populations"] += [{"gemeente": g, "population": "jeugd", "inhabitants": 100, "source": "test"} for g in "BC"]
    t["lots"].append({"lot": "verblijf", "domain": "jeugd", "echelon": "hoogspecialistisch", "funding_form": "output", "scope": "regional", "tariff_eur": 1, "unit": "client_year", "statutory": "true", "priority_weight": 3, "source": "test"})
    t["need"] += [
        {"gemeente": "A", "population": "jeugd", "lot": "verblijf", "volume": 50, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "lot": "verblijf", "volume": 10, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "verblijf", "volume": 25, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "lot": "basis", "volume": 40, "source": "test"},
        {"gemeente": "C", "population": "jeugd", "lot": "spec", "volume": 9, "source": "test"},
    ]
    t["pooling_rules"] = [{"rule": name, **spec, "source": "test"} for name, spec in POOL_RULES.items()]
    t["pools"] = [{"region": "R", "pool": "verblijf", "lots": "verblijf", "rule": rule, "source": "test"}]
    t["use_history"] = [{"gemeente": g, "lot": "verblijf", "year": y, "clients": c + y - 2021, "cost_eur": 0, "source": "test"}
                        for g, c in (("A", 4), ("B", 1), ("C", 2)) for y in (2021, 2022, 2023)]
    return t
