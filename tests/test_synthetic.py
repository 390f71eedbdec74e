"""The synthetic national instance: reproducible to the byte, the shape of the Netherlands,
and a different seed gives different numbers."""

from __future__ import annotations

import csv
import pathlib

import pytest
import yaml

from verdeelmodel.synthetic import DEFAULT_SEED, generate, main

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "instances" / "nl-synthetic"


def _files(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _rows(folder: pathlib.Path, table: str) -> list[dict]:
    with open(folder / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("nl-synthetic")
    generate(out, DEFAULT_SEED)
    return out


def test_regenerating_gives_the_committed_files_byte_for_byte(fresh):
    assert _files(fresh) == _files(COMMITTED)
    differing = [name for name in _files(fresh) if (fresh / name).read_bytes() != (COMMITTED / name).read_bytes()]
    assert differing == [], f"regenerate with `python -m verdeelmodel.synthetic`: {differing} differ"


def test_files_are_utf8_with_unix_newlines(fresh):
    for name in _files(fresh):
        data = (fresh / name).read_bytes()
        assert b"\r" not in data, name
        data.decode("utf-8")


def test_342_gemeenten_in_42_regions(fresh):
    gemeenten = _rows(fresh, "gemeenten")
    assert len(gemeenten) == 342
    budgets = _rows(fresh, "budgets")
    regions = {r["region"] for r in budgets}
    assert len(regions) == 42
    assert {(r["gemeente"], r["domain"]) for r in budgets} == {(g["gemeente"], d) for g in gemeenten for d in ("jeugd", "wmo")}
    per_region = {}
    for r in budgets:
        if r["domain"] == "jeugd":
            per_region[r["region"]] = per_region.get(r["region"], 0) + 1
    assert min(per_region.values()) >= 2 and max(per_region.values()) <= 20
    sizes = sorted(int(g["inhabitants"]) for g in gemeenten)
    assert abs(sum(sizes) - 17_900_000) <= 100_000
    assert sizes[-1] == 930_000 and sizes[0] < 1_500
    assert 24_000 <= sizes[171] <= 32_000  # median


def test_instance_is_labelled_synthetic(fresh):
    meta = yaml.safe_load((fresh / "instance.yaml").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and "SYNTHETIC" in meta["description"]
    sources = _rows(fresh, "sources")
    assert [(s["source"], s["kind"]) for s in sources] == [("synthetic", "synthetic")]
    for table in ("gemeenten", "budgets", "populations", "lots", "need", "ceilings", "contracts"):
        assert {r["source"] for r in _rows(fresh, table)} == {"synthetic"}, table


def test_need_is_a_few_percent_above_budget_in_most_gemeenten(fresh):
    tariff = {l["lot"]: (l["domain"], float(l["tariff_eur"])) for l in _rows(fresh, "lots")}
    assert len(tariff) == 15
    need = {}
    for r in _rows(fresh, "need"):
        domain, t = tariff[r["lot"]]
        need[(r["gemeente"], domain)] = need.get((r["gemeente"], domain), 0.0) + float(r["volume"]) * t
    budget = {(b["gemeente"], b["domain"]): float(b["budget_eur"]) + float(b["own_funds_eur"]) for b in _rows(fresh, "budgets")}
    ratios = sorted(need[k] / budget[k] for k in budget)
    assert sum(q > 1 for q in ratios) > len(ratios) / 2
    assert 1.01 < ratios[len(ratios) // 2] < 1.10


def test_a_different_seed_gives_different_numbers(fresh, tmp_path):
    generate(tmp_path, DEFAULT_SEED + 1)
    for table in ("gemeenten", "need", "budgets", "contracts"):
        assert (tmp_path / f"{table}.csv").read_bytes() != (fresh / f"{table}.csv").read_bytes(), table
    assert len(_rows(tmp_path, "gemeenten")) == 342
    assert len({r["region"] for r in _rows(tmp_path, "budgets")}) == 42


def test_command_line(tmp_path, capsys):
    main(["--seed", str(DEFAULT_SEED), "--out", str(tmp_path / "out")])
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "out" / "need.csv").read_bytes() == (COMMITTED / "need.csv").read_bytes()


def test_the_validator_accepts_it(fresh):
    validate = pytest.importorskip("verdeelmodel.instance.validate")
    inst = validate.load_instance(fresh)
    assert len(inst.tables["gemeenten"]) == 342
