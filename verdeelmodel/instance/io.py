"""Reading instance files (a folder of CSVs + instance.yaml, or one .xlsx workbook).

Everything is read as text here; types, ranges and keys are checked in
:mod:`verdeelmodel.instance.validate`. Instance files are data: YAML is read with
``safe_load`` and nothing is ever evaluated or unpickled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .problems import Problem
from .schema import TABLE_BY_NAME, TABLES

META_FILE = "instance.yaml"
META_SHEET = "instance"


@dataclass
class RawTable:
    """A table as read: header and rows as text, with the file row number of each row."""

    name: str
    location: str  # "need.csv" or "instance.xlsx[need]"
    header: list[str]
    rows: list[dict[str, str]]
    line_numbers: list[int]
    #: rows left out because of a problem already reported (undecodable bytes); their
    #: keys still count as defined, so other tables do not report them a second time
    rejected_rows: list[dict[str, str]] = field(default_factory=list)


@dataclass
class RawInstance:
    path: Path
    meta: dict[str, Any] | None
    meta_location: str
    tables: dict[str, RawTable]
    input_hash: str
    input_files: list[str]
    problems: list[Problem] = field(default_factory=list)


def read_raw(path: str | Path) -> RawInstance:
    """Read an instance folder or workbook into text tables, collecting problems."""
    p = Path(path)
    if p.is_dir():
        return _read_folder(p)
    if p.suffix.lower() == ".xlsx" and p.is_file():
        return _read_workbook(p)
    loc = str(p)
    missing = not p.exists()
    what = "does not exist" if missing else "is neither an instance folder nor an .xlsx workbook"
    wat = "bestaat niet" if missing else "is geen instantiemap en ook geen .xlsx-werkboek"
    raw = RawInstance(p, None, loc, {}, "", [])
    raw.problems.append(
        Problem(
            loc,
            None,
            None,
            None,
            f"an instance folder (with {META_FILE}) or an .xlsx workbook; the path {what}",
            f"een instantiemap (met {META_FILE}) of een .xlsx-werkboek; het pad {wat}",
        )
    )
    return raw


def _hash_files(files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _read_folder(folder: Path) -> RawInstance:
    problems: list[Problem] = []
    files: list[tuple[str, bytes]] = []
    meta = None
    meta_path = folder / META_FILE
    if meta_path.exists() and not meta_path.is_file():
        problems.append(Problem(META_FILE, None, None, None, "a file (this is a folder)", "een bestand (dit is een map)"))
    elif not meta_path.is_file():
        problems.append(
            Problem(
                META_FILE,
                None,
                None,
                None,
                f"a file {META_FILE} in {folder} (name, year, description, units, domains, options)",
                f"een bestand {META_FILE} in {folder} (name, year, description, units, domains, options)",
            )
        )
    else:
        data = meta_path.read_bytes()
        files.append((META_FILE, data))
        meta = _parse_yaml(data, META_FILE, problems)
    tables: dict[str, RawTable] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix.lower() != ".csv":
            continue
        if f.suffix != ".csv":  # ceilings.CSV: on Linux another file than ceilings.csv, silently unread before
            problems.append(
                Problem(
                    f.name,
                    None,
                    None,
                    None,
                    f"a table file ending in lower-case .csv (rename it to {f.stem}.csv)",
                    f"een tabelbestand dat eindigt op .csv in kleine letters (hernoem het naar {f.stem}.csv)",
                )
            )
            continue
        if not f.is_file():
            problems.append(Problem(f.name, None, None, None, "a file (this is a folder)", "een bestand (dit is een map)"))
            continue
        name = f.stem
        data = f.read_bytes()
        files.append((f.name, data))
        if name not in TABLE_BY_NAME:
            known = ", ".join(t.name for t in TABLES)
            problems.append(
                Problem(
                    f.name,
                    None,
                    None,
                    None,
                    f"a known table name; known tables: {known}",
                    f"een bekende tabelnaam; bekende tabellen: {known}",
                )
            )
            continue
        t = _parse_csv(data, name, f.name, problems)
        if t is not None:
            tables[name] = t
    return RawInstance(folder, meta, META_FILE, tables, _hash_files(files), [n for n, _ in sorted(files)], problems)


class _StrictLoader(yaml.SafeLoader):
    """YAML as data, strictly: plain tags only (SafeLoader), no anchors or aliases (a nested alias
    "bomb" of 2 KB expands to gigabytes), and no key twice in one mapping (YAML says the last one
    wins, silently). Errors carry their reason in English (``problem``) and Dutch (``nl``)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            event = self.peek_event()
            e = yaml.composer.ComposerError(
                None, None, f"an anchor or alias ({event.anchor!r}): instance files do not use them; write the value out", event.start_mark
            )
            e.nl = f"een anker of alias ({event.anchor!r}): instantiebestanden gebruiken die niet; schrijf de waarde uit"
            raise e
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    e = yaml.constructor.ConstructorError(
                        None, None, f"the key {str(key)[:80]!r} twice in one mapping (the last would silently win)", key_node.start_mark
                    )
                    e.nl = f"de sleutel {str(key)[:80]!r} twee keer (de laatste zou stilzwijgend gelden)"
                    raise e
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str):
    """Parse YAML text as plain data (see :class:`_StrictLoader`); raises ``yaml.YAMLError``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 -- a SafeLoader subclass
    except RecursionError:  # thousands of nested brackets: no setting is that deep
        e = yaml.YAMLError("values nested too deeply")
        e.problem, e.nl = "values nested too deeply", "waarden te diep genest"
        raise e from None


def _parse_yaml(data: bytes, location: str, problems: list[Problem]) -> dict | None:
    try:
        meta = load_yaml(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        problems.append(
            Problem(
                location, None, None, None, f"UTF-8 text ({e.reason} at byte {e.start})", f"UTF-8-tekst ({e.reason} bij byte {e.start})"
            )
        )
        return None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        why = getattr(e, "problem", e)
        problems.append(Problem(location, row, None, None, f"valid YAML ({why})", f"geldige YAML ({getattr(e, 'nl', why)})"))
        return None
    if not isinstance(meta, dict):
        problems.append(
            Problem(
                location,
                None,
                None,
                None,
                "a YAML mapping with keys name, year, description, units, domains, options",
                "een YAML-mapping (sleutel: waarde) met de sleutels name, year, description, units, domains, options",
            )
        )
        return None
    return meta


#: the longest cell an instance table may hold (a description is a few hundred characters)
MAX_CELL = 10_000
csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))  # a long cell is one problem, not a broken file


def _parse_csv(data: bytes, name: str, location: str, problems: list[Problem]) -> RawTable | None:
    try:
        text, undecodable = data.decode("utf-8-sig"), False
    except UnicodeDecodeError as e:
        # parse anyway (bad bytes become U+FFFD) to say which cells hold them, once each
        text, undecodable = data.decode("utf-8-sig", errors="replace"), True
        bad_byte = f"0x{data[e.start]:02x}"
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","  # a Dutch Excel saves CSV with ';'
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = list(reader)
    except csv.Error as e:
        problems.append(Problem(location, reader.line_num, None, None, f"well-formed CSV ({e})", f"geldige CSV ({e})"))
        return None
    if not lines or not any(c.strip() for c in lines[0]):
        problems.append(
            Problem(location, 1, None, None, "a header row with the table's column names", "een kopregel met de kolomnamen van de tabel")
        )
        return None
    header = [c.strip() for c in lines[0]]
    not_utf8 = f"UTF-8 text (this cell has a byte that is not UTF-8, e.g. {bad_byte}; save the file as 'CSV UTF-8')" if undecodable else ""
    not_utf8_nl = (
        f"UTF-8-tekst (deze cel bevat een byte die geen UTF-8 is, bijv. {bad_byte}; sla het bestand op als 'CSV UTF-8')"
        if undecodable
        else ""
    )
    if undecodable:
        for c in header:
            if "\ufffd" in c:
                problems.append(Problem(location, 1, c, c, not_utf8, not_utf8_nl))
    rows, numbers, rejected = [], [], []
    for i, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(header):
            problems.append(
                Problem(
                    location,
                    i,
                    None,
                    f"{len(cells)} cells",
                    f"{len(header)} cells, one per header column (check for a stray comma or a decimal comma)",
                    f"{len(header)} cellen, één per kolom van de kopregel (controleer op een losse komma of een decimaalkomma)",
                )
            )
            continue
        row = dict(zip(header, cells))
        long = [(col, c) for col, c in row.items() if len(c) > MAX_CELL]
        if long:
            for col, c in long:
                problems.append(
                    Problem(
                        location,
                        i,
                        col,
                        c,
                        f"a cell of at most {MAX_CELL:,} characters",
                        f"een cel van hoogstens {MAX_CELL} tekens",
                    )
                )
            rejected.append({k: v[:MAX_CELL] for k, v in row.items()})
            continue
        if undecodable and any("\ufffd" in c for c in cells):
            for col, c in row.items():
                if "\ufffd" in c:
                    problems.append(Problem(location, i, col, c, not_utf8, not_utf8_nl))
            rejected.append(row)
            continue
        rows.append(row)
        numbers.append(i)
    return RawTable(name, location, header, rows, numbers, rejected)


def _cell_text(v: Any) -> str:
    """Excel cell value -> the text a CSV would hold."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return str(int(v))
        text = repr(v)
        # a number typed as a number is never ambiguous: 100.004 stays 100.004, not the Dutch thousands 100004
        return text + "0" if re.fullmatch(r"-?[1-9]\d{0,2}\.\d{3}", text) else text
    return str(v)


