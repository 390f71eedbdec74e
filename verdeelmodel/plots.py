"""Plots for a council: overspend distributions, reserves per rule, the region's pooling benefit.

Titles in plain words, amounts in euros, Dutch gemeente names; PNG via matplotlib's Agg
backend (no screen needed). Written atomically by the caller's output folder.
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
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        a, sign = abs(v), "−" if v < 0 else ""
        if a >= 1e6:
            return f"{sign}€{a / 1e6:,.1f} mln"
        if a >= 1e3:
            return f"{sign}€{a / 1e3:,.0f}k"
        return f"{sign}€{a:,.0f}"

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(fmt))


def overspend_distribution(
    overspend: dict[str, np.ndarray], gemeenten: list[str], table: pd.DataFrame, confidence: float, path: Path, title: str
) -> None:
    """One panel per gemeente: histogram of the tekort per scenario under profijt and the agreed rule,
    with the expected tekort (dotted) and the expected tekort + risk (dashed)."""
    plt = _plt()
    rules = [r for r in ("profijt", "agreed") if r in overspend] or list(overspend)[:2]
    n = len(gemeenten)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.5 * rows), squeeze=False)
    colours = {"profijt": "#c0392b", "agreed": "#2471a3"}
    t = table[table["confidence"] == confidence].set_index(["gemeente", "rule"])
    for i, g in enumerate(gemeenten):
        ax = axes[i // cols][i % cols]
        for r in rules:
            x = overspend[r][:, i]
            ax.hist(x, bins=40, alpha=0.45, color=colours.get(r), label=r, density=True)
            row = t.loc[(g, r)]
            ax.axvline(row["expected_tekort_eur"], color=colours.get(r), lw=1.2, ls=":")
            ax.axvline(row["expected_tekort_eur"] + row["risk_eur"], color=colours.get(r), lw=1.5, ls="--")
        ax.set_title(g, fontsize=9)
        ax.set_yticks([])
        _eur_axis(ax, "x")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    measure = str(t["measure"].iloc[0]).upper() if len(t) else "VaR"
    fig.suptitle(
        f"{title}\nTekort per gemeente per scenario; dotted: expected (structural), dashed: + risk at {confidence:.0%} ({measure})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def reserves_by_rule(table: pd.DataFrame, gemeenten: list[str], confidence: float, path: Path, title: str) -> None:
    """Grouped bars: the risk per gemeente under each rule, with the reserve earmarked for the social domain."""
    plt = _plt()
    t = table[(table["confidence"] == confidence) & table["gemeente"].isin(gemeenten)]
    rules = list(dict.fromkeys(t["rule"]))
    x = np.arange(len(gemeenten))
    w = 0.8 / (len(rules) + 1)
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(gemeenten) + 3), 4.2))
    colours = plt.get_cmap("tab20").colors
    palette = [c for i, c in enumerate(colours) if i not in (14, 15)]  # tab20's greys are for "available"
    for k, r in enumerate(rules):
        v = t[t["rule"] == r].set_index("gemeente").reindex(gemeenten)["risk_eur"]
        ax.bar(x + k * w, v, w, label=f"risk under {r}", color=palette[(2 * k) % len(palette)])
    avail = t.drop_duplicates("gemeente").set_index("gemeente").reindex(gemeenten)["available_reserve_eur"]
    ax.bar(x + len(rules) * w, avail, w, color="#333333", hatch="//", edgecolor="white", label="reserve earmarked for the social domain")
    ax.set_xticks(x + w * len(rules) / 2)
    ax.set_xticklabels(gemeenten, rotation=30, ha="right")
    _eur_axis(ax)
    ax.set_ylabel("euros")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{title}\nSocial-domain risk (tekort above its expectation) per gemeente at {confidence:.0%}, by pooling rule")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def pooling_benefit(table: pd.DataFrame, confidence: float, path: Path, title: str) -> None:
    """Bars: the region's total social-domain risk under each rule, and the saving against profijt."""
    plt = _plt()
    t = table[table["confidence"] == confidence]
    tot = t.groupby("rule", sort=False)["risk_eur"].sum()
    fig, ax = plt.subplots(figsize=(max(7, 1.4 * len(tot) + 2), 3.8))
    bars = ax.bar(tot.index, tot.values, color=["#c0392b" if r == "profijt" else "#2471a3" for r in tot.index])
    base = tot.get("profijt", np.nan)
    for b, (r, v) in zip(bars, tot.items()):
        label = f"€{v / 1e6:,.2f} mln" + ("" if r == "profijt" or base != base else f"\nsaves €{(base - v) / 1e6:,.2f} mln")
        ax.annotate(label, (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(tot)))
    ax.set_xticklabels([r.replace("_", "_\n", 1) if len(r) > 14 else r for r in tot.index], rotation=20, ha="right", fontsize=8)
    _eur_axis(ax)
    ax.set_ylabel("sum of risks (euros)")
    ax.set_title(
        f"{title}\nSum of the gemeenten's social-domain risks at {confidence:.0%}\n(the difference with profijt is the pooling benefit)"
    )
    ax.margins(y=0.2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fairness(games: list, path: Path, title: str, confidence: float) -> None:
    """One panel per pool, region and rule set (at most 8): per gemeente what it needs alone,
    what the rule charges it in the region's bad years, its Shapley value and its Euler risk
    contribution (expected cost + reserve, CVaR)."""
    plt = _plt()
    games = games[:8]
    n = len(games)
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    width = max(len(pg.game.members) for pg in games)
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.5, 0.75 * width + 3) * cols, 3.6 * rows), squeeze=False)
    series = [
        ("stand_alone", "alone", "#7f8c8d"),
        ("rule_split", "under the rule", "#2471a3"),
        ("shapley", "Shapley", "#27ae60"),
        ("euler", "Euler (risk contribution)", "#c0392b"),
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
        ax.set_ylabel("expected cost + reserve (euros)", fontsize=8)
        verdict = "in the core" if g.core.in_core else f"not in the core: a coalition pays {g.core.max_excess:,.0f} too much"
        ax.set_title(f"{pg.pool}, {pg.region}: {pg.rule} ({verdict})", fontsize=9)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{title}\nFairness of the pooling agreement per gemeente (CVaR at {confidence:.0%})", fontsize=10)
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
        ax.plot(opt["reserve_eur"], opt["expected_pay_eur"], "-o", color="#2471a3", label="best contracts at a cost of capital")
        # one label per distinct choice: the costs of capital at which it is the best
        for _forms, grp in opt.groupby("forms", sort=False):
            k = grp["cost_of_capital"]
            text = f"{k.min():g}" if len(grp) == 1 else f"{k.min():g}-{k.max():g}"
            r = grp.iloc[0]
            ax.annotate(text, (r.reserve_eur, r.expected_pay_eur), textcoords="offset points", xytext=(4, 4), fontsize=7)
        if len(today):
            ax.plot(today["reserve_eur"], today["expected_pay_eur"], "s", color="#c0392b", label="today's contracts")
        _eur_axis(ax, "x")
        _eur_axis(ax, "y")
        ax.set_xlabel("reserve needed (CVaR above the mean)", fontsize=8)
        ax.set_ylabel("expected payments", fontsize=8)
        ax.set_title(str(region), fontsize=9)
        ax.legend(fontsize=7)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"{title}\nWhat contracts cost against the reserve they leave the gemeenten", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
