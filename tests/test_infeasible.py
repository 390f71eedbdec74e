"""An infeasible variant of a bundled instance is explained in business terms, exit 3."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import pytest
from helpers import INSTANCES


@pytest.mark.slow  # a fresh process
def test_minimums_above_need_explained_with_exit_3(tmp_path):
    # nijmegen-2018: dyslexie (EED) need EUR 1,898,400 in the region. Raise the two providers'
    # guaranteed minimums to their plafonds, 1,000,000 + 900,000 = 1,900,000: more than the need,
    # and the model places no budget above need.
    inst = tmp_path / "nijmegen-infeasible"
    shutil.copytree(INSTANCES / "nijmegen-2018", inst)
    path = inst / "contracts.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for r in rows:
        if r["lot"] == "jeugd_dyslexie":
            r["minimum_eur"] = r["ceiling_eur"]
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
    assert "geen toewijzing mogelijk" in p.stdout and "Geen verdeling voldoet aan alle regels" in p.stdout  # in Dutch
    assert "gegarandeerd minimum aanbieder" in p.stdout and ">= €\xa01.000.000" in p.stdout and ">= €\xa0900.000" in p.stdout
    assert "no budget above need Ernstige enkelvoudige dyslexie" in p.stdout  # the rule's name, as the manifest gives it
    assert "= €\xa01.900.000" in p.stdout and "Kort gezegd" in p.stdout  # the sum of the minimums, in the summary line
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
    assert "no budget above need Basis gemeente A population jeugd: <= €\xa030   [allocation_within_need]" in out
    assert "gegarandeerd minimum Basis gemeente A: >= €\xa050" in out