def _read_workbook(path: Path) -> RawInstance:
    import openpyxl  # imported here: only workbook users pay for it

    problems: list[Problem] = []
    data = path.read_bytes()
    files = [(path.name, data)]
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken file
        why = f"{type(e).__name__}: {e}"
        problems.append(Problem(path.name, None, None, None, f"a readable .xlsx workbook ({why})", f"een leesbaar .xlsx-werkboek ({why})"))
        return RawInstance(path, None, path.name, {}, _hash_files(files), [path.name], problems)
    meta = None
    tables: dict[str, RawTable] = {}
    try:  # the sheets' XML is read here: a damaged or hostile part (entity bombs, XXE) is a problem, not a crash
        uncached = _uncached_formulas(data, wb)
        sheets = []
        for ws in wb.worksheets:
            ws.reset_dimensions()  # trust the cells, not the stated size (one cell at XFD1048576 would pad 17 billion)
            sheets.append((ws.title, [[_cell_text(c) for c in r] for r in ws.iter_rows(values_only=True)]))
    except Exception as e:
        wb.close()
        why = f"{type(e).__name__}: {str(e)[:200]}"
        problems.append(Problem(path.name, None, None, None, f"a readable .xlsx workbook ({why})", f"een leesbaar .xlsx-werkboek ({why})"))
        return RawInstance(path, None, path.name, {}, _hash_files(files), [path.name], problems)
    for title, values in sheets:
        loc = f"{path.name}[{title}]"
        for r, c, formula in uncached.get(title, []):
            head = values[0][c - 1].strip() if values and r > 1 and c <= len(values[0]) and values[0][c - 1].strip() else None
            problems.append(
                Problem(
                    loc,
                    r,
                    head or openpyxl.utils.get_column_letter(c),
                    formula,
                    "a value, not a formula without a saved result (type the number, or open and save the workbook in Excel or LibreOffice)",
                    "een waarde, geen formule zonder opgeslagen uitkomst (typ het getal, of open en bewaar het werkboek in Excel of LibreOffice)",
                )
            )
        # trailing empty columns/rows are common in edited sheets
        while values and not any(c.strip() for c in values[-1]):
            values.pop()
        if title == META_SHEET:
            meta = _meta_from_sheet(values, loc, problems)
            continue
        if title not in TABLE_BY_NAME:
            known = ", ".join(t.name for t in TABLES)
            problems.append(
                Problem(
                    loc,
                    None,
                    None,
                    None,
                    f"a sheet named after a known table or '{META_SHEET}'; known tables: {known}",
                    f"een blad met de naam van een bekende tabel of '{META_SHEET}'; bekende tabellen: {known}",
                )
            )
            continue
        if not values or not any(c.strip() for c in values[0]):
            problems.append(
                Problem(loc, 1, None, None, "a header row with the table's column names", "een kopregel met de kolomnamen van de tabel")
            )
            continue
        header = [c.strip() for c in values[0]]
        while header and not header[-1]:
            header.pop()
        rows, numbers = [], []
        for i, cells in enumerate(values[1:], start=2):
            cells = (cells + [""] * len(header))[: max(len(header), len(cells))]
            if not any(c.strip() for c in cells):
                continue
            if any(c.strip() for c in cells[len(header) :]):
                problems.append(
                    Problem(
                        loc,
                        i,
                        None,
                        None,
                        f"no cells beyond the {len(header)} header columns",
                        f"geen gevulde cellen rechts van de {len(header)} kolommen van de kopregel",
                    )
                )
                continue
            rows.append(dict(zip(header, cells[: len(header)])))
            numbers.append(i)
        tables[title] = RawTable(title, loc, header, rows, numbers)
    wb.close()
    if meta is None and not any(p.location.endswith(f"[{META_SHEET}]") for p in problems):
        problems.append(
            Problem(
                path.name,
                None,
                None,
                None,
                f"a sheet '{META_SHEET}' with columns key, value (e.g. name, year, description, domains.jeugd)",
                f"een blad '{META_SHEET}' met de kolommen key, value (bijv. name, year, description, domains.jeugd)",
            )
        )
    return RawInstance(path, meta, f"{path.name}[{META_SHEET}]", tables, _hash_files(files), [path.name], problems)


