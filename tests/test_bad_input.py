"""Broken input is rejected at the border: `validate` and `solve` both exit 2, print no
traceback, and name the file, row, column, offending value and what was expected.

Each case builds a tiny instance (conftest `make`), breaks one thing and states the
problem line the user must see. Every case must report exactly that one problem: one
bad cell must not cascade into follow-on complaints about rows referring to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_main

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers


def run_cli(argv: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    """The real command line in a fresh interpreter; (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    p = subprocess.run(
        [sys.executable, "-m", "verdeelmodel.cli", "--lang", "en", *argv],  # the English messages (Dutch: test_messages_nl)
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )
    return p.returncode, p.stdout, p.stderr


def problem_lines(stderr: str) -> list[str]:
    return [line[4:] for line in stderr.splitlines() if line.startswith("  - ")]


def find_problem(stderr: str, location: str, row: int | None, column: str | None, value: str | None, expected: str) -> str:
    """The one reported problem line holding every piece; fails with the whole report otherwise."""
    pieces = [location + ("," if row is not None or column else ":" if value is not None else " --")]
    if row is not None:
        pieces.append(f"row {row}")
    if column is not None:
        word = "setting" if location.endswith((".yaml", "[instance]")) else "column"
        pieces.append(f"{word} '{column}'")
    if value is not None:
        pieces.append(f"value {value!r}")
    hits = []
    for line in problem_lines(stderr):
        where, sep, what = line.partition(" -- expected ")
        if sep and line.startswith(location) and all(p in where + " --" for p in pieces) and expected in what:
            hits.append(line)
    assert hits, f"no problem line with {pieces} and expected {expected!r} in:\n{stderr}"
    return hits[0]


def set_cell(table: str, i: int, column: str, value) -> Callable[[dict], None]:
    def edit(t: dict) -> None:
        t[table][i][column] = value

    return edit


def add_rows(table: str, *rows: dict) -> Callable[[dict], None]:
    def edit(t: dict) -> None:
        t.setdefault(table, []).extend(rows)

    return edit


def sub_row(**kw) -> dict:
    row = {
        "from_lot": "spec",
        "to_lot": "basis",
        "ratio": 1.5,
        "max_share": 0.3,
        "gemeente": "",
        "population": "",
        "label": "",
        "source": "test",
    }
    row.update(kw)
    return row


def ceiling_row(**kw) -> dict:
    row = {"lot": "spec", "region": "R", "gemeente": "", "ceiling_eur": 50, "minimum_eur": "", "source": "test"}
    row.update(kw)
    return row


def vierkant(t: dict) -> None:
    t["lots"][0]["category"] = "licht"
    t["lots"][1]["category"] = "zwaar"
    t["vierkant"] = [
        {
            "gemeente": "A",
            "population": "",
            "domain": "jeugd",
            "category": "licht",
            "planned_share": 0.5,
            "max_shift": 0.05,
            "source": "test",
        },
        {
            "gemeente": "A",
            "population": "",
            "domain": "jeugd",
            "category": "zwaar",
            "planned_share": 0.4,
            "max_shift": 0.05,
            "source": "test",
        },
    ]


def gemeente_b_with_need_only(t: dict) -> None:
    t["gemeenten"].append({"gemeente": "B", "inhabitants": 500, "available_reserve_eur": 0, "source": "test"})
    t["populations"].append({"gemeente": "B", "population": "jeugd", "kind": "target_group", "inhabitants": 50, "source": "test"})
    t["need"].append({"gemeente": "B", "population": "jeugd", "lot": "basis", "volume": 3, "source": "test"})


def append_text(name: str, text: str) -> Callable[[Path], None]:
    def post(folder: Path) -> None:
        with (folder / name).open("a", encoding="utf-8", newline="") as fh:
            fh.write(text)

    return post


def write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def keep_header_only(name: str) -> Callable[[Path], None]:
    def post(folder: Path) -> None:
        header = (folder / name).read_text(encoding="utf-8").splitlines()[0]
        (folder / name).write_text(header + "\n", encoding="utf-8")

    return post


# --------------------------------------------------------------------------- the cases


@dataclass
class Case:
    kind: str
    location: str  # file name as reported
    row: int | None
    column: str | None
    value: str | None
    expected: str  # a piece of the "expected ..." text
    edit: Callable[[dict], None] | None = None
    meta: dict | None = None
    post: Callable[[Path], None] | None = None
    subprocess: bool = False  # also run through a fresh `python -m verdeelmodel.cli`


CASES = [
    # Dutch-typed numbers (12,5; 1.000.000; € 100) are read now (tests/test_output_nl.py); these fit no notation
    Case(
        "separators that fit no notation in a volume",
        "need.csv",
        2,
        "volume",
        "12,34.5",
        "fits no notation",
        edit=set_cell("need", 0, "volume", "12,34.5"),
        subprocess=True,
    ),
    Case(
        "broken thousands groups in euros",
        "budgets.csv",
        2,
        "budget_eur",
        "1.000.00",
        "fits no notation",
        edit=set_cell("budgets", 0, "budget_eur", "1.000.00"),
    ),
    Case(
        "underscore digit separators",
        "budgets.csv",
        2,
        "budget_eur",
        "1_000",
        "an amount in euros (4500000, 4.500.000 or 4500000.50), without '_' between the digits",  # the column's real unit
        edit=set_cell("budgets", 0, "budget_eur", "1_000"),
    ),
    Case(
        "currency sign with a word in euros",
        "budgets.csv",
        2,
        "budget_eur",
        "€100 ex btw",
        "an amount in euros",
        edit=set_cell("budgets", 0, "budget_eur", "€100 ex btw"),
    ),
    Case("negative budget", "budgets.csv", 2, "budget_eur", "-5", "a number >= 0", edit=set_cell("budgets", 0, "budget_eur", -5)),
    Case("zero tariff", "lots.csv", 2, "tariff_eur", "0", "a number > 0", edit=set_cell("lots", 0, "tariff_eur", 0)),
    Case(
        "fractional inhabitants",
        "gemeenten.csv",
        2,
        "inhabitants",
        "1000.5",
        "a whole number",
        edit=set_cell("gemeenten", 0, "inhabitants", "1000.5"),
    ),
    Case("NaN in a number", "need.csv", 2, "volume", "nan", "a finite number", edit=set_cell("need", 0, "volume", "nan")),
    Case("inf in a number", "budgets.csv", 2, "budget_eur", "inf", "a finite number", edit=set_cell("budgets", 0, "budget_eur", "inf")),
    Case("overflowing number", "lots.csv", 3, "tariff_eur", "1e400", "a finite number", edit=set_cell("lots", 1, "tariff_eur", "1e400")),
    Case("empty required cell", "need.csv", 3, "volume", "", "a value (this column is required)", edit=set_cell("need", 1, "volume", "")),
    Case("yes/no instead of true/false", "lots.csv", 2, "statutory", "ja", "true or false", edit=set_cell("lots", 0, "statutory", "ja")),
    Case(
        "unknown echelon",
        "lots.csv",
        3,
        "echelon",
        "tweedelijns",
        "one of 'nulde_lijn', 'basis', 'specialist' or 'hoogspecialistisch'",
        edit=set_cell("lots", 1, "echelon", "tweedelijns"),
    ),
    Case(
        "unknown lot in need",
        "need.csv",
        3,
        "lot",
        "spek",
        "a lot of lots that exists (basis, spec)",
        edit=set_cell("need", 1, "lot", "spek"),
    ),
    Case(
        "unknown population in need",
        "need.csv",
        2,
        "population",
        "ouderen",
        "a population of gemeente A in populations (jeugd)",
        edit=set_cell("need", 0, "population", "ouderen"),
    ),
    Case(
        "unknown domain of a lot",
        "lots.csv",
        2,
        "domain",
        "zorg",
        "a domain of instance.yaml that exists (jeugd, wmo)",
        edit=set_cell("lots", 0, "domain", "zorg"),
    ),
    Case(
        "source not in sources.csv",
        "need.csv",
        2,
        "source",
        "cbs",
        "a source in sources.csv that exists (test)",
        edit=set_cell("need", 0, "source", "cbs"),
    ),
    Case(
        "duplicate key (one-column key)",
        "lots.csv",
        4,
        "lot",
        "lot='basis'",
        "each (lot) once; this repeats an earlier row",
        edit=lambda t: t["lots"].append(dict(t["lots"][0])),
    ),
    Case(
        "duplicate key (composite key)",
        "need.csv",
        4,
        None,
        "gemeente='A', population='jeugd', lot='basis'",
        "each (gemeente, population, lot) once",
        edit=lambda t: t["need"].append(dict(t["need"][0])),
    ),
    Case(
        "missing required column",
        "lots.csv",
        1,
        "tariff_eur",
        None,
        "a column 'tariff_eur'",
        edit=lambda t: [r.pop("tariff_eur") for r in t["lots"]],
    ),
    Case(
        "unknown column",
        "lots.csv",
        1,
        "colour",
        "colour",
        "a column of table 'lots': source, lot, label",
        edit=lambda t: [r.update(colour="red") for r in t["lots"]],
    ),
    Case("missing required table", "need.csv", None, None, None, "table 'need'", post=lambda f: (f / "need.csv").unlink()),
    Case(
        "required table with only a header",
        "need.csv",
        2,
        None,
        None,
        "at least one row in table 'need'",
        post=keep_header_only("need.csv"),
    ),
    Case(
        "unknown table file",
        "needs.csv",
        None,
        None,
        None,
        "a known table name; known tables: sources, gemeenten",
        post=write_bytes("needs.csv", b"gemeente,volume\nA,1\n"),
    ),
    Case(
        "wrong number of cells in a row",
        "need.csv",
        4,
        None,
        "6 cells",
        "5 cells, one per header column",
        post=append_text("need.csv", "A,jeugd,extra,12,5,test\n"),
    ),
    Case(
        "max_share above 1",
        "substitutions.csv",
        2,
        "max_share",
        "1.5",
        "a number <= 1",
        edit=add_rows("substitutions", sub_row(max_share=1.5)),
    ),
    Case(
        "substitution to a heavier echelon",
        "substitutions.csv",
        2,
        "to_lot",
        "spec",
        "a lot of a lighter echelon than basis (basis); spec is specialist",
        edit=add_rows("substitutions", sub_row(from_lot="basis", to_lot="spec")),
    ),
    Case(
        "guaranteed minimum above its own plafond",
        "ceilings.csv",
        2,
        "minimum_eur",
        "60",
        "a guaranteed minimum not above the plafond of the same row (ceiling_eur 50)",
        edit=add_rows("ceilings", ceiling_row(minimum_eur=60)),
    ),
    Case(
        "region in ceilings that does not exist",
        "ceilings.csv",
        2,
        "region",
        "Q",
        "a region of domain jeugd in budgets (R)",
        edit=add_rows("ceilings", ceiling_row(region="Q")),
    ),
    Case(
        "ceiling with both region and gemeente",
        "ceilings.csv",
        2,
        "region",
        "R",
        "exactly one of region or gemeente filled in",
        edit=add_rows("ceilings", ceiling_row(gemeente="A")),
    ),
    Case(
        "gemeente with need but no budget row",
        "need.csv",
        4,
        "gemeente",
        "B",
        "a row for gemeente B and domain jeugd in budgets",
        edit=gemeente_b_with_need_only,
    ),
    Case(
        "vierkant shares not adding up to 1",
        "vierkant.csv",
        3,
        "planned_share",
        "0.9 in total for gemeente=A, population=(all), domain=jeugd",
        "planned shares of one vierkant adding up to 1",
        edit=vierkant,
    ),
    Case(
        "goal share above 1",
        "goals.csv",
        2,
        "value",
        "1.2",
        "a number <= 1",
        edit=add_rows("goals", {"goal": "basis_share", "domain": "jeugd", "value": 1.2, "source": "test"}),
    ),
    Case(
        "YAML syntax error", "instance.yaml", 3, None, None, "valid YAML", post=write_bytes("instance.yaml", b"name: tiny\nyear: [2024\n")
    ),
    Case(
        "instance.yaml not a mapping",
        "instance.yaml",
        None,
        None,
        None,
        "a YAML mapping with keys name, year",
        post=write_bytes("instance.yaml", b"- name\n- year\n"),
    ),
    Case(
        "missing instance.yaml", "instance.yaml", None, None, None, "a file instance.yaml in", post=lambda f: (f / "instance.yaml").unlink()
    ),
    Case(
        "unknown option key",
        "instance.yaml",
        None,
        "options.budget_scoop",
        "total",
        "no such setting (check the spelling)",
        meta={"options": {"budget_scoop": "total"}},
    ),
    Case(
        "money in thousands of euros",
        "instance.yaml",
        None,
        "units.money",
        "kEUR",
        "one of 'EUR'",
        meta={"units": {"money": "kEUR"}},
        subprocess=True,
    ),
    Case("year that is not a number", "instance.yaml", None, "year", "twenty", "a whole number", meta={"year": "twenty"}),
    Case(
        "unknown constraint family",
        "instance.yaml",
        None,
        "options.families",
        None,
        "unknown constraint families ['ceiling_per_lot']",
        meta={"options": {"families": {"ceiling_per_lot": False}}},
    ),
    Case(
        "undecodable (non-UTF-8) file",
        "sources.csv",
        2,
        "description",
        "gemeente-enqu\ufffdte",
        "UTF-8 text",
        post=write_bytes("sources.csv", "source,kind,description,reference\ntest,assumption,gemeente-enquête,\n".encode("latin-1")),
    ),
]


def _build(case: Case, make) -> Path:
    folder = make(case.edit, case.meta)
    if case.post is not None:
        case.post(folder)
    return folder


def _check(rc: int, out: str, err: str, case: Case) -> None:
    assert rc == 2, f"exit {rc}, expected 2\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out
    assert "internal error" not in err
    find_problem(err, case.location, case.row, case.column, case.value, case.expected)
    assert "the instance has 1 problem:" in err, f"one broken thing must give one problem:\n{err}"


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_rejected_by_validate_and_solve(case: Case, make, tmp_path, capsys):
    folder = _build(case, make)
    out_dir = tmp_path / "out"
    for argv in (["validate", str(folder)], ["solve", str(folder), "--out", str(out_dir)]):
        rc, out, err = run_main(["--lang", "en", *argv], capsys)
        _check(rc, out, err, case)
    assert not out_dir.exists()


@pytest.mark.slow  # a fresh process
@pytest.mark.parametrize("case", [c for c in CASES if c.subprocess], ids=[c.kind for c in CASES if c.subprocess])
def test_rejected_by_the_real_command_line(case: Case, make, tmp_path):
    folder = _build(case, make)
    out_dir = tmp_path / "out"
    for argv in (["validate", str(folder)], ["solve", str(folder), "--out", str(out_dir)]):
        rc, out, err = run_cli(argv)
        _check(rc, out, err, case)
    assert not out_dir.exists()


@pytest.mark.slow  # a fresh process
def test_nonexistent_path(tmp_path, capsys):
    missing = tmp_path / "no-such-instance"
    for argv in (["validate", str(missing)], ["solve", str(missing), "--out", str(tmp_path / "out")]):
        rc, out, err = run_main(["--lang", "en", *argv], capsys)
        assert rc == 2 and "Traceback" not in err
        find_problem(
            err, str(missing), None, None, None, "an instance folder (with instance.yaml) or an .xlsx workbook; the path does not exist"
        )
    rc, out, err = run_cli(["solve", str(missing), "--out", str(tmp_path / "out")])
    assert rc == 2 and "Traceback" not in err and "the path does not exist" in err
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_an_instance(tmp_path, capsys):
    f = tmp_path / "need.csv"
    f.write_text("gemeente,population,lot,volume,source\n", encoding="utf-8")
    rc, out, err = run_main(["--lang", "en", "validate", str(f)], capsys)
    assert rc == 2 and "Traceback" not in err
    find_problem(err, str(f), None, None, None, "the path is neither an instance folder nor an .xlsx workbook")


def test_broken_xlsx_file(tmp_path, capsys):
    f = tmp_path / "broken.xlsx"
    f.write_bytes(b"this is not a zip file")
    rc, out, err = run_main(["--lang", "en", "solve", str(f), "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "Traceback" not in err
    find_problem(err, "broken.xlsx", None, None, None, "a readable .xlsx workbook")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- all problems in one run


def _many_problems(t: dict) -> None:
    t["need"][0]["volume"] = "12,3,5"  # 1 separators that fit no notation
    t["budgets"][0]["budget_eur"] = -5  # 2 negative budget
    t["lots"][0]["echelon"] = "zwaar"  # 3 unknown echelon
    for r in t["gemeenten"]:
        r["colour"] = "blue"  # 4 unknown column
    t["populations"][0]["source"] = "cbs"  # 5 unknown source
    t["substitutions"] = [sub_row(max_share=2)]  # 6 max_share > 1
    t["ceilings"] = [ceiling_row(region="Q")]  # 7 unknown region


EXPECTED_MANY = [
    ("need.csv", 2, "volume", "12,3,5", "fits no notation"),
    ("budgets.csv", 2, "budget_eur", "-5", "a number >= 0"),
    ("lots.csv", 2, "echelon", "zwaar", "one of 'nulde_lijn'"),
    ("gemeenten.csv", 1, "colour", "colour", "a column of table 'gemeenten'"),
    ("populations.csv", 2, "source", "cbs", "a source in sources.csv"),
    ("substitutions.csv", 2, "max_share", "2", "a number <= 1"),
    ("ceilings.csv", 2, "region", "Q", "a region of domain jeugd"),
    ("instance.yaml", None, "units.money", "kEUR", "one of 'EUR'"),
]


def test_all_problems_are_reported_in_one_run(make, capsys):
    folder = make(_many_problems, meta={"units": {"money": "kEUR"}})
    for argv in (["validate", str(folder)], ["solve", str(folder), "--out", str(folder.parent / "out")]):
        rc, out, err = run_main(["--lang", "en", *argv], capsys)
        assert rc == 2 and "Traceback" not in err
        assert f"the instance has {len(EXPECTED_MANY)} problems:" in err, err
        assert len(problem_lines(err)) == len(EXPECTED_MANY), err
        for loc, row, col, value, expected in EXPECTED_MANY:
            find_problem(err, loc, row, col, value, expected)


def test_api_raises_instance_error_with_every_problem(make):
    from verdeelmodel.instance.problems import InstanceError
    from verdeelmodel.instance.validate import load_instance

    folder = make(_many_problems, meta={"units": {"money": "kEUR"}})
    with pytest.raises(InstanceError) as e:
        load_instance(folder)
    assert len(e.value.problems) == len(EXPECTED_MANY)
    p = next(p for p in e.value.problems if p.location == "need.csv")
    assert (p.row, p.column, p.value) == (2, "volume", "12,3,5")


# --------------------------------------------------------------------------- nothing partial left behind


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_invalid_input_does_not_create_the_out_folder(make, tmp_path, capsys):
    folder = make(set_cell("need", 0, "volume", "12,3,5"))
    parent = tmp_path / "results"
    parent.mkdir()
    out_dir = parent / "run" / "nested"
    rc, _, err = run_main(["--lang", "en", "solve", str(folder), "--out", str(out_dir)], capsys)
    assert rc == 2, err
    assert not (parent / "run").exists()
    assert list(parent.iterdir()) == []  # no temporary folders either


def test_invalid_input_leaves_an_earlier_out_folder_untouched(make, tmp_path, capsys):
    good = make()
    parent = tmp_path / "runs"
    out_dir = parent / "results"
    rc, _, err = run_main(["--lang", "en", "solve", str(good), "--out", str(out_dir), "--quiet"], capsys)
    assert rc == 0, err
    (out_dir / "notes.txt").write_text("mine\n", encoding="utf-8")
    before, siblings = _snapshot(out_dir), sorted(p.name for p in parent.iterdir())
    bad = make(set_cell("budgets", 0, "budget_eur", -1))
    rc, _, err = run_main(["--lang", "en", "solve", str(bad), "--out", str(out_dir)], capsys)
    assert rc == 2, err
    assert _snapshot(out_dir) == before
    assert sorted(p.name for p in parent.iterdir()) == siblings


def test_convert_of_an_invalid_instance_writes_nothing(make, tmp_path, capsys):
    bad = make(set_cell("need", 0, "volume", "12,3,5"))
    target = tmp_path / "x" / "bad.xlsx"
    rc, _, err = run_main(["--lang", "en", "convert", str(bad), str(target)], capsys)
    assert rc == 2 and "Traceback" not in err
    find_problem(err, "need.csv", 2, "volume", "12,3,5", "fits no notation")
    assert not target.exists() and not target.parent.exists()
