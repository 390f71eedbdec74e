"""Instances as one .xlsx workbook: folder -> workbook -> folder gives the same tables,
a workbook solves to the same allocation as its folder, and problems in a workbook are
located as <file>.xlsx[sheet], row N, column 'c'."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import INSTANCES, run_main

from verdeelmodel.cli import main
from verdeelmodel.instance.validate import load_instance

SOURCE = INSTANCES / "nijmegen-2018"


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Path]:
    """nijmegen-2018 converted to a workbook and back, with the real CLI entry point."""
    d = tmp_path_factory.mktemp("excel")
    xlsx, back = d / "nijmegen-2018.xlsx", d / "nijmegen-2018-back"
    assert main(["convert", str(SOURCE), str(xlsx)]) == 0
    assert main(["convert", str(xlsx), str(back)]) == 0
    return xlsx, back


def assert_same_instance(a, b) -> None:
    assert a.meta.model_dump() == b.meta.model_dump()
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(
            a.tables[name].reset_index(drop=True), b.tables[name].reset_index(drop=True), check_dtype=True, obj=name
        )


def test_convert_round_trip_gives_equal_tables(converted):
    xlsx, back = converted
    original = load_instance(SOURCE)
    assert_same_instance(original, load_instance(xlsx))
    assert_same_instance(original, load_instance(back))
    assert sorted(p.name for p in back.iterdir()) == sorted(
        [f"{n}.csv" for n, df in original.tables.items() if len(df)] + ["instance.yaml"]
    )


def test_workbook_has_one_sheet_per_table_and_numbers_as_numbers(converted):
    xlsx, _ = converted
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    try:
        assert wb.sheetnames[0] == "instance"
        assert {"sources", "gemeenten", "budgets", "populations", "lots", "need"} <= set(wb.sheetnames)
        rows = list(wb["budgets"].iter_rows(values_only=True))
        col = rows[0].index("budget_eur")
        assert all(isinstance(r[col], (int, float)) for r in rows[1:])  # controllers can compute with them
    finally:
        wb.close()


def test_number_like_text_stays_text(make, tmp_path):
    def texts(t):
        t["lots"][0]["label"] = "1.10"
        t["sources"][0]["reference"] = "2.50"
        t["gemeenten"][0]["cbs_code"] = "0344"
        t["populations"][0]["population"] = "1e3"
        t["need"][0]["population"] = "1e3"
        t["need"][1]["population"] = "1e3"

    folder = make(texts)
    xlsx = tmp_path / "texts.xlsx"
    assert main(["convert", str(folder), str(xlsx)]) == 0
    a, b = load_instance(folder), load_instance(xlsx)
    assert b.lots["label"].iloc[0] == "1.10"
    assert b.sources["reference"].iloc[0] == "2.50"
    assert b.gemeenten["cbs_code"].iloc[0] == "0344"
    assert_same_instance(a, b)


def test_solving_the_workbook_gives_the_same_allocation(converted, tmp_path, capsys):
    xlsx, _ = converted
    for src, out in ((SOURCE, "folder"), (xlsx, "workbook")):
        rc, _, err = run_main(["solve", str(src), "--out", str(tmp_path / out), "--quiet"], capsys)
        assert rc == 0, err
    for f in ("allocation.csv", "constraints.csv", "budgets.csv"):
        assert (tmp_path / "folder" / f).read_bytes() == (tmp_path / "workbook" / f).read_bytes(), f


def _edited(xlsx: Path, target: Path, edit) -> Path:
    wb = openpyxl.load_workbook(xlsx)
    edit(wb)
    wb.save(target)
    return target


def _cell(ws, row: int, column: str):
    header = [c.value for c in ws[1]]
    return ws.cell(row=row, column=header.index(column) + 1)


@pytest.mark.usefixtures("english")
def test_error_in_a_workbook_names_sheet_row_and_column(converted, tmp_path, capsys):
    xlsx, _ = converted

    def edit(wb):
        _cell(wb["need"], 5, "volume").value = "12,3,5"  # '12,5' is read the Dutch way now
        _cell(wb["budgets"], 3, "budget_eur").value = -10
        _cell(wb["lots"], 4, "echelon").value = "zwaar"

    bad = _edited(xlsx, tmp_path / "bad.xlsx", edit)
    for argv in (["validate", str(bad)], ["solve", str(bad), "--out", str(tmp_path / "o")]):
        rc, out, err = run_main(argv, capsys)
        assert rc == 2 and "Traceback" not in err
        assert "the instance has 3 problems:" in err, err
        assert "  - bad.xlsx[need], row 5, column 'volume': value '12,3,5' -- expected a number ('12,3,5' fits no notation)" in err
        assert "  - bad.xlsx[budgets], row 3, column 'budget_eur': value '-10' -- expected a number >= 0" in err
        assert "  - bad.xlsx[lots], row 4, column 'echelon': value 'zwaar' -- expected one of 'nulde_lijn'" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.usefixtures("english")
def test_workbook_structure_problems(converted, tmp_path, capsys):
    xlsx, _ = converted

    def edit(wb):
        wb["need"].title = "needs"  # unknown sheet; so table 'need' is missing
        _cell(wb["instance"], 1, "key").value = "name"  # the instance sheet's header is wrong
        wb["lots"].cell(row=3, column=wb["lots"].max_column + 2).value = "stray"

    bad = _edited(xlsx, tmp_path / "structure.xlsx", edit)
    rc, _, err = run_main(["validate", str(bad)], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "  - structure.xlsx[needs] -- expected a sheet named after a known table or 'instance'" in err
    assert "  - structure.xlsx[instance], row 1 -- expected header 'key', 'value'" in err
    assert "  - structure.xlsx[lots], row 3 -- expected no cells beyond the" in err


@pytest.mark.usefixtures("english")
def test_error_in_the_instance_sheet(converted, tmp_path, capsys):
    xlsx, _ = converted

    def edit(wb):
        ws = wb["instance"]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == "units.money":
                row[1].value = "kEUR"

    bad = _edited(xlsx, tmp_path / "meta.xlsx", edit)
    rc, _, err = run_main(["validate", str(bad)], capsys)
    assert rc == 2
    assert "  - meta.xlsx[instance], setting 'units.money': value 'kEUR' -- expected one of 'EUR'" in err


@pytest.mark.usefixtures("english")
def test_convert_of_a_broken_workbook_writes_no_folder(converted, tmp_path, capsys):
    xlsx, _ = converted
    bad = _edited(xlsx, tmp_path / "bad.xlsx", lambda wb: setattr(_cell(wb["need"], 2, "volume"), "value", "veel"))
    target = tmp_path / "folder"
    rc, _, err = run_main(["convert", str(bad), str(target)], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "bad.xlsx[need], row 2, column 'volume': value 'veel'" in err
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx"]
