"""An infeasible variant of a bundled instance is explained in business terms, exit 3."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import pytest
from helpers import INSTANCES


@pytest.mark.slow  # a fresh process
def test_minimums_above_lot_ceiling_explained_with_exit_3(tmp_path):
    # nijmegen-2018: plafond jeugd specialistische begeleiding EUR 4.0M (region). Raise the two
    # providers' guaranteed minimums to 2.5M + 1.6M = 4.1M (each still under its own contract plafond).
    inst = tmp_path / "nijmegen-infeasible"
    shutil.copytree(INSTANCES / "nijmegen-2018", inst)
    path = inst / "contracts.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for r in rows:
        if r["lot"] == "jeugd_specialistische_begeleiding":
            r["minimum_eur"] = {"lvb_a": "2500000", "jeugd_breed_a": "1600000"}[r["provider"]]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "out"
    p = subprocess.run(
        [sys.executable, "-m", "verdeelmodel.cli", "solve", str(inst), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 3, p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert "infeasible" in p.stdout
    assert "regio rijk_van_nijmegen: <= EUR 4,000,000" in p.stdout
    assert "gegarandeerd minimum aanbieder" in p.stdout and ">= EUR 2,500,000" in p.stdout and ">= EUR 1,600,000" in p.stdout
    assert "= EUR 4,100,000" in p.stdout  # the sum of the minimums, in the summary line
    assert (out / "explanation.txt").exists() and (out / "summary.json").exists()
    assert not (out / "allocation.csv").exists()


def test_minimum_above_need_names_the_need_bound(make, tmp_path, capsys):
    """A guaranteed minimum of EUR 50 on lot basis where the need is EUR 30: the conflict is
    with "no budget above need", which the model keeps as a variable bound, not a row."""
    from helpers import run_main

    def edit(t):
        t["ceilings"] = [{"lot": "basis", "region": "", "gemeente": "A", "ceiling_eur": "", "minimum_eur": 50, "source": "test"}]

    code, out, err = run_main(["solve", str(make(edit)), "--out", str(tmp_path / "out")], capsys)
    assert code == 3, err
    assert "no budget above need Basis gemeente A population jeugd: <= EUR 30   [allocation_within_need]" in out
    assert "gegarandeerd minimum Basis gemeente A: >= EUR 50" in out
