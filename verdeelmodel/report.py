"""The council report (``verdeelmodel report``): one self-contained HTML file per region, in Dutch,
and a PDF of the same printed by headless Chromium.

The first page answers the regio-overleg's question: what each gemeente pays and receives under
each candidate rule, and which reserve it needs. Then the allocation against the budget (tekort,
binding plafonds in words), the settlement per rule, the reserves and the rating with their
precision, the fairness verdict, and a section per gemeente with conclusions in plain Dutch,
generated from the same tables the CSVs hold (``report`` writes them beside the HTML, and the tests
check that the page shows the CSVs' numbers).

Why Chromium for the PDF: it is the engine the report is tested in (tests/test_report.py opens it
in Debian's chromium), so the PDF is the page the tests looked at; WeasyPrint would be a second
renderer with its own CSS support and its own system libraries. Without a Chromium on the machine
the HTML is written and the command says that no PDF was made.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from verdeelmodel import fmt as F
from verdeelmodel.errors import UsageError

#: gemeenten per figure: more are split over several figures (readable at A4 width)
PER_FIGURE = 12
RATING_WORDS = {
    "A": "uitstekend",
    "B": "ruim voldoende",
    "C": "voldoende",
    "D": "matig",
    "E": "onvoldoende",
    "F": "ruim onvoldoende",
}


@dataclass
class ReportData:
    """Everything one report shows, for all regions of the instance."""

    instance: str
    year: int
    scenarios: int
    seed: int
    confidence: float
    rules: list[str]  # the rule sets shown: agreed first, then the candidates
    rule_labels: dict[str, str]
    budgets: pd.DataFrame
    settlement: pd.DataFrame
    reserves: pd.DataFrame
    fairness: pd.DataFrame
    constraints: pd.DataFrame
    regions: dict[str, list[str]]  # region -> gemeenten
    inhabitants: dict[str, float]
    tekort_samples: dict[str, np.ndarray] = field(default_factory=dict)  # rule set -> [S, G]
    gemeenten: list[str] = field(default_factory=list)  # order of the samples' columns
    synthetic: bool = False
    provenance: str = ""
    notes: list[str] = field(default_factory=list)


def default_candidates(inst) -> list[str]:
    """Candidate rules for every pool: the rules of pooling_rules.csv that no pool agreed and that
    carry no amount meant for one region (a minimum, fixed costs, a fund cap)."""
    agreed = set(inst.pools["rule"]) if len(inst.pools) else set()
    out = []
    for row in inst.pooling_rules.to_dict("records"):
        amounts = [row.get(c) for c in ("minimum_eur", "fixed_eur", "fund_cap_eur")]
        if row["rule"] not in agreed and all(a is None or a != a or a == "" for a in amounts):
            out.append(row["rule"])
    return out


def gather(
    inst,
    scenarios: int = 2000,
    seed: int = 20261122,
    confidence: float = 0.9,
    rules: list[str] | None = None,
    fair: bool = True,
    note=None,
    progress=None,
    game_progress=None,
    executor=None,
    block_executor=None,
):
    """Run what the report shows: the allocation, the settlement and the reserves under the agreed
    and candidate rules, and the fairness of the agreed and candidate rules. ``note(text)`` is
    told each phase, ``progress(done, total)`` the scenarios drawn. ``executor``
    (verdeelmodel.executors): where scenario chunks and games run; ``block_executor``: where the
    allocation's blocks are solved (default: threads here)."""
    import time

    from verdeelmodel.api import AllocationModel
    from verdeelmodel.workflows import fairness, pool, reserves

    t0 = time.perf_counter()

    def phase(text: str) -> None:
        if note is not None:
            note(f"  {text} ({F.num(time.perf_counter() - t0, 1)} s)")

    pooled = len(inst.pools) > 0
    rules = default_candidates(inst) if rules is None else rules
    phase("de verdeling oplossen")
    from verdeelmodel.api import SolveOptions

    res = AllocationModel(inst, SolveOptions(executor=block_executor), blocks=True).solve()
    if not res.optimal:
        raise UsageError(
            f"{inst.name}: no allocation ({res.status}); `verdeelmodel solve` explains why",
            f"{inst.name}: geen verdeling ({res.status}); `verdeelmodel solve` legt uit waarom",
        )
    phase("de verevening afrekenen")
    settlement = pool(inst, rules=rules).settlement if pooled else pd.DataFrame()
    phase("de reserves simuleren")
    rv = reserves(
        inst,
        scenarios=scenarios,
        seed=seed,
        confidence=confidence,
        rules=rules if pooled else None,
        progress=progress,
        plan=res,
        executor=executor,
    )  # the allocation solved above: solved once for the whole report
    if pooled and fair:
        phase("de eerlijkheid toetsen (coalities)")
        fr = fairness(
            inst,
            scenarios=scenarios,
            seed=seed,
            confidence=confidence,
            rules=rules,
            game_progress=game_progress,
            plan=res,
            executor=executor,
        )
        fr = fr.to_frames()["fairness"]
    else:
        fr = pd.DataFrame()
    phase("het rapport opmaken")
    bud = inst.budgets
    regions: dict[str, list[str]] = {}
    for g, r in sorted(set(zip(bud["gemeente"], bud["region"]))):
        regions.setdefault(r, [])
        if g not in regions[r]:
            regions[r].append(g)
    label = dict(zip(inst.pooling_rules["rule"], inst.pooling_rules["label"])) if len(inst.pooling_rules) else {}
    shown = (["agreed"] if pooled else []) + [r for r in rules if pooled]
    from verdeelmodel.reports import provenance_summary

    return ReportData(
        instance=inst.name,
        year=inst.meta.year,
        scenarios=rv.scenarios,
        seed=seed,
        confidence=confidence,
        rules=shown,
        rule_labels={"agreed": "afgesproken regels", "profijt": "profijt (ieder eigen gebruik)", **{r: label.get(r) or r for r in rules}},
        budgets=res.budgets,
        settlement=settlement,
        reserves=rv.table[np.isclose(rv.table["confidence"], confidence)].copy(),
        fairness=fr,
        constraints=res.constraints,
        regions=regions,
        inhabitants=dict(zip(inst.gemeenten["gemeente"], inst.gemeenten["inhabitants"].astype(float))),
        tekort_samples=rv.tekort,
        gemeenten=list(rv.gemeenten),
        synthetic=bool(inst.meta.synthetic),
        provenance=provenance_summary(inst, "nl"),
        notes=list(res.notes),
    )


