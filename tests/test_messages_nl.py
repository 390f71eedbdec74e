"""Messages a controller reads about bad input or a bad request are Dutch by default (``--lang en``
for English): every problem and usage error is written in both languages where it is raised.

The check is on the source (every ``Problem(...)``, reporter ``.add(...)`` and ``UsageError(...)``
passes its Dutch text, and the Dutch is not the English copied), plus the Dutch frame as printed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import base_tables, run_main, write_instance

from verdeelmodel import fmt
from verdeelmodel.errors import UsageError
from verdeelmodel.instance.problems import InstanceError, Problem

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "verdeelmodel").rglob("*.py")) + sorted((ROOT / "models").rglob("*.py")) + sorted((ROOT / "solvers").rglob("*.py"))


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _message_calls():
    """(file, line, call, how many positional arguments make it complete) for every message raised."""
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name == "Problem":
                yield path, node, 6
            elif name == "UsageError":
                yield path, node, 2
            elif name == "add" and path.name == "validate.py" and len(node.args) >= 5:  # the reporter, not set.add
                yield path, node, 6


def test_every_message_is_written_in_dutch_too():
    missing, copied, seen = [], [], 0
    for path, call, complete in _message_calls():
        seen += 1
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            continue  # passed on whole from a caller that is itself checked
        nl = next((k.value for k in call.keywords if k.arg == "nl"), call.args[complete - 1] if len(call.args) >= complete else None)
        if nl is None:
            missing.append(where)
            continue
        en = call.args[complete - 2] if len(call.args) >= complete - 1 else None
        if en is not None and isinstance(nl, ast.Constant | ast.JoinedStr) and ast.dump(nl) == ast.dump(en):
            copied.append(where)
    assert seen > 100, f"the scan found only {seen} message sites: has the code moved?"
    assert not missing, "messages without their Dutch text (nl=...):\n" + "\n".join(missing)
    assert not copied, "messages whose Dutch is the English copied:\n" + "\n".join(copied)


def test_problem_and_usage_error_speak_the_language_of_the_moment():
    p = Problem("budgets.csv", 3, "budget_eur", "abc", "an amount in euros", "een bedrag in euro's")
    with fmt.using("nl"):
        assert str(p) == "budgets.csv, rij 3, kolom 'budget_eur': waarde 'abc' -- verwacht een bedrag in euro's"
        assert str(InstanceError([p])).startswith("de instantie heeft 1 probleem:\n  - budgets.csv, rij 3")
    with fmt.using("en"):
        assert str(p) == "budgets.csv, row 3, column 'budget_eur': value 'abc' -- expected an amount in euros"
        assert str(InstanceError([p, p])).startswith("the instance has 2 problems:\n")
    q = Problem("instance.yaml", None, "year", "x", "a whole number", "een geheel getal")
    with fmt.using("nl"):
        assert str(q) == "instance.yaml, instelling 'year': waarde 'x' -- verwacht een geheel getal"
    e = UsageError("no such region", "geen regio met die naam")
    with fmt.using("nl"):
        assert str(e) == "geen regio met die naam"
    with fmt.using("en"):
        assert str(e) == "no such region"
    assert e.args[0] == "no such region"  # programs match on the English


@pytest.fixture
def bad_budget(tmp_path):
    t = base_tables()
    t["budgets"][0]["budget_eur"] = "veel"
    t["need"][0]["gemeente"] = "Z"
    return write_instance(tmp_path / "bad", t)


def test_validate_reports_problems_in_dutch_by_default_and_english_on_request(bad_budget, capsys):
    rc, _, err = run_main(["validate", str(bad_budget)], capsys)
    assert rc == 2
    assert "verdeelmodel: de instantie heeft 2 problemen:" in err
    assert "budgets.csv, rij 2, kolom 'budget_eur': waarde 'veel' -- verwacht " in err
    assert "need.csv, rij 2, kolom 'gemeente': waarde 'Z' -- verwacht een gemeente " in err
    assert " expected " not in err and "problem " not in err
    rc, _, err = run_main(["--lang", "en", "validate", str(bad_budget)], capsys)
    assert rc == 2
    assert "verdeelmodel: the instance has 2 problems:" in err
    assert "budgets.csv, row 2, column 'budget_eur': value 'veel' -- expected " in err
    assert "need.csv, row 2, column 'gemeente': value 'Z' -- expected a gemeente " in err


def test_usage_errors_in_dutch_by_default(tmp_path, capsys):
    folder = write_instance(tmp_path / "ok", base_tables())
    rc, _, err = run_main(["sweep", str(folder), "--out", str(tmp_path / "o"), "--param", "demand:jeugd=x"], capsys)
    assert rc == 2
    assert "opdrachtregel" in err and "expected" not in err
    rc, _, err = run_main(["template", str(tmp_path / "t.csv")], capsys)
    assert rc == 2
    assert "werkmap" in err or "werkboek" in err, err


def test_how_a_fairness_figure_was_computed_reads_dutch():
    from verdeelmodel.cli import method_nl

    assert method_nl("exact over 65,536 coalitions") == "exact over 65.536 coalities"
    assert method_nl("exhaustive (126 coalitions)") == "volledig (126 coalities)"
    assert (
        method_nl(
            "separation MIP (HiGHS) over the scenario samples (3 rounds, 1,200 of 10,000 scenarios kept); the largest excess found is -12.50"
        )
        == "separatie-MIP (HiGHS) over de scenario's (3 ronde(s), 1.200 van 10.000 scenario's bewaard); het grootste gevonden overschot is -12,50"
    )
