"""Fairness of a pooling agreement (models/fairness.py, `verdeelmodel fairness`): a 3-gemeente
game by hand, properties over random pools, sampled Shapley against exact, the separation MIP
against enumeration, and the command line."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import INSTANCES, pooled_tables, run_main, write_instance

from verdeelmodel.instance.validate import load_instance
from verdeelmodel.models import fairness as F
from verdeelmodel.models.reserves import var_cvar

# --------------------------------------------------------------------------- by hand

# Five equally likely scenarios of the pooled cost of gemeenten A, B and C; alpha = 0.6, so the
# tail is the worst (1 - 0.6) x 5 = 2 scenarios and CVaR is their mean.
X_HAND = np.array(
    [
        [10.0, 0.0, 5.0],
        [0.0, 10.0, 5.0],
        [0.0, 0.0, 0.0],
        [10.0, 10.0, 0.0],
        [5.0, 0.0, 10.0],
    ]
)
ALPHA = 0.6


def test_three_gemeenten_by_hand():
    # v: A {10,0,0,10,5} -> 10; B {0,10,0,10,0} -> 10; C {5,5,0,0,10} -> 7.5;
    # AB {10,10,0,20,5} -> 15; AC {15,5,0,10,15} -> 15; BC {5,15,0,10,10} -> 12.5;
    # ABC {15,15,0,20,15} -> 20 and one of the three 15s: 17.5
    v = F.all_values(X_HAND, ALPHA)
    assert v.tolist() == pytest.approx([0, 10, 10, 15, 7.5, 15, 12.5, 17.5])  # bitmask order: A=1, B=2, C=4
    # the tail of ABC: scenario 4 (20) weight 1/2, the rest shared by the three ties at 15
    assert F.tail_weights(X_HAND.sum(1), ALPHA).tolist() == pytest.approx([1 / 6, 1 / 6, 0, 1 / 2, 1 / 6])
    # rule: solidarity by key shares 0.5 / 0.3 / 0.2 of the pooled cost in every scenario
    g = F.play(X_HAND, X_HAND.sum(1, keepdims=True) * np.array([0.5, 0.3, 0.2]), ALPHA, ["A", "B", "C"])
    assert g.value_all == pytest.approx(17.5)
    assert g.stand_alone.tolist() == pytest.approx([10, 10, 7.5])
    # Euler: A 10/2 + (10 + 0 + 5)/6 = 7.5; B 10/2 + 10/6 = 6.667; C (5 + 5 + 10)/6 = 3.333
    assert g.euler.tolist() == pytest.approx([7.5, 6 + 2 / 3, 3 + 1 / 3])
    # Shapley: A = 10/3 + (15-10)/6 + (15-7.5)/6 + (17.5-12.5)/3 = 7.0833
    #          B = 10/3 + (15-10)/6 + (12.5-7.5)/6 + (17.5-15)/3 = 5.8333
    #          C = 7.5/3 + (15-10)/6 + (12.5-10)/6 + (17.5-15)/3 = 4.5833
    assert g.shapley.tolist() == pytest.approx([7 + 1 / 12, 5 + 5 / 6, 4 + 7 / 12])
    # nucleolus: excesses pair up (e(C) = x_C - 7.5, e(AB) = 2.5 - x_C; e(A) = x_A - 10,
    # e(BC) = x_A - ... = 5 - x_A; e(B) = x_B - 10, e(AC) = 2.5 - x_B). Balancing each pair needs
    # 5 + 7.5 + 6.25 = 18.75 > 17.5; the 1.25 comes off x_B (its pair has room to -2.5):
    # x = (7.5, 5, 5), largest excess -2.5, reached by A, C, AB, AC and BC: unique
    assert g.nucleolus.tolist() == pytest.approx([7.5, 5, 5], abs=1e-7)
    # the rule's split: 0.5 / 0.3 / 0.2 of 17.5 = 8.75, 5.25, 3.5: in the core
    assert g.rule_split.tolist() == pytest.approx([8.75, 5.25, 3.5])
    assert g.core.in_core and g.core.max_excess == pytest.approx(-1.0)  # AB: 14 - 15; A: 8.75 - 10 = -1.25


def test_three_gemeenten_a_split_outside_the_core():
    # shares 0.2 / 0.2 / 0.6: x = (3.5, 3.5, 10.5); C alone needs 7.5 and pays 10.5 (excess 3),
    # B and C together need 12.5 and pay 14 (excess 1.5): C blocks most
    split = X_HAND.sum(1, keepdims=True) * np.array([0.2, 0.2, 0.6])
    g = F.play(X_HAND, split, ALPHA, ["A", "B", "C"])
    assert not g.core.in_core
    assert [(m, round(p, 6), round(a, 6)) for m, p, a in g.core.blocking] == [((2,), 10.5, 7.5), ((1, 2), 14.0, 12.5)]
    mip = F.core_check_mip(g.rule_split, X_HAND, ALPHA)
    assert mip.blocking[0][0] == (2,) and mip.max_excess == pytest.approx(3.0)
    # the Euler split is in the core: the MIP proves it (no coalition above the tolerance)
    euler = F.play(X_HAND, split, ALPHA, ["A", "B", "C"]).euler
    assert F.core_check_mip(euler, X_HAND, ALPHA).in_core


# --------------------------------------------------------------------------- properties


def _coalition_values(X: np.ndarray, alpha: float) -> dict[tuple[int, ...], float]:
    """v by enumeration, with var_cvar (independent of all_values)."""
    n = X.shape[1]
    out = {}
    for k in range(1, n + 1):
        for C in itertools.combinations(range(n), k):
            out[C] = float(var_cvar(X[:, list(C)].sum(1), alpha)[1])
    return out


@pytest.mark.parametrize("case", range(12))
def test_properties_over_random_pools(case):
    rng = np.random.default_rng(100 + case)
    n = int(rng.integers(2, 11))
    S = int(rng.integers(200, 600))
    alpha = float(rng.choice([0.8, 0.9, 0.95]))
    X = rng.gamma(rng.uniform(0.5, 3, n), rng.uniform(10, 100, n), size=(S, n))
    X[:, 0] += rng.normal(0, 20, S).clip(-10, None) + 10  # an odd one
    share = rng.dirichlet(np.ones(n))
    w_own = float(rng.uniform(0, 1))
    charge = w_own * X + (1 - w_own) * X.sum(1, keepdims=True) * share  # a mixed rule
    g = F.play(X, charge, alpha, [f"g{i}" for i in range(n)])
    vN = g.value_all
    for name in ("shapley", "euler", "rule_split"):
        assert getattr(g, name).sum() == pytest.approx(vN, rel=1e-9), name
    if g.nucleolus is not None:
        assert g.nucleolus.sum() == pytest.approx(vN, rel=1e-7)
    assert np.all(g.euler <= g.stand_alone + 1e-9)  # subadditivity of CVaR
    vals = _coalition_values(X, alpha)
    # the verdict is what the coalition inequalities say, checked here one by one
    worst = max(g.rule_split[list(C)].sum() - v for C, v in vals.items() if len(C) < n)
    assert g.core.in_core == (worst <= F.BLOCK_TOLERANCE_EUR)
    assert g.core.max_excess == pytest.approx(worst, abs=1e-7)
    # Euler and the nucleolus are in the core (CVaR is coherent: the core is not empty)
    for alloc in (g.euler, g.nucleolus):
        assert all(alloc[list(C)].sum() <= v + 1e-6 for C, v in vals.items()), case
    if n <= 8:  # the separation MIP gives the same verdict, and the same largest excess when it blocks
        mip = F.core_check_mip(g.rule_split, X, alpha)
        assert mip.in_core == g.core.in_core
        if mip.in_core:
            assert mip.max_excess <= worst + 1e-7  # the largest excess the local search found
        else:
            assert mip.max_excess == pytest.approx(worst, abs=1e-5)


def test_sampled_shapley_matches_exact_within_its_standard_error():
    rng = np.random.default_rng(7)
    X = rng.gamma(1.5, 40, size=(3000, 9)) * rng.uniform(0.5, 3, 9)
    exact = F.shapley_exact(F.all_values(X, 0.9), 9)
    phi, se = F.shapley_sampled(X, 0.9, 600, seed=3)
    assert phi.sum() == pytest.approx(exact.sum(), rel=1e-9)  # every order adds up to v(N)
    z = np.abs(phi - exact) / se
    assert z.max() < 4.5 and np.median(z) < 1.5, z
    again, _ = F.shapley_sampled(X, 0.9, 600, seed=3)
    assert np.array_equal(phi, again)


def test_a_large_region_uses_sampling_and_the_mip():
    rng = np.random.default_rng(11)
    n = F.SHAPLEY_EXACT_MAX + 2
    X = rng.gamma(2, 30, size=(1500, n))
    share = np.full(n, 1 / n)
    share[0], share[1] = share[0] * 4, share[1] * 0.2  # gemeente 0 pays far too much
    share /= share.sum()
    g = F.play(X, X.sum(1, keepdims=True) * share, 0.9, [f"g{i}" for i in range(n)], permutations=200)
    assert "sampled" in g.shapley_method and np.all(g.shapley_se > 0)
    assert g.shapley.sum() == pytest.approx(g.value_all, rel=1e-9)
    assert g.nucleolus is None and "MIP" in g.core.method
    assert not g.core.in_core and 0 in g.core.blocking[0][0]


# --------------------------------------------------------------------------- instances and the CLI


def test_westfriesland_agreed_split_adds_up_and_is_checked():
    from verdeelmodel.workflows import fairness

    fr = fairness(load_instance(INSTANCES / "westfriesland-2021"), scenarios=2000, seed=5)
    assert {pg.pool for pg in fr.games} == {"jeugd_c_verblijf", "wmo_c_hoogcomplex"}
    for pg in fr.games:
        g = pg.game
        assert len(g.members) == 7
        assert g.rule_split.sum() == pytest.approx(g.value_all, rel=1e-9)  # the charges add up to the pooled cost
        assert g.shapley.sum() == pytest.approx(g.value_all, rel=1e-9)
        assert g.value_all < g.stand_alone.sum()  # pooling lowers what the region needs
    frames = fr.to_frames()
    assert len(frames["fairness"]) == 14
    # one region asked for: the same games (it is the only region)
    again = fairness(load_instance(INSTANCES / "westfriesland-2021"), scenarios=2000, seed=5, regions=["Westfriesland"])
    assert again.to_frames()["fairness"].equals(frames["fairness"])
    assert set(frames["coalitions"]["rule_set"]) <= {"agreed"}


def test_cli_fairness_writes_tables_plot_and_same_bytes(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        rc, stdout, err = run_main(
            ["fairness", str(inst), "--scenarios", "2000", "--rule", "mix", "--seed", "4", "--out", str(out)], capsys
        )
        assert rc == 0, err
        outs.append(out)
    assert "in de kern" in stdout or "NIET in de kern" in stdout
    for f in ("fairness.csv", "coalitions.csv", "summary.json", "manifest.json", "fairness.png"):
        assert (outs[0] / f).exists(), f
    assert (outs[0] / "fairness.csv").read_bytes() == (outs[1] / "fairness.csv").read_bytes()
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert {g["rule_set"] for g in summary["games"]} == {"agreed", "mix"}
    assert all(g["value_all_eur"] <= g["stand_alone_total_eur"] + 0.01 for g in summary["games"])


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--confidence", "1.2"], "--confidence"),
        (["--scenarios", "10"], "--scenarios"),
        (["--rule", "nonexistent"], "nonexistent"),
        (["--pool", "nopool"], "nopool"),
        (["--permutations", "1"], "--permutations"),
        (["--region", "Elsewhere"], "--region"),
    ],
)
def test_cli_fairness_bad_arguments_exit_2(tmp_path, capsys, args, needle):
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    rc, _, err = run_main(["fairness", str(inst), "--no-plots", "--out", str(tmp_path / "out"), *args], capsys)
    assert rc == 2, err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("english")
def test_cli_fairness_without_pools_says_so(make, tmp_path, capsys):
    rc, _, err = run_main(["fairness", str(make()), "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "no pools.csv" in err


def test_blocking_excess_standard_error_matches_its_spread():
    # the same game drawn 25 times: the spread of one group's excess against its reported se
    n, S, alpha = 5, 4000, 0.9
    scale = np.array([1.0, 1.5, 2.0, 0.7, 3.0])
    share = np.array([0.4, 0.1, 0.1, 0.3, 0.1])  # 0 and 3 pay far more than their risk: they block
    excess, ses = [], []
    for seed in range(25):
        rng = np.random.default_rng(500 + seed)
        X = rng.gamma(2.0, 50.0, size=(S, n)) * scale
        charge = X.sum(1, keepdims=True) * share
        w = F.tail_weights(X.sum(1), alpha)
        C = (0, 3)
        excess.append(float(w @ charge[:, list(C)].sum(1)) - float(var_cvar(X[:, list(C)].sum(1), alpha)[1]))
        ses.append(F.excess_se(charge, X, alpha, C))
    ratio = np.std(excess, ddof=1) / np.mean(ses)
    assert 1 / 1.8 < ratio < 1.8, ratio


def test_games_in_worker_processes_give_the_same_results(monkeypatch):
    rng = np.random.default_rng(21)
    work = []
    for n in (3, 5, 6):
        X = rng.gamma(2.0, 40.0, size=(800, n))
        work.append((X, X.sum(1, keepdims=True) * rng.dirichlet(np.ones(n)), 0.9, [f"g{i}" for i in range(n)], 1, 50))
    serial = F.play_all(work, executor=1)
    monkeypatch.setattr("verdeelmodel.executors.PROCESSES_PAY_ABOVE_SECONDS", 0.0)
    parallel = F.play_all(work, executor=2)
    for a, b in zip(serial, parallel):
        for name in ("stand_alone", "rule_split", "euler", "shapley", "nucleolus"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert a.core.blocking == b.core.blocking


def test_core_weight_interval_by_mip_matches_enumeration(monkeypatch):
    # 17 members: above the exhaustive limit the interval comes from bisection with the MIP;
    # with the limit raised the same data is enumerated (2^17 coalitions on 200 scenarios)
    rng = np.random.default_rng(8)
    n, S, alpha = 17, 200, 0.9
    X = rng.gamma(2.0, 40.0, size=(S, n)) * rng.uniform(0.5, 2.0, n)
    w = F.tail_weights(X.sum(1), alpha)
    share = rng.dirichlet(np.full(n, 0.7))
    x0 = w @ (X.sum(1, keepdims=True) * share)  # solidarity by shares: outside the core here
    x1 = w @ X  # profijt: the Euler split, in the core
    lo, hi, how = F.core_weight_interval(x0, x1, X, alpha)
    assert "MIP" in how and 0 < lo <= hi == 1.0
    monkeypatch.setattr(F, "CORE_EXHAUSTIVE_MAX", 17)
    lo_e, hi_e, how_e = F.core_weight_interval(x0, x1, X, alpha)
    assert how_e == "exhaustive" and hi_e == pytest.approx(1.0)
    assert lo == pytest.approx(lo_e, abs=1e-6)  # cuts end on the same group's bound


def test_nucleolus_when_tight_coalitions_are_dependent():
    # a 13-gemeente game from nl-synthetic (candidate rules, 2,000 scenarios) on which the
    # sequential LPs once fixed tight coalitions that were linear combinations of fixed ones: the
    # next LP was infeasible by rounding alone. Now only rows that add a dimension are fixed.
    from verdeelmodel.models.fairness import nucleolus
    from verdeelmodel.solvers.highs import solve_lp

    data = np.load(Path(__file__).parent / "data" / "nucleolus_dependent_tight_rows.npy")
    n, v = int(data[0]), data[1:]
    x = nucleolus(v, n)
    assert x.sum() == pytest.approx(v[-1], rel=1e-9)
    masks = np.arange(1, (1 << n) - 1)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(float)
    excess = bits @ x - v[masks]
    # the least core: the smallest largest excess any efficient split can have
    A = np.vstack([np.c_[bits, -np.ones(len(masks))], np.r_[np.ones(n), 0.0]])
    lo = np.r_[np.full(len(masks), -np.inf), v[-1]]
    hi = np.r_[v[masks], v[-1]]
    status, sol, _ = solve_lp(np.r_[np.zeros(n), 1.0], np.full(n + 1, -np.inf), np.full(n + 1, np.inf), A, lo, hi)
    assert status == "optimal" and excess.max() == pytest.approx(sol[n], abs=1e-6 * abs(v[-1]))
