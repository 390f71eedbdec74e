"""Outputs are really atomic: an output folder is at every moment the previous run or the new one,
whole; a killed run leaves nothing the next start does not clean; a folder verdeelmodel did not
write is never touched; ``--out`` is checked before any work."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import base_tables, run_main, snapshot, write_instance

from verdeelmodel._atomic import MARK, atomic_dir, check_target, clean_stale
from verdeelmodel.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def _instances(tmp_path: Path) -> tuple[Path, Path]:
    a = write_instance(tmp_path / "a", base_tables())
    t = base_tables()
    t["budgets"][0]["budget_eur"] = 250
    t["gemeenten"].append({"gemeente": "B", "inhabitants": 500, "available_reserve_eur": 0, "source": "test"})
    t["budgets"].append({"gemeente": "B", "domain": "jeugd", "region": "R", "budget_eur": 40, "own_funds_eur": 0, "source": "test"})
    t["populations"].append({"gemeente": "B", "population": "jeugd", "kind": "target_group", "inhabitants": 50, "source": "test"})
    t["need"].append({"gemeente": "B", "population": "jeugd", "lot": "spec", "volume": 3, "source": "test"})
    b = write_instance(tmp_path / "b", t)
    return a, b


def _solve(instance: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "verdeelmodel", "--lang", "en", "solve", str(instance), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )


def test_a_run_killed_while_writing_leaves_the_previous_run_or_the_new_one_whole(tmp_path):
    a, b = _instances(tmp_path)
    out = tmp_path / "out"
    whole = {}
    for inst in (a, b):  # what each run writes, whole
        assert _solve(inst, out).wait(timeout=120) == 0
        whole[inst] = snapshot(out)
    assert whole[a] != whole[b] and set(whole[a]) >= {MARK, "allocation.csv", "manifest.json", "summary.json"}
    rng = random.Random(7)
    outcomes = {"previous": 0, "new": 0}
    previous = b
    for i in range(20):
        new = a if previous == b else b
        proc = _solve(new, out)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:  # wait for the write phase
            if any(".vm-tmp-" in p.name for p in tmp_path.iterdir()):
                break
            time.sleep(0.0005)
        time.sleep(rng.choice([0, 0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02]))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = snapshot(out)
        assert now in (whole[previous], whole[new]), f"kill {i}: a mix of two runs: {sorted(now)}"
        outcomes["previous" if now == whole[previous] else "new"] += 1
        previous = previous if now == whole[previous] else new
        clean_stale(out)  # what the next start does
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "out"], f"kill {i}: left behind"
    assert outcomes["previous"] > 0, outcomes  # the kills did land inside the write phase


def test_a_failed_write_changes_nothing_and_cleans_up(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "x.csv").write_text("1")
    before = snapshot(out)
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "y.csv").write_text("2")
        raise RuntimeError("disk full")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_new_run_replaces_the_folder_whole_no_earlier_table_stays(tmp_path, capsys):
    a, _ = _instances(tmp_path)
    out = tmp_path / "out"
    rc, _, _ = run_main(["reserves", str(a), "--out", str(out), "--scenarios", "200", "--quiet", "--no-plots"], capsys)
    assert rc == 0 and (out / "reserves.csv").exists()
    rc, _, _ = run_main(["solve", str(a), "--out", str(out), "--quiet"], capsys)
    assert rc == 0
    assert not (out / "reserves.csv").exists()
    assert (out / "allocation.csv").exists()


def test_stale_temp_folders_of_dead_runs_are_removed_and_a_half_swap_is_undone(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.vm-tmp-{dead.pid}-abc"
    stale.mkdir()
    (stale / "allocation.csv").write_text("partial")
    old = tmp_path / f".out.vm-old-{dead.pid}-abc"  # killed between the two renames of a swap
    old.mkdir()
    (old / MARK).write_text("")
    (old / "allocation.csv").write_text("the previous run")
    alive = tmp_path / f".out.vm-tmp-{os.getpid()}-def"  # a run in progress: left alone
    alive.mkdir()
    other = tmp_path / ".other.vm-tmp-1-x"  # another folder's: not ours to judge here
    other.mkdir()
    clean_stale(out)
    assert (out / "allocation.csv").read_text() == "the previous run"
    assert not stale.exists() and not old.exists()
    assert alive.exists() and other.exists()


@pytest.mark.parametrize("case", ["file", "below_file", "foreign", "readonly"])
def test_out_is_checked_before_any_work(tmp_path, capsys, case):
    a, _ = _instances(tmp_path)
    if case == "file":
        out = tmp_path / "results.txt"
        out.write_text("mine")
    elif case == "below_file":
        (tmp_path / "f").write_text("mine")
        out = tmp_path / "f" / "out"
    elif case == "foreign":
        out = tmp_path / "thesis"
        out.mkdir()
        (out / "chapter1.docx").write_text("mine")
    else:
        if os.geteuid() == 0:
            pytest.skip("root may write anywhere")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        out = ro / "out"
    t0 = time.perf_counter()
    rc, _, err = run_main(["--lang", "en", "reserves", str(a), "--out", str(out), "--scenarios", "100000"], capsys)
    assert rc == 2, err
    assert time.perf_counter() - t0 < 5, "refused only after the work"
    assert f"--out {out}" in err
    if case == "foreign":
        assert sorted(p.name for p in out.iterdir()) == ["chapter1.docx"]
    if case == "file":
        assert (tmp_path / "results.txt").read_text() == "mine"


def test_an_instance_folder_is_never_written_over(tmp_path):
    a, _ = _instances(tmp_path)
    with pytest.raises(UsageError) as e:
        check_target(a, replace=False)
    assert "not empty" in e.value.args[0] and "niet leeg" in str(e.value)
    check_target(tmp_path / "new", replace=False)  # a new folder is fine
    (tmp_path / "empty").mkdir()
    check_target(tmp_path / "empty", replace=False)  # and an empty one


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_terminated_run_cleans_up_after_itself(tmp_path, sig):
    """SIGTERM (a scheduler, `kill`) and Ctrl-C go through every clean-up: no temporary folder
    stays behind even without a next start, and the folder is a whole run. (The handler defers a
    stop inside the few steps that must not be cut in two; blocking the signal per thread was not
    enough: a solver's thread took it.)"""
    a, b = _instances(tmp_path)
    out = tmp_path / "out"
    assert _solve(a, out).wait(timeout=120) == 0
    before = snapshot(out)
    rng = random.Random(3)
    for _ in range(10):
        proc = _solve(b, out)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if any(".vm-tmp-" in p.name for p in tmp_path.iterdir()):
                break
            time.sleep(0.0005)
        time.sleep(rng.choice([0, 0.001, 0.003]))
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "out"]
        now = snapshot(out)
        assert now == before or now["manifest.json"] != before["manifest.json"]
        if now != before:
            before = now
