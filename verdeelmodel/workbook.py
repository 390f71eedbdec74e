"""The results workbook a controller opens in Excel (``--xlsx``): one sheet per result table.

Dutch headers, euro and percentage number formats (Excel shows them with the reader's own
separators), a frozen header row, column widths and an autofilter on every sheet; per-inwoner
columns where a council compares gemeenten; a "Toelichting" sheet that describes every column
(from ``verdeelmodel.columns``, the one list the tests check) and a "Herkomst" sheet with what
produced the numbers (inputs hash, versions, seed, options, the provenance of the input rows).

Cells are values: text is written as text, never as a formula, whatever it starts with
(``strings_to_formulas`` off), and a missing figure is an empty cell.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from verdeelmodel.columns import describe, header

#: sheet names (at most 31 characters) per result table
SHEETS = {
    "allocation": "Toewijzing",
    "substitutions": "Substitutie",
    "provider_budgets": "Aanbieders",
    "budgets": "Budgetten",
    "constraints": "Regels",
    "reference": "Referentie",
    "pooling": "Verevening",
    "settlement": "Afrekening",
    "comparison": "Vergelijking regels",
    "reserves": "Reserves",
    "fairness": "Eerlijkheid",
    "coalitions": "Coalities",
    "key_weight": "Sleutelgewicht",
    "contracts": "Contracten",
    "frontier": "Afweging",
    "frontier_gemeenten": "Afweging per gemeente",
    "out_of_sample": "Buiten steekproef",
    "gemeenten_today_vs_chosen": "Nu en gekozen",
    "reserve_path": "Reservepad",
    "meerjarenraming": "Meerjarenraming",
    "sweep": "Variaties",
}

#: euro columns shown per inwoner beside the amount, where a council compares gemeenten
PER_INHABITANT = {
    "budgets": ("budget_eur", "tekort_eur"),
    "pooling": ("transfer_eur",),
    "reserves": ("expected_tekort_eur", "risk_eur"),
    "gemeenten_today_vs_chosen": ("reserve_today_eur", "reserve_chosen_eur"),
    "reserve_path": ("closing_eur",),
}

UNIT_TEXT = {
    "eur": "euro",
    "eur_inh": "euro per inwoner",
    "share": "percentage",
    "ratio": "verhouding",
    "price": "euro per euro",
    "count": "aantal",
    "year": "jaar",
    "bool": "ja/nee",
    "text": "tekst",
}


def write_results_workbook(
    frames: dict[str, pd.DataFrame],
    path: str | Path,
    *,
    title: str,
    manifest: dict[str, Any] | None = None,
    provenance: str = "",
    inhabitants: dict[str, float] | None = None,
    lang: str | None = None,
) -> None:
    """Write ``frames`` (table name -> DataFrame, as ``to_frames`` gives them) to ``path``;
    ``lang`` "en": the stable column names as headers (default: the language of verdeelmodel.fmt)."""
    import xlsxwriter

    from verdeelmodel import fmt as F

    lang = lang or F.language()

    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": False}
    )
    # a fixed creation date: the same inputs give the same workbook, byte for byte (the manifest says what produced it)
    import datetime

    wb.set_properties({"title": title, "comments": "verdeelmodel: results", "created": datetime.datetime(2000, 1, 1)})
    base = {"font_name": "Calibri", "font_size": 10}
    fmt = {
        "head": wb.add_format({**base, "bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDE6F0", "border": 1}),
        "eur": wb.add_format({**base, "num_format": '"€" #,##0;"€" -#,##0'}),
        "eur_inh": wb.add_format({**base, "num_format": '"€" #,##0.00;"€" -#,##0.00'}),
        "share": wb.add_format({**base, "num_format": "0.0%"}),
        "ratio": wb.add_format({**base, "num_format": "#,##0.00"}),
        "price": wb.add_format({**base, "num_format": "0.0000"}),
        "count": wb.add_format({**base, "num_format": "#,##0"}),
        "year": wb.add_format({**base, "num_format": "0"}),
        "text": wb.add_format(base),
        "bool": wb.add_format(base),
        "title": wb.add_format({**base, "bold": True, "font_size": 13}),
        "wrap": wb.add_format({**base, "text_wrap": True, "valign": "top"}),
    }
    described: list[tuple[str, str, str, str, str]] = []  # sheet, header, csv name, unit, description
    used = set()
    for table, df in frames.items():
        name = _sheet_name(SHEETS.get(table, table) if lang == "nl" else table, used)
        df = _with_per_inhabitant(table, df, inhabitants)
        ws = wb.add_worksheet(name)
        cols = list(df.columns)
        widths = []
        for j, col in enumerate(cols):
            c = describe(table, col) if not col.endswith("_per_inwoner") else None
            if col.endswith("_per_inwoner"):
                src = col.removesuffix("_per_inwoner")
                head = f"{header(table, src)} per inwoner" if lang == "nl" else f"{src}_per_inhabitant"
                unit, desc = "eur_inh", f"{describe(table, src).nl} gedeeld door het aantal inwoners van de gemeente."
            else:
                head = c.nl if (c and lang == "nl") else col
                unit, desc = (c.unit, c.description) if c else ("text", "")
            ws.write_string(0, j, head, fmt["head"])
            described.append((name, head, col if not col.endswith("_per_inwoner") else "(alleen in de werkmap)", UNIT_TEXT[unit], desc))
            values = df[col].tolist()
            for i, v in enumerate(values, start=1):
                _cell(ws, i, j, v, unit, fmt)
            sample = [len(_shown(v, unit)) for v in values[:500]]
            widths.append(min(50, max([len(head) * 0.9, 8, *sample]) + 2))
        for j, w in enumerate(widths):
            ws.set_column(j, j, w)
        ws.set_row(0, 30)
        ws.freeze_panes(1, 0)
        ws.set_landscape()  # printed: A4 landscape, all columns on the page width, the header on every page
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        if cols:
            ws.autofilter(0, 0, max(1, len(df)), len(cols) - 1)
    _toelichting(wb, fmt, described, lang)
    _herkomst(wb, fmt, title, manifest or {}, provenance, lang)
    wb.close()


def _sheet_name(name: str, used: set[str]) -> str:
    name = name[:31]
    base, k = name, 2
    while name.lower() in used:
        name = f"{base[:28]} {k}"
        k += 1
    used.add(name.lower())
    return name


def _with_per_inhabitant(table: str, df: pd.DataFrame, inhabitants: dict[str, float] | None) -> pd.DataFrame:
    cols = PER_INHABITANT.get(table, ())
    if not inhabitants or "gemeente" not in df.columns or not cols:
        return df
    df = df.copy()
    inh = df["gemeente"].map(inhabitants).astype(float)
    for c in cols:
        if c in df.columns:
            pos = df.columns.get_loc(c) + 1
            df.insert(pos, f"{c}_per_inwoner", (df[c].astype(float) / inh.where(inh > 0)).round(2))
    return df


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))) or v is pd.NA


def _cell(ws, i: int, j: int, v, unit: str, fmt: dict) -> None:
    if _missing(v):
        ws.write_blank(i, j, None, fmt["text"])
    elif isinstance(v, (bool,)) or unit == "bool":
        ws.write_string(i, j, "ja" if _truthy(v) else "nee", fmt["bool"])
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        ws.write_number(i, j, float(v), fmt.get(unit, fmt["text"]))
    elif hasattr(v, "item"):  # a numpy scalar
        _cell(ws, i, j, v.item(), unit, fmt)
    else:
        ws.write_string(i, j, str(v), fmt["text"])


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "ja", "yes")
    return bool(v)


def _shown(v, unit: str) -> str:
    from verdeelmodel import fmt as F

    if _missing(v):
        return ""
    if unit in ("eur", "eur_inh") and isinstance(v, (int, float)):
        return F.eur(v, 2 if unit == "eur_inh" else 0)
    if unit == "share" and isinstance(v, (int, float)):
        return F.pct(v)
    return str(v)


def _toelichting(wb, fmt, described, lang: str = "nl") -> None:
    nl = lang == "nl"
    ws = wb.add_worksheet("Toelichting" if nl else "Columns")
    ws.write_string(0, 0, "Toelichting: wat elke kolom betekent" if nl else "What every column means (the meanings in Dutch)", fmt["title"])
    heads = ["Tabblad", "Kolom", "Naam in de CSV", "Eenheid", "Betekenis"] if nl else ["Sheet", "Column", "CSV name", "Unit", "Meaning"]
    for j, h in enumerate(heads):
        ws.write_string(2, j, h, fmt["head"])
    for i, row in enumerate(described, start=3):
        for j, v in enumerate(row):
            ws.write_string(i, j, v, fmt["wrap"] if j == 4 else fmt["text"])
    for j, w in enumerate((22, 32, 34, 16, 90)):
        ws.set_column(j, j, w)
    ws.freeze_panes(3, 0)
    ws.autofilter(2, 0, 2 + max(1, len(described)), len(heads) - 1)


def _herkomst(wb, fmt, title: str, man: dict, provenance: str, lang: str = "nl") -> None:
    nl = lang == "nl"
    ws = wb.add_worksheet("Herkomst" if nl else "Provenance")
    ws.write_string(0, 0, f"{'Herkomst' if nl else 'Provenance'}: {title}", fmt["title"])
    rows = [
        ("Opdracht" if nl else "Command", str(man.get("command", ""))),
        ("Instance", str(man.get("instance", ""))),
        ("Invoer (SHA-256)" if nl else "Inputs (SHA-256)", str(man.get("input_sha256", ""))),
        ("Zaad (seed)" if nl else "Seed", "" if man.get("seed") is None else str(man.get("seed"))),
        ("Opties" if nl else "Options", json.dumps(man.get("options", {}), ensure_ascii=False, sort_keys=True)),
        ("Versies" if nl else "Versions", ", ".join(f"{k} {v}" for k, v in sorted(man.get("versions", {}).items()))),
        (
            "Herkomst van de invoerrijen" if nl else "Provenance of the input rows",
            (provenance + (" (zie sources.csv)" if nl else " (see sources.csv)")) if provenance else "",
        ),
        ("Bestanden" if nl else "Files", ", ".join(man.get("input_files", []) or [])),
    ]
    for i, (k, v) in enumerate(rows, start=2):
        ws.write_string(i, 0, k, fmt["head"])
        ws.write_string(i, 1, v, fmt["wrap"])
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 110)
