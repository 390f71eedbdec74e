"""Plots for a council: tekort distributions, reserves per rule, the pooling benefit per gemeente,
the contract frontier and the fairness of an agreement.

In Dutch: titles in plain words, euros as € 1.234.567 and € 1,5 mln (verdeelmodel.fmt), the
instance's labels for rules; PNG via matplotlib's Agg backend (no screen needed). Written
atomically by the caller's output folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "font.size": 9})
    return plt


def _eur_axis(ax, axis: str = "y") -> None:
    """Euro ticks the Dutch way that fit: € 250.000, or € 1,5 mln once the axis reaches
    € 100.000 (at most 6 ticks). Call after the data is drawn (the range decides)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from verdeelmodel import fmt

    a = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    top = max(abs(lo), abs(hi))
    a.set_major_locator(MaxNLocator(6))
    a.set_major_formatter(FuncFormatter(lambda v, _p: fmt.mln(v, 2 if top < 1e6 else 1) if top >= 1e5 else fmt.eur(v)))


def _name(rule: str, labels: dict[str, str] | None) -> str:
    """What a person reads for a rule set: the instance's label, else a Dutch name."""
    base = {"profijt": "profijt (ieder eigen gebruik)", "agreed": "afgesproken regels"}
    text = (labels or {}).get(rule) or base.get(rule, rule)
    return text if len(text) <= 60 else text[:59] + "…"


