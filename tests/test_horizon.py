"""Meerjarenraming (models/horizon.py, `verdeelmodel plan`): a one-year horizon is today's
solve, a two-year case by hand (reserve path, uitgesteld profijt from the plan's own first year,
a tekort drawn from the reserve), and properties over random multi-year instances."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import INSTANCES, build

from verdeelmodel import load_instance, solve
from verdeelmodel.models.horizon import horizon_years, plan, year_instance


def _add(folder: Path, name: str, rows: list[dict]) -> None:
    with (folder / f"{name}.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _two_years(tmp_path) -> Path:
    """A and B in region R pool `verblijf` (statutory, tariff 1) under uitgesteld profijt over one
    year of clients. History 2023: A 30, B 10. Need 2024 and 2025: A 20, B 20.
    Budgets 2024: A 25, B 25; 2025: A 20, B 10. Reserves: A 4, B 6, floor 0."""
    folder = build(
        tmp_path / "two",
        [("A", "R", 1000, 4, 25), ("B", "R", 1000, 6, 25)],
        [("verblijf", 1.0)],
        {("A", "verblijf"): 20, ("B", "verblijf"): 20},
        pools=[("R", "verblijf", "verblijf", "up1")],
        rules=[{"rule": "up1", "kind": "uitgesteld_profijt", "years": 1, "history_measure": "clients"}],
        history=[("A", "verblijf", 2023, 30), ("B", "verblijf", 2023, 10)],
    )
    _add(folder, "years", [{"year": 2024, "label": "begroting", "source": "test"}, {"year": 2025, "label": "raming", "source": "test"}])
    _add(
        folder,
        "budgets_by_year",
        [
            {"gemeente": "A", "domain": "jeugd", "year": 2025, "budget_eur": 20, "own_funds_eur": 0, "source": "test"},
            {"gemeente": "B", "domain": "jeugd", "year": 2025, "budget_eur": 10, "own_funds_eur": 0, "source": "test"},
        ],
    )
    return folder


def test_two_years_by_hand(tmp_path):
    inst = load_instance(_two_years(tmp_path))
    assert horizon_years(inst) == [2024, 2025]
    p = plan(inst)
    assert p.optimal and p.years == [2024, 2025]
    pool = {y.year: y.result.pooling.set_index("gemeente")["charge_eur"] for y in p.plans}
    # 2024: the key is the history of 2023 (30 : 10) -> A 30, B 10 of the pool's 40
    assert pool[2024]["A"] == pytest.approx(30) and pool[2024]["B"] == pytest.approx(10)
    # 2025: the key is the plan's own use in 2024 (20 : 20) -> A 20, B 20
    assert pool[2025]["A"] == pytest.approx(20) and pool[2025]["B"] == pytest.approx(20)
    rp = p.reserve_path.set_index(["gemeente", "year"])
    # 2024: A pays 30 on a budget of 25: tekort 5, the reserve of 4 carries 4, 1 goes to the
    # algemene middelen; B pays 10 of 25: headroom 15 goes to its reserve (6 -> 21)
    a, b = rp.loc[("A", 2024)], rp.loc[("B", 2024)]
    assert (a.tekort_eur, a.onttrekking_eur, a.algemene_middelen_eur, a.closing_eur) == pytest.approx((5, 4, 1, 0))
    assert (b.tekort_eur, b.dotatie_eur, b.closing_eur) == pytest.approx((0, 15, 21))
    # 2025: A pays 20 of 20: nothing; B pays 20 of 10: a tekort of 10 drawn from its reserve (21 -> 11)
    a, b = rp.loc[("A", 2025)], rp.loc[("B", 2025)]
    assert (a.opening_eur, a.tekort_eur, a.closing_eur) == pytest.approx((0, 0, 0))
    assert (b.opening_eur, b.tekort_eur, b.onttrekking_eur, b.closing_eur) == pytest.approx((21, 10, 10, 11))


def test_a_floor_keeps_part_of_the_reserve(tmp_path):
    folder = _two_years(tmp_path)
    g = pd.read_csv(folder / "gemeenten.csv")
    g["reserve_floor_eur"] = [0, 15]
    g.to_csv(folder / "gemeenten.csv", index=False)
    rp = plan(load_instance(folder)).reserve_path.set_index(["gemeente", "year"])
    # B in 2025: reserve 21, floor 15: only 6 of the tekort of 10 is drawn, 4 goes to the algemene middelen
    b = rp.loc[("B", 2025)]
    assert (b.onttrekking_eur, b.algemene_middelen_eur, b.closing_eur) == pytest.approx((6, 4, 15))


@pytest.mark.parametrize("name", ["nijmegen-2018", "westfriesland-2021"])
def test_a_one_year_horizon_is_the_single_year_solve(name):
    inst = load_instance(INSTANCES / name)
    p = plan(inst, years=1)
    ref = solve(inst)
    assert p.years == [inst.meta.year]
    mine = p.plans[0].result
    assert mine.objective == ref.objective
    for t in ("allocation", "budgets", "pooling"):
        pd.testing.assert_frame_equal(getattr(mine, t), getattr(ref, t))


def test_year_factors_scale_tariff_and_need(tmp_path):
    folder = _two_years(tmp_path)
    _add(
        folder,
        "year_factors",
        [
            {"year": 2025, "target": "*", "tariff_factor": 1.1, "demand_factor": 1.0, "source": "test"},
            {"year": 2025, "target": "verblijf", "tariff_factor": 1.05, "demand_factor": 0.5, "source": "test"},
        ],
    )
    _add(folder, "ceilings", [{"lot": "verblijf", "region": "R", "gemeente": "", "ceiling_eur": 60, "minimum_eur": 20, "source": "test"}])
    inst = load_instance(folder)
    y = year_instance(inst, 2025)
    assert float(y.lots.set_index("lot").loc["verblijf", "tariff_eur"]) == pytest.approx(1.05)  # the lot's row wins
    # a plafond and a minimum are contract sums: indexed with their lot's tariff
    c = y.tables["ceilings"].iloc[0]
    assert (c["ceiling_eur"], c["minimum_eur"]) == pytest.approx((63.0, 21.0))
    assert y.need["volume"].tolist() == pytest.approx([10, 10])
    assert y.budgets.set_index("gemeente")["budget_eur"].to_dict() == {"A": 20, "B": 10}


@pytest.mark.parametrize("case", range(6))
def test_properties_over_random_multi_year_instances(tmp_path, case):
    rng = np.random.default_rng(40 + case)
    G = int(rng.integers(2, 5))
    gem = [(f"G{i}", "R", int(rng.integers(1000, 9000)), float(rng.integers(0, 50)), float(rng.integers(20, 120))) for i in range(G)]
    need = {}
    for i in range(G):
        need[(f"G{i}", "zwaar")] = float(rng.integers(5, 60))
        need[(f"G{i}", "licht")] = float(rng.integers(5, 60))
    folder = build(
        tmp_path / f"r{case}",
        gem,
        [("zwaar", 2.0), ("licht", 1.0)],
        need,
        pools=[("R", "zwaar", "zwaar", "up2")],
        rules=[{"rule": "up2", "kind": "uitgesteld_profijt", "years": 2, "history_measure": "clients"}],
        history=[(f"G{i}", "zwaar", y, float(rng.integers(1, 30))) for i in range(G) for y in (2022, 2023)],
    )
    years = [2024, 2025, 2026]
    _add(folder, "years", [{"year": y, "label": "", "source": "test"} for y in years])
    _add(
        folder,
        "budgets_by_year",
        [
            {
                "gemeente": f"G{i}",
                "domain": "jeugd",
                "year": y,
                "budget_eur": float(rng.integers(20, 150)),
                "own_funds_eur": 0,
                "source": "test",
            }
            for i in range(G)
            for y in years[1:]
        ],
    )
    _add(
        folder,
        "year_factors",
        [
            {"year": y, "target": "*", "tariff_factor": 1 + 0.02 * k, "demand_factor": float(rng.uniform(0.8, 1.2)), "source": "test"}
            for k, y in enumerate(years[1:], start=1)
        ],
    )
    inst = load_instance(folder)
    p = plan(inst)
    assert p.optimal
    rp = p.reserve_path
    for _g, grp in rp.groupby("gemeente"):
        grp = grp.sort_values("year")
        # the balance holds every year, and each year opens where the last one closed
        assert np.allclose(grp["closing_eur"], grp["opening_eur"] + grp["dotatie_eur"] - grp["onttrekking_eur"])
        assert np.allclose(grp["opening_eur"].iloc[1:].to_numpy(), grp["closing_eur"].iloc[:-1].to_numpy())
        assert np.allclose(grp["tekort_eur"], grp["onttrekking_eur"] + grp["algemene_middelen_eur"])
        assert (grp["closing_eur"] >= grp["floor_eur"] - 1e-9).all() or (grp["onttrekking_eur"] == 0).all()
    for yp in p.plans:
        res = yp.result
        b = res.budgets
        # every euro of budget is allocated or headroom, the tekort the rest
        assert np.allclose(b["budget_eur"] + b["tekort_eur"], b["allocated_eur"] + b["headroom_eur"], atol=0.02)
        # pooled charges add up to the pooled cost in each year
        pooled = res.allocation[res.allocation["lot"] == "zwaar"]["amount_eur"].sum()
        assert res.pooling["charge_eur"].sum() == pytest.approx(pooled, abs=0.02)
    # the meerjarenraming books every euro of every year
    m = p.meerjarenraming.groupby("year")["amount_eur"].sum()
    for yp in p.plans:
        assert m[yp.year] == pytest.approx(yp.result.allocation["amount_eur"].sum(), abs=0.05)


def test_years_must_be_consecutive_from_the_instance_year(tmp_path):
    from verdeelmodel.errors import InstanceError

    folder = _two_years(tmp_path)
    _add(folder, "years", [{"year": 2024, "label": "", "source": "test"}, {"year": 2026, "label": "", "source": "test"}])
    with pytest.raises(InstanceError) as e:
        load_instance(folder)
    assert "years" in str(e.value) and "2024, 2025" in str(e.value)


def test_no_horizon_is_one_year(make):
    inst = load_instance(make())
    assert horizon_years(inst) == [2024]
    p = plan(inst)
    assert p.years == [2024] and len(p.reserve_path) == 1


# --------------------------------------------------------------------------- scenario paths


def _paths_instance(tmp_path, rho=0.6):
    folder = _two_years(tmp_path)
    _add(
        folder,
        "demand",
        [
            {
                "lot": "verblijf",
                "distribution": "negbin",
                "dispersion": 5,
                "units_per_client": 1,
                "cost_cv": 0,
                "shock_sd": 0.3,
                "shock_scope": "region",
                "shock_persistence": rho,
                "source": "test",
            }
        ],
    )
    return load_instance(folder)


def test_exhaustion_probability_is_what_a_direct_walk_of_the_paths_gives(tmp_path):
    from verdeelmodel.models.horizon import path_tables, run_paths

    inst = _paths_instance(tmp_path)
    p = plan(inst)
    run = run_paths(inst, p, 3000, seed=11, chunk=700)
    per_year, per_g = path_tables(run, level=0.1)
    # a direct walk, path by path, gemeente by gemeente
    Y, S, G = run.tekort.shape
    ex = np.zeros((Y, G))
    anyx = np.zeros(G)
    for s in range(S):
        for i in range(G):
            R, hit = run.opening[i], False
            for t in range(Y):
                draw = min(run.tekort[t, s, i], max(0.0, R - run.floor[i]))
                if run.tekort[t, s, i] > draw + 1e-9:
                    ex[t, i] += 1
                    hit = True
                R += run.headroom[t, s, i] - draw
            anyx[i] += hit
    got = per_year.set_index(["year", "gemeente"])["p_exhausted"]
    for t, y in enumerate(run.years):
        for i, g in enumerate(run.gemeenten):
            assert got[(y, g)] == pytest.approx(ex[t, i] / S, abs=1e-6)
    assert per_g["p_exhausted_any_year"].to_numpy() == pytest.approx(anyx / S, abs=1e-6)
    # an independent run agrees within its Monte Carlo error
    other, _ = path_tables(run_paths(inst, p, 3000, seed=12), level=0.1)
    a, b = got.to_numpy(), other.set_index(["year", "gemeente"])["p_exhausted"].reindex(got.index).to_numpy()
    se = np.sqrt(np.maximum(a * (1 - a), 1e-4) / S) * np.sqrt(2)
    assert np.all(np.abs(a - b) <= 4 * se), (a, b)


def test_the_needed_opening_reserve_keeps_exhaustion_at_the_level(tmp_path):
    from verdeelmodel.models.horizon import needed_opening, path_tables, run_paths, walk

    inst = _paths_instance(tmp_path)
    run = run_paths(inst, plan(inst), 4000, seed=3)
    _per_year, per_g = path_tables(run, level=0.1)
    q = per_g["needed_opening_eur"].to_numpy()
    exhausted, _ = walk(run, opening=q + 1e-6)
    assert np.all(exhausted.any(axis=0).mean(axis=0) <= 0.1 + 1e-9)
    exhausted, _ = walk(run, opening=np.maximum(q - 0.5, 0.0))  # a little less and more paths exhaust it
    need = needed_opening(run)
    assert np.all((need > q - 0.5).mean(axis=0) >= exhausted.any(axis=0).mean(axis=0) - 1e-9)


def test_shock_persistence_links_the_years(tmp_path):
    from verdeelmodel.models.scenarios import demand_model, sample

    inst = _paths_instance(tmp_path, rho=0.8)
    dm = demand_model(inst)
    first = sample(dm, 20_000, 5, 0)
    second = sample(dm, 20_000, 5, 0, year=1, prev_z=first.z)
    r = np.corrcoef(first.z[:, 0], second.z[:, 0])[0, 1]
    assert r == pytest.approx(0.8, abs=0.02) and second.z[:, 0].std() == pytest.approx(1.0, abs=0.02)
    # the first year of a path is the single-year draw
    assert np.array_equal(first.cost, sample(dm, 20_000, 5, 0).cost)
    independent = sample(demand_model(_paths_instance(tmp_path / "b", rho=0.0)), 20_000, 5, 0, year=1, prev_z=first.z)
    assert abs(np.corrcoef(first.z[:, 0], independent.z[:, 0])[0, 1]) < 0.03


def test_cli_plan_writes_the_years_the_reserve_path_and_the_paths(tmp_path, capsys):
    from helpers import run_main

    inst = _paths_instance(tmp_path)
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        rc, stdout, err = run_main(["plan", str(inst.path), "--paths", "500", "--seed", "3", "--out", str(out)], capsys)
        assert rc == 0, err
        outs.append(out)
    for f in (
        "allocation.csv",
        "budgets.csv",
        "pooling.csv",
        "reserve_path.csv",
        "meerjarenraming.csv",
        "exhaustion.csv",
        "reserve_needed.csv",
    ):
        assert (outs[0] / f).exists(), f
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    alloc = pd.read_csv(outs[0] / "allocation.csv")
    assert sorted(set(alloc["year"])) == [2024, 2025]
    assert "algemene middelen" in stdout and "beginstand" in stdout and "€" in stdout
    rc, _, err = run_main(["plan", str(inst.path), "--years", "3", "--out", str(tmp_path / "c")], capsys)
    assert rc == 2 and "--years" in err and not (tmp_path / "c").exists()


# --------------------------------------------------------------------------- close (jaarrekening)


def _realised(folder: Path, rows: list[tuple]) -> Path:
    f = folder / "realised.csv"
    _add(folder, "realised", [{"gemeente": g, "lot": l, "year": y, "clients": c, "cost_eur": e} for g, l, y, c, e in rows])
    return f


def test_close_by_hand_then_the_replan_is_a_fresh_plan_of_the_rolled_instance(tmp_path):
    from verdeelmodel.instance.io import write_folder
    from verdeelmodel.workflows import close

    folder = _two_years(tmp_path)
    costs = _realised(tmp_path, [("A", "verblijf", 2024, 25, 25.0), ("B", "verblijf", 2024, 20, 20.0)])
    inst = load_instance(folder)
    c = close(inst, costs).closing
    # 2024 realised: the pool (45) by the 2023 key 30 : 10 -> A 33.75, B 11.25; budgets 25 / 25
    rz = c.realised.set_index("gemeente")
    assert rz.loc["A", "charge_eur"] == pytest.approx(33.75) and rz.loc["A", "tekort_eur"] == pytest.approx(8.75)
    assert rz.loc["B", "headroom_eur"] == pytest.approx(13.75)
    rs = c.reserve.set_index("gemeente")
    assert (rs.loc["A", "onttrekking_eur"], rs.loc["A", "algemene_middelen_eur"], rs.loc["A", "closing_eur"]) == pytest.approx((4, 4.75, 0))
    assert rs.loc["B", "closing_eur"] == pytest.approx(19.75)
    # the rolled instance: 2025, the realised reserve, the realised 2024 use in the history
    r = c.rolled
    assert r.meta.year == 2025 and horizon_years(r) == [2025] and r.meta.name == "tiny-2025"
    assert r.gemeenten.set_index("gemeente")["available_reserve_eur"].to_dict() == pytest.approx({"A": 0.0, "B": 19.75})
    h = r.use_history
    assert h[h["year"] == 2024].set_index("gemeente")["clients"].to_dict() == {"A": 25, "B": 20}
    # re-plan of 2025: key 25 : 20 -> A 22.22, B 17.78 of 40; B's tekort 7.78 from its reserve
    rp = c.replan.reserve_path.set_index("gemeente")
    tek = 40 * 20 / 45 - 10  # the result tables are in cents
    assert rp.loc["B", "tekort_eur"] == pytest.approx(tek, abs=0.01) and rp.loc["B", "closing_eur"] == pytest.approx(19.75 - tek, abs=0.01)
    # the re-plan equals a fresh plan of the rolled instance written and loaded back
    write_folder(r, tmp_path / "next")
    fresh = plan(load_instance(tmp_path / "next"))
    pd.testing.assert_frame_equal(fresh.reserve_path, c.replan.reserve_path)
    for a, b in zip(fresh.plans, c.replan.plans):
        assert a.result.objective == b.result.objective
        pd.testing.assert_frame_equal(a.result.allocation, b.result.allocation)
    ch = c.changes.set_index("gemeente")
    assert ch.loc["B", "closing_before_eur"] == pytest.approx(11) and ch.loc["B", "closing_after_eur"] == pytest.approx(11.97, abs=0.01)


@pytest.mark.usefixtures("english")
def test_close_takes_the_instance_year_only(tmp_path, capsys):
    from helpers import run_main

    folder = _two_years(tmp_path)
    costs = _realised(tmp_path, [("A", "verblijf", 2024, 25, 25.0), ("B", "verblijf", 2024, 20, 20.0)])
    rc, _, err = run_main(["close", str(folder), "--year", "2025", "--costs", str(costs), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "in order" in err and not (tmp_path / "o").exists()
    rc, stdout, err = run_main(
        ["close", str(folder), "--costs", str(costs), "--out", str(tmp_path / "o"), "--next", str(tmp_path / "n")], capsys
    )
    assert rc == 0, err
    assert (tmp_path / "n" / "instance.yaml").exists() and (tmp_path / "o" / "changes.csv").exists()
    assert "jaarrekening 2024" in stdout
    assert load_instance(tmp_path / "n").meta.year == 2025


def test_close_takes_lots_missing_from_the_costs_file_at_the_plan(tmp_path):
    from verdeelmodel.workflows import close

    folder = _two_years(tmp_path)
    costs = _realised(tmp_path, [("A", "verblijf", 2024, 25, 25.0)])  # B's verblijf not in the file
    c = close(load_instance(folder), costs).closing
    rz = c.realised.set_index("gemeente")
    # B at its plan (20): the pool is 45 as if B had reported 20, A pays 33.75 as above
    assert rz.loc["B", "taken_at_plan_eur"] == pytest.approx(20) and rz.loc["A", "taken_at_plan_eur"] == 0
    assert rz.loc["A", "charge_eur"] == pytest.approx(33.75)
    h = c.rolled.use_history
    assert h[h["year"] == 2024].set_index("gemeente")["clients"].to_dict() == pytest.approx({"A": 25, "B": 20})


def test_paths_in_worker_processes_are_the_same_paths(tmp_path, monkeypatch):
    from verdeelmodel.models import horizon as Hz

    inst = _paths_instance(tmp_path)
    p = plan(inst)
    one = Hz.run_paths(inst, p, 900, seed=2, chunk=200, executor=1)
    monkeypatch.setattr("verdeelmodel.executors.PROCESSES_PAY_ABOVE_SECONDS", 0.0)
    two = Hz.run_paths(inst, p, 900, seed=2, chunk=200, executor=2)
    assert one.processes == 1 and two.processes == 2
    assert np.array_equal(one.tekort, two.tekort) and np.array_equal(one.headroom, two.headroom)


def test_the_ingroeipad_grows_over_the_years(tmp_path):
    folder = _two_years(tmp_path)
    _add(
        folder,
        "years",
        [
            {"year": 2024, "label": "", "blend_lambda": "", "source": "test"},
            {"year": 2025, "label": "", "blend_lambda": 0.6, "source": "test"},
        ],
    )
    import yaml

    meta = yaml.safe_load((folder / "instance.yaml").read_text())
    meta.setdefault("options", {})["reference"] = {"ingroeipad_eur_per_inhabitant": 10, "blend_lambda": 0.3}
    (folder / "instance.yaml").write_text(yaml.safe_dump(meta))
    g = pd.read_csv(folder / "populations.csv")
    _add(
        folder,
        "historical",
        [
            {"gemeente": r.gemeente, "population": r.population, "domain": "jeugd", "historical_eur": 20, "source": "test"}
            for r in g.itertuples()
        ],
    )
    inst = load_instance(folder)
    first, second = year_instance(inst, 2024), year_instance(inst, 2025)
    assert first.meta.options.reference.ingroeipad_eur_per_inhabitant == 10 and first.meta.options.reference.blend_lambda == 0.3
    assert second.meta.options.reference.ingroeipad_eur_per_inhabitant == 20  # two years of the cap
    assert second.meta.options.reference.blend_lambda == pytest.approx(0.6)  # the year's step
    assert inst.meta.options.reference.blend_lambda == 0.3  # the instance itself is untouched


# --------------------------------------------------------------------------- contract sums over years


def _sums_instance(tmp_path, statutory: bool) -> Path:
    folder = build(tmp_path / ("stat" if statutory else "free"), [("A", "R", 1000, 100, 1000)], [("zorg", 1.0)], {("A", "zorg"): 10})
    lots = pd.read_csv(folder / "lots.csv")
    lots["statutory"] = "true" if statutory else "false"
    lots.to_csv(folder / "lots.csv", index=False)
    _add(folder, "years", [{"year": 2024, "label": "", "source": "test"}, {"year": 2025, "label": "", "source": "test"}])
    _add(
        folder,
        "budgets_by_year",
        [{"gemeente": "A", "domain": "jeugd", "year": 2025, "budget_eur": 1000, "own_funds_eur": 0, "source": "test"}],
    )
    _add(
        folder,
        "contract_sums",
        [{"lot": "zorg", "region": "R", "gemeente": "", "first_year": 2024, "last_year": 2025, "ceiling_eur": 15, "source": "test"}],
    )
    return folder


def test_a_contract_sum_over_two_years_by_hand(tmp_path):
    # need 10 a year, a contract sum of 15 over 2024-2025. Non-statutory: 15 is funded, 5 waits,
    # split 2.5 / 2.5 by equal treatment (u^2 / need, the same need each year). Statutory: all 20
    # is provided, 5 above the sum is a plafondoverschrijding.
    p = plan(load_instance(_sums_instance(tmp_path, statutory=False)))
    assert p.optimal
    amounts = [yp.result.allocation["amount_eur"].sum() for yp in p.plans]
    unmet = [yp.result.allocation["unmet_eur"].sum() for yp in p.plans]
    assert sum(amounts) == pytest.approx(15, abs=1e-6) and unmet == pytest.approx([2.5, 2.5], abs=0.01)
    cs = p.contract_sums.iloc[0]
    assert cs["used_eur"] == pytest.approx(15) and cs["plafondoverschrijding_eur"] == 0
    s = plan(load_instance(_sums_instance(tmp_path, statutory=True)))
    assert [yp.result.allocation["amount_eur"].sum() for yp in s.plans] == pytest.approx([10, 10])
    assert s.contract_sums.iloc[0]["plafondoverschrijding_eur"] == pytest.approx(5)
    # without the sum the years are independent: every year funds its need
    folder = _sums_instance(tmp_path / "none", statutory=False)
    (folder / "contract_sums.csv").unlink()
    free = plan(load_instance(folder))
    assert [yp.result.allocation["amount_eur"].sum() for yp in free.plans] == pytest.approx([10, 10])


@pytest.mark.usefixtures("english")
def test_a_contract_sum_must_name_an_area_and_years_of_the_horizon(tmp_path):
    from verdeelmodel.errors import InstanceError

    folder = _sums_instance(tmp_path, statutory=False)
    _add(
        folder,
        "contract_sums",
        [{"lot": "zorg", "region": "R", "gemeente": "A", "first_year": 2024, "last_year": 2027, "ceiling_eur": 15, "source": "test"}],
    )
    with pytest.raises(InstanceError) as e:
        load_instance(folder)
    assert "contract_sums" in str(e.value) and "one of them" in str(e.value) and "2024-2027" in str(e.value)


def test_the_years_solved_block_by_block_equal_one_model(monkeypatch):
    """The joint model of the years is solved per independent block (issue 15), as one year is:
    the stage objectives of every year equal those of one HiGHS model."""
    from helpers import INSTANCES

    from verdeelmodel.models import horizon as Hz

    inst = load_instance(INSTANCES / "nl-synthetic")
    blocks = Hz.plan(inst, 2)
    monkeypatch.setattr(Hz, "PLAN_BLOCKS", False)
    one = Hz.plan(inst, 2)
    assert [y.year for y in blocks.plans] == [y.year for y in one.plans] and len(one.plans) == 2
    for a, b in zip(blocks.plans, one.plans):
        assert a.result.status == b.result.status == "optimal"
        for stage, v in b.result.objective.items():
            assert a.result.objective[stage] == pytest.approx(v, rel=1e-8, abs=0.05), (a.year, stage)
