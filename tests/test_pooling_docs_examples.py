"""docs/pooling.md's worked examples are what models/pooling.py computes.

The page's example region (section 2) is rebuilt here as an instance from the page's own
``pooling_rules.csv`` and ``pools.csv`` blocks; every table marked
``<!-- example: rule=... costs=... [gemeenten=...] -->`` is recomputed with the engine's
settlement (per-client costs, as ``verdeelmodel pool --costs`` reads them) and compared cell by
cell, totals included. Changing a rule in the engine without updating the page fails here.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, write_instance

from verdeelmodel import load_instance, solve
from verdeelmodel.instance.problems import InstanceError
from verdeelmodel.models.pooling import KINDS, check_pooling, linear_charge, pool_setups, rules_of, settle

DOC = ROOT / "docs" / "pooling.md"
TEXT = DOC.read_text(encoding="utf-8")

# The example region of section 2 (the page's tables state the same numbers).
INHABITANTS = {"A": 10_000, "B": 30_000, "C": 60_000}
IU = {"A": 2_000_000, "B": 5_000_000, "C": 13_000_000}
EXPECTED_CLIENTS = {"A": 1, "B": 1, "C": 4}  # need.csv, tariff EUR 100,000
HISTORY = {"A": (0, 1, 2), "B": (2, 2, 2), "C": (7, 8, 6)}  # clients 2021, 2022, 2023
TARIFF = 100_000
COSTS = {  # cost per client in 2024
    "base": {"A": [60_000, 90_000, 150_000], "B": [100_000, 100_000], "C": [40_000, 60_000, 80_000, 120_000, 200_000]},
    "zero_use": {"A": [300_000], "B": [], "C": [700_000]},
    "zero_total": {"A": [], "B": [], "C": []},
    "at_minimum": {"A": [300_000], "B": [200_000], "C": [700_000]},
}
META = {"name": "pooling-docs", "year": 2024, "domains": {"jeugd": "Jeugdhulp"}}


def _csv_block(tag: str) -> list[dict]:
    m = re.search(rf"<!-- example-csv: {tag} -->\s*```csv\n(.*?)```", TEXT, re.S)
    assert m, f"docs/pooling.md has no csv block tagged {tag}"
    return pd.read_csv(io.StringIO(m.group(1)), dtype=str, keep_default_na=False).to_dict("records")


def _tables(gemeenten: list[str], tariff: float = TARIFF, pools: list[dict] | None = None, history: dict | None = None) -> dict:
    history = HISTORY if history is None else history
    return {
        "sources": [
            {"source": "example", "kind": "assumption", "description": "worked example of docs/pooling.md", "reference": "docs/pooling.md"}
        ],
        "gemeenten": [{"gemeente": g, "inhabitants": INHABITANTS[g], "source": "example"} for g in gemeenten],
        "budgets": [
            {"gemeente": g, "domain": "jeugd", "region": "R", "budget_eur": IU[g], "own_funds_eur": 0, "source": "example"}
            for g in gemeenten
        ],
        "populations": [
            {"gemeente": g, "population": "jeugd", "kind": "target_group", "inhabitants": INHABITANTS[g] // 5, "source": "example"}
            for g in gemeenten
        ],
        "lots": [
            {
                "lot": "jeugdzorg_plus",
                "label": "Jeugdzorg Plus",
                "domain": "jeugd",
                "echelon": "hoogspecialistisch",
                "funding_form": "inspanning",
                "scope": "regional",
                "tariff_eur": tariff,
                "unit": "client_year",
                "priority_weight": 3,
                "statutory": "true",
                "source": "example",
            }
        ],
        "need": [
            {"gemeente": g, "population": "jeugd", "lot": "jeugdzorg_plus", "volume": EXPECTED_CLIENTS[g], "source": "example"}
            for g in gemeenten
        ],
        "pooling_rules": _csv_block("pooling_rules"),
        "pools": pools if pools is not None else _csv_block("pools"),
        "use_history": [
            {
                "gemeente": g,
                "lot": "jeugdzorg_plus",
                "year": 2021 + i,
                "clients": history[g][i],
                "cost_eur": history[g][i] * TARIFF,
                "source": "example",
            }
            for g in gemeenten
            for i in range(3)
        ],
    }


def _instance(tmp_path, gemeenten: list[str], **kw):
    name = "region_" + "".join(gemeenten) + "_" + "_".join(f"{k}" for k in sorted(kw))
    return load_instance(write_instance(tmp_path / name, _tables(gemeenten, **kw), META))


def _costs(case: str, gemeenten: list[str]) -> pd.DataFrame:
    rows = []
    for g in gemeenten:
        clients = COSTS[case][g]
        if not clients:
            rows.append({"gemeente": g, "lot": "jeugdzorg_plus", "clients": 0, "cost_eur": 0.0})
        rows += [{"gemeente": g, "lot": "jeugdzorg_plus", "clients": 1, "cost_eur": float(c)} for c in clients]
    return pd.DataFrame(rows)


def _number(cell: str) -> float:
    return float(cell.replace(",", "").replace("−", "-").strip())


def _examples() -> list[tuple[dict, list[str], list[list[str]]]]:
    """(attributes, header, rows) of every table tagged ``<!-- example: ... -->``."""
    out = []
    lines = TEXT.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s*<!-- example: (.*?) -->", line)
        if not m:
            continue
        attrs = dict(kv.split("=", 1) for kv in m.group(1).split())
        j = i + 1
        while not lines[j].strip():
            j += 1
        table = []
        while j < len(lines) and lines[j].strip().startswith("|"):
            table.append([c.strip() for c in lines[j].strip().strip("|").split("|")])
            j += 1
        assert len(table) >= 3, f"example at line {i + 1} is not followed by a table"
        out.append((attrs, table[0], table[2:]))
    return out


EXAMPLES = _examples()
COLUMNS = {
    "charge": "charge_eur",
    "profijt": "profijt_eur",
    "transfer": "transfer_eur",
    "payout": "payout_eur",
    "contribution": "contribution_eur",
}


def test_the_page_has_worked_examples_for_every_kind():
    rules = {r["rule"]: r["kind"] for r in _csv_block("pooling_rules")}
    rules["profijt"] = "profijt"
    shown = {rules[a["rule"]] for a, _, _ in EXAMPLES}
    assert shown == set(KINDS)


@pytest.mark.parametrize(
    "attrs,header,rows", EXAMPLES, ids=[f"{a['rule']}-{a['costs']}-{a.get('gemeenten', 'ABC')}" for a, _, _ in EXAMPLES]
)
def test_worked_example_matches_engine(tmp_path, attrs, header, rows):
    gemeenten = list(attrs.get("gemeenten", "ABC"))
    inst = _instance(tmp_path, gemeenten)
    cost = _costs(attrs["costs"], gemeenten)
    st = settle(inst, cost, [attrs["rule"]], per_client=cost)
    st = st[(st["rule_set"] == "candidate") & (st["rule"] == attrs["rule"])].set_index("gemeente")
    assert header[0] == "gemeente" and set(header[1:]) <= set(COLUMNS), header
    body = [r for r in rows if r[0] != "total"]
    assert [r[0] for r in body] == gemeenten
    for r in rows:
        for col, cell in zip(header[1:], r[1:]):
            engine = st[COLUMNS[col]].sum() if r[0] == "total" else st.loc[r[0], COLUMNS[col]]
            assert _number(cell) == pytest.approx(float(engine), abs=0.5), f"{attrs}: {r[0]} {col}"
    # what the region pays for the pool = the sum of the charges
    assert st["charge_eur"].sum() == pytest.approx(float(st["region_pooled_eur"].iloc[0]), abs=0.05)


def test_setup_tables_state_the_example_data():
    sec = TEXT[TEXT.index("## 2. The example region") : TEXT.index("## 3. The rules")]
    for g in "ABC":
        row = next(line for line in sec.splitlines() if line.startswith(f"| {g} | {INHABITANTS[g]:,} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert _number(cells[3]) == IU[g]
        assert _number(cells[5]) == EXPECTED_CLIENTS[g] and _number(cells[6]) == EXPECTED_CLIENTS[g] * TARIFF
        assert [_number(c) for c in cells[8].split(";")] == COSTS["base"][g]
        assert _number(cells[9]) == sum(COSTS["base"][g])
        hist = next(line for line in sec.splitlines() if line.startswith(f"| {g} | {HISTORY[g][0]} |"))
        assert [_number(c) for c in hist.strip("|").split("|")[1:4]] == list(HISTORY[g])


def test_high_cost_pool_in_a_plan_uses_the_tariff(tmp_path):
    """Section 3.7: in a plan every client costs the tariff: e = max(0, 1 - H / tariff)."""
    rule = rules_of(_instance(tmp_path, list("ABC")))["hoge_kosten_pool"]
    (at_h,) = pool_setups(_instance(tmp_path, list("ABC")))
    assert linear_charge(rule, at_h.ctx).shared == pytest.approx([0.0])  # tariff 100,000 = H: empty pool
    (above,) = pool_setups(_instance(tmp_path, list("ABC"), tariff=125_000))
    lc = linear_charge(rule, above.ctx)
    assert lc.shared == pytest.approx([0.16]) and lc.own == pytest.approx([0.84])


def test_plan_example_charges_in_the_budget_rows(tmp_path):
    """Section 6: solidariteit by inhabitants agreed, all need funded: charges 60k / 180k / 360k."""
    inst = _instance(tmp_path, list("ABC"))
    assert inst.pools["rule"].tolist() == ["solidariteit_inwoners"]
    res = solve(inst)
    assert res.status == "optimal"
    p = res.pooling.set_index("gemeente")
    assert p.loc[["A", "B", "C"], "charge_eur"].tolist() == pytest.approx([60_000, 180_000, 360_000], abs=0.01)
    assert p.loc[["A", "B", "C"], "profijt_eur"].tolist() == pytest.approx([100_000, 100_000, 400_000], abs=0.01)
    b = res.budgets.set_index("gemeente")
    assert b.loc[["A", "B", "C"], "allocated_eur"].tolist() == pytest.approx([60_000, 180_000, 360_000], abs=0.01)


def test_surcharge_is_settlement_only(tmp_path):
    """Section 6: onderbenutting with gap_basis surcharge cannot be the agreed rule of a plan."""
    pools = [{"region": "R", "pool": "jzp", "lots": "jeugdzorg_plus", "rule": "onderbenutting_opslag", "source": "example"}]
    inst = _instance(tmp_path, list("ABC"), pools=pools)
    with pytest.raises(InstanceError, match="verdeelmodel pool"):
        solve(inst)
    cost = _costs("base", list("ABC"))
    st = settle(inst, cost)  # ... but it settles
    agreed = st[st["rule_set"] == "agreed"].set_index("gemeente")["charge_eur"]
    assert agreed.loc[["A", "B", "C"]].tolist() == pytest.approx([360_000, 240_000, 600_000])


@pytest.mark.usefixtures("english")
def test_zero_key_and_missing_history_are_reported(tmp_path):
    """Sections 3.2 / 3.3: a key adding up to zero, or a missing history year, stops with a message."""
    zero = {g: (0, 0, 0) for g in "ABC"}
    inst = _instance(tmp_path, list("ABC"), history=zero)
    with pytest.raises(InstanceError, match="zero in region"):
        check_pooling(inst, ["uitgesteld_3jr"])
    check_pooling(inst, ["solidariteit_inwoners"])  # other keys still work
    t = _tables(list("ABC"))
    t["use_history"] = [r for r in t["use_history"] if r["year"] != 2022]
    inst = load_instance(write_instance(tmp_path / "gap", t, META))
    with pytest.raises(InstanceError, match="2021, 2022, 2023"):
        check_pooling(inst, ["uitgesteld_3jr"])
    check_pooling(inst, ["uitgesteld_1jr"])  # 2023 alone is there


def test_transfers_add_up_to_what_the_region_pays_on_top_of_use(tmp_path):
    """Section 1: transfers add up to 0, except fixed_eur (F) and onderbenutting (the gap)."""
    inst = _instance(tmp_path, list("ABC"))
    names = [r["rule"] for r in _csv_block("pooling_rules")]
    cost = _costs("base", list("ABC"))
    st = settle(inst, cost, names, per_client=cost)
    st = st[st["rule_set"] == "candidate"]
    extra = {
        "vast_variabel_eur": 200_000,
        "onderbenutting_inwoners": 200_000,
        "onderbenutting_budget": 200_000,
        "onderbenutting_opslag": 200_000,
    }
    for name, grp in st.groupby("rule"):
        assert grp["transfer_eur"].sum() == pytest.approx(extra.get(name, 0.0), abs=0.05), name
        assert np.isclose(grp["charge_eur"].sum(), grp["region_pooled_eur"].iloc[0], atol=0.05), name