# --------------------------------------------------------------------------- tables per region


def _transfers(d: ReportData, gemeenten: list[str]) -> pd.DataFrame:
    """Per gemeente and rule set: charge minus own use over all pools (+ pays, - receives)."""
    from verdeelmodel.plots import transfer_table

    if d.settlement.empty:
        return pd.DataFrame(index=gemeenten)
    t = transfer_table(d.settlement, gemeenten)
    return t[[r for r in d.rules if r in t.columns]]


def _risk(d: ReportData, gemeenten: list[str], column: str = "risk_eur") -> pd.DataFrame:
    rv = d.reserves[d.reserves["gemeente"].isin(gemeenten)]
    t = rv.pivot_table(index="gemeente", columns="rule", values=column, aggfunc="first")
    cols = [r for r in ["agreed", "profijt", *d.rules] if r in t.columns] or list(t.columns)
    return t.reindex(index=gemeenten, columns=list(dict.fromkeys(cols)))


def _agreed_rows(d: ReportData, gemeenten: list[str]) -> pd.DataFrame:
    rv = d.reserves
    rule = "agreed" if (rv["rule"] == "agreed").any() else "profijt"
    return rv[(rv["rule"] == rule) & rv["gemeente"].isin(gemeenten)].set_index("gemeente").reindex(gemeenten)


# --------------------------------------------------------------------------- words


def binding_words(constraints: pd.DataFrame, gemeente: str | None = None, limit: int = 8) -> list[str]:
    """The binding rules (of one gemeente) in Dutch sentences (verdeelmodel.explain)."""
    from verdeelmodel.explain import binding_sentences

    with F.using("nl"):
        lines, _more = binding_sentences(constraints, gemeente, limit)
    return [line + "." for line in lines]


