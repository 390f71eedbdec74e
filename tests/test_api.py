"""The public API: workflows return result objects with a short repr, tables by name, and one
writer for all of them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import INSTANCES, pooled_tables, write_instance

import verdeelmodel as vm


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    return vm.load_instance(write_instance(tmp_path_factory.mktemp("p") / "i", pooled_tables("solidair")))


def _short(obj) -> str:
    text = repr(obj)
    assert len(text) < 800 and "\n" not in text, text  # a summary, never a table dump
    html = obj._repr_html_()
    assert html.startswith("<div>") and "tables:" in html
    return text


def test_solve_result(pooled):
    res = vm.solve(pooled)
    text = _short(res)
    assert "optimal" in text and "allocation" in text
    frames = res.to_frames()
    assert list(frames) == ["allocation", "substitutions", "provider_budgets", "budgets", "constraints", "reference", "pooling"]
    assert all(isinstance(f, pd.DataFrame) for f in frames.values())
    assert res.totals["budget"] == pytest.approx(frames["budgets"]["budget_eur"].sum())


def test_pool_reserves_and_sweep_results(pooled):
    st = vm.pool(pooled, rules=["iu"])
    assert "settlement" in _short(st)
    assert set(st.settlement["rule_set"]) == {"agreed", "candidate"}
    # charges add up to what the region pays, per rule set
    for (_rs, _r), t in st.settlement.groupby(["rule_set", "rule"]):
        assert t["charge_eur"].sum() == pytest.approx(t["region_pooled_eur"].iloc[0], abs=0.05)

    rv = vm.reserves(pooled, scenarios=200, seed=1, rules=["iu"])
    assert "200 scenarios" in _short(rv)
    assert rv.rule_sets == ["profijt", "agreed", "iu"] and rv.overspend["agreed"].shape == (200, 3)
    assert list(rv.to_frames()) == ["reserves"]
    assert rv.allocation is not None and rv.allocation.optimal

    sw = vm.sweep(pooled, [{"demand:*": m} for m in (0.9, 1.1)])
    assert "2 points" in _short(sw)
    assert list(sw.table["demand:*"]) == [0.9, 1.1]


def test_reserves_on_an_impossible_plan_raise_no_allocation(tmp_path):
    t = pooled_tables("solidair")
    t["ceilings"] = [{"lot": "basis", "gemeente": "A", "minimum_eur": 1000, "source": "test"}]
    inst = vm.load_instance(write_instance(tmp_path / "i", t))
    with pytest.raises(vm.NoAllocation) as e:
        vm.reserves(inst, scenarios=50)
    assert e.value.result.status == "infeasible" and e.value.result.explanation
    with pytest.raises(vm.UsageError):
        vm.reserves(inst, scenarios=5)


def test_one_writer_removes_what_an_earlier_run_left(tmp_path, pooled):
    out = tmp_path / "out"
    rv = vm.reserves(pooled, scenarios=100, seed=3)
    files = vm.write_all(rv, out, {"command": "test"}, inst=pooled, plots=False)
    assert "reserves.csv" in files and (out / "reserves.csv").exists()
    res = vm.solve(pooled)
    files = vm.write_all(res, out, {"command": "test"})
    assert not (out / "reserves.csv").exists(), "a reserves table beside a new solve would mislead"
    assert sorted(p.name for p in out.iterdir() if p.name != ".verdeelmodel") == files  # and the marker: ours to replace
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["totals_eur"]["budget"] == pytest.approx(res.totals["budget"], abs=0.01)


@pytest.mark.slow  # fresh processes
def test_the_package_imports_lazily():
    import subprocess
    import sys

    code = "import sys, verdeelmodel; print(sorted(m for m in ('pandas', 'pyomo', 'highspy', 'scipy', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    code = "import sys, verdeelmodel as vm; vm.solve(vm.load_instance(sys.argv[1])); print('scipy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code, str(INSTANCES / "nijmegen-2018")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out.splitlines()[-1] == "False"  # scipy is not on the solve path