def overspend_distribution(
    overspend: dict[str, np.ndarray],
    gemeenten: list[str],
    table: pd.DataFrame,
    confidence: float,
    path: Path,
    title: str,
    labels: dict[str, str] | None = None,
) -> None:
    """One panel per gemeente: in how many of the simulated years the tekort reached each amount,
    under profijt and the agreed rules, with the expected tekort (dotted) and the expected
    tekort + risk (dashed)."""
    from verdeelmodel import fmt

    plt = _plt()
    rules = [r for r in ("profijt", "agreed") if r in overspend] or list(overspend)[:2]
    n = len(gemeenten)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows), squeeze=False)
    colours = {"profijt": "#c0392b", "agreed": "#2471a3"}
    t = table[table["confidence"] == confidence].set_index(["gemeente", "rule"])
    S = next(iter(overspend.values())).shape[0]
    for i, g in enumerate(gemeenten):
        ax = axes[i // cols][i % cols]
        for r in rules:
            x = overspend[r][:, i]
            ax.hist(x, bins=40, alpha=0.45, color=colours.get(r), label=_name(r, labels))
            row = t.loc[(g, r)]
            ax.axvline(row["expected_tekort_eur"], color=colours.get(r), lw=1.2, ls=":")
            ax.axvline(row["expected_tekort_eur"] + row["risk_eur"], color=colours.get(r), lw=1.5, ls="--")
        ax.set_title(g, fontsize=9)
        ax.set_ylabel("aantal jaren", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        _eur_axis(ax, "x")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(
        f"{title}\nTekort per gemeente in {fmt.num(S)} gesimuleerde jaren; stippel: verwacht tekort (structureel, in de begroting), "
        f"streep: plus het risico dat in {fmt.pct(confidence, 0)} van de jaren niet wordt overschreden",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _levels(confidence) -> list[float]:
    return [float(c) for c in confidence] if isinstance(confidence, (list, tuple)) else [float(confidence)]


def reserves_by_rule(
    table: pd.DataFrame, gemeenten: list[str], confidence, path: Path, title: str, labels: dict[str, str] | None = None
) -> None:
    """Grouped bars: the reserve needed per gemeente under each rule, beside the reserve earmarked
    for the social domain; one panel per confidence level (``confidence``: a level or a list)."""
    from verdeelmodel import fmt

    plt = _plt()
    levels = _levels(confidence)
    fig, axes = plt.subplots(len(levels), 1, figsize=(max(7, 0.9 * len(gemeenten) + 3), 4.4 * len(levels)), squeeze=False)
    colours = plt.get_cmap("tab20").colors
    palette = [c for i, c in enumerate(colours) if i not in (14, 15)]  # tab20's greys are for the reserve
    for ax, level in zip(axes[:, 0], levels):
        t = table[np.isclose(table["confidence"], level) & table["gemeente"].isin(gemeenten)]
        rules = list(dict.fromkeys(t["rule"]))
        x = np.arange(len(gemeenten))
        w = 0.8 / (len(rules) + 1)
        for k, r in enumerate(rules):
            v = t[t["rule"] == r].set_index("gemeente").reindex(gemeenten)["risk_eur"]
            ax.bar(x + k * w, v, w, label=_name(r, labels), color=palette[(2 * k) % len(palette)])
        avail = t.drop_duplicates("gemeente").set_index("gemeente").reindex(gemeenten)["available_reserve_eur"]
        ax.bar(x + len(rules) * w, avail, w, color="#333333", hatch="//", edgecolor="white", label="reserve sociaal domein (geoormerkt)")
        ax.set_xticks(x + w * len(rules) / 2)
        ax.set_xticklabels(gemeenten, rotation=30, ha="right")
        _eur_axis(ax)
        ax.set_ylabel("benodigde reserve")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_title(f"{fmt.pct(level, 0)} zekerheid", fontsize=9)
    fig.suptitle(f"{title}\nRisico sociaal domein (tekort boven het verwachte) per gemeente en per regel", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def pooling_benefit(table: pd.DataFrame, confidence, path: Path, title: str, labels: dict[str, str] | None = None) -> None:
    """Per gemeente and rule: the risk the rule takes off it against profijt (its pooling benefit);
    a bar below zero is a gemeente that needs more reserve under the rule than alone. The
    region's total benefit per rule is in the legend; one panel per confidence level."""
    from verdeelmodel import fmt

    plt = _plt()
    levels = _levels(confidence)
    gemeenten = list(dict.fromkeys(table["gemeente"]))
    fig, axes = plt.subplots(len(levels), 1, figsize=(max(7, 0.9 * len(gemeenten) + 3), 4.4 * len(levels)), squeeze=False)
    for ax, level in zip(axes[:, 0], levels):
        t = table[np.isclose(table["confidence"], level)]
        rules = [r for r in dict.fromkeys(t["rule"]) if r != "profijt"]
        base = t[t["rule"] == "profijt"].set_index("gemeente")["risk_eur"].reindex(gemeenten)
        x = np.arange(len(gemeenten))
        w = 0.8 / max(1, len(rules))
        for k, r in enumerate(rules):
            risk = t[t["rule"] == r].set_index("gemeente")["risk_eur"].reindex(gemeenten)
            benefit = (base - risk).to_numpy(dtype=float)
            ax.bar(x + k * w, benefit, w, label=f"{_name(r, labels)} (regio {fmt.eur(np.nansum(benefit))})")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x + w * (len(rules) - 1) / 2)
        ax.set_xticklabels(gemeenten, rotation=30, ha="right")
        _eur_axis(ax)
        ax.set_ylabel("minder risico dan alleen (profijt)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_title(f"{fmt.pct(level, 0)} zekerheid", fontsize=9)
    fig.suptitle(
        f"{title}\nVoordeel van de verevening per gemeente\nboven nul minder reserve nodig dan zonder verevening, onder nul meer",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fairness(games: list, path: Path, title: str, confidence: float) -> None:
    """One panel per pool, region and rule set (at most 8): per gemeente what it needs alone,
    what the rule charges it in the region's bad years, its Shapley value and its Euler risk
    contribution (expected cost + reserve, CVaR)."""
    from verdeelmodel import fmt

    plt = _plt()
    games = games[:8]
    n = len(games)
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    width = max(len(pg.game.members) for pg in games)
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.5, 0.75 * width + 3) * cols, 3.6 * rows), squeeze=False)
    series = [
        ("stand_alone", "alleen", "#7f8c8d"),
        ("rule_split", "onder de regel", "#2471a3"),
        ("shapley", "Shapley", "#27ae60"),
        ("euler", "Euler (bijdrage aan het risico)", "#c0392b"),
    ]
    for k, pg in enumerate(games):
        ax = axes[k // cols][k % cols]
        g = pg.game
        x = np.arange(len(g.members))
        w = 0.8 / len(series)
        for j, (attr, label, colour) in enumerate(series):
            ax.bar(x + j * w, getattr(g, attr), w, label=label, color=colour)
        ax.set_xticks(x + w * (len(series) - 1) / 2)
        ax.set_xticklabels(g.members, rotation=30, ha="right", fontsize=8)
        _eur_axis(ax)
        ax.set_ylabel("verwachte kosten + reserve", fontsize=8)
        verdict = "in de kern" if g.core.in_core else f"niet in de kern: een groep betaalt {fmt.eur(g.core.max_excess)} te veel"
        ax.set_title(f"{pg.pool}, {pg.region}: {pg.rule} ({verdict})", fontsize=9)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{title}\nIs de verevening eerlijk? Per gemeente (CVaR, {fmt.pct(confidence, 0)} zekerheid)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def frontier(front: pd.DataFrame, path: Path, title: str) -> None:
    """Per region: expected payments against the reserve they need, over the cost of capital
    (the chosen contracts at each point), with today's contracts as a separate point."""
    plt = _plt()
    regions = list(dict.fromkeys(front["region"]))[:6]
    n = len(regions)
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 4.0 * rows), squeeze=False)
    for k, region in enumerate(regions):
        ax = axes[k // cols][k % cols]
        f = front[front["region"] == region]
        opt = f[f["cost_of_capital"].notna()].sort_values("cost_of_capital")
        today = f[f["cost_of_capital"].isna()]
        ax.plot(opt["reserve_eur"], opt["expected_pay_eur"], "-o", color="#2471a3", label="beste contracten bij een kapitaalkost (label)")
        # one label per distinct choice: the costs of capital at which it is the best
        for _forms, grp in opt.groupby("forms", sort=False):
            k = grp["cost_of_capital"]
            text = f"{k.min():g}" if len(grp) == 1 else f"{k.min():g}-{k.max():g}"
            r = grp.iloc[0]
            ax.annotate(text, (r.reserve_eur, r.expected_pay_eur), textcoords="offset points", xytext=(4, 4), fontsize=7)
        if len(today):
            ax.plot(today["reserve_eur"], today["expected_pay_eur"], "s", color="#c0392b", label="huidige contracten")
        _eur_axis(ax, "x")
        _eur_axis(ax, "y")
        ax.set_xlabel("benodigde reserve (CVaR boven het gemiddelde)", fontsize=8)
        ax.set_ylabel("verwachte betalingen", fontsize=8)
        ax.set_title(str(region), fontsize=9)
        ax.legend(fontsize=7)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"{title}\nWat contracten kosten tegenover de reserve die de gemeenten nodig houden", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def bars_by_gemeente(
    table: pd.DataFrame, labels: list[str], xlabel: str, width: float = 7.2, marks=None, mark_label: str = "", zero: bool = False
):
    """One horizontal grouped-bar figure: a row per gemeente (``table``'s index), a bar per column
    (``labels`` in the legend), euro ticks; ``marks``: a value per gemeente drawn as a stripe (a
    capacity); ``zero``: a line at zero (transfers: right pays, left receives). Returns the figure."""
    plt = _plt()
    n, m = len(table), max(1, len(table.columns))
    fig, ax = plt.subplots(figsize=(width, 0.5 * n + 1.5))
    h = 0.8 / m
    for j, col in enumerate(table.columns):
        ax.barh(np.arange(n) + j * h, table[col].to_numpy(dtype=float), height=h, label=labels[j])
    if marks is not None and np.isfinite(np.asarray(marks, dtype=float)).any():
        ax.plot(np.asarray(marks, dtype=float), np.arange(n) + 0.4 - h / 2, "k|", ms=14, mew=2, label=mark_label)
    ax.set_yticks(np.arange(n) + 0.4 - h / 2, table.index)
    ax.invert_yaxis()
    if zero:
        ax.axvline(0, color="black", lw=0.8)
    _eur_axis(ax, "x")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.legend(fontsize=7, loc="best")
    ax.grid(axis="x", alpha=0.3)
    return fig


def transfer_table(settlement: pd.DataFrame, gemeenten: list[str] | None = None) -> pd.DataFrame:
    """Per gemeente and rule set (the agreed rules as "agreed", a candidate by its name): the
    charge minus own use summed over the pools (+ pays, - receives)."""
    st = settlement if gemeenten is None else settlement[settlement["gemeente"].isin(gemeenten)]
    st = st.assign(key=st["rule"].where(st["rule_set"] != "agreed", "agreed"))
    st = st[st["key"] != "profijt"]
    t = st.pivot_table(index="gemeente", columns="key", values="transfer_eur", aggfunc="sum", sort=False)
    cols = [c for c in ["agreed", *[c for c in t.columns if c != "agreed"]] if c in t.columns]
    return t[cols] if gemeenten is None else t.reindex(index=gemeenten, columns=cols)


TRANSFER_AXIS = "verevening per jaar: rechts betaalt de gemeente mee, links ontvangt zij"


def transfers(settlement: pd.DataFrame, path: Path, title: str, labels: dict[str, str] | None = None, per_figure: int = 24) -> None:
    """Per gemeente the transfer (charge minus own use, summed over the pools) under the agreed
    rule and each candidate: right of zero the gemeente pays for others, left it receives. At
    most ``per_figure`` gemeenten (the largest transfers first when there are more)."""
    from verdeelmodel import fmt

    plt = _plt()
    t = transfer_table(settlement).fillna(0.0)
    cut = len(t) > per_figure
    if cut:
        t = t.loc[t.abs().max(axis=1).sort_values(ascending=False).index[:per_figure]]
    fig = bars_by_gemeente(t, [_name(r, labels) for r in t.columns], TRANSFER_AXIS, width=8.5, zero=True)
    more = f" (de {per_figure} grootste van {fmt.num(settlement['gemeente'].nunique())})" if cut else ""
    fig.axes[0].set_title(f"{title}\nWie betaalt en wie ontvangt, per regel{more}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