def conclusions_region(d: ReportData, region: str, gemeenten: list[str]) -> list[str]:
    lines = []
    tr = _transfers(d, gemeenten)
    if not tr.empty and "agreed" in tr.columns:
        pays = tr["agreed"][tr["agreed"] > 0.5].sort_values(ascending=False)
        gets = tr["agreed"][tr["agreed"] < -0.5].sort_values()
        if len(pays):
            lines.append(
                "Onder de afgesproken regels betalen "
                + _list([f"{g} ({F.eur(v)})" for g, v in pays.items()])
                + " mee aan de zorg van de andere gemeenten"
                + (", en ontvangen " + _list([f"{g} ({F.eur(-v)})" for g, v in gets.items()]) if len(gets) else "")
                + "."
            )
    risk = _risk(d, gemeenten)
    if not risk.empty:
        tot = risk.sum()
        if "profijt" in tot and len(tot) > 1:
            cand = tot.drop(["profijt"], errors="ignore")
            best = cand.idxmin()
            lines.append(
                f"Samen hebben de gemeenten een reserve van {F.eur(tot.get('agreed', tot.iloc[0]))} nodig onder de afgesproken regels "
                f"(zonder verevening, profijt: {F.eur(tot['profijt'])}). De regel die het totale risico het meest verlaagt is "
                f"{d.rule_labels.get(best, best)} ({F.eur(tot[best])})."
            )
    ag = _agreed_rows(d, gemeenten)
    if "expected_tekort_eur" in ag:
        et = ag["expected_tekort_eur"].fillna(0)
        if (et > 0.5).any():
            lines.append(
                f"Het verwachte tekort ({F.eur(et.sum())} in de regio) is structureel: het hoort in de begroting, niet in de reserve. "
                f"Het grootst is het bij {et.idxmax()} ({F.eur(et.max())})."
            )
    if len(d.fairness):
        f = d.fairness[d.fairness["gemeente"].isin(gemeenten) & (d.fairness["rule_set"] == "agreed")]
        if len(f):
            out = f[~f["in_core"].astype(bool)]
            if out.empty:
                lines.append(
                    "De afgesproken verdeling is stabiel: geen groep gemeenten zou zonder de anderen goedkoper uit zijn (in de kern)."
                )
            else:
                lines.append(
                    "De afgesproken verdeling ligt niet in de kern: een groep gemeenten zou samen zonder de rest goedkoper uit zijn "
                    "(zie coalities in `verdeelmodel fairness`)."
                )
    return lines


def conclusions_gemeente(d: ReportData, g: str, heads: dict[str, str] | None = None) -> list[str]:
    lines = []
    b = d.budgets[d.budgets["gemeente"] == g]
    tek = float(b["tekort_eur"].sum())
    inh = d.inhabitants.get(g, float("nan"))
    if tek > 0.5:
        lines.append(
            f"Het budget is niet genoeg voor de wettelijke zorg: een tekort van {F.eur(tek)} ({F.eur(tek / inh, 2)} per inwoner), "
            "te dekken uit algemene middelen of de reserve."
        )
    else:
        lines.append(f"Het budget dekt de zorg; er blijft {F.eur(float(b['headroom_eur'].sum()))} ruimte.")
    tr = _transfers(d, [g])
    if not tr.empty and tr.notna().any().any():
        row = tr.iloc[0].dropna()
        name = heads or {}
        parts = [f"{name.get(r, r)}: {'betaalt' if v > 0 else 'ontvangt'} {F.eur(abs(v))}" for r, v in row.items() if abs(v) > 0.5]
        if parts:
            lines.append("Verevening tegenover eigen gebruik — " + "; ".join(parts) + ".")
    ag = _agreed_rows(d, [g]).iloc[0]
    if pd.notna(ag.get("risk_eur")):
        se = ag.get("risk_se_eur")
        txt = f"Reserve nodig voor het sociaal domein: {F.eur(ag['risk_eur'])}"
        txt += f" (± {F.eur(se)} Monte-Carlo-onzekerheid)" if pd.notna(se) else ""
        et = ag.get("expected_tekort_eur")
        if pd.notna(et) and et > 0.5:
            txt += f"; daarnaast een verwacht tekort van {F.eur(et)} dat in de begroting hoort"
        lines.append(txt + ".")
    if pd.notna(ag.get("rating")) and ag.get("rating"):
        word = RATING_WORDS.get(str(ag["rating"]), "")
        edge = " (dicht bij een klassegrens: de waardering is onzeker)" if bool(ag.get("near_band_edge")) else ""
        lines.append(f"Ratio weerstandsvermogen {F.num(ag['ratio'], 2)}: waardering {ag['rating']} ({word}){edge}.")
    return lines


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


