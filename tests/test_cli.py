"""The command line: output files of `solve`, exit codes (0 done, 1 internal error,
2 bad input or usage, 3 no allocation possible) and byte-identical reruns."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import INSTANCES, run_main

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ["nijmegen-2018", "westfriesland-2021", "nl-synthetic"]
ALLOCATION_COLUMNS = {"gemeente", "population", "lot", "amount_eur", "unmet_eur"}
SUMMARY_KEYS = {"status", "objective", "build_seconds", "solve_seconds", "highs_seconds"}


def run_cli(argv: list[str], **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verdeelmodel.cli", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **env},
        timeout=300,
    )


# --------------------------------------------------------------------------- solve writes its results


@pytest.mark.parametrize("name", BUNDLED)
def test_solve_bundled_instance_writes_the_results(name, tmp_path, capsys):
    out_dir = tmp_path / name
    rc, out, err = run_main(["solve", str(INSTANCES / name), "--out", str(out_dir)], capsys)
    assert rc == 0, err
    assert "Traceback" not in err
    assert f"{name}: optimaal" in out  # Dutch by default
    assert max(len(line) for line in out.splitlines()) <= 120 and "nan" not in out.lower().replace("financ", "")
    for f in ("allocation.csv", "constraints.csv", "summary.json", "manifest.json"):
        assert (out_dir / f).is_file(), f
    with (out_dir / "allocation.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and ALLOCATION_COLUMNS <= set(rows[0]), rows[0].keys()
    assert all(float(r["amount_eur"]) >= -1e-6 and float(r["unmet_eur"]) >= -1e-6 for r in rows)
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert SUMMARY_KEYS <= set(summary), summary.keys()
    assert summary["status"] == "optimal"
    assert summary["objective"] and all(isinstance(v, (int, float)) for v in summary["objective"].values())
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["instance"] == name and len(manifest["input_sha256"]) == 64
    assert (out_dir / "constraints.csv").read_text(encoding="utf-8").startswith("name,")


@pytest.mark.slow  # a fresh process
def test_solve_through_the_real_command_line(tmp_path):
    p = run_cli(["solve", str(INSTANCES / "westfriesland-2021"), "--out", str(tmp_path / "o"), "--quiet"])
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert (tmp_path / "o" / "allocation.csv").is_file()


def test_validate_bundled_instance(capsys):
    rc, out, err = run_main(["validate", str(INSTANCES / "nijmegen-2018")], capsys)
    assert rc == 0, err
    assert out.startswith("nijmegen-2018: geldig (")


def test_no_allocation_possible_exits_3_with_an_explanation(make, tmp_path, capsys):
    def impossible(t):  # a guaranteed minimum of 1000 on a gemeente budget of 100
        t["ceilings"] = [{"lot": "spec", "region": "R", "gemeente": "", "ceiling_eur": "", "minimum_eur": 1000, "source": "test"}]

    out_dir = tmp_path / "o"
    rc, out, err = run_main(["solve", str(make(impossible)), "--out", str(out_dir)], capsys)
    assert rc == 3, out + err
    assert "Traceback" not in err
    assert (out_dir / "explanation.txt").is_file()
    assert not (out_dir / "allocation.csv").exists()
    assert json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))["status"] != "optimal"


# --------------------------------------------------------------------------- usage errors exit 2


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        [],
        ["solve"],
        ["validate"],
        ["convert", "only-one-argument"],
        ["solve", "instances/nijmegen-2018", "--time-limit", "soon"],
        ["solve", "instances/nijmegen-2018", "--no-such-option"],
    ],
    ids=[
        "unknown command",
        "no command",
        "solve without instance",
        "validate without instance",
        "convert missing target",
        "non-numeric option",
        "unknown option",
    ],
)
@pytest.mark.usefixtures("english")
def test_usage_errors_exit_2(argv, capsys):
    rc, out, err = run_main(argv, capsys)
    assert rc == 2
    assert "Traceback" not in err
    assert "usage: verdeelmodel" in err and "error:" in err


@pytest.mark.slow  # a fresh process
def test_usage_error_through_the_real_command_line():
    p = run_cli(["frobnicate"])
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "invalid choice: 'frobnicate'" in p.stderr


@pytest.mark.usefixtures("english")
def test_convert_with_wrong_kinds_of_paths_is_a_usage_error(tmp_path, capsys):
    rc, out, err = run_main(["convert", str(INSTANCES / "nijmegen-2018"), str(tmp_path / "folder")], capsys)
    assert rc == 2
    assert "Traceback" not in err and "convert takes FOLDER WORKBOOK.xlsx or WORKBOOK.xlsx FOLDER" in err
    assert not (tmp_path / "folder").exists()


# --------------------------------------------------------------------------- internal errors exit 1


@pytest.fixture
def broken_solver(monkeypatch):
    import verdeelmodel.api as api

    def boom(self, *a, **kw):
        raise RuntimeError("the solver fell over")

    monkeypatch.setattr(api.AllocationModel, "solve", boom)


@pytest.mark.usefixtures("english")
def test_internal_error_is_short_without_traceback(broken_solver, make, tmp_path, capsys):
    out_dir = tmp_path / "o"
    rc, out, err = run_main(["solve", str(make()), "--out", str(out_dir)], capsys)
    assert rc == 1
    assert "Traceback" not in err
    assert "verdeelmodel: internal error: RuntimeError: the solver fell over (run with --debug for the traceback)" in err
    assert len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_internal_error_with_debug_shows_the_traceback(broken_solver, make, tmp_path, capsys):
    rc, out, err = run_main(["--debug", "solve", str(make()), "--out", str(tmp_path / "o")], capsys)
    assert rc == 1
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: the solver fell over" in err
    assert "in boom" in err  # the traceback reaches the failing function
    assert "--debug for the traceback" not in err


def test_long_internal_error_messages_are_cut(monkeypatch, make, tmp_path, capsys):
    import verdeelmodel.api as api

    def boom(self, *a, **kw):
        raise ValueError("x" * 5000)

    monkeypatch.setattr(api.AllocationModel, "solve", boom)
    rc, out, err = run_main(["solve", str(make()), "--out", str(tmp_path / "o")], capsys)
    assert rc == 1 and "Traceback" not in err
    assert len(err) < 500


# --------------------------------------------------------------------------- reproducible outputs


DETERMINISTIC = ("allocation.csv", "constraints.csv", "manifest.json")


def test_two_runs_give_byte_identical_outputs(tmp_path, capsys):
    inst = INSTANCES / "nijmegen-2018"
    for run in ("a", "b"):
        rc, _, err = run_main(["solve", str(inst), "--out", str(tmp_path / run), "--quiet"], capsys)
        assert rc == 0, err
    for f in DETERMINISTIC:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


@pytest.mark.slow  # a fresh process
def test_runs_in_fresh_processes_with_different_hash_seeds_are_byte_identical(tmp_path):
    """Set and dict ordering of strings changes with PYTHONHASHSEED; outputs must not."""
    inst = INSTANCES / "nijmegen-2018"
    for run, seed in (("a", "1"), ("b", "2")):
        p = run_cli(["solve", str(inst), "--out", str(tmp_path / run), "--quiet"], PYTHONHASHSEED=seed)
        assert p.returncode == 0, p.stderr
    for f in DETERMINISTIC:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_rerun_into_the_same_folder_replaces_the_results(tmp_path, capsys):
    out_dir = tmp_path / "o"
    inst = INSTANCES / "westfriesland-2021"
    rc, _, err = run_main(["solve", str(inst), "--out", str(out_dir), "--quiet"], capsys)
    assert rc == 0, err
    first = {f: (out_dir / f).read_bytes() for f in DETERMINISTIC}
    rc, _, err = run_main(["solve", str(inst), "--out", str(out_dir), "--quiet"], capsys)
    assert rc == 0, err
    assert {f: (out_dir / f).read_bytes() for f in DETERMINISTIC} == first
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left
