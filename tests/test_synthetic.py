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
    for table in (
        "gemeenten",
        "budgets",
        "populations",
        "lots",
        "need",
        "ceilings",
        "contracts",
        "pooling_rules",
        "pools",
        "use_history",
        "demand",
    ):
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
    for table in ("gemeenten", "need", "budgets", "contracts", "pools", "use_history"):
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


HOOGSPECIALISTISCH = {"jeugd_verblijf_hoogspecialistisch", "wmo_beschermd_wonen"}


def test_every_region_pools_its_hoogspecialistisch_lots_under_varying_rules(fresh):
    lots = {l["lot"]: l for l in _rows(fresh, "lots")}
    assert {l for l, row in lots.items() if row["echelon"] == "hoogspecialistisch"} == HOOGSPECIALISTISCH
    regions = {r["region"] for r in _rows(fresh, "budgets")}
    pools = _rows(fresh, "pools")
    assert {(p["region"], p["lots"]) for p in pools} == {(r, l) for r in regions for l in HOOGSPECIALISTISCH}
    assert len(pools) == 2 * len(regions)
    rules = {r["rule"]: r for r in _rows(fresh, "pooling_rules")}
    for lot in HOOGSPECIALISTISCH:
        agreed = [p["rule"] for p in pools if p["lots"] == lot]
        # each agreed rule in a third of the regions
        assert {rule: agreed.count(rule) for rule in set(agreed)} == {"solidariteit": 14, "uitgesteld_profijt": 14, "mixed": 14}
    assert {p["rule"] for p in pools} <= set(rules)


def test_pooling_rules_have_the_agreed_parameters(fresh):
    rules = {r["rule"]: r for r in _rows(fresh, "pooling_rules")}
    assert {r: rules[r]["kind"] for r in rules} == {
        r: r for r in ("solidariteit", "uitgesteld_profijt", "mixed", "high_cost_pool", "threshold_fund")
    }
    assert rules["solidariteit"]["basis"] == "inhabitants"
    assert int(rules["uitgesteld_profijt"]["years"]) == 3
    assert float(rules["mixed"]["w_own"]) == 0.5 and float(rules["mixed"]["w_inhabitants"]) == 0.5
    assert float(rules["threshold_fund"]["fund_threshold_eur_per_inhabitant"]) == 40
    hc = rules["high_cost_pool"]
    assert float(hc["pool_share"]) == 0.8
    # the threshold is meaningful: below the jeugd verblijf tariff per client-year
    tariff = {l["lot"]: float(l["tariff_eur"]) for l in _rows(fresh, "lots")}
    assert 0 < float(hc["threshold_eur"]) < tariff["jeugd_verblijf_hoogspecialistisch"]


def test_use_history_covers_three_years_of_every_pooled_lot(fresh):
    year = yaml.safe_load((fresh / "instance.yaml").read_text(encoding="utf-8"))["year"]
    gemeenten = {g["gemeente"] for g in _rows(fresh, "gemeenten")}
    hist = _rows(fresh, "use_history")
    pooled = {p["lots"] for p in _rows(fresh, "pools")}
    assert {(h["gemeente"], h["lot"], int(h["year"])) for h in hist} == {
        (g, l, y) for g in gemeenten for l in pooled for y in range(year - 3, year)
    }
    assert len(hist) == len(gemeenten) * len(pooled) * 3
    assert all(float(h["clients"]) >= 0 and float(h["cost_eur"]) >= 0 for h in hist)
    # derived from the need: national use in the last year within 15 % of the need in client-years
    units = {"jeugd_verblijf_hoogspecialistisch": 1.0, "wmo_beschermd_wonen": 365.0}
    need = {l: sum(float(r["volume"]) for r in _rows(fresh, "need") if r["lot"] == l) / units[l] for l in pooled}
    for lot in pooled:
        last = sum(float(h["clients"]) for h in hist if h["lot"] == lot and int(h["year"]) == year - 1)
        assert 0.85 < last / need[lot] < 1.15, lot


def test_the_pooling_engine_accepts_every_rule(fresh):
    validate = pytest.importorskip("verdeelmodel.instance.validate")
    pooling = pytest.importorskip("verdeelmodel.models.pooling")
    inst = validate.load_instance(fresh)
    pooling.check_pooling(inst, ["profijt", "solidariteit", "uitgesteld_profijt", "mixed", "high_cost_pool", "threshold_fund"])
    setups = pooling.pool_setups(inst)
    assert len(setups) == 2 and all(len(s.ctx.regions) == 42 for s in setups)


def test_demand_has_a_row_per_lot_consistent_with_the_use_history(fresh):
    lots = {l["lot"]: l for l in _rows(fresh, "lots")}
    demand = {d["lot"]: d for d in _rows(fresh, "demand")}
    assert set(demand) == set(lots)
    # the pooled lots count a client as the use history does (a client-year)
    assert float(demand["jeugd_verblijf_hoogspecialistisch"]["units_per_client"]) == 1.0
    assert float(demand["wmo_beschermd_wonen"]["units_per_client"]) == 365.0
    # lumpsum capacity has no volume risk; the hoogspecialistisch lots swing most
    for lot, row in lots.items():
        if row["funding_form"] == "taak":
            assert demand[lot]["distribution"] == "fixed" and float(demand[lot]["shock_sd"]) == 0, lot
    for lot in HOOGSPECIALISTISCH:
        assert demand[lot]["distribution"] == "negbin" and float(demand[lot]["cost_cv"]) > 0, lot
    # one common shock per region: every region-scope lot has the same sd
    assert len({d["shock_sd"] for d in demand.values() if d["shock_scope"] == "region"}) == 1


def test_demand_scenarios_reproduce_the_expected_cost_of_fixed_lots(fresh):
    validate = pytest.importorskip("verdeelmodel.instance.validate")
    scenarios = pytest.importorskip("verdeelmodel.models.scenarios")
    np = pytest.importorskip("numpy")
    inst = validate.load_instance(fresh)
    dm = scenarios.demand_model(inst)
    batch = scenarios.sample(dm, 20, seed=1)
    fixed = dm.dist == scenarios.DIST["fixed"]
    assert fixed.any()
    # the technical unit (0.01 fte) reproduces the need volume exactly: no spurious overspend
    np.testing.assert_allclose(
        batch.cost[:, :, fixed], np.broadcast_to(dm.expected_cost[:, fixed], batch.cost[:, :, fixed].shape), rtol=1e-9, atol=1e-6
    )
    assert (batch.cost[:, :, ~fixed].std(axis=0).sum(axis=1) > 0).all()  # every gemeente fluctuates