# --------------------------------------------------------------------------- plots


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    from verdeelmodel.plots import _plt

    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def heads_of(d: ReportData) -> dict[str, str]:
    """Short column heads for the rule sets: Afgesproken, Profijt, K1, K2, ... (legend beside)."""
    heads = {"agreed": "Afgesproken", "profijt": "Profijt"}
    for k, r in enumerate([r for r in d.rules if r not in heads], start=1):
        heads[r] = f"K{k}"
    return heads


def plot_transfers(d: ReportData, gemeenten: list[str]) -> list[str]:
    """Per gemeente the transfer under each rule (+ pays, - receives), in chunks of PER_FIGURE."""
    from verdeelmodel import plots as P

    tr = _transfers(d, gemeenten)
    if tr.empty or tr.isna().all().all():
        return []
    heads = heads_of(d)
    labels = [_short(f"{heads[r]}: {d.rule_labels.get(r, r)}") for r in tr.columns]
    out = []
    for k in range(0, len(gemeenten), PER_FIGURE):
        fig = P.bars_by_gemeente(tr.iloc[k : k + PER_FIGURE].fillna(0.0), labels, P.TRANSFER_AXIS, zero=True)
        fig.tight_layout()
        out.append(_png(fig))
    return out


def plot_reserves(d: ReportData, gemeenten: list[str]) -> list[str]:
    """Per gemeente the reserve needed under each rule set, with its weerstandscapaciteit."""
    from verdeelmodel import plots as P

    risk = _risk(d, gemeenten)
    if risk.empty:
        return []
    cap = _agreed_rows(d, gemeenten).get("weerstandscapaciteit_eur")
    heads = heads_of(d)
    labels = [_short(f"{heads[r]}: {d.rule_labels.get(r, r)}") for r in risk.columns]
    xlabel = f"benodigde reserve sociaal domein ({F.pct(d.confidence, 0)} zekerheid)"
    out = []
    for k in range(0, len(gemeenten), PER_FIGURE):
        marks = None if cap is None else cap.iloc[k : k + PER_FIGURE].to_numpy(dtype=float)
        fig = P.bars_by_gemeente(
            risk.iloc[k : k + PER_FIGURE].fillna(0.0), labels, xlabel, marks=marks, mark_label="weerstandscapaciteit (totaal)"
        )
        fig.tight_layout()
        out.append(_png(fig))
    return out


