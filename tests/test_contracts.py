"""Risk-aware contracting (models/contracts.py): the choice of funding form by hand."""

from __future__ import annotations

import numpy as np
import pytest

from verdeelmodel.models.contracts import Option, choose

# One gemeente, one lot, three equally likely years: 8, 10 and 10 clients costing 10, 10 and 12
# each (an intensity drift in the third): inspanning pays 80, 100, 120. alpha = 2/3: the tail is
# the worst year, so the reserve is the worst year minus the mean.
INSPANNING = np.array([[80.0], [100.0], [120.0]])
OUTPUT = np.array([[8 * 10.3], [10 * 10.3], [10 * 10.3]])  # price per client 10 x 1.03: the provider takes the intensity
TAAK = np.full((3, 1), 108.0)  # lump sum 100 x 1.08: the provider takes the volume
ALPHA = 2 / 3


def _options(lump=108.0, floor=0.9):
    return [
        Option("x", "A", "inspanning", [0], INSPANNING, 100.0),
        Option("x", "A", "output", [0], OUTPUT, 100.0),
        Option("x", "A", "taak", [0], np.full((3, 1), lump), 100.0, viable=lump >= floor * 100.0),
    ]


@pytest.mark.parametrize(
    "kappa, form, objective",
    [
        # E + kappa R: inspanning 100 + 20 kappa, output 96.13 + 6.87 kappa, taak 108
        (0.0, "output", (82.4 + 103 + 103) / 3),
        (0.5, "output", (82.4 + 103 + 103) / 3 + 0.5 * (103 - (82.4 + 103 + 103) / 3)),
        (2.0, "taak", 108.0),
    ],
)
def test_the_form_by_hand(kappa, form, objective):
    c = choose(_options(), np.zeros((3, 1)), ALPHA, kappa=kappa)
    assert c.status == "optimal" and [o.form for o in c.chosen] == [form]
    assert c.objective == pytest.approx(objective, abs=1e-6)
    row = c.table.iloc[0]
    assert row["premium_paid_eur"] == pytest.approx(row["expected_pay_eur"] - 100.0)


def test_a_reserve_limit_and_the_viability_floor():
    # a reserve limit of 5: output (6.87) is out, taak (0) is the cheapest left; 10: output again
    assert [o.form for o in choose(_options(), np.zeros((3, 1)), ALPHA, limit=np.array([5.0])).chosen] == ["taak"]
    assert [o.form for o in choose(_options(), np.zeros((3, 1)), ALPHA, limit=np.array([10.0])).chosen] == ["output"]
    # a lump sum of 80 is below the floor (0.9 x 100): never chosen, however cheap it looks
    assert [o.form for o in choose(_options(lump=80.0), np.zeros((3, 1)), ALPHA, kappa=2.0).chosen] == ["output"]
    c = choose(_options(), np.zeros((3, 1)), ALPHA, kappa=0.0)
    assert c.reserve[0] == pytest.approx(103 - (82.4 + 103 + 103) / 3)


def test_other_costs_add_to_the_payment_and_to_the_risk():
    # another lot whose cost moves with this one (80, 100, 120 too): inspanning doubles the swing
    other = INSPANNING.copy()
    c = choose(_options(), other, ALPHA, kappa=0.5)
    # E + 0.5 R: inspanning 200 + 0.5 x 40 = 220; output 196.13 + 0.5 (223 - 196.13) = 209.57; taak 208 + 0.5 x 20 = 218
    assert [o.form for o in c.chosen] == ["output"]
    assert c.objective == pytest.approx(196.1333333 + 0.5 * (223 - 196.1333333), abs=1e-5)