def _uncached_formulas(data: bytes, cached) -> dict[str, list[tuple[int, int, str]]]:
    """Per sheet, the formula cells without a saved result: (row, column, formula), 1-based. Such a
    cell reads as blank (workbooks written by openpyxl or pandas store no results), so a budget
    of ``=500000*2`` would silently be 0; it is reported instead. A saved result is used as typed.
    ``cached``: the workbook as already opened with its saved results (read only)."""
    import openpyxl

    formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    out: dict[str, list[tuple[int, int, str]]] = {}
    try:
        for ws in formulas.worksheets:
            values = None
            ws.reset_dimensions()
            for r, row in enumerate(ws.iter_rows(), start=1):
                for c, cell in enumerate(row, start=1):
                    if getattr(cell, "data_type", None) != "f":
                        continue
                    if values is None:
                        sheet = cached[ws.title]
                        sheet.reset_dimensions()
                        values = list(sheet.iter_rows(values_only=True))
                    v = values[r - 1][c - 1] if r - 1 < len(values) and c - 1 < len(values[r - 1]) else None
                    if v is None:
                        out.setdefault(ws.title, []).append((r, c, str(cell.value)))
    finally:
        formulas.close()
    return out


def _meta_from_sheet(values: list[list[str]], loc: str, problems: list[Problem]) -> dict | None:
    """The 'instance' sheet holds key/value rows with dotted keys (options.reference.scale)."""
    if not values or [c.strip() for c in values[0][:2]] != ["key", "value"]:
        problems.append(Problem(loc, 1, None, None, "header 'key', 'value'", "de kopregel 'key', 'value'"))
        return None
    meta: dict[str, Any] = {}
    first: dict[str, int] = {}
    for i, row in enumerate(values[1:], start=2):
        key = row[0].strip() if row else ""
        if not key:
            continue
        if key in first:  # the last would silently win
            problems.append(
                Problem(
                    loc,
                    i,
                    "key",
                    key,
                    f"each key once (already in row {first[key]})",
                    f"elke sleutel één keer (staat al in rij {first[key]})",
                )
            )
            continue
        first[key] = i
        text = row[1] if len(row) > 1 else ""
        try:
            value = load_yaml(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        if key in ("name", "description") or key.startswith("domains."):
            value = text  # always text, even when it looks like a number
        node = meta
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                problems.append(
                    Problem(
                        loc,
                        i,
                        "key",
                        key,
                        "a key that does not extend a plain value",
                        "een sleutel die niet voortbouwt op een sleutel met een gewone waarde (zoals 'name.x' na 'name')",
                    )
                )
                break
        else:
            node[parts[-1]] = value
    return meta


def _yaml_flat(d: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.extend(_yaml_flat(v, key + "."))
        else:
            out.append((key, v))
    return out


def folder_to_workbook(folder: Path, out: Path) -> None:
    """Write an instance folder as one workbook (one sheet per table), atomically."""
    import openpyxl

    from .._atomic import atomic_path

    meta = load_yaml((folder / META_FILE).read_text(encoding="utf-8"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = META_SHEET
    ws.append(["key", "value"])
    for k, v in _yaml_flat(meta):
        ws.append([k, v if isinstance(v, str) else yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()])
    for spec in TABLES:
        f = folder / f"{spec.name}.csv"
        if not f.exists():
            continue
        ws = wb.create_sheet(spec.name)
        numeric = numeric_columns(spec.row)
        with f.open(encoding="utf-8-sig", newline="") as fh:
            header: list[str] | None = None
            for row in csv.reader(fh):
                if header is None:
                    header = [c.strip() for c in row]
                    ws.append(row)
                    continue
                # only number columns become Excel numbers: a text like '1.10' or '1e3' stays text
                ws.append([_excel_value(c) if j < len(header) and header[j] in numeric else c for j, c in enumerate(row)])
    for spec in TABLES:
        if spec.name in wb.sheetnames:
            dress_sheet(wb[spec.name], spec)
    _strings_as_strings(wb)
    with atomic_path(out) as tmp:
        wb.save(tmp)


def _strings_as_strings(wb) -> None:
    """Every text a text cell: openpyxl makes a text starting with '=' a live formula; an
    instance's names are data and never run when a controller opens the workbook."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def template_workbook(out: Path) -> None:
    """An empty instance as one workbook for a controller to fill in: the 'instance' sheet with
    the settings to give, and every table as a sheet with its header row dressed as in ``convert``
    (descriptions and units in the header's comments, lists of the allowed values, number formats)."""
    import openpyxl

    from .._atomic import atomic_path

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = META_SHEET
    ws.append(["key", "value"])
    for k, v in (
        ("name", "mijn-regio-2026"),
        ("year", 2026),
        ("description", "wat deze instance beschrijft"),
        ("domains.jeugd", "Jeugd"),
        ("domains.wmo", "Wmo"),
    ):
        ws.append([k, v])
    for spec in TABLES:
        sheet = wb.create_sheet(spec.name)
        sheet.append(list(spec.row.model_fields))
        dress_sheet(sheet, spec)
    with atomic_path(out) as tmp:
        wb.save(tmp)


def _enum_values(field) -> list[str] | None:
    import typing

    ann = field.annotation
    for t in (ann, *typing.get_args(ann)):
        if typing.get_origin(t) is typing.Literal:
            return [str(v) for v in typing.get_args(t)]
    return None


def _is_bool(field) -> bool:
    import typing

    return field.annotation is bool or bool in typing.get_args(field.annotation)


def dress_sheet(ws, spec) -> None:
    """Make a table sheet readable for a controller without changing what it holds: the column's
    description, unit and whether it is required as a comment on its header cell, a drop-down list
    of the allowed values for enumerations and yes/no columns, euro and share number formats, a
    frozen bold header, widths and an autofilter."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    fields = spec.row.model_fields
    header = [c.value for c in ws[1]]
    last = max(ws.max_row, 2) + 500  # room to add rows under the validation and formats
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    for j, name in enumerate(header, start=1):
        cell = ws.cell(1, j)
        cell.font, cell.fill = bold, fill
        f = fields.get(name)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(12, min(40, len(str(name)) + 4))
        if f is None:
            continue
        unit = (f.json_schema_extra or {}).get("unit") if isinstance(f.json_schema_extra, dict) else None
        values = _enum_values(f)
        need = "verplicht" if f.is_required() else "mag leeg"
        what = {"eur": "euro's (4.500.000 of 4500000)"}.get(unit or "", "")
        if _is_bool(f):
            what = "ja/nee: true of false"
        elif values:
            what = "een van: " + ", ".join(values)
        text = f"{f.description or name}\n\n{need}" + (f"; {what}" if what else "")
        cell.comment = Comment(text[:2000], "verdeelmodel", width=320, height=160)
        rng = f"{letter}2:{letter}{last}"
        if values or _is_bool(f):
            options = ["true", "false"] if _is_bool(f) else values
            dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
            dv.error, dv.errorTitle = "Kies een waarde uit de lijst: " + ", ".join(options), "Niet toegestaan"
            dv.prompt = ", ".join(options)
            ws.add_data_validation(dv)
            dv.add(rng)
        if unit == "eur":
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                for c in row:
                    c.number_format = "#,##0.##"
    ws.freeze_panes = "A2"
    if header:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(ws.max_row, 2)}"


def numeric_columns(row_model: Any) -> set[str]:
    """Columns of a row model that hold a float or int (also Optional[float])."""
    import typing

    out = set()
    for name, f in row_model.model_fields.items():
        types = typing.get_args(f.annotation) or (f.annotation,)
        if any(t in (float, int) for t in types):
            out.add(name)
    return out


def _excel_value(text: str) -> Any:
    """Numbers become Excel numbers so controllers can compute with them."""
    try:
        f = float(text)
    except ValueError:
        return text
    if not math.isfinite(f) or text.strip().lower() in ("nan", "inf", "-inf", "infinity"):
        return text
    if text.strip().lstrip("-").isdigit() and len(text.strip().lstrip("-")) > 1 and text.strip().lstrip("-").startswith("0"):
        return text  # codes with leading zeros stay text
    return int(f) if f == int(f) and "." not in text and "e" not in text.lower() else f


def workbook_to_folder(path: Path, out: Path) -> None:
    """Write a workbook as an instance folder (instance.yaml + one CSV per sheet), atomically."""
    from .._atomic import atomic_dir
    from .problems import InstanceError

    raw = read_raw(path)
    if raw.problems:
        raise InstanceError(raw.problems)
    with atomic_dir(out, replace=False) as tmp:
        (tmp / META_FILE).write_text(yaml.safe_dump(raw.meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
        for name, t in raw.tables.items():
            with (tmp / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(t.header)
                for row in t.rows:
                    w.writerow([row[c] for c in t.header])


def _csv_text(v: Any) -> str:
    """A table cell as the instance files write it: blank for missing, true/false, numbers exact."""
    import numpy as np

    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return ""
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        text = repr(f)
        # "1.015" reads as Dutch thousands too (and is said on loading): a trailing zero keeps it one number
        return text + "0" if re.fullmatch(r"-?\d{1,3}\.\d{3}", text) else text
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def write_folder(inst: Any, out: Path) -> None:
    """Write a loaded (and perhaps changed) instance as a folder: instance.yaml and one CSV per
    non-empty table, atomically; loading it back gives the same instance."""
    from .._atomic import atomic_dir

    meta = inst.meta.model_dump(mode="json", exclude_defaults=True)
    with atomic_dir(out, replace=False) as tmp:
        (tmp / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
        for spec in TABLES:
            df = inst.tables.get(spec.name)
            if df is None or df.empty:
                continue
            cols = [c for c in df.columns if c != "_row"]
            with (tmp / f"{spec.name}.csv").open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(cols)
                for row in df[cols].itertuples(index=False):
                    w.writerow([_csv_text(v) for v in row])
