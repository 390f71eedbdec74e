"""`verdeelmodel pool`: settlement statements on planned and realised costs, candidate rules,
and clear messages for what cannot be settled."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from helpers import pooled_tables, run_main, write_instance


def _write_costs(path, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["gemeente", "lot", "year", "clients", "cost_eur"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def test_planned_settlement_and_candidates(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    out = tmp_path / "out"
    rc, stdout, err = run_main(["pool", str(inst), "--rule", "mix", "--rule", "profijt", "--out", str(out)], capsys)
    assert rc == 0, err
    s = pd.read_csv(out / "settlement.csv")
    assert {
        "gemeente",
        "lot",
        "rule",
        "charge_eur",
        "profijt_eur",
        "transfer_eur",
        "charge_per_inhabitant_eur",
        "transfer_per_inhabitant_eur",
    } <= set(s.columns)
    # planned costs = need x tariff: A 50, B 10, C 25 (T = 85); inhabitants 1000 : 3000 : 6000
    agreed = s[s.rule_set == "agreed"].set_index("gemeente")
    assert agreed.loc["A", "charge_eur"] == pytest.approx(8.5) and agreed.loc["C", "charge_eur"] == pytest.approx(51.0)
    assert (s["transfer_eur"] - (s["charge_eur"] - s["profijt_eur"])).abs().max() < 1e-9
    for _, grp in s.groupby(["rule_set", "rule"]):
        assert grp["charge_eur"].sum() == pytest.approx(85.0)
    assert "afgesproken (solidair)" in stdout and "K1" in stdout and "eigen gebruik" in stdout and "€" in stdout
    assert (out / "comparison.csv").exists() and (out / "manifest.json").exists()
    png = (out / "settlement.png").read_bytes()  # who pays and who receives, per rule
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_realised_costs_with_per_client_rows_for_high_cost_pool(tmp_path, capsys):
    # H = 0.25 per client, q = 0.8. A: two clients of 3 and 1 -> excess 2.75 + 0.75 = 3.5 -> pool pays 2.8;
    # B: one client of 0.2 -> 0; C: one client of 2 -> 1.75 -> 1.4. Pool 4.2 by inhabitants 0.1/0.3/0.6:
    # A = 4 - 2.8 + 0.42 = 1.62; B = 0.2 + 1.26 = 1.46; C = 2 - 1.4 + 2.52 = 3.12; total 6.2
    inst = write_instance(tmp_path / "i", pooled_tables("hoog"))
    costs = _write_costs(
        tmp_path / "costs.csv",
        [
            {"gemeente": "A", "lot": "verblijf", "year": 2024, "clients": 1, "cost_eur": 3},
            {"gemeente": "A", "lot": "verblijf", "year": 2024, "clients": 1, "cost_eur": 1},
            {"gemeente": "B", "lot": "verblijf", "year": 2024, "clients": 1, "cost_eur": 0.2},
            {"gemeente": "C", "lot": "verblijf", "year": 2024, "clients": 1, "cost_eur": 2},
        ],
    )
    out = tmp_path / "out"
    rc, stdout, err = run_main(["pool", str(inst), "--costs", str(costs), "--out", str(out)], capsys)
    assert rc == 0, err
    s = pd.read_csv(out / "settlement.csv")
    agreed = s[s.rule_set == "agreed"].set_index("gemeente")
    assert agreed.loc["A", "charge_eur"] == pytest.approx(1.62)
    assert agreed.loc["B", "charge_eur"] == pytest.approx(1.46)
    assert agreed.loc["C", "charge_eur"] == pytest.approx(3.12)
    assert agreed["payout_eur"].sum() == pytest.approx(agreed["contribution_eur"].sum())
    assert "werkelijke kosten costs.csv, jaar 2024" in stdout


@pytest.mark.usefixtures("english")
def test_bad_costs_file_is_a_user_error(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    costs = _write_costs(
        tmp_path / "costs.csv",
        [
            {"gemeente": "Z", "lot": "verblijf", "year": 2024, "clients": 1, "cost_eur": 3},
            {"gemeente": "A", "lot": "verblijf", "year": 2024, "clients": 1, "cost_eur": "3,5,0"},
        ],
    )
    rc, _out, err = run_main(["pool", str(inst), "--costs", str(costs), "--out", str(tmp_path / "out")], capsys)
    assert rc == 2
    assert "costs.csv, row 2, column 'gemeente': value 'Z'" in err
    assert "costs.csv, row 3, column 'cost_eur': value '3,5,0'" in err and "fits no notation" in err  # '3,5' would be read
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.usefixtures("english")
def test_missing_history_years_for_uitgesteld_profijt(tmp_path, capsys):
    t = pooled_tables("uitgesteld3")
    t["use_history"] = [r for r in t["use_history"] if r["year"] != 2022]
    inst = write_instance(tmp_path / "i", t)
    rc, _out, err = run_main(["pool", str(inst)], capsys)
    assert rc == 2
    assert "use_history.csv" in err and "every year 2021, 2022, 2023" in err


@pytest.mark.usefixtures("english")
def test_unknown_candidate_rule_and_no_pools(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    rc, _out, err = run_main(["pool", str(inst), "--rule", "nonsense"], capsys)
    assert rc == 2 and "--rule: value 'nonsense'" in err
    t = pooled_tables("solidair")
    del t["pools"]
    rc, _out, err = run_main(["pool", str(write_instance(tmp_path / "j", t))], capsys)
    assert rc == 2 and "nothing is pooled" in err


@pytest.mark.usefixtures("english")
def test_pool_filter(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", pooled_tables("solidair"))
    out = tmp_path / "out"
    rc, _o, err = run_main(["pool", str(inst), "--pool", "verblijf", "--rule", "onder", "--out", str(out)], capsys)
    assert rc == 0, err
    assert set(pd.read_csv(out / "settlement.csv")["pool"]) == {"verblijf"}
    rc, _o, err = run_main(["pool", str(inst), "--pool", "nope"], capsys)
    assert rc == 2 and "--pool: value 'nope'" in err