def _instance(tmp_path):
    import csv

    from helpers import build

    folder = build(
        tmp_path / "c",
        [("A", "R", 1000, 0, 5000), ("B", "R", 2000, 0, 5000)],
        [("x", 10.0), ("y", 1.0)],
        {("A", "x"): 100, ("B", "x"): 200, ("A", "y"): 50, ("B", "y"): 80},
        [
            {
                "lot": "x",
                "distribution": "negbin",
                "dispersion": 5,
                "units_per_client": 10,
                "shock_sd": 0.15,
                "shock_scope": "region",
                "intensity_sd": 0.1,
            }
        ],
    )
    rows = [
        {"lot": "x", "region": "R", "gemeente": "", "form": "inspanning", "premium": 0, "source": "test"},
        {"lot": "x", "region": "R", "gemeente": "", "form": "output", "premium": 0.02, "source": "test"},
        {"lot": "x", "region": "R", "gemeente": "", "form": "taak", "premium": 0.06, "source": "test"},
    ]
    with (folder / "contract_options.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return folder


def test_the_frontier_is_monotone_and_the_cli_writes_it(tmp_path, capsys):
    import pandas as pd
    from helpers import run_main

    from verdeelmodel import load_instance
    from verdeelmodel.workflows import contract

    folder = _instance(tmp_path)
    cr = contract(load_instance(folder), scenarios=600, seed=3)
    f = cr.frontier.dropna(subset=["cost_of_capital"]).sort_values("cost_of_capital")
    # more risk aversion never buys a higher reserve, and never a lower expected payment
    assert (f["reserve_eur"].diff().dropna() <= 1e-6).all() and (f["expected_pay_eur"].diff().dropna() >= -1e-6).all()
    assert f["forms"].iloc[0].endswith("inspanning") and f["forms"].iloc[-1].endswith("taak")  # cheap first, safe at the end
    today = cr.frontier[cr.frontier["forms"].str.startswith("today")].iloc[0]
    assert today["forms"] == "today: x@R=inspanning"  # nothing marked current: inspanning
    assert today["reserve_eur"] == pytest.approx(f["reserve_eur"].iloc[0])
    rc, stdout, err = run_main(["contract", str(folder), "--scenarios", "600", "--seed", "3", "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    got = pd.read_csv(tmp_path / "o" / "contracts.csv")
    assert len(got) == 1 and got["form"].iloc[0] in ("inspanning", "output", "taak")
    assert (tmp_path / "o" / "frontier.csv").exists() and "contractvormen" in stdout
    fg = pd.read_csv(tmp_path / "o" / "frontier_gemeenten.csv")  # each frontier point per gemeente, adding up to the region's
    per_point = fg.groupby("cost_of_capital")[["expected_pay_eur", "reserve_eur"]].sum()
    for r in f.itertuples():
        assert per_point.loc[r.cost_of_capital, "reserve_eur"] == pytest.approx(r.reserve_eur, abs=0.05)
        assert per_point.loc[r.cost_of_capital, "expected_pay_eur"] == pytest.approx(r.expected_pay_eur, abs=0.05)
    png = (tmp_path / "o" / "frontier.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    # out of sample: the same forms on fresh scenarios, each figure with its standard error
    oos = pd.read_csv(tmp_path / "o" / "out_of_sample.csv")
    assert list(oos["scenarios"]) == ["in sample", "out of sample"]
    ins, out = oos.iloc[0], oos.iloc[1]
    assert out["expected_pay_se_eur"] > 0 and abs(ins["expected_pay_eur"] - out["expected_pay_eur"]) < 5 * out["expected_pay_se_eur"] * 2


def test_a_risk_corridor_by_hand():
    from verdeelmodel.models.contracts import corridor_pay

    # expected 100, band 10%, the gemeente bears half beyond it, premium 2%: 80 -> 102 - 5 = 97,
    # 100 -> 102, 120 -> 107; E 102, reserve (worst - mean) 5
    pay = corridor_pay(np.array([80.0, 100.0, 120.0]), 100.0, 0.1, 0.5, 0.02)
    assert pay.tolist() == pytest.approx([97.0, 102.0, 107.0])
    options = [
        Option("x", "A", "inspanning", [0], INSPANNING, 100.0),
        Option("x", "A", "corridor", [0], pay[:, None], 100.0),
        Option("x", "A", "taak", [0], TAAK, 100.0),
    ]
    # kappa 0.5: inspanning 100 + 10 = 110, corridor 102 + 2.5 = 104.5, taak 108 -> the corridor
    c = choose(options, np.zeros((3, 1)), ALPHA, kappa=0.5)
    assert [o.form for o in c.chosen] == ["corridor"] and c.objective == pytest.approx(104.5)
    # kappa 2: the corridor costs 112, the lump sum 108 -> taak
    assert [o.form for o in choose(options, np.zeros((3, 1)), ALPHA, kappa=2.0).chosen] == ["taak"]


def test_todays_forms_reproduce_the_reserves_charge_risk():
    # with today's forms (nijmegen: inspanning) the contract model's payments are the reserves'
    # charges on the same scenarios, so each gemeente's risk (CVaR 90% of the payment minus its
    # mean) is the reserves' CVaR of the overspend minus its mean
    from helpers import INSTANCES

    from verdeelmodel import load_instance, solve
    from verdeelmodel.models.contracts import instance_problems, per_gemeente, today
    from verdeelmodel.models.reserves import run_reserves, var_cvar
    from verdeelmodel.workflows import planned_cost

    inst = load_instance(INSTANCES / "nijmegen-2018")
    res = solve(inst)
    planned = planned_cost(inst, res)
    problems = instance_problems(inst, planned, 400, seed=9, substitutions=res.substitutions)
    run = run_reserves(inst, planned, 400, seed=9, substitutions=res.substitutions)
    O = run.overspend["agreed"]
    _v, cvar = var_cvar(O, 0.9)
    spread = dict(zip(run.gemeenten, np.asarray(cvar) - O.mean(axis=0)))
    for pr in problems:
        mine = per_gemeente(today(pr.options), pr, 0.9).set_index("gemeente")["reserve_eur"]
        for g, v in mine.items():
            assert v == pytest.approx(spread[g], rel=1e-9, abs=1e-4), g


@pytest.mark.usefixtures("english")
def test_cli_contract_without_options_or_with_bad_arguments_exits_2(make, tmp_path, capsys):
    from helpers import run_main

    rc, _, err = run_main(["contract", str(make()), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "no contract_options.csv" in err and not (tmp_path / "o").exists()
    folder = _instance(tmp_path)
    rc, _, err = run_main(["contract", str(folder), "--risk-aversion", "-1", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "--risk-aversion" in err
    rc, _, err = run_main(["reserves", str(folder), "--joint", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "withdrawn" in err and "contract" in err


@pytest.mark.parametrize("seed", range(12))
def test_the_decomposition_finds_the_extensive_forms_optimum(seed):
    # random regions: 2-4 gemeenten, 2-5 lots each under 3 forms (one a lump sum that may be
    # below its floor), correlated payments; both solvers, a cost of capital or a reserve limit
    from verdeelmodel.models.contracts import Chooser, solve_extensive

    rng = np.random.default_rng(seed)
    S, G = 60, int(rng.integers(2, 5))
    shock = rng.lognormal(0.0, 0.2, S)
    options = []
    for lot in range(int(rng.integers(2, 6))):
        members = sorted(rng.choice(G, size=int(rng.integers(1, G + 1)), replace=False).tolist())
        base = rng.uniform(50, 150, len(members))
        cost = base[None, :] * shock[:, None] * rng.lognormal(0.0, 0.15, (S, len(members)))
        mean = float(base.sum())
        options.append(Option(f"l{lot}", "R", "inspanning", members, cost, mean))
        options.append(Option(f"l{lot}", "R", "output", members, base[None, :] * shock[:, None] * 1.03, mean))
        lump = mean * rng.uniform(0.85, 1.12)
        options.append(Option(f"l{lot}", "R", "taak", members, np.tile(lump * base / mean, (S, 1)), mean, viable=lump >= 0.9 * mean))
    other = rng.uniform(100, 200, G)[None, :] * shock[:, None]
    kappa = float(rng.choice([0.0, 0.1, 0.5, 2.0]))
    ref = solve_extensive(options, other, 0.9, kappa)
    got = Chooser(options, other, 0.9, tol=1e-6).solve(kappa)
    assert got.status == ref.status == "optimal"
    assert got.objective == pytest.approx(ref.objective, rel=1e-6)
    assert all(o.viable for o in got.chosen)
    limit = np.full(G, float(np.median(ref.reserve)))
    ref = solve_extensive(options, other, 0.9, 0.0, limit)
    got = Chooser(options, other, 0.9, tol=1e-6).solve(0.0, limit)
    assert got.status == ref.status
    if ref.status == "optimal":
        assert got.objective == pytest.approx(ref.objective, rel=1e-6) and (got.reserve <= limit + 1e-4).all()


def _pooled_with_options(tmp_path, rule):
    from helpers import pooled_tables, write_instance

    t = pooled_tables(rule)
    t["demand"] = [{"lot": "verblijf", "distribution": "negbin", "dispersion": 2, "cost_cv": 0.8, "shock_sd": 0.2, "source": "test"}]
    t["contract_options"] = [
        {"lot": "verblijf", "region": "R", "form": f, "current": f == "inspanning", "premium": p, "source": "test"}
        for f, p in (("inspanning", 0), ("output", 0.03), ("taak", 0.07))
    ]
    return write_instance(tmp_path / rule, t)


@pytest.mark.parametrize("rule", ["solidair", "uitgesteld3", "mix", "vast", "vast_share"])
def test_options_on_a_pooled_lot_go_through_the_pool_and_add_up(tmp_path, rule):
    # the pool charges what the region pays under each form by its agreed rule: over the pool's
    # gemeenten the charges add up to the payment, scenario by scenario; today's form gives the
    # reserves' charges exactly (the rule's fixed part sits in the other payments)
    from verdeelmodel import load_instance, solve
    from verdeelmodel.models.contracts import instance_problems, per_gemeente, today
    from verdeelmodel.models.reserves import run_reserves, var_cvar
    from verdeelmodel.workflows import planned_cost

    inst = load_instance(_pooled_with_options(tmp_path, rule))
    res = solve(inst)
    planned = planned_cost(inst, res)
    (pr,) = instance_problems(inst, planned, 300, seed=4, substitutions=res.substitutions)
    assert pr.gemeenten == ["A", "B", "C"]
    forms = {o.form: o for o in pr.options}
    assert set(forms) == {"inspanning", "output", "taak"} and all(len(o.members) == 3 for o in pr.options)
    taak = forms["taak"]
    assert taak.pay.sum(axis=1) == pytest.approx(np.full(300, taak.price))  # the lump sum, shared by the rule
    if rule in ("solidair", "uitgesteld3"):  # a pure key: every gemeente pays a fixed share of every form's cost
        shares = forms["inspanning"].pay / forms["inspanning"].pay.sum(axis=1, keepdims=True)
        assert np.ptp(shares, axis=0) == pytest.approx(np.zeros(3), abs=1e-9)
    run = run_reserves(inst, planned, 300, seed=4, substitutions=res.substitutions)
    O = run.overspend["agreed"]
    _v, cvar = var_cvar(O, 0.9)
    spread = dict(zip(run.gemeenten, np.asarray(cvar) - O.mean(axis=0)))
    mine = per_gemeente(today(pr.options), pr, 0.9).set_index("gemeente")["reserve_eur"]
    for g, v in mine.items():
        assert v == pytest.approx(spread[g], rel=1e-9, abs=1e-6), g


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("rule, why", [("hoog", "per client above a threshold"), ("onder", "minimum"), ("fonds", "not linear")])
def test_options_on_a_lot_pooled_by_a_nonlinear_rule_are_refused_with_the_reason(tmp_path, capsys, rule, why):
    from helpers import run_main

    folder = _pooled_with_options(tmp_path, rule)
    rc, _, err = run_main(["contract", str(folder), "--scenarios", "200", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "lot verblijf is pooled in verblijf under rule" in err and why in err, err
    assert not (tmp_path / "o").exists()


def test_a_plafond_on_a_non_statutory_lot_by_hand():
    # the non-statutory lot costs 80, 100, 120; the plan funds 100. Open (inspanning): E 100,
    # reserve 20. Plafond at 100: pays 80, 100, 100: E 93.33, reserve 6.67, and 6.67 a year waits.
    # E + kappa R + w x waiting: open 100 + 20 kappa; plafond 93.33 + 6.67 kappa + 6.67 w
    waiting = 20 / 3

    def options(w):
        capped = np.array([[80.0], [100.0], [100.0]])
        return [
            Option("p", "A", "inspanning", [0], INSPANNING, 100.0),
            Option("p", "A", "plafond", [0], capped, 100.0, price=100.0, plafond=100.0, waiting_eur=waiting, waiting_weight=w),
        ]

    c = choose(options(1.0), np.zeros((3, 1)), ALPHA, kappa=0.5)  # 110 against 100 + 3.33
    assert [o.form for o in c.chosen] == ["plafond"] and c.objective == pytest.approx(280 / 3 + 0.5 * waiting + waiting)
    row = c.table.iloc[0]
    assert row["plafond_eur"] == 100.0 and row["expected_waiting_list_eur"] == pytest.approx(waiting)
    c = choose(options(2.0), np.zeros((3, 1)), ALPHA, kappa=0.2)  # 104 against 93.33 + 1.33 + 13.33 = 108
    assert [o.form for o in c.chosen] == ["inspanning"] and c.objective == pytest.approx(104.0)


def _plafond_instance(tmp_path, statutory: str):
    import csv

    import pandas as pd
    from helpers import build

    folder = build(
        tmp_path / f"p{statutory}",
        [("A", "R", 1000, 0, 5000), ("B", "R", 2000, 0, 5000)],
        [("wijk", 10.0)],
        {("A", "wijk"): 100, ("B", "wijk"): 200},
        [{"lot": "wijk", "distribution": "poisson", "units_per_client": 1, "shock_sd": 0.2, "shock_scope": "region"}],
    )
    lots = pd.read_csv(folder / "lots.csv", dtype=str, keep_default_na=False)
    lots["statutory"] = statutory
    lots.to_csv(folder / "lots.csv", index=False)
    rows = [
        {
            "lot": "wijk",
            "region": "R",
            "form": "inspanning",
            "variant": "",
            "plafond_share": "",
            "waiting_list_weight": "",
            "source": "test",
        },
        {
            "lot": "wijk",
            "region": "R",
            "form": "plafond",
            "variant": "",
            "plafond_share": "",
            "waiting_list_weight": "1.5",
            "source": "test",
        },
        {
            "lot": "wijk",
            "region": "R",
            "form": "plafond",
            "variant": "90%",
            "plafond_share": "0.9",
            "waiting_list_weight": "1.5",
            "source": "test",
        },
    ]
    with (folder / "contract_options.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return folder


def test_a_plafond_caps_the_area_at_an_equal_fill_rate_and_reports_the_waiting_list(tmp_path):
    from verdeelmodel import load_instance, solve
    from verdeelmodel.models.contracts import instance_problems
    from verdeelmodel.workflows import planned_cost

    inst = load_instance(_plafond_instance(tmp_path, "false"))
    res = solve(inst)
    planned = planned_cost(inst, res)
    (pr,) = instance_problems(inst, planned, 400, seed=2, substitutions=res.substitutions)
    open_, at_plan, at_90 = pr.options
    assert (open_.form, at_plan.form, at_90.form) == ("inspanning", "plafond", "plafond")
    plan = float(planned.sum())  # what the plan funds on the lot in the region (the need, 3,000)
    assert at_plan.plafond == pytest.approx(plan) and at_90.plafond == pytest.approx(0.9 * plan)
    total = open_.pay.sum(axis=1)
    for o in (at_plan, at_90):  # the area pays up to its plafond, every gemeente at the same fill rate
        assert o.pay.sum(axis=1) == pytest.approx(np.minimum(total, o.plafond))
        assert o.pay[:, 0] / open_.pay[:, 0] == pytest.approx(o.pay[:, 1] / open_.pay[:, 1])
        assert o.waiting_eur == pytest.approx(np.maximum(total - o.plafond, 0).mean()) and o.waiting_eur > 0
        assert o.harm == pytest.approx(1.5 * o.waiting_eur)
    assert at_90.waiting_eur > at_plan.waiting_eur
    assert [o.label for o in pr.options] == ["inspanning", "plafond", "plafond 90%"]  # variants tell the levels apart


@pytest.mark.usefixtures("english")
def test_a_plafond_on_statutory_care_is_refused(tmp_path, capsys):
    from helpers import run_main

    rc, _, err = run_main(["validate", str(_plafond_instance(tmp_path, "true"))], capsys)
    assert rc == 2 and "contract_options" in err and "plafond never limits statutory care" in err, err


def test_results_linked_withholding(tmp_path):
    # Alphen's terms: 95 % of the lump sum paid monthly, 5 % when the results are met. With the
    # results met in 80 % of the years the gemeente pays 7M x (0.95 + 0.05 x 0.8) = 6.93M on
    # average, and the provider's expected receipt is what the viability floor is judged on
    import csv

    from verdeelmodel import load_instance, solve
    from verdeelmodel.models.contracts import instance_problems
    from verdeelmodel.workflows import planned_cost

    folder = _instance(tmp_path)
    rows = [
        {
            "lot": "x",
            "region": "R",
            "form": "inspanning",
            "lump_sum_eur": "",
            "withheld_share": "",
            "results_probability": "",
            "source": "test",
        },
        {
            "lot": "x",
            "region": "R",
            "form": "taak",
            "lump_sum_eur": 3300,
            "withheld_share": 0.05,
            "results_probability": 0.8,
            "source": "test",
        },
    ]
    with (folder / "contract_options.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    inst = load_instance(folder)
    res = solve(inst)
    (pr,) = instance_problems(inst, planned_cost(inst, res), 4000, seed=5, substitutions=res.substitutions)
    taak = pr.options[1]
    total = taak.pay.sum(axis=1)
    assert set(np.round(total, 6)) == {3300 * 0.95, 3300.0}  # the withheld part is paid or not, per year
    assert (total == 3300).mean() == pytest.approx(0.8, abs=0.03)
    assert taak.price == pytest.approx(3300 * (0.95 + 0.05 * 0.8))
    assert taak.viable == (taak.price >= 0.9 * taak.expected_cost)