def plot_distribution(d: ReportData, gemeenten: list[str]) -> tuple[str | None, str]:
    """The region's tekort over the simulated years under the agreed rules, with the expected
    tekort and the level not exceeded in ``confidence`` of the years; and its caption."""
    from verdeelmodel.plots import _eur_axis, _plt

    plt = _plt()  # the plots' own settings, whatever ran before (the same inputs give the same page)
    rule = "agreed" if "agreed" in d.tekort_samples else next(iter(d.tekort_samples), None)
    if rule is None:
        return None, ""
    idx = [d.gemeenten.index(g) for g in gemeenten if g in d.gemeenten]
    total = d.tekort_samples[rule][:, idx].sum(axis=1)
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    ax.hist(total, bins=50, color="#5b8db8", edgecolor="white")
    mean, q = float(total.mean()), float(np.quantile(total, d.confidence))
    ax.axvline(mean, color="#1b4f72", lw=2, label=f"verwacht tekort {F.eur(mean)}")
    ax.axvline(q, color="#c0392b", lw=2, ls="--", label=f"in {F.pct(d.confidence, 0)} van de jaren niet meer dan {F.eur(q)}")
    _eur_axis(ax, "x")
    ax.set_xlabel("tekort van de regio in een jaar (som over de gemeenten)", fontsize=8)
    ax.set_ylabel(f"aantal jaren (van {len(total):,})".replace(",", "."), fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    caption = (
        f"Elk staafje telt hoeveel van de {F.num(len(total))} gesimuleerde jaren een tekort van die grootte gaven. "
        f"Gemiddeld is het tekort {F.eur(mean)}: dat hoort in de begroting. Het verschil tot de rode lijn "
        f"({F.eur(q - mean)}) is het risico dat de reserves samen moeten kunnen opvangen."
    )
    return _png(fig), caption


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- render


def render(d: ReportData, region: str, gemeente: str | None = None) -> str:
    """The report of one region (or of one gemeente of it) as one self-contained HTML page."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    gemeenten = d.regions[region] if gemeente is None else [gemeente]
    all_g = d.regions[region]
    env = Environment(loader=PackageLoader("verdeelmodel", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters.update(eur=F.eur, pct=F.pct, num=F.num, mln=F.mln)
    tr = _transfers(d, all_g)
    risk = _risk(d, all_g)
    ag = _agreed_rows(d, all_g)
    bud = d.budgets[d.budgets["gemeente"].isin(all_g)]
    per_g = bud.groupby("gemeente", sort=False)[
        ["budget_eur", "allocated_eur", "tekort_eur", "headroom_eur", "plafondoverschrijding_eur"]
    ].sum()
    per_g = per_g.reindex(all_g)
    dist, caption = plot_distribution(d, all_g)
    fair = d.fairness[d.fairness["gemeente"].isin(all_g)] if len(d.fairness) else pd.DataFrame()
    heads = heads_of(d)
    legend = [
        (heads[r], d.rule_labels.get(r, r)) for r in ["agreed", "profijt", *d.rules] if r in heads and r in {*tr.columns, *risk.columns}
    ]
    ctx: dict[str, Any] = {
        "heads": heads,
        "legend": list(dict.fromkeys(legend)),
        "d": d,
        "region": region,
        "gemeenten": gemeenten,
        "all_gemeenten": all_g,
        "rules": [r for r in d.rules if r in tr.columns],
        "risk_rules": list(risk.columns),
        "transfers": tr,
        "risk": risk,
        "agreed": ag,
        "per_g": per_g,
        "budgets": bud,
        "fair": fair,
        "binding": binding_words(d.constraints, None),
        "binding_of": {g: binding_words(d.constraints, g, limit=5) for g in gemeenten},
        "conclusions": conclusions_region(d, region, all_g),
        "conclusions_of": {g: conclusions_gemeente(d, g, heads) for g in gemeenten},
        "plots_transfer": plot_transfers(d, all_g),
        "plots_reserves": plot_reserves(d, all_g),
        "plot_distribution": dist,
        "caption": caption,
        "rating_words": RATING_WORDS,
        "isnan": lambda v: v is None or (isinstance(v, float) and v != v),
    }
    return env.get_template("report.html.j2").render(**ctx)


def file_name(region: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in region.strip()).strip("-").lower()[:80] or "regio"
    return f"rapport-{safe}"


def file_names(regions: list[str]) -> dict[str, str]:
    """One file name per region, never the same for two (``Noord/Zuid`` and ``Noord-Zuid``, ``R``
    and ``r``): a later region whose name makes an earlier one's file gets ``-2``, ``-3``... in the
    order given, so no region's page writes over another's."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for region in regions:
        stem, k = file_name(region), 1
        while (stem if k == 1 else f"{stem}-{k}") in used:
            k += 1
        out[region] = stem if k == 1 else f"{stem}-{k}"
        used.add(out[region])
    return out


def chromium() -> str | None:
    """A headless-capable Chromium: $VERDEELMODEL_CHROMIUM, else chromium / google-chrome on PATH."""
    env = os.environ.get("VERDEELMODEL_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
]


def print_pdf(html_path: Path, pdf_path: Path, browser: str, timeout: float = 120) -> None:
    """Print the HTML page to PDF (A4, the page's own print CSS) with headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="verdeelmodel-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if run.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"Chromium made no PDF (exit {run.returncode}): {run.stderr.strip()[-300:]}")
    _fixed_dates(pdf_path)


def _fixed_dates(pdf_path: Path) -> None:
    """The same inputs give the same PDF, byte for byte: Chromium stamps the print time as the
    document's CreationDate and ModDate; these become a fixed date of the same length (so the
    cross-reference offsets stay right). What produced the report is in manifest.json."""
    import re

    data = pdf_path.read_bytes()
    fixed = re.sub(
        rb"/(CreationDate|ModDate) \(D:\d{14}([^)]*)\)", lambda m: b"/" + m.group(1) + b" (D:20000101000000" + m.group(2) + b")", data
    )
    if fixed != data:
        pdf_path.write_bytes(fixed)
