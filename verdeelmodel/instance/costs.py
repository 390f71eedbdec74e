"""Realised costs for settling a year: ``verdeelmodel pool --costs FILE``.

Columns gemeente, lot, year, clients, cost_eur (source optional). Several rows per gemeente
and lot are allowed -- one per client gives the high-cost pool its exact excess above H.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .io import _parse_csv
from .problems import InstanceError, Problem
from .schema import COSTS_SPEC
from .validate import Instance, _validate_table


def load_costs(path: str | Path, inst: Instance, year: int | None = None) -> tuple[pd.DataFrame, int]:
    """The rows of ``year`` (default: the file's only year, else the instance year); every
    problem at once as InstanceError."""
    p = Path(path)
    problems: list[Problem] = []
    if not p.is_file():
        raise InstanceError(
            [
                Problem(
                    str(p),
                    None,
                    None,
                    None,
                    "a CSV file with columns gemeente, lot, year, clients, cost_eur",
                    "een CSV-bestand met de kolommen gemeente, lot, year, clients, cost_eur",
                )
            ]
        )
    raw = _parse_csv(p.read_bytes(), "costs", p.name, problems)
    if raw is None:
        raise InstanceError(problems)
    df = _validate_table(raw, problems, [], spec=COSTS_SPEC)
    gemeenten, lots = set(inst.gemeenten["gemeente"]), set(inst.lots["lot"])
    for row, g, lot in zip(df["_row"], df["gemeente"], df["lot"]):
        if g not in gemeenten:
            problems.append(
                Problem(p.name, int(row), "gemeente", g, f"a gemeente of instance {inst.name}", f"een gemeente uit instantie {inst.name}")
            )
        if lot not in lots:
            problems.append(
                Problem(p.name, int(row), "lot", lot, f"a lot of instance {inst.name}", f"een perceel uit instantie {inst.name}")
            )
    years = sorted(set(df["year"].astype(int)))
    if year is None:
        year = years[0] if len(years) == 1 else inst.meta.year
    if not problems and year not in years:
        problems.append(
            Problem(
                p.name,
                None,
                "year",
                ", ".join(map(str, years)) or "(no rows)",
                f"rows for year {year} (choose with --year)",
                f"rijen voor jaar {year} (kies het jaar met --year)",
            )
        )
    if problems:
        raise InstanceError(problems)
    return df[df["year"].astype(int) == year].reset_index(drop=True), year


def planned_costs(inst: Instance) -> pd.DataFrame:
    """Expected cost per gemeente and lot: need.csv volume x tariff (with client counts)."""
    tariff = dict(zip(inst.lots["lot"], inst.lots["tariff_eur"].astype(float)))
    n = inst.need.groupby(["gemeente", "lot"], as_index=False)["volume"].sum()
    n["cost_eur"] = n["volume"].astype(float) * n["lot"].map(tariff)
    n["clients"] = n["volume"].astype(float)
    return n[["gemeente", "lot", "clients", "cost_eur"]]
