"""What people read: Dutch number formats, every result column described, the results workbook."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import INSTANCES, run_main

from verdeelmodel import fmt


@pytest.mark.parametrize(
    "value, nl, en",
    [
        (1234567.4, "€\xa01.234.567", "€1,234,567"),
        (-1234.6, "€\xa0-1.235", "-€1,235"),
        (-0.3, "€\xa00", "€0"),  # no -0
        (0, "€\xa00", "€0"),
        (float("nan"), "–", "–"),
    ],
)
def test_euros(value, nl, en):
    assert fmt.eur(value) == nl and fmt.eur(value, lang="en") == en


def test_percentages_millions_and_numbers():
    assert fmt.pct(0.125) == "12,5%" and fmt.pct(0.125, lang="en") == "12.5%"
    assert fmt.pct(-0.00001) == "0,0%" and fmt.pct(0.5, 0) == "50%" and fmt.pct(None) == "–"
    assert fmt.mln(3_456_789) == "€\xa03,5\xa0mln" and fmt.mln(-20_000) == "€\xa00,0\xa0mln" and fmt.mln(3.5e6, lang="en") == "€3.5m"
    assert fmt.num(1234567.891, 2) == "1.234.567,89" and fmt.num(-0.001, 2) == "0,00"
    with fmt.using("en"):
        assert fmt.eur(1000) == "€1,000"
    assert fmt.language() == "nl"


def _all_results():
    """Every result table the commands write, for the two bundled regions (small runs)."""
    import verdeelmodel as vm
    from verdeelmodel.workflows import close, contract, fairness, plan, pool, reserves, sweep

    for name in ("nijmegen-2018", "westfriesland-2021"):
        inst = vm.load_instance(INSTANCES / name)
        yield inst, vm.solve(inst)
        yield inst, pool(inst)
        yield inst, reserves(inst, scenarios=200, seed=1)
        yield inst, fairness(inst, scenarios=200, seed=1)
        yield inst, contract(inst, scenarios=200, seed=1)
        yield inst, plan(inst, paths=200, seed=1)
        yield inst, sweep(inst, [{"demand:jeugd": 1.0}])
    nij = vm.load_instance(INSTANCES / "nijmegen-2018")
    yield nij, close(nij, INSTANCES / "nijmegen-2018" / "examples" / "realised-2018.csv")
    wf = vm.load_instance(INSTANCES / "westfriesland-2021")
    yield wf, reserves(wf, scenarios=200, seed=1, plan="need", optimise_key=("mixed_eigen_inwoners", 0.2, 0.8))


@pytest.fixture(scope="module")
def results():
    return list(_all_results())


def test_every_result_column_is_described(results):
    from verdeelmodel.columns import UNITS, describe

    missing = set()
    for _inst, res in results:
        for table, df in res.to_frames().items():
            for col in df.columns:
                c = describe(table, col)
                if c is None or not c.description or c.unit not in UNITS:
                    missing.add(f"{table}.{col}")
    assert not missing, f"columns without a Dutch header, unit and description: {sorted(missing)}"


def test_csv_for_a_dutch_excel(tmp_path, capsys):
    rc, _, err = run_main(["pool", str(INSTANCES / "westfriesland-2021"), "--csv-dialect", "nl", "--out", str(tmp_path / "nl")], capsys)
    assert rc == 0, err
    rc, _, err = run_main(["pool", str(INSTANCES / "westfriesland-2021"), "--out", str(tmp_path / "m")], capsys)
    assert rc == 0, err
    raw = (tmp_path / "nl" / "settlement.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # UTF-8 with BOM, as Excel expects
    nl = pd.read_csv(tmp_path / "nl" / "settlement.csv", sep=";", decimal=",", encoding="utf-8-sig")
    machine = pd.read_csv(tmp_path / "m" / "settlement.csv")
    assert list(nl.columns) == list(machine.columns)  # the names stay the stable ones
    pd.testing.assert_frame_equal(nl, machine, check_exact=False, rtol=1e-12)


def test_results_workbook(tmp_path, capsys):
    from openpyxl import load_workbook

    from verdeelmodel.columns import describe

    out = tmp_path / "o"
    rc, _, err = run_main(["solve", str(INSTANCES / "nijmegen-2018"), "--xlsx", "--quiet", "--out", str(out)], capsys)
    assert rc == 0, err
    wb = load_workbook(out / "resultaten.xlsx")
    assert wb.sheetnames[-2:] == ["Toelichting", "Herkomst"] and "Budgetten" in wb.sheetnames
    ws = wb["Budgetten"]
    heads = [c.value for c in ws[1]]
    assert heads[:3] == ["Gemeente", "Domein", "Budget"] and "Budget per inwoner" in heads and "Tekort" in heads
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    csv = pd.read_csv(out / "budgets.csv")
    col = heads.index("Budget")
    assert ws.cell(2, col + 1).number_format.startswith('"€" #,##0')
    got = [ws.cell(r, col + 1).value for r in range(2, ws.max_row + 1)]
    assert got == pytest.approx(csv["budget_eur"].tolist(), abs=0.005)  # the workbook's numbers are the CSV's
    inh = pd.read_csv(INSTANCES / "nijmegen-2018" / "gemeenten.csv").set_index("gemeente")["inhabitants"]
    per = [ws.cell(r, heads.index("Budget per inwoner") + 1).value for r in range(2, ws.max_row + 1)]
    assert per == pytest.approx((csv["budget_eur"] / csv["gemeente"].map(inh)).round(2).tolist(), abs=0.006)
    # the Toelichting describes every column of every sheet, with its unit
    t = wb["Toelichting"]
    rows = [[c.value for c in r] for r in t.iter_rows(min_row=4)]
    described = {(r[0], r[1]) for r in rows if r[4]}
    for name in wb.sheetnames[:-2]:
        for h in [c.value for c in wb[name][1]]:
            assert (name, h) in described, (name, h)
    assert describe("budgets", "tekort_eur").description in {r[4] for r in rows}
    # booleans are ja/nee, no cell is a formula
    alloc = wb["Toewijzing"]
    wet = [c.value for c in alloc[1]].index("Wettelijk") + 1
    assert {alloc.cell(r, wet).value for r in range(2, alloc.max_row + 1)} <= {"ja", "nee"}
    h = wb["Herkomst"]
    assert any(r[0].value == "Invoer (SHA-256)" and len(r[1].value) == 64 for r in h.iter_rows(min_row=3))


def test_workbook_text_is_never_a_formula(tmp_path):
    from openpyxl import load_workbook

    from verdeelmodel.workbook import write_results_workbook

    df = pd.DataFrame({"gemeente": ["=SUM(A1:A9)", "+31", "@x", "-1+1"], "budget_eur": [1.0, np.nan, math.inf, 2.5]})
    write_results_workbook({"budgets": df}, tmp_path / "w.xlsx", title="t")
    ws = load_workbook(tmp_path / "w.xlsx")["Budgetten"]
    cells = [ws.cell(r, 1) for r in range(2, 6)]
    assert [c.value for c in cells] == ["=SUM(A1:A9)", "+31", "@x", "-1+1"] and all(c.data_type == "s" for c in cells)
    assert ws.cell(3, 2).value is None and ws.cell(4, 2).value is None  # a missing figure is an empty cell


def test_several_confidence_levels_in_one_option(tmp_path, capsys):
    out = tmp_path / "r"
    rc, _, err = run_main(
        [
            "reserves",
            str(INSTANCES / "westfriesland-2021"),
            "--scenarios",
            "300",
            "--confidence",
            "0.9",
            "0.95",
            "--no-plots",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert rc == 0, err
    assert sorted(set(pd.read_csv(out / "reserves.csv")["confidence"])) == [0.9, 0.95]


def test_the_solve_console_in_english_on_request(tmp_path, capsys):
    rc, out, err = run_main(["--lang", "en", "solve", str(INSTANCES / "nijmegen-2018"), "--out", str(tmp_path / "o")], capsys)
    assert rc == 0, err
    assert "nijmegen-2018: optimal" in out and "€" in out and "Running HiGHS" not in out


@pytest.mark.parametrize(
    "typed, unit, value, ambiguous",
    [
        ("4500000", "eur", 4500000, False),
        ("0.2", None, 0.2, False),
        ("1e6", "eur", 1e6, False),
        ("4.500.000", "eur", 4500000, False),
        ("€ 4.600.000", "eur", 4600000, False),
        ("€\xa04.600.000,50", "eur", 4600000.5, False),
        ("0,2", None, 0.2, False),
        ("12,50", "eur", 12.5, False),
        ("-1.250", "eur", -1250, True),  # thousands in a euro column, said
        ("80.000", "eur", 80000, True),
        ("80.000", None, 80.0, True),  # a share or ratio: the decimal point, said
        ("80.000", "inhabitants", 80000, True),  # a count of people: thousands, said
        ("0.200", None, 0.2, False),
        ("1,500", "eur", 1.5, True),  # the Dutch decimal comma, said
        ("4,500,000", "eur", 4500000, True),  # English thousands, said
        ("4,500,000.50", "eur", 4500000.5, True),
    ],
)
def test_dutch_typed_numbers_are_read(typed, unit, value, ambiguous):
    from verdeelmodel.instance.numbers import read_number

    norm, note, problem = read_number(typed, unit)
    assert problem is None and float(norm) == pytest.approx(value)
    assert (note is not None) == ambiguous, note


@pytest.mark.parametrize("typed", ["4.50.0", "1,2,3", "4.5,00.0", "1.234,5,6", "12,34.5"])
def test_numbers_no_notation_fits_are_rejected(typed):
    from verdeelmodel.instance.numbers import read_number

    _norm, _note, problem = read_number(typed, "eur")
    assert problem and "fits no notation" in problem


def test_a_dutch_typed_instance_loads_and_says_what_it_read(make, tmp_path, capsys):
    import csv as _csv

    folder = make()
    rows = list(_csv.DictReader((folder / "budgets.csv").open(encoding="utf-8")))
    want = float(rows[0]["budget_eur"])
    rows[0]["budget_eur"] = f"{int(want):,}".replace(",", ".") if want >= 1000 else f"{want:g}".replace(".", ",")
    rows[0]["own_funds_eur"] = "12.000"  # thousands or twelve: said
    with (folder / "budgets.csv").open("w", encoding="utf-8", newline="") as fh:
        w = _csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    from verdeelmodel import load_instance

    inst = load_instance(folder)
    assert inst.budgets["budget_eur"].iloc[0] == pytest.approx(want) and inst.budgets["own_funds_eur"].iloc[0] == 12000
    assert len(inst.readings) == 1 and "'12.000' gelezen als 12.000 (Nederlandse duizendtallen)" in inst.readings[0]
    rc, _out, err = run_main(["validate", str(folder)], capsys)
    assert rc == 0 and "let op: 1 getal" in err and "own_funds_eur" in err


def test_the_input_workbook_is_dressed_for_a_controller(tmp_path, capsys):
    from openpyxl import load_workbook

    xlsx = tmp_path / "wf.xlsx"
    rc, _, err = run_main(["convert", str(INSTANCES / "westfriesland-2021"), str(xlsx)], capsys)
    assert rc == 0, err
    wb = load_workbook(xlsx)
    lots = wb["lots"]
    head = {c.value: c for c in lots[1]}
    assert "description" not in head and head["echelon"].comment is not None and "een van:" in head["echelon"].comment.text
    assert "verplicht" in head["lot"].comment.text
    lists = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1 for dv in lots.data_validations.dataValidation}
    col = {name: cell.column_letter for name, cell in head.items()}
    assert "nulde_lijn" in lists[col["echelon"]] and lists[col["statutory"]] == '"true,false"'
    assert lots.freeze_panes == "A2"
    bud = wb["budgets"]
    bcol = {c.value: c.column_letter for c in bud[1]}
    assert bud[f"{bcol['budget_eur']}2"].number_format == "#,##0.##"
    # what the controller sees is still what the model reads
    rc, _, err = run_main(["validate", str(xlsx)], capsys)
    assert rc == 0, err


def test_template_writes_an_empty_instance_to_fill_in(tmp_path, capsys):
    from openpyxl import load_workbook

    from verdeelmodel.instance.schema import TABLES

    target = tmp_path / "leeg.xlsx"
    rc, out, err = run_main(["template", str(target)], capsys)
    assert rc == 0, err
    wb = load_workbook(target)
    assert wb.sheetnames == ["instance"] + [t.name for t in TABLES]
    assert [c.value for c in wb["gemeenten"][1]] == list(TABLES[1].row.model_fields)
    rc, _, err = run_main(["validate", str(target)], capsys)
    assert rc == 2 and "minstens één rij in tabel 'gemeenten'" in err  # it says what is still missing
    rc, _, err = run_main(["template", str(target)], capsys)
    assert rc == 2 and "overschrijft geen werkboek" in err


def test_the_workbook_is_the_same_byte_for_byte(tmp_path, capsys):
    import time

    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        rc, _, err = run_main(["solve", str(INSTANCES / "westfriesland-2021"), "--xlsx", "--quiet", "--out", str(out)], capsys)
        assert rc == 0, err
        outs.append((out / "resultaten.xlsx").read_bytes())
        time.sleep(1.1)  # a timestamp in the file would differ
    assert outs[0] == outs[1]


def test_number_messages_name_the_columns_real_unit():
    from verdeelmodel.instance.schema import TABLE_BY_NAME
    from verdeelmodel.instance.validate import number_phrase

    def phrase(table, col):
        return number_phrase(TABLE_BY_NAME[table].row.model_fields[col])

    assert phrase("budgets", "budget_eur").startswith("an amount in euros")
    assert phrase("substitutions", "max_share").startswith("a share between 0 and 1")
    assert phrase("gemeenten", "inhabitants") == "a whole number"
    assert phrase("need", "volume").startswith("a number")


@pytest.mark.parametrize("lang, words", [("nl", ("sleutelgewicht van", "in de kern")), ("en", ("key weight of", "in the core"))])
def test_the_key_weight_reaches_the_console_in_either_language(tmp_path, capsys, lang, words):
    argv = ["--lang", lang, "reserves", str(INSTANCES / "westfriesland-2021"), "--scenarios", "300", "--no-plots", "--plan", "need"]
    rc, out, err = run_main([*argv, "--optimise-key", "mixed_eigen_inwoners=0.2:0.8", "--out", str(tmp_path / lang)], capsys)
    assert rc == 0, err
    assert all(w in out for w in words) and "nan" not in out.lower()


def test_the_workbook_in_english_on_request(tmp_path, capsys):
    from openpyxl import load_workbook

    out = tmp_path / "en"
    rc, _, err = run_main(["--lang", "en", "solve", str(INSTANCES / "nijmegen-2018"), "--xlsx", "--quiet", "--out", str(out)], capsys)
    assert rc == 0, err
    wb = load_workbook(out / "resultaten.xlsx")
    assert "budgets" in wb.sheetnames and wb.sheetnames[-2:] == ["Columns", "Provenance"]
    assert [c.value for c in wb["budgets"][1]][:3] == ["gemeente", "domain", "budget_eur"]
    assert any(r[0].value == "Inputs (SHA-256)" for r in wb["Provenance"].iter_rows(min_row=3))


def test_no_allocation_is_said_in_dutch_with_the_explanation(make, tmp_path, capsys):
    def impossible(t):  # a guaranteed minimum of 1000 on a gemeente budget of 100
        t["ceilings"] = [{"lot": "spec", "region": "R", "gemeente": "", "ceiling_eur": "", "minimum_eur": 1000, "source": "test"}]

    rc, out, err = run_main(["reserves", str(make(impossible)), "--scenarios", "200", "--out", str(tmp_path / "o")], capsys)
    assert rc == 3, out + err
    assert "geen toewijzing mogelijk" in out and "Geen verdeling voldoet aan alle regels" in out
