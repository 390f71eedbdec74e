"""The council report (verdeelmodel report), opened in a real browser: Debian's chromium, driven by
Playwright. CI installs chromium (.ci/run) and sets CI=1, so there these tests always run;
elsewhere they are skipped when no chromium is found."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import INSTANCES, run_main

from verdeelmodel import fmt
from verdeelmodel.report import CHROMIUM_FLAGS, chromium

BROWSER = chromium()
if BROWSER is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must test the report in a browser: no chromium found (.ci/run installs it)")
    pytest.skip("no chromium on this machine (CI installs it)", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def westfriesland(tmp_path_factory):
    from verdeelmodel.cli import main

    out = tmp_path_factory.mktemp("rapport")
    assert main(["report", str(INSTANCES / "westfriesland-2021"), "--scenarios", "400", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def page_of(westfriesland):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        args = [a for a in CHROMIUM_FLAGS if a not in ("--headless", "--no-pdf-header-footer")]
        browser = pw.chromium.launch(executable_path=BROWSER, args=args, headless=True)
        page = browser.new_page(viewport={"width": 900, "height": 1300})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        page.goto((westfriesland / "rapport-westfriesland.html").as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(westfriesland / "first.png"))
        page.screenshot(path=str(westfriesland / "full.png"), full_page=True)
        cells = page.eval_on_selector_all("[data-key]", "els => els.map(e => [e.dataset.key, e.dataset.value, e.textContent.trim()])")
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.src.slice(0, 22)])")
        title = page.title()
        text = page.inner_text("body")
        yield {"problems": problems, "cells": cells, "images": images, "title": title, "text": text}
        browser.close()


def test_the_page_renders_without_errors_and_needs_no_network(page_of, westfriesland):
    assert page_of["problems"] == []
    assert "Westfriesland" in page_of["title"]
    assert page_of["images"] and all(w > 300 and src.startswith("data:image/png;base64") for w, src in page_of["images"])
    shot = (westfriesland / "first.png").read_bytes()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 50_000
    html = (westfriesland / "rapport-westfriesland.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", html)  # self-contained


def test_the_first_page_answers_the_overleg(page_of):
    text = page_of["text"]
    first = text.split("1. De verdeling")[0]
    for g in ("Drechterland", "Enkhuizen", "Hoorn", "Koggenland", "Medemblik", "Opmeer", "Stede Broec"):
        assert g in first
    assert "Verevening per gemeente onder elke regel" in first and "Benodigde reserve per gemeente" in first
    assert "Conclusies" in first and "K1" in first and "Afgesproken" in first


def test_the_numbers_on_the_page_are_the_csvs(page_of, westfriesland):
    st = pd.read_csv(westfriesland / "settlement.csv")
    st["key"] = st["rule"].where(st["rule_set"] != "agreed", "agreed")
    transfer = st.groupby(["gemeente", "key"])["transfer_eur"].sum()
    rv = pd.read_csv(westfriesland / "reserves.csv").set_index(["gemeente", "rule"])
    bud = pd.read_csv(westfriesland / "budgets.csv").groupby("gemeente")[["budget_eur", "tekort_eur"]].sum()
    seen = {"transfer": 0, "risk": 0, "tekort": 0, "budget": 0, "expected_tekort": 0}
    for key, value, shown in page_of["cells"]:
        kind, *rest = key.split("|")
        if kind == "transfer":
            want = transfer[(rest[0], rest[1])]
        elif kind == "risk":
            want = rv.loc[(rest[0], rest[1]), "risk_eur"]
        elif kind == "expected_tekort":
            want = rv.loc[(rest[0], "agreed"), "expected_tekort_eur"]
        else:
            want = bud.loc[rest[0], f"{kind}_eur"]
        assert float(value) == pytest.approx(want, abs=0.01), key
        assert shown == fmt.eur(want), key  # and shown the Dutch way
        seen[kind] += 1
    assert seen["transfer"] == 7 * 6 and seen["risk"] == 7 * 7 and seen["tekort"] == seen["budget"] == seen["expected_tekort"] == 7


def test_the_pdf_has_the_first_page_and_a_page_per_gemeente(westfriesland):
    pdf = (westfriesland / "rapport-westfriesland.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 1 + 7 and pages <= 20, pages


def test_one_gemeente_and_bad_arguments(tmp_path, capsys):
    out = tmp_path / "g"
    rc, stdout, err = run_main(
        [
            "report",
            str(INSTANCES / "westfriesland-2021"),
            "--gemeente",
            "Hoorn",
            "--scenarios",
            "200",
            "--no-pdf",
            "--no-fairness",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert rc == 0, err
    html = next(out.glob("rapport-*.html")).read_text(encoding="utf-8")
    assert html.count('<section class="gemeente"') == 1 and "<h2>Hoorn</h2>" in html
    rc, _, err = run_main(["report", str(INSTANCES / "westfriesland-2021"), "--gemeente", "Atlantis", "--out", str(tmp_path / "x")], capsys)
    assert rc == 2 and "Atlantis" in err and not (tmp_path / "x").exists()
    rc, _, err = run_main(["report", str(INSTANCES / "westfriesland-2021"), "--rule", "nope", "--out", str(tmp_path / "x")], capsys)
    assert rc == 2 and "nope" in err


def test_screenshots_for_the_note(westfriesland, page_of):
    """Keep the screenshots where a developer can look at them (the note shows them)."""
    keep = Path(os.environ.get("VERDEELMODEL_SCREENSHOTS", "")) if os.environ.get("VERDEELMODEL_SCREENSHOTS") else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        for name in ("first.png", "full.png"):
            (keep / f"westfriesland-{name}").write_bytes((westfriesland / name).read_bytes())
    assert (westfriesland / "full.png").stat().st_size > (westfriesland / "first.png").stat().st_size


def test_the_same_inputs_give_the_same_report(westfriesland, tmp_path):
    from verdeelmodel.cli import main

    again = tmp_path / "again"
    assert main(["report", str(INSTANCES / "westfriesland-2021"), "--scenarios", "400", "--out", str(again)]) == 0
    for name in ("rapport-westfriesland.html", "rapport-westfriesland.pdf", "reserves.csv", "settlement.csv"):
        assert (again / name).read_bytes() == (westfriesland / name).read_bytes(), name
