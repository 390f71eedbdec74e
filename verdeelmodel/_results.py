"""The result of a solve (:class:`Result`), and what every result object shares: tables by name
(``to_frames``), a short summary as its repr (never a dump of tables into a notebook cell) and
an HTML summary for Jupyter."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from verdeelmodel.models.manifest import BUSINESS_KINDS


class Summarised:
    """Base of the result objects (solve, pool, reserves, sweep)."""

    #: the tables a result may carry, in order: ``to_frames`` keys, written as ``<name>.csv``
    TABLES: ClassVar[tuple[str, ...]] = ()
    #: other files its writer may produce (besides summary.json and manifest.json)
    EXTRA_FILES: ClassVar[tuple[str, ...]] = ()

    def to_frames(self) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def summary_lines(self) -> list[str]:
        raise NotImplementedError

    def __repr__(self) -> str:
        frames = self.to_frames()
        return f"<{type(self).__name__} " + "; ".join(self.summary_lines()) + f"; tables: {', '.join(frames) or 'none'}>"

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(t)}</li>" for t in self.summary_lines())
        tables = ", ".join(f"<code>{html.escape(k)}</code> ({len(v):,} rows)" for k, v in self.to_frames().items()) or "none"
        return f"<div><strong>{html.escape(type(self).__name__)}</strong><ul>{items}</ul><p>tables: {tables}</p></div>"


def eur(v: float) -> str:
    return f"EUR {v:,.0f}"


@dataclass(repr=False)
class Result(Summarised):
    """Everything a solve produced, as labelled tables."""

    TABLES: ClassVar[tuple[str, ...]] = (
        "allocation",
        "substitutions",
        "provider_budgets",
        "budgets",
        "constraints",
        "reference",
        "pooling",
    )
    EXTRA_FILES: ClassVar[tuple[str, ...]] = ("explanation.txt",)

    instance: str
    status: str
    objective: dict[str, float]
    timings: dict[str, float]
    allocation: pd.DataFrame
    substitutions: pd.DataFrame
    provider_budgets: pd.DataFrame
    budgets: pd.DataFrame
    constraints: pd.DataFrame
    reference: pd.DataFrame
    explanation: list[str] = field(default_factory=list)
    message: str = ""
    pooling: pd.DataFrame = field(default_factory=pd.DataFrame)
    totals: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(
        default_factory=list
    )  # what a reader must know to read the numbers (policy choices made or not)  # euros: budget, need, allocated, unmet, headroom

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The result tables by name (none when there is no allocation); pooling only where lots are pooled."""
        if not self.optimal:
            return {}
        frames = {t: getattr(self, t) for t in self.TABLES}
        if not len(self.pooling):
            frames.pop("pooling")
        return frames

    def summary_lines(self) -> list[str]:
        lines = [f"{self.instance}: {self.status}"]
        if self.objective:
            lines.append("stages " + ", ".join(f"{k} {v:,.2f}" for k, v in self.objective.items()))
        if self.optimal and self.totals:
            t = self.totals
            lines.append(", ".join(f"{k} {eur(v)}" for k, v in t.items()))
            if len(self.constraints):
                lines.append(f"{len(self.binding)} binding rules")
        elif self.explanation:
            lines.append(self.explanation[0])
        return lines

    @property
    def binding(self) -> pd.DataFrame:
        """Binding plafonds, budgets, minimums and goals with their shadow prices: those with a price
        first, by the stage where it matters (tekort, plafondoverschrijding, unmet, deviation), then by size."""
        from verdeelmodel.models.manifest import STAGE_NAMES

        c = self.constraints
        b = c[c["binding"] & c["kind"].isin(BUSINESS_KINDS)]
        if b.empty or "shadow_price_stage" not in b:
            return b
        order = {s: i for i, s in enumerate(STAGE_NAMES)}
        key = b["shadow_price_stage"].map(lambda s: order.get(s, len(order))) * 1e18 - b["shadow_price_eur"].abs()
        return b.loc[key.sort_values(kind="stable").index]

    def unmet_by_lot(self) -> pd.DataFrame:
        """Per lot: need, need moved away and added by substitution, allocation, unmet need (non-statutory
        lots only). need - substituted_out + substituted_in = amount + unmet (no budget above need)."""
        cols = ["need_eur", "substituted_out_eur", "substituted_in_eur", "amount_eur", "unmet_eur"]
        a = self.allocation
        if a.empty:
            return pd.DataFrame(columns=["lot", "label", *cols])
        return a.groupby(["lot", "label"], as_index=False, sort=True)[cols].sum()
