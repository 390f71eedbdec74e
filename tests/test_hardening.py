"""Hardening: files that are safe to open, input that is data, every bad input a clear exit 2.
Each test is named after the promise it protects."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import openpyxl
import pytest
import yaml
from helpers import INSTANCES, base_tables, run_main, write_instance

from verdeelmodel import fmt
from verdeelmodel.instance.io import write_folder
from verdeelmodel.instance.problems import InstanceError, Problem
from verdeelmodel.instance.validate import load_instance
from verdeelmodel.reports import FORMULA_START, formula_safe

pytestmark = pytest.mark.usefixtures("english")


# --------------------------------------------------------------------------- formula injection

#: names an attacker (or a careless paste) gives: each starts like a spreadsheet formula
HOSTILE = ['=HYPERLINK("http://x","{}")', "+{}", "-{}", "@SUM({})", "\t{}"]


def _hostile_westfriesland(tmp_path: Path) -> Path:
    """Westfriesland with every gemeente, pooling rule and lot label named like a formula."""
    inst = load_instance(INSTANCES / "westfriesland-2021")
    gem = sorted(inst.gemeenten["gemeente"])
    rename = {g: HOSTILE[i % len(HOSTILE)].format(g) for i, g in enumerate(gem)}
    for df in inst.tables.values():
        if "gemeente" in df.columns and len(df):
            df["gemeente"] = df["gemeente"].map(lambda v: rename.get(v, v))
    rules = inst.tables["pooling_rules"]
    rule_names = {r: f"={r}" for r in rules["rule"] if r != "profijt"}
    for name in ("pooling_rules", "pools"):
        df = inst.tables[name]
        if "rule" in df.columns:
            df["rule"] = df["rule"].map(lambda v: rule_names.get(v, v))
    inst.tables["lots"]["label"] = "@" + inst.tables["lots"]["label"]
    out = tmp_path / "hostile"
    write_folder(inst, out)
    load_instance(out)  # still a valid instance: names are data
    return out


def _cells_of(path: Path):
    """(file, where, text) of every text cell a spreadsheet would show."""
    if path.suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        for r, row in enumerate(csv.reader(io.StringIO(text), delimiter=sep), start=1):
            for c, cell in enumerate(row, start=1):
                yield path.name, f"row {r} col {c}", cell
    elif path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        yield path.name, f"{ws.title}!{cell.coordinate}", "=<live formula>"
        wb.close()


def _realised_costs(src: Path, tmp_path: Path) -> Path:
    """What the hostile gemeenten really spent on one lot in the instance year (for `close`)."""
    inst = load_instance(src)
    lot = inst.need["lot"].iloc[0]
    path = tmp_path / "realised.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["gemeente", "lot", "year", "clients", "cost_eur"])
        for g in sorted(set(inst.need.loc[inst.need["lot"] == lot, "gemeente"])):
            w.writerow([g, lot, inst.meta.year, 10, 12345.0])
    return path


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
        return True
    except ValueError:
        return False


@pytest.mark.slow
def test_no_output_file_of_any_command_holds_a_live_formula(tmp_path, capsys):
    src = _hostile_westfriesland(tmp_path)
    runs = {
        "solve": ["solve", str(src), "--xlsx"],
        "solve-nl": ["solve", str(src), "--csv-dialect", "nl"],
        "pool": ["pool", str(src), "--xlsx"],
        "reserves": ["reserves", str(src), "--scenarios", "200", "--xlsx", "--no-plots"],
        "fairness": ["fairness", str(src), "--scenarios", "200", "--xlsx", "--no-plots"],
        "plan": ["plan", str(src), "--xlsx"],
        "contract": ["contract", str(src), "--scenarios", "200", "--xlsx", "--no-plots"],
        "sweep": ["sweep", str(src), "--param", "demand:*=1,1.1", "--xlsx"],
        "report": ["report", str(src), "--scenarios", "100", "--no-pdf", "--quiet", "--no-fairness"],
        "close": ["close", str(src), "--costs", str(_realised_costs(src, tmp_path)), "--xlsx", "--next", str(tmp_path / "next")],
    }
    checked = 0
    for name, argv in runs.items():
        out = tmp_path / f"out-{name}"
        rc, _, err = run_main([*argv, "--out", str(out)], capsys)
        assert rc == 0, f"{name}: {err}"
        for f in sorted(out.iterdir()):
            for file, where, text in _cells_of(f):
                checked += 1
                assert not (text.startswith(FORMULA_START) and not _is_number(text)), f"{name}: {file} {where}: {text!r}"
    workbook = tmp_path / "hostile.xlsx"
    rc, _, err = run_main(["convert", str(src), str(workbook)], capsys)
    assert rc == 0, err
    assert list(_cells_of(workbook)) == []  # strings stay strings
    back = load_instance(workbook)  # and read back as the same names
    assert set(back.gemeenten["gemeente"]) == set(load_instance(src).gemeenten["gemeente"])
    assert checked > 10_000


def test_formula_safe_follows_the_owasp_guidance():
    assert formula_safe("=1+1") == "'=1+1"
    assert formula_safe("+31 6") == "'+31 6"
    assert formula_safe("-x") == "'-x"
    assert formula_safe("@SUM(A1)") == "'@SUM(A1)"
    assert formula_safe("\tx") == "'\tx"
    assert formula_safe("Hoorn") == "Hoorn"
    assert formula_safe(-5.0) == -5.0  # numbers are numbers


# --------------------------------------------------------------------------- YAML is data


def _yaml_instance(tmp_path: Path, extra: str) -> Path:
    folder = write_instance(tmp_path / "y", base_tables())
    meta = (folder / "instance.yaml").read_text(encoding="utf-8")
    (folder / "instance.yaml").write_text(meta + extra, encoding="utf-8")
    return folder


BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


@pytest.mark.parametrize("where", ["unknown_key", "description", "families"])
def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path, capsys, where):
    if where == "unknown_key":
        extra = "bomb:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())
    elif where == "families":
        extra = "options:\n  families:\n" + "".join("    " + line + "\n" for line in BOMB.splitlines())
    else:
        extra = "\n".join(["extra_description: &d " + "[" + ",".join(["x"] * 9) + "]", "more: [*d, *d]"]) + "\n"
    folder = _yaml_instance(tmp_path, extra)
    t0 = time.perf_counter()
    rc, _, err = run_main(["validate", str(folder)], capsys)
    assert time.perf_counter() - t0 < 1.0
    assert rc == 2 and "anchor or alias" in err and len(err) < 2000


def test_a_key_twice_in_instance_yaml_is_refused_not_last_wins(tmp_path, capsys):
    folder = _yaml_instance(tmp_path, "year: 2025\n")
    rc, _, err = run_main(["validate", str(folder)], capsys)
    assert rc == 2 and "the key 'year' twice" in err


# --------------------------------------------------------------------------- workbooks


def test_a_formula_without_a_saved_result_is_named_not_read_as_blank(tmp_path, capsys):
    folder = write_instance(tmp_path / "i", base_tables())
    wbpath = tmp_path / "w.xlsx"
    assert run_main(["convert", str(folder), str(wbpath)], capsys)[0] == 0
    wb = openpyxl.load_workbook(wbpath)
    ws = wb["budgets"]
    header = [c.value for c in ws[1]]
    ws.cell(2, header.index("own_funds_eur") + 1).value = "=500000*2"  # openpyxl stores no result
    ws.cell(2, header.index("budget_eur") + 1).value = "=SUM(1,2)"  # in a required cell too
    wb.save(tmp_path / "w2.xlsx")
    rc, _, err = run_main(["validate", str(tmp_path / "w2.xlsx")], capsys)
    assert rc == 2
    assert "w2.xlsx[budgets], row 2, column 'own_funds_eur': value '=500000*2' -- expected a value, not a formula" in err
    assert "column 'budget_eur': value '=SUM(1,2)' -- expected a value, not a formula" in err


# --------------------------------------------------------------------------- text is data


def test_control_characters_in_names_are_refused_so_they_never_reach_the_console(tmp_path, capsys):
    t = base_tables()
    t["lots"][0]["label"] = "Basis\x1b[2J\x1b[31m"
    folder = write_instance(tmp_path / "c", t)
    rc, out, err = run_main(["validate", str(folder)], capsys)
    assert rc == 2 and "\x1b" not in out + err
    assert "column 'label': value 'Basis\\x1b[2J\\x1b[31m' -- expected text without control characters (found U+001B)" in err
    folder2 = write_instance(tmp_path / "n", base_tables(), {"name": "regio\x07"})
    rc, out, err = run_main(["validate", str(folder2)], capsys)
    assert rc == 2 and "\x07" not in out + err and "U+0007" in err


def test_two_unicode_spellings_of_a_name_are_one_name(tmp_path):
    t = base_tables()
    nfc, nfd = "Súdwest-Fryslân", "Su\u0301dwest-Frysla\u0302n"
    t["gemeenten"][0]["gemeente"] = nfc
    for table in ("budgets", "populations", "need"):
        for r in t[table]:
            r["gemeente"] = nfd  # typed elsewhere with combining accents
    inst = load_instance(write_instance(tmp_path / "u", t))
    assert set(inst.need["gemeente"]) == {nfc}


def test_a_huge_value_is_capped_in_the_message():
    p = Problem("x.csv", 2, "label", "x" * 200_000, "a short text", "een korte tekst")
    assert len(str(p)) < 400 and "(200000 characters)" in str(p)
    with fmt.using("en"):
        assert "200000" in str(InstanceError([p]))


def test_an_instance_name_never_leads_a_write_outside_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in ("/abs/dir", "../../x", "..", "a/../../b"):
        folder = write_instance(tmp_path / "inst", base_tables(), {"name": bad})
        rc, _, err = run_main(["solve", str(folder), "--quiet"], capsys)
        assert rc == 0, err
        made = [p for p in tmp_path.rglob("*") if p.is_dir() and p.name not in ("inst",)]
        assert all(p.resolve().is_relative_to((tmp_path / "out").resolve()) or p == tmp_path / "out" for p in made), made
    assert not Path("/abs/dir").exists()


def test_yaml_written_by_the_tools_reads_back(tmp_path):
    """The strict loader reads what verdeelmodel itself writes (no anchors: safe_dump writes none
    for plain data)."""
    inst = load_instance(INSTANCES / "nijmegen-2018")
    write_folder(inst, tmp_path / "copy")
    assert yaml.safe_load((tmp_path / "copy" / "instance.yaml").read_text(encoding="utf-8"))["name"] == inst.name
    load_instance(tmp_path / "copy")


# --------------------------------------------------------------------------- options and sweeps


@pytest.mark.parametrize(
    "argv",
    [
        ["reserves", "{inst}", "--seed", "-1"],
        ["solve", "{inst}", "--time-limit", "nan"],
        ["solve", "{inst}", "--time-limit", "-1"],
        ["solve", "{inst}", "--threads", "100000"],
        ["solve", "{inst}", "--threads", "-4"],
        ["reserves", "{inst}", "--processes", "0"],
        ["reserves", "{inst}", "--processes", "-3"],
        ["reserves", "{inst}", "--scenarios", "1000000000"],
        ["reserves", "{inst}", "--confidence", "0.9", "1.5"],
        ["fairness", "{inst}", "--confidence", "inf"],
        ["contract", "{inst}", "--risk-aversion", "nan"],
        ["plan", "{inst}", "--level", "0"],
        ["sweep", "{inst}", "--param", "demand:*=0:2:100000000"],
        ["sweep", "{inst}", "--param", "demand:*=0:2:1000", "--param", "tariff:spec=1:20:1000"],
        ["sweep", "{inst}", "--param", "demand:*=inf"],
        ["sweep", "{inst}", "--param", "demand:*=nan"],
        ["sweep", "{inst}", "--param", "demand:*=-1"],
        ["sweep", "{inst}", "--param", "budget:A|jeugd=-5"],
        ["sweep", "{inst}", "--param", "tariff:spec=-1"],
        ["sweep", "{inst}", "--param", "demand:*=1,1e12"],
    ],
    ids=lambda a: " ".join(a[2:]),
)
def test_every_option_and_sweep_value_is_checked_up_front_with_exit_2(tmp_path, capsys, argv):
    inst = write_instance(tmp_path / "i", base_tables())
    t0 = time.perf_counter()
    rc, out, err = run_main([a.replace("{inst}", str(inst)) for a in argv] + ["--out", str(tmp_path / "o")], capsys)
    assert rc == 2, err
    assert time.perf_counter() - t0 < 3, "refused only after work"
    assert "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "o").exists()


def test_sweep_points_do_not_depend_on_their_order(capsys, tmp_path):
    inst = str(INSTANCES / "nijmegen-2018")
    tables = []
    for values in ("1,1000,1.2", "1.2,1000,1"):
        rc, _, err = run_main(["sweep", inst, "--param", f"demand:jeugd={values}", "--out", str(tmp_path / values)], capsys)
        assert rc == 0, err
        import pandas as pd

        t = pd.read_csv(tmp_path / values / "sweep.csv").drop(columns=["highs_seconds", "wall_seconds"], errors="ignore")
        tables.append(t.sort_values("demand:jeugd").reset_index(drop=True))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=False, rtol=1e-9)
    assert (tables[0]["status"] == "optimal").all()


# --------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("need_eur", [1e8, 1e10, 1e12, 1e13])
def test_no_euro_moves_between_stages_however_large_the_amounts(tmp_path, need_eur):
    """Statutory need far beyond the budget: the non-statutory lot gets nothing (its need is
    unmet), no budget is left as headroom; a later stage gives up at most a cent of the tekort."""
    import verdeelmodel as vm

    t = base_tables()
    t["budgets"][0]["budget_eur"] = 1e6
    t["need"][1]["volume"] = need_eur / 10  # spec: statutory, tariff 10
    r = vm.solve(load_instance(write_instance(tmp_path / "n", t)))
    assert r.status == "optimal"
    assert r.totals["headroom"] <= 0.01
    assert r.totals["unmet"] >= 30 - 0.011  # basis (non-statutory, need 30) is cut first
    assert r.totals["tekort"] == pytest.approx(need_eur - 1e6, abs=0.011)


def test_a_huge_non_statutory_need_leaves_no_headroom(tmp_path):
    import verdeelmodel as vm

    t = base_tables()
    t["budgets"][0]["budget_eur"] = 1e6
    t["need"][0]["volume"] = 1e12  # basis: non-statutory, tariff 1
    r = vm.solve(load_instance(write_instance(tmp_path / "h", t)))
    assert r.status == "optimal" and r.totals["headroom"] <= 0.01 and r.totals["tekort"] <= 0.01


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda t: t["budgets"][0].update(budget_eur=2e13), "an amount of at most 1e13 euros"),
        (lambda t: t["budgets"][0].update(budget_eur=100.5001), "at most two decimals (cents)"),
        (lambda t: t["need"][1].update(volume=2e12), "at most 1e13 euros, the supported range"),
    ],
    ids=["too large", "sub-cent", "need too large"],
)
def test_amounts_outside_the_supported_range_are_exit_2(tmp_path, capsys, edit, expected):
    t = base_tables()
    edit(t)
    rc, _, err = run_main(["solve", str(write_instance(tmp_path / "a", t)), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and expected in err, err


# --------------------------------------------------------------------------- smaller promises


@pytest.mark.parametrize(
    "argv, says",
    [
        (["reserves", "{inst}", "--region", "Nowhere", "--scenarios", "100"], "--region Nowhere: not a region"),
        (["fairness", "{inst}", "--region", "Nowhere"], "--region Nowhere: not a region"),
        (["report", "{inst}", "--gemeente", "Nowhere"], "--gemeente Nowhere: not a gemeente"),
    ],
)
def test_unknown_names_on_the_command_line_are_exit_2_before_any_work(tmp_path, capsys, argv, says):
    inst = write_instance(tmp_path / "i", base_tables())
    t0 = time.perf_counter()
    rc, _, err = run_main([a.replace("{inst}", str(inst)) for a in argv] + ["--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and says in err and time.perf_counter() - t0 < 3


def test_a_monte_carlo_that_cannot_fit_in_memory_is_refused_before_it_starts(tmp_path, capsys, monkeypatch):
    import verdeelmodel._guards as guards

    monkeypatch.setattr(guards, "available_memory", lambda: 100 * 2**20)  # a machine with 100 MiB free
    inst = write_instance(tmp_path / "i", base_tables())
    rc, _, err = run_main(["reserves", str(inst), "--scenarios", "5000000", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "GiB; this machine has 0.1 GiB free" in err
    rc, _, err = run_main(["reserves", str(inst), "--scenarios", "200", "--out", str(tmp_path / "o"), "--no-plots"], capsys)
    assert rc == 0, err  # a small run still runs


def test_many_problems_of_one_kind_are_summarised_not_flooded(tmp_path, capsys):
    t = base_tables()
    t["need"] += [dict(t["need"][0]) for _ in range(5000)]
    rc, _, err = run_main(["validate", str(write_instance(tmp_path / "d", t))], capsys)
    assert rc == 2 and "the instance has 5000 problems" in err
    assert "... and 4990 more like this (need.csv)" in err and len(err) < 5000


def test_a_huge_cell_is_one_problem_not_a_cascade(tmp_path, capsys):
    t = base_tables()
    t["lots"][0]["label"] = "x" * 200_000
    rc, _, err = run_main(["validate", str(write_instance(tmp_path / "c", t))], capsys)
    assert rc == 2 and "the instance has 1 problem:" in err and "a cell of at most 10,000 characters" in err and len(err) < 1000


def test_a_csv_saved_by_a_dutch_excel_with_semicolons_is_read(tmp_path, capsys):
    folder = write_instance(tmp_path / "s", base_tables())
    text = (folder / "budgets.csv").read_text(encoding="utf-8").replace(",", ";").replace(";100;", ";100,5;")
    (folder / "budgets.csv").write_text("\ufeff" + text, encoding="utf-8")
    inst = load_instance(folder)
    assert float(inst.budgets["budget_eur"].iloc[0]) == 100.5


def test_an_ambiguous_number_is_said_not_silently_taken(tmp_path, capsys):
    t = base_tables()
    t["populations"][0]["inhabitants"] = "80.000"
    rc, out, err = run_main(["validate", str(write_instance(tmp_path / "a", t))], capsys)
    assert rc == 0 and "'80.000' read as 80.000 (Dutch thousands)" in err, (rc, err)


def test_convert_never_merges_into_an_existing_instance_folder_or_workbook(tmp_path, capsys):
    src = write_instance(tmp_path / "src", base_tables())
    wb = tmp_path / "w.xlsx"
    assert run_main(["convert", str(src), str(wb)], capsys)[0] == 0
    mine = write_instance(tmp_path / "mine", base_tables())
    (mine / "notes.txt").write_text("my own work")
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    rc, _, err = run_main(["convert", str(wb), str(mine)], capsys)
    assert rc == 2 and "not empty" in err
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before
    rc, _, err = run_main(["convert", str(src), str(wb)], capsys)  # nor over a workbook
    assert rc == 2 and "does not overwrite a workbook" in err


# --------------------------------------------------------------------------- what the fuzzer found (scripts/fuzz_inputs.py)


def test_a_folder_with_a_users_files_beside_outputs_is_never_replaced(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", base_tables())
    out = tmp_path / "out"
    assert run_main(["solve", str(inst), "--out", str(out), "--quiet"], capsys)[0] == 0
    (out / ".DS_Store").write_text("finder")  # a file browser's: not a user's work
    assert run_main(["solve", str(inst), "--out", str(out), "--quiet"], capsys)[0] == 0
    (out / "notities.txt").write_text("mine")  # a user's file in an output folder
    rc, _, err = run_main(["solve", str(inst), "--out", str(out), "--quiet"], capsys)
    assert rc == 2 and "notities.txt" in err and (out / "notities.txt").read_text() == "mine"
    legacy = tmp_path / "legacy"  # a folder that looks like an output of an earlier version
    legacy.mkdir()
    (legacy / "manifest.json").write_text('{"command": "solve", "input_sha256": "x", "versions": {}}')
    (legacy / "begroting.xlsx").write_text("mine")
    rc, _, err = run_main(["solve", str(inst), "--out", str(legacy), "--quiet"], capsys)
    assert rc == 2 and "begroting.xlsx" in err and (legacy / "begroting.xlsx").read_text() == "mine"
    (legacy / "begroting.xlsx").unlink()  # an earlier version's outputs only: replaced
    (legacy / "allocation.csv").write_text("old")
    assert run_main(["solve", str(inst), "--out", str(legacy), "--quiet"], capsys)[0] == 0


def test_report_pages_of_regions_with_similar_names_never_overwrite_each_other():
    from verdeelmodel.report import file_names

    names = file_names(["Noord-Zuid", "Noord/Zuid", "R", "r", "../R"])
    assert len(set(names.values())) == 5
    assert names["Noord-Zuid"] == "rapport-noord-zuid" and names["Noord/Zuid"] == "rapport-noord-zuid-2"


def test_a_parameter_given_twice_in_a_sweep_is_refused(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", base_tables())
    argv = ["sweep", str(inst), "--param", "demand:spec=0.9,1.1", "--param", "demand:spec=1", "--out", str(tmp_path / "o")]
    rc, _, err = run_main(argv, capsys)
    assert rc == 2 and "each parameter once" in err


def test_a_sweep_list_that_reads_two_ways_is_said(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", base_tables())
    rc, _, err = run_main(["sweep", str(inst), "--param", "demand:*=0,9", "--out", str(tmp_path / "o")], capsys)
    assert rc == 0 and "read as the two points 0 and 9; for the number 0.9 write demand:*=0.9" in err
    rc, _, err = run_main(["sweep", str(inst), "--param", "demand:*=0,9;1,1", "--out", str(tmp_path / "p")], capsys)
    assert rc == 0 and "read as" not in err
    import pandas as pd

    assert pd.read_csv(tmp_path / "p" / "sweep.csv")["demand:*"].tolist() == [0.9, 1.1]


def _workbook(tmp_path, capsys, edit):
    inst = write_instance(tmp_path / "i", base_tables())
    path = tmp_path / "w.xlsx"
    assert run_main(["convert", str(inst), str(path)], capsys)[0] == 0
    wb = openpyxl.load_workbook(path)
    edit(wb)
    wb.save(tmp_path / "w2.xlsx")
    return tmp_path / "w2.xlsx"


def test_a_number_typed_as_a_number_in_a_workbook_is_never_read_as_thousands(tmp_path, capsys):
    def edit(wb):
        ws = wb["budgets"]
        ws.cell(2, [c.value for c in ws[1]].index("budget_eur") + 1).value = 100.25
        ws = wb["lots"]
        ws.cell(2, [c.value for c in ws[1]].index("tariff_eur") + 1).value = 100.004  # a number, not text

    inst = load_instance(_workbook(tmp_path, capsys, edit))
    assert float(inst.lots["tariff_eur"].iloc[0]) == 100.004 and not inst.readings


def test_a_key_twice_in_the_instance_sheet_is_refused(tmp_path, capsys):
    def edit(wb):
        wb["instance"].append(["name", "other"])

    rc, _, err = run_main(["validate", str(_workbook(tmp_path, capsys, edit))], capsys)
    assert rc == 2 and "each key once (already in row" in err


def test_a_stray_cell_at_the_end_of_a_sheet_is_read_in_a_moment(tmp_path, capsys):
    def edit(wb):
        wb["sources"]["XFD1048576"] = "x"

    path = _workbook(tmp_path, capsys, edit)
    t0 = time.perf_counter()
    rc, _, err = run_main(["validate", str(path)], capsys)
    assert time.perf_counter() - t0 < 10 and rc == 2 and "no cells beyond" in err


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda f: (f / "lots.csv").unlink() or (f / "lots.csv").mkdir(), "a file (this is a folder)"),
        (lambda f: (f / "need.csv").rename(f / "need.CSV"), "rename it to need.csv"),
        (lambda f: (f / "instance.yaml").write_text((f / "instance.yaml").read_text() + "x: " + "[" * 5000 + "\n"), "nested too deeply"),
        (
            lambda f: (f / "instance.yaml").write_text(
                (f / "instance.yaml").read_text() + "options:\n  objective:\n    weights: {tekort: .inf}\n"
            ),
            "finite",
        ),
    ],
    ids=["table is a folder", "upper-case .CSV", "nested YAML", "infinite weight"],
)
def test_broken_files_found_by_the_fuzzer_are_exit_2(tmp_path, capsys, make, says):
    folder = write_instance(tmp_path / "f", base_tables())
    make(folder)
    rc, _, err = run_main(["validate", str(folder)], capsys)
    assert rc == 2 and says in err, err


def test_an_amount_with_a_fraction_of_a_cent_is_refused_however_large(tmp_path, capsys):
    t = base_tables()
    t["budgets"][0]["budget_eur"] = "1234567.891"
    rc, _, err = run_main(["validate", str(write_instance(tmp_path / "c", t))], capsys)
    assert rc == 2 and "at most two decimals (cents)" in err


def test_unprintable_header_names_are_shown_escaped_and_bidi_controls_refused(tmp_path, capsys):
    folder = write_instance(tmp_path / "h", base_tables())
    text = (folder / "sources.csv").read_text()
    (folder / "sources.csv").write_text(text.replace("description", "descr\x1b[31mption", 1))
    rc, out, err = run_main(["validate", str(folder)], capsys)
    assert rc == 2 and "\x1b" not in out + err and "descr\\x1b[31mption" in err
    t = base_tables()
    t["lots"][0]["label"] = "Basis\u202egnp.exe"
    rc, out, err = run_main(["validate", str(write_instance(tmp_path / "b", t))], capsys)
    assert rc == 2 and "\u202e" not in out + err and "U+202E" in err


def test_an_out_name_too_long_for_the_file_system_is_exit_2(tmp_path, capsys):
    inst = write_instance(tmp_path / "i", base_tables())
    rc, _, err = run_main(["solve", str(inst), "--out", str(tmp_path / ("x" * 300))], capsys)
    assert rc == 2 and "at most 215 bytes" in err


def test_a_written_folder_reads_back_without_ambiguous_numbers(tmp_path):
    """write_folder writes 1.015 as 1.0150: '1.015' would be read the same but said as possibly
    Dutch thousands on every load of a generated instance."""
    inst = load_instance(INSTANCES / "nl-synthetic")
    assert (inst.tables["year_factors"]["demand_factor"] == 1.015).any()
    write_folder(inst, tmp_path / "copy")
    back = load_instance(tmp_path / "copy")
    assert back.readings == []
    assert back.tables["year_factors"]["demand_factor"].tolist() == inst.tables["year_factors"]["demand_factor"].tolist()


def test_unsafe_char_is_exactly_the_control_and_bidi_characters():
    """unsafe_char is one regex (fast at buurt level); it must refuse exactly Unicode's control
    characters (category Cc) but tab and line ends, and the bidirectional controls."""
    import sys
    import unicodedata

    from verdeelmodel.instance.problems import BIDI_CONTROLS, unsafe_char

    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        want = (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r") or ch in BIDI_CONTROLS
        assert (unsafe_char("a" + ch + "b") == ch) == want, hex(cp)
