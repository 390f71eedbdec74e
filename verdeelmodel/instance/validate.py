"""Validation at the border: types and ranges (pydantic row models), keys and consistency.

All problems of an instance are collected in one run; each is reported once with the
file, row, column, value and what was expected. Downstream code trusts the result.
"""

from __future__ import annotations

import copy
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from verdeelmodel.fmt import eur, t
from verdeelmodel.models.rules import KIND, Rule
from verdeelmodel.parameters import MAX_AMOUNT_EUR as P_MAX_AMOUNT_EUR

from .io import RawInstance, RawTable, numeric_columns, read_raw
from .numbers import read_number
from .problems import InstanceError, Problem, unsafe_char
from .schema import ECHELON_ORDER, TABLE_BY_NAME, TABLES, InstanceMeta

SOURCE_PREFIX = "source_"


@dataclass
class Instance:
    """A validated instance: metadata plus one typed DataFrame per table.

    Optional tables that were absent are empty DataFrames with the schema's columns.
    """

    meta: InstanceMeta
    tables: dict[str, pd.DataFrame]
    path: Path
    input_hash: str
    input_files: list[str]
    readings: list[str] = field(default_factory=list)  # ambiguous Dutch-typed numbers and the reading taken

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def options(self):
        return self.meta.options

    def copy(self) -> Instance:
        """A deep copy whose tables can be edited (what-if analysis) without touching this one."""
        return Instance(
            self.meta.model_copy(deep=True),
            {k: v.copy() for k, v in self.tables.items()},
            self.path,
            self.input_hash,
            list(self.input_files),
            list(self.readings),
        )


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance; raise :class:`InstanceError` with every problem found."""
    raw = read_raw(path)
    problems = list(raw.problems)
    inst = _validate(raw, problems)
    if problems:
        raise InstanceError(_dedupe(problems))
    assert inst is not None
    return inst


def check_instance(inst: Instance) -> None:
    """Re-run the cross-table checks on an (edited) instance; raise InstanceError on problems."""
    problems: list[Problem] = []
    _cross_checks(inst.meta, {k: v for k, v in inst.tables.items()}, {k: f"{k} (edited)" for k in inst.tables}, problems)
    if problems:
        raise InstanceError(_dedupe(problems))


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


# --------------------------------------------------------------------------- rows

_EXPECT = {
    "missing": lambda c: "a value (this column is required)",
    "float_parsing": lambda c: "a number in euros/units with '.' as decimal point and no thousands separator",
    "float_type": lambda c: "a number",
    "int_parsing": lambda c: "a whole number",
    "int_from_float": lambda c: "a whole number",
    "int_type": lambda c: "a whole number",
    "finite_number": lambda c: "a finite number",
    "bool_parsing": lambda c: "true or false",
    "greater_than_equal": lambda c: f"a number >= {c['ge']}",
    "greater_than": lambda c: f"a number > {c['gt']}",
    "less_than_equal": lambda c: f"a number <= {c['le']}",
    "less_than": lambda c: f"a number < {c['lt']}",
    "literal_error": lambda c: f"one of {c['expected']}",
    "string_too_short": lambda c: "a non-empty text",
    "string_too_long": lambda c: f"a text of at most {c['max_length']} characters",
    "extra_forbidden": lambda c: "no such column",
    "dict_type": lambda c: "a mapping of settings (key: value lines)",
    "model_type": lambda c: "a mapping of settings (key: value lines)",
}


#: the same phrases in Dutch (and a few more pydantic error types, which the English takes from
#: pydantic's own message)
_EXPECT_NL = {
    "missing": lambda c: "een waarde (verplicht)",
    "float_parsing": lambda c: "een getal in euro's/eenheden met '.' als decimaalteken en zonder scheidingsteken voor duizendtallen",
    "float_type": lambda c: "een getal",
    "int_parsing": lambda c: "een geheel getal",
    "int_from_float": lambda c: "een geheel getal",
    "int_type": lambda c: "een geheel getal",
    "finite_number": lambda c: "een eindig getal",
    "bool_parsing": lambda c: "true of false",
    "greater_than_equal": lambda c: f"een getal >= {c['ge']}",
    "greater_than": lambda c: f"een getal > {c['gt']}",
    "less_than_equal": lambda c: f"een getal <= {c['le']}",
    "less_than": lambda c: f"een getal < {c['lt']}",
    "literal_error": lambda c: f"een van {_or_in_dutch(str(c['expected']))}",
    "string_too_short": lambda c: "een tekst die niet leeg is",
    "string_too_long": lambda c: f"een tekst van hoogstens {c['max_length']} tekens",
    "extra_forbidden": lambda c: "geen kolom met deze naam (deze kolom bestaat niet)",
    "dict_type": lambda c: "een lijst instellingen (regels sleutel: waarde)",
    "model_type": lambda c: "een lijst instellingen (regels sleutel: waarde)",
    # not in _EXPECT: the English is pydantic's message
    "too_short": lambda c: f"minstens {c.get('min_length', 1)} element(en)",
    "string_type": lambda c: "een tekst",
    "bool_type": lambda c: "true of false",
}


def _or_in_dutch(choices: str) -> str:
    """pydantic's "'a', 'b' or 'c'" as "'a', 'b' of 'c'"."""
    head, sep, last = choices.rpartition(" or ")
    return f"{head} of {last}" if sep else choices


def _validator_text(err: dict, lang: str) -> str:
    """The message of a ValueError raised by a validator of the schema, in ``lang`` ("en", "nl"):
    the schema's errors carry both (``.en``, ``.nl``); any other: pydantic's message."""
    exc = (err.get("ctx") or {}).get("error")
    text = getattr(exc, lang, None)
    return text if isinstance(text, str) else str(err["msg"]).removeprefix("Value error, ")


def _expected(err: dict) -> str:
    f = _EXPECT.get(err["type"])
    return f(err.get("ctx", {})) if f else _validator_text(err, "en")


def _expected_nl(err: dict) -> str:
    """:func:`_expected` in Dutch."""
    f = _EXPECT_NL.get(err["type"])
    return f(err.get("ctx", {})) if f else _validator_text(err, "nl")


def _number_kind(field) -> str:
    """What a number column holds: eur, share, whole or number."""
    import typing

    if _unit_of(field) == "eur":
        return "eur"
    le = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    ge = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    if le is not None and le <= 1 and ge is not None and ge >= 0:
        return "share"
    types = (field.annotation, *typing.get_args(field.annotation))
    return "whole" if int in types and float not in types else "number"


_NUMBER_PHRASE = {
    "eur": ("an amount in euros (4500000, 4.500.000 or 4500000.50)", "een bedrag in euro's (4500000, 4.500.000 of 4500000,50)"),
    "share": ("a share between 0 and 1 (0.2 or 0,2)", "een aandeel tussen 0 en 1 (0,2 of 0.2)"),
    "whole": ("a whole number", "een geheel getal"),
    "number": ("a number (12.5 or 12,5)", "een getal (12,5 of 12.5)"),
}


def number_phrase(field) -> str:
    """What a number column holds, in its real unit (for messages)."""
    return _NUMBER_PHRASE[_number_kind(field)][0]


def number_phrase_nl(field) -> str:
    """:func:`number_phrase` in Dutch."""
    return _NUMBER_PHRASE[_number_kind(field)][1]


def _unreadable_number_nl(raw: str) -> str:
    """The Dutch of the problem :func:`read_number` reports for a number that fits no notation."""
    return (
        f"een getal ('{raw}' past in geen enkele notatie): bijv. 4500000, 4.500.000, 4.500.000,50 of 0,2 "
        "(Nederlands: '.' voor duizendtallen, ',' voor decimalen) of 4500000.50"
    )


def _number_problem(text: str, what: str = "a number", what_nl: str = "een getal") -> tuple[str, str] | None:
    """What pydantic would wrongly accept in a number cell: nan/inf (also a finite-looking
    1e400) and '_' digit separators, in English and Dutch; None when the text is fine or
    pydantic rejects it."""
    if "_" in text:
        return f"{what}, without '_' between the digits", f"{what_nl}, zonder '_' tussen de cijfers"
    try:
        v = float(text)
    except ValueError:
        return None
    return None if math.isfinite(v) else ("a finite number (not nan or inf)", "een eindig getal (geen nan of inf)")


#: the largest amount the model takes (€ 10.000 mld): beyond it a sum of amounts loses its cents in
#: double precision, and near 1e20 the solver reads a bound as infinite
MAX_AMOUNT_EUR = P_MAX_AMOUNT_EUR


def _amount_problem(text: str) -> tuple[str, str] | None:
    """An amount outside the supported range, or finer than a cent (shown as 0,00 everywhere)."""
    try:
        v = float(text)
    except ValueError:
        return None  # pydantic reports it with the column's type
    if not math.isfinite(v):
        return None
    if abs(v) > MAX_AMOUNT_EUR:
        return (
            "an amount of at most 1e13 euros (10,000 billion: the supported range)",
            "een bedrag van hoogstens 1e13 euro (10.000 miljard: het ondersteunde bereik)",
        )
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return None
    if abs(d - d.quantize(Decimal("0.01"))) > Decimal("1e-6"):  # as typed (a float's noise below 1e-6 passes)
        return "an amount in euros with at most two decimals (cents)", "een bedrag in euro's met hoogstens twee decimalen (centen)"
    return None


def _unit_of(field) -> str | None:
    extra = field.json_schema_extra
    return extra.get("unit") if isinstance(extra, dict) else None


def _validate_table(
    raw: RawTable, problems: list[Problem], rejected: list[dict[str, str]], spec=None, readings: list[str] | None = None
) -> pd.DataFrame:
    """Typed rows of one table; rows with a problem are reported and appended to ``rejected``
    (their keys still count as defined, so the cross checks do not report them again).
    ``spec``: a table outside the instance manifest (e.g. realised costs)."""
    spec = spec or TABLE_BY_NAME[raw.name]
    fields = spec.row.model_fields
    numeric = numeric_columns(spec.row)
    rejected.extend({c: v.strip() for c, v in r.items()} for r in raw.rejected_rows)
    header_ok = []
    seen = set()
    for col in raw.header:
        if col in seen:
            problems.append(Problem(raw.location, 1, col, col, "each column once in the header", "elke kolom één keer in de kopregel"))
            continue
        seen.add(col)
        if col in fields:
            header_ok.append(col)
        elif col.startswith(SOURCE_PREFIX) and col[len(SOURCE_PREFIX) :] in fields:
            header_ok.append(col)
        else:
            problems.append(
                Problem(
                    raw.location,
                    1,
                    col,
                    col,
                    f"a column of table '{raw.name}': {', '.join(fields)} (or source_<column>)",
                    f"een kolom van tabel '{raw.name}': {', '.join(fields)} (of source_<kolom>)",
                )
            )
    for name, f in fields.items():
        if f.is_required() and name not in seen:
            problems.append(
                Problem(
                    raw.location, 1, name, None, f"a column '{name}' ({f.description})", f"een verplichte kolom '{name}' ({f.description})"
                )
            )
    missing_required = [n for n, f in fields.items() if f.is_required() and n not in seen]
    # per column once, not per cell (a buurt-level instance has 100,000s of cells)
    unit = {c: _unit_of(fields[c]) for c in numeric if c in fields}
    phrase = {c: (number_phrase(fields[c]), number_phrase_nl(fields[c])) for c in numeric if c in fields}
    records: list[dict[str, Any]] = []
    for line, cells in zip(raw.line_numbers, raw.rows):
        data = {c: cells[c].strip() for c in header_ok if c in fields and cells[c].strip() != ""}
        bad_numbers = {}
        for c in sorted(numeric & data.keys()):  # Dutch-typed numbers (4.500.000, 0,2): read where unambiguous
            norm, note, why = read_number(data[c], unit[c])
            if why is not None:
                bad_numbers[c] = (why, _unreadable_number_nl(data[c]))
                continue
            if norm is not None:
                data[c] = norm
            if note is not None and readings is not None:
                readings.append(t(f"{raw.location}, rij {line}, kolom '{c}': {note}", f"{raw.location}, row {line}, column '{c}': {note}"))
        bad_numbers.update(
            {c: why for c in numeric & data.keys() if c not in bad_numbers and (why := _number_problem(data[c], *phrase[c])) is not None}
        )
        for c in sorted((numeric & data.keys()) - bad_numbers.keys()):  # amounts: the supported range, cents at most
            if unit[c] == "eur" and (why := _amount_problem(data[c])) is not None:
                bad_numbers[c] = why
        for c in sorted(data.keys() - numeric):  # text is data: one spelling (NFC), no control characters
            data[c] = unicodedata.normalize("NFC", data[c])
            ctrl = unsafe_char(data[c])
            if ctrl is not None:
                bad_numbers[c] = (
                    f"text without control characters (found U+{ord(ctrl):04X})",
                    f"tekst zonder stuurtekens (gevonden: U+{ord(ctrl):04X})",
                )
        for c, (why, why_nl) in bad_numbers.items():
            problems.append(Problem(raw.location, line, c, cells[c], why, why_nl))
        try:
            obj = spec.row.model_validate(data)
        except ValidationError as e:
            for err in e.errors():
                col = str(err["loc"][0]) if err["loc"] else None
                if col in missing_required and err["type"] == "missing":
                    continue  # already reported once for the header
                if col in bad_numbers:
                    continue  # reported above
                if err["type"] == "float_parsing" and col in fields:
                    why, why_nl = number_phrase(fields[col]), number_phrase_nl(fields[col])
                else:
                    why, why_nl = _expected(err), _expected_nl(err)
                problems.append(Problem(raw.location, line, col, cells.get(col) if col else None, why, why_nl))
            rejected.append({c: v.strip() for c, v in cells.items()})
            continue
        if bad_numbers:
            rejected.append({c: v.strip() for c, v in cells.items()})
            continue
        rec = obj.model_dump()
        for c in header_ok:
            if c.startswith(SOURCE_PREFIX):
                rec[c] = cells[c].strip() or rec.get("source", "")  # a blank source_<column> falls back to the row's source
        rec["_row"] = line
        records.append(rec)
    cols = list(fields) + [c for c in header_ok if c.startswith(SOURCE_PREFIX)] + ["_row"]
    return pd.DataFrame.from_records(records, columns=cols)


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(TABLE_BY_NAME[name].row.model_fields) + ["_row"])


# --------------------------------------------------------------------------- instance


def _validate(raw: RawInstance, problems: list[Problem]) -> Instance | None:
    meta = None
    checks_meta = None  # what the cross checks use: meta, or a stand-in when only some settings are bad
    if raw.meta is not None:
        try:
            meta = checks_meta = InstanceMeta.model_validate(raw.meta)
        except ValidationError as e:
            for err in e.errors():
                col = ".".join(str(x) for x in err["loc"])
                value = _dig(raw.meta, err["loc"])
                problems.append(
                    Problem(
                        raw.meta_location,
                        None,
                        col,
                        None if value is _MISSING else str(value),
                        _expected(err) if err["type"] != "extra_forbidden" else "no such setting (check the spelling)",
                        _expected_nl(err) if err["type"] != "extra_forbidden" else "geen instelling met deze naam (controleer de spelling)",
                    )
                )
            checks_meta = _meta_without(raw.meta, [err["loc"] for err in e.errors()])
    tables: dict[str, pd.DataFrame] = {}
    locations: dict[str, str] = {}
    rejected: dict[str, list[dict[str, str]]] = {}
    readings: list[str] = []  # how ambiguous Dutch-typed numbers were read
    for spec in TABLES:
        if spec.name in raw.tables:
            t = raw.tables[spec.name]
            rejected[spec.name] = []
            tables[spec.name] = _validate_table(t, problems, rejected[spec.name], readings=readings)
            locations[spec.name] = t.location
            if spec.required and not t.rows and not rejected[spec.name]:
                problems.append(
                    Problem(
                        t.location,
                        2,
                        None,
                        None,
                        f"at least one row in table '{spec.name}' ({spec.doc}); the file has only a header",
                        f"minstens één rij in tabel '{spec.name}' ({spec.doc_nl or spec.doc}); het bestand heeft alleen een kopregel",
                    )
                )
        else:
            tables[spec.name] = _empty(spec.name)
            locations[spec.name] = _default_location(raw, spec.name)
            if (
                spec.required and raw.meta is not None and not any(p.location == locations[spec.name] for p in problems)
            ):  # an unreadable file is reported once
                problems.append(
                    Problem(
                        locations[spec.name],
                        None,
                        None,
                        None,
                        f"table '{spec.name}' ({spec.doc})",
                        f"tabel '{spec.name}' ({spec.doc_nl or spec.doc})",
                    )
                )
    if checks_meta is not None:  # report the tables' problems too, not only the settings'
        _cross_checks(checks_meta, tables, locations, problems, rejected)
    if meta is None:
        return None
    return Instance(meta, tables, raw.path, raw.input_hash, raw.input_files, readings)


def _default_location(raw: RawInstance, name: str) -> str:
    return f"{raw.path.name}[{name}]" if raw.path.suffix.lower() == ".xlsx" else f"{name}.csv"


_MISSING = object()


def _meta_without(meta: dict, bad: list[tuple]) -> InstanceMeta | None:
    """The settings with the bad ones dropped (defaults instead), so the tables can still be
    cross-checked in the same run; None when that is not possible (e.g. the domains are bad)."""
    m = copy.deepcopy(meta)
    for loc in bad:
        node = m
        for k in loc[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and loc:
            node.pop(loc[-1], None)
        elif loc and isinstance(m, dict):
            m.pop(loc[0], None)
    if not isinstance(m, dict) or not isinstance(m.get("domains"), dict) or not m["domains"]:
        return None
    m.setdefault("name", "?")
    m.setdefault("year", 2015)
    m.setdefault("description", "?")
    try:
        return InstanceMeta.model_validate(m)
    except ValidationError:
        return None


def _dig(d: Any, loc: Iterable) -> Any:
    for k in loc:
        if isinstance(d, dict) and k in d:
            d = d[k]
        else:
            return _MISSING
    return d


class _Reporter:
    def __init__(self, tables: dict[str, pd.DataFrame], locations: dict[str, str], problems: list[Problem]):
        self.tables, self.locations, self.problems = tables, locations, problems

    def add(self, table: str, row: int | None, column: str | None, value: Any, expected: str, nl: str) -> None:
        """One problem: ``expected`` in English, ``nl`` the same in Dutch."""
        self.problems.append(
            Problem(self.locations[table], None if row is None else int(row), column, None if value is None else str(value), expected, nl)
        )

    def foreign_key(self, table: str, column: str, allowed: set, what: str, what_nl: str, optional: bool = False) -> None:
        """Every value of ``column`` in ``allowed``. ``what``: English, completed to "a <what> that
        exists"; ``what_nl``: the whole Dutch phrase ("een bestaand perceel uit lots")."""
        df = self.tables[table]
        if column not in df or df.empty:
            return
        for row, v in zip(df["_row"], df[column]):
            if optional and v == "":
                continue
            if v not in allowed:
                self.add(table, row, column, v, f"a {what} that exists ({_some(allowed)})", f"{what_nl} ({_some_nl(allowed)})")

    def unique(self, table: str, key: tuple[str, ...]) -> None:
        df = self.tables[table]
        if df.empty:
            return
        dup = df.duplicated(list(key), keep="first")
        for row, vals in zip(df.loc[dup, "_row"], df.loc[dup, list(key)].itertuples(index=False)):
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(key, vals) if v != "")
            self.add(
                table,
                row,
                key[0] if len(key) == 1 else None,
                shown,
                f"each ({', '.join(key)}) once; this repeats an earlier row",
                f"elke ({', '.join(key)}) één keer; deze rij herhaalt een eerdere rij",
            )


def _short(v, n: int = 40) -> str:
    """A value as a list in a message shows it: at most ``n`` characters."""
    text = str(v)
    return text if len(text) <= n else text[: n - 3] + "..."


def _some(values: set, n: int = 8) -> str:
    vals = sorted(map(_short, values))
    if not vals:
        return "none defined"
    more = f", ... {len(vals) - n} more" if len(vals) > n else ""
    return ", ".join(vals[:n]) + more


def _some_nl(values: set, n: int = 8) -> str:
    """:func:`_some` in Dutch."""
    vals = sorted(map(_short, values))
    if not vals:
        return "geen gedefinieerd"
    more = f", ... nog {len(vals) - n}" if len(vals) > n else ""
    return ", ".join(vals[:n]) + more


def _cross_checks(
    meta: InstanceMeta,
    tables: dict[str, pd.DataFrame],
    locations: dict[str, str],
    problems: list[Problem],
    rejected: dict[str, list[dict[str, str]]] | None = None,
) -> None:
    r = _Reporter(tables, locations, problems)
    T = tables
    rejected = rejected or {}
    for spec in TABLES:
        r.unique(spec.name, spec.key)

    def known(table: str, *cols: str) -> set:
        """Keys defined by a table: its valid rows plus rows already rejected for another
        problem (so one bad cell is reported once, not again by every row referring to it)."""
        df = T[table]
        vals = set(df[cols[0]]) if len(cols) == 1 else set(zip(*(df[c] for c in cols)))
        for row in rejected.get(table, []):
            v = tuple(row.get(c, "") for c in cols)
            if all(v):
                vals.add(v[0] if len(cols) == 1 else v)
        return vals

    # provenance: every source (and source_<column>) names a row of sources.csv
    sources = known("sources", "source")
    for spec in TABLES:
        if spec.name == "sources":
            continue
        df = T[spec.name]
        for col in [c for c in df.columns if c == "source" or c.startswith(SOURCE_PREFIX)]:
            r.foreign_key(spec.name, col, sources, "source in sources.csv", "een bestaande bron in sources.csv")

    domains = set(meta.domains)
    gemeenten = known("gemeenten", "gemeente")
    r.foreign_key("budgets", "gemeente", gemeenten, "gemeente", "een bestaande gemeente")
    r.foreign_key("budgets", "domain", domains, "domain of instance.yaml", "een bestaand domein uit instance.yaml")
    # a gemeente has one region per domain (unique key gemeente+domain guarantees it)
    regions_by_domain: dict[str, set] = defaultdict(set)
    for d, reg in known("budgets", "domain", "region"):
        regions_by_domain[d].add(reg)
    all_regions = {reg for _, reg in known("budgets", "domain", "region")}
    budget_keys = known("budgets", "gemeente", "domain")

    r.foreign_key("populations", "gemeente", gemeenten, "gemeente", "een bestaande gemeente")
    pops = known("populations", "gemeente", "population")
    pop_names = {p for _, p in pops}

    def pop_key(table: str, optional_pop: bool = False) -> None:
        df = T[table]
        for row, g, p in zip(df["_row"], df["gemeente"], df["population"]):
            if g == "" or (optional_pop and p == ""):
                continue
            if g not in gemeenten:
                r.add(
                    table,
                    row,
                    "gemeente",
                    g,
                    f"a gemeente of gemeenten ({_some(gemeenten)})",
                    f"een gemeente uit gemeenten ({_some_nl(gemeenten)})",
                )
            elif (g, p) not in pops:
                theirs = {q for h, q in pops if h == g}
                r.add(
                    table,
                    row,
                    "population",
                    p,
                    f"a population of gemeente {g} in populations ({_some(theirs)})",
                    f"een populatie van gemeente {g} in populations ({_some_nl(theirs)})",
                )

    pop_key("maatstaven")
    pop_key("historical")
    pop_key("need")
    r.foreign_key("historical", "domain", domains, "domain of instance.yaml", "een bestaand domein uit instance.yaml")

    # reference model inputs
    bed, maat = T["bedragen"], T["maatstaven"]
    r.foreign_key("bedragen", "domain", domains, "domain of instance.yaml", "een bestaand domein uit instance.yaml")
    used = set(maat["maatstaf"])
    priced = set(bed["maatstaf"])
    r.foreign_key("maatstaven", "maatstaf", priced, "maatstaf with a bedrag in bedragen", "een maatstaf met een bedrag in bedragen")
    r.foreign_key(
        "bedragen",
        "maatstaf",
        used,
        "maatstaf that some population has in maatstaven",
        "een maatstaf die een populatie heeft in maatstaven",
    )
    opts = meta.options.reference
    if (opts.blend_lambda < 1 or opts.ingroeipad_eur_per_inhabitant is not None) and T["historical"].empty:
        r.add(
            "historical",
            None,
            None,
            None,
            "historical spending per population (options.reference.blend_lambda < 1 or an ingroeipad needs it)",
            "historische uitgaven per populatie (nodig voor options.reference.blend_lambda < 1 of een ingroeipad)",
        )

    # lots and need
    lots = T["lots"]
    r.foreign_key("lots", "domain", domains, "domain of instance.yaml", "een bestaand domein uit instance.yaml")
    lot_ids = known("lots", "lot")
    lot_domain = dict(zip(lots["lot"], lots["domain"]))
    lot_echelon = dict(zip(lots["lot"], lots["echelon"]))
    r.foreign_key("need", "lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
    need = T["need"]
    tariff = dict(zip(lots["lot"], lots["tariff_eur"].astype(float)))
    for row, lot, vol in zip(need["_row"], need["lot"], need["volume"].astype(float)):
        if lot in tariff and vol * tariff[lot] > MAX_AMOUNT_EUR:
            r.add(
                "need",
                row,
                "volume",
                f"{vol:g}",
                f"a volume whose cost (x tariff {tariff[lot]:g}) is at most 1e13 euros, the supported range",
                f"een volume waarvan de kosten (x tarief {tariff[lot]:g}) hoogstens 1e13 euro zijn, het ondersteunde bereik",
            )
    reported_budget = set()
    for row, g, lot in zip(need["_row"], need["gemeente"], need["lot"]):
        d = lot_domain.get(lot)
        if d in domains and g in gemeenten and (g, d) not in budget_keys and (g, d) not in reported_budget:
            reported_budget.add((g, d))
            r.add(
                "need",
                row,
                "gemeente",
                g,
                f"a row for gemeente {g} and domain {d} in budgets (its budget and region), because it has need in lot {lot}",
                f"een rij voor gemeente {g} en domein {d} in budgets (met het budget en de regio), omdat de gemeente behoefte heeft in perceel {lot}",
            )

    # reference arithmetic possible: in every scope with money, some maatstaf x bedrag > 0
    if not bed.empty and not maat.empty:
        _check_reference_possible(meta, T, r)

    # providers, contracts, ceilings
    provs = known("providers", "provider")
    for table in ("contracts", "ceilings"):
        df = T[table]
        r.foreign_key(table, "lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
        for row, lot, reg, g in zip(df["_row"], df["lot"], df["region"], df["gemeente"]):
            if (reg == "") == (g == ""):
                r.add(
                    table,
                    row,
                    "region" if reg else "gemeente",
                    reg or g or "",
                    "exactly one of region or gemeente filled in",
                    "precies één van region of gemeente ingevuld",
                )
            elif g and g not in gemeenten:
                r.add(
                    table,
                    row,
                    "gemeente",
                    g,
                    f"a gemeente of gemeenten ({_some(gemeenten)})",
                    f"een gemeente uit gemeenten ({_some_nl(gemeenten)})",
                )
            elif reg and lot in lot_domain and reg not in regions_by_domain.get(lot_domain[lot], set()):
                r.add(
                    table,
                    row,
                    "region",
                    reg,
                    f"a region of domain {lot_domain[lot]} in budgets ({_some(regions_by_domain.get(lot_domain[lot], all_regions))})",
                    f"een regio van domein {lot_domain[lot]} in budgets ({_some_nl(regions_by_domain.get(lot_domain[lot], all_regions))})",
                )
    r.foreign_key("contracts", "provider", provs, "provider of providers", "een bestaande aanbieder uit providers")
    for table in ("providers", "contracts", "ceilings"):
        df = T[table]
        for row, lo, hi in zip(df["_row"], df["minimum_eur"], df["ceiling_eur"]):
            if _num(lo) and _num(hi) and lo > hi:
                r.add(
                    table,
                    row,
                    "minimum_eur",
                    _fmt(lo),
                    f"a guaranteed minimum not above the plafond of the same row (ceiling_eur {_fmt(hi)})",
                    f"een gegarandeerd minimum dat niet boven het plafond van dezelfde rij ligt (ceiling_eur {_fmt(hi)})",
                )
    # one lot's contracts are either regional or per gemeente within a region
    con = T["contracts"]
    if not con.empty:
        region_of = {(g, d): reg for g, d, reg in zip(T["budgets"]["gemeente"], T["budgets"]["domain"], T["budgets"]["region"])}
        levels: dict[tuple, dict[str, int]] = defaultdict(dict)
        for row, lot, reg, g in zip(con["_row"], con["lot"], con["region"], con["gemeente"]):
            d = lot_domain.get(lot)
            R = reg or region_of.get((g, d))
            if R is None:
                continue
            levels[(lot, R)].setdefault("region" if reg else "gemeente", row)
        for (lot, R), lv in levels.items():
            if len(lv) == 2:
                r.add(
                    "contracts",
                    max(lv.values()),
                    None,
                    f"lot={lot}, region={R}",
                    "contracts of one lot in one region either all regional or all per gemeente, not both",
                    "contracten van één perceel in één regio ofwel allemaal regionaal ofwel allemaal per gemeente, niet beide",
                )

    # substitutions: same domain, to a strictly lighter echelon
    sub = T["substitutions"]
    r.foreign_key("substitutions", "from_lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
    r.foreign_key("substitutions", "to_lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
    r.foreign_key("substitutions", "gemeente", gemeenten, "gemeente", "een bestaande gemeente", optional=True)
    r.foreign_key("substitutions", "population", pop_names, "population", "een bestaande populatie", optional=True)
    for row, a, b in zip(sub["_row"], sub["from_lot"], sub["to_lot"]):
        if a in lot_domain and b in lot_domain:
            if lot_domain[a] != lot_domain[b]:
                r.add(
                    "substitutions",
                    row,
                    "to_lot",
                    b,
                    f"a lot of the same domain as {a} ({lot_domain[a]})",
                    f"een perceel van hetzelfde domein als {a} ({lot_domain[a]})",
                )
            elif ECHELON_ORDER[lot_echelon[b]] >= ECHELON_ORDER[lot_echelon[a]]:
                r.add(
                    "substitutions",
                    row,
                    "to_lot",
                    b,
                    f"a lot of a lighter echelon than {a} ({lot_echelon[a]}); {b} is {lot_echelon[b]}",
                    f"een perceel in een lichter echelon dan {a} ({lot_echelon[a]}); {b} is {lot_echelon[b]}",
                )

    # goals and vierkant
    for table in ("goals", "vierkant"):
        r.foreign_key(table, "domain", domains, "domain of instance.yaml", "een bestaand domein uit instance.yaml")
        r.foreign_key(table, "gemeente", gemeenten, "gemeente", "een bestaande gemeente", optional=(table == "goals"))
        r.foreign_key(table, "population", pop_names, "population", "een bestaande populatie", optional=True)
    lot_statutory = dict(zip(lots["lot"], lots["statutory"]))
    for row in T["goals"].to_dict("records"):
        lot = row.get("lot", "")
        if not lot:
            continue
        if row["goal"] != "funded_share":
            r.add(
                "goals",
                row["_row"],
                "lot",
                lot,
                f"a blank lot: only funded_share goals name a lot ({row['goal']} applies to the whole domain)",
                f"een lege kolom lot: alleen doelen funded_share noemen een perceel ({row['goal']} geldt voor het hele domein)",
            )
        elif lot not in lot_domain:
            r.add(
                "goals",
                row["_row"],
                "lot",
                lot,
                f"a lot of lots ({_some(set(lot_domain))})",
                f"een perceel uit lots ({_some_nl(set(lot_domain))})",
            )
        elif lot_domain[lot] != row["domain"]:
            r.add(
                "goals",
                row["_row"],
                "lot",
                lot,
                f"a lot of domain {row['domain']} ({lot} is {lot_domain[lot]})",
                f"een perceel van domein {row['domain']} ({lot} hoort bij {lot_domain[lot]})",
            )
        elif lot_statutory.get(lot):
            r.add(
                "goals",
                row["_row"],
                "lot",
                lot,
                "a non-statutory lot: statutory care is always provided in full, a protected share adds nothing",
                "een niet-wettelijk perceel: wettelijke zorg wordt altijd volledig geleverd, een beschermd aandeel voegt niets toe",
            )
    _check_pooling(meta, T, r, lot_domain, regions_by_domain, gemeenten, lot_ids)
    r.foreign_key("demand", "lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
    _check_horizon(meta, T, r, gemeenten, lot_ids)
    r.foreign_key("risks", "gemeente", gemeenten, "gemeente of gemeenten", "een bestaande gemeente uit gemeenten")
    opts = T["contract_options"]
    if len(opts):
        r.foreign_key("contract_options", "lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
        regions = set(T["budgets"]["region"])
        statutory = dict(zip(lots["lot"], lots["statutory"]))
        for row in opts.to_dict("records"):
            _check_area(r, "contract_options", row, regions, gemeenten)
            if row["form"] == "plafond" and statutory.get(row["lot"]):
                r.add(
                    "contract_options",
                    row["_row"],
                    "form",
                    "plafond",
                    "a form without plafond: the lot is statutory, and a plafond never limits statutory care "
                    "(Jeugdwet art. 2.3, Wmo 2015 art. 2.3.5; the need is provided, above a plafond it is a tekort)",
                    "een vorm zonder plafond: het perceel is wettelijk, en een plafond begrenst wettelijke zorg nooit "
                    "(Jeugdwet art. 2.3, Wmo 2015 art. 2.3.5; de behoefte wordt geleverd, boven een plafond is het een tekort)",
                )
            if _num(row.get("plafond_eur")) and _num(row.get("plafond_share")):
                r.add(
                    "contract_options",
                    row["_row"],
                    "plafond_share",
                    row["plafond_share"],
                    "blank when plafond_eur is given (one of them)",
                    "leeg als plafond_eur is ingevuld (één van beide)",
                )
        if "current" in opts:
            cur = opts[opts["current"].astype(bool)]
            for (lot, reg, gem), grp in cur.groupby(["lot", "region", "gemeente"]):
                if len(grp) > 1:
                    r.add(
                        "contract_options",
                        int(grp["_row"].iloc[1]),
                        "current",
                        "true",
                        f"one form in force today for {lot} in {reg or gem}",
                        f"één vorm die nu geldt voor {lot} in {reg or gem}",
                    )
    for row in T["risks"].to_dict("records"):
        amount = row["amount_eur"]
        for col, ok, expected, expected_nl in (
            ("low_eur", lambda v, a=amount: v <= a, f"at most the amount ({amount:g})", f"hoogstens het bedrag ({amount:g})"),
            ("high_eur", lambda v, a=amount: v >= a, f"at least the amount ({amount:g})", f"minstens het bedrag ({amount:g})"),
        ):
            v = row.get(col)
            if _num(v) and not ok(float(v)):
                r.add("risks", row["_row"], col, v, expected, expected_nl)
    for row in T["demand"].to_dict("records"):
        if row["distribution"] == "negbin" and not _num(row.get("dispersion")):
            r.add(
                "demand", row["_row"], "dispersion", "", "a size k > 0 for distribution negbin", "een grootte k > 0 voor verdeling negbin"
            )

    vk = T["vierkant"]
    if not vk.empty:
        cats = defaultdict(set)
        for d, c in zip(lots["domain"], lots["category"]):
            if c:
                cats[d].add(c)
        for row, d, c in zip(vk["_row"], vk["domain"], vk["category"]):
            if d in domains and c not in cats[d]:
                r.add(
                    "vierkant",
                    row,
                    "category",
                    c,
                    f"a category of a {d} lot in lots.category ({_some(cats[d])})",
                    f"een categorie van een perceel van {d} in lots.category ({_some_nl(cats[d])})",
                )
        for (g, p, d), grp in vk.groupby(["gemeente", "population", "domain"], sort=True):
            s = float(grp["planned_share"].sum())
            where = f"gemeente={g}, population={p or '(all)'}, domain={d}"
            if abs(s - 1) > 1e-6:
                r.add(
                    "vierkant",
                    int(grp["_row"].iloc[-1]),
                    "planned_share",
                    f"{s:g} in total for {where}",
                    "planned shares of one vierkant adding up to 1",
                    "geplande aandelen van één vierkant die samen 1 zijn",
                )
            if len(grp) > 4:
                r.add(
                    "vierkant",
                    int(grp["_row"].iloc[4]),
                    "category",
                    f"{len(grp)} categories for {where}",
                    "at most 4 categories in one vierkant",
                    "hoogstens 4 categorieën in één vierkant",
                )


def _check_pooling(
    meta: InstanceMeta, T: dict[str, pd.DataFrame], r: _Reporter, lot_domain: dict, regions_by_domain: dict, gemeenten: set, lot_ids: set
) -> None:
    """Rule parameters per kind, pools referring to existing lots/regions/rules, history keys."""
    pr, pools = T["pooling_rules"], T["pools"]
    r.foreign_key("use_history", "gemeente", gemeenten, "gemeente", "een bestaande gemeente")
    r.foreign_key("use_history", "lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
    for row in pr.to_dict("records"):
        line, kind = row["_row"], row["kind"]
        if row["rule"] == "profijt":
            r.add("pooling_rules", line, "rule", "profijt", "another name: profijt is built in", "een andere naam: profijt is ingebouwd")
        for col, value, expected, expected_nl in KIND[kind].problems(row):
            r.add("pooling_rules", line, col, value, expected, expected_nl)
        if "reference" in Rule.from_row(row).bases() and (T["maatstaven"].empty or T["bedragen"].empty):
            r.add(
                "pooling_rules",
                line,
                "basis",
                "reference",
                "maatstaven and bedragen (a reference allocation) for a reference key",
                "maatstaven en bedragen (een referentieverdeling) voor een sleutel reference",
            )
    rule_names = set(pr["rule"]) | {"profijt"}
    r.foreign_key(
        "pools", "rule", rule_names, "rule of pooling_rules.csv or profijt", "een bestaande verdeelregel uit pooling_rules.csv of profijt"
    )
    seen: dict[tuple, str] = {}
    for row in pools.to_dict("records"):
        line = row["_row"]
        lots = sorted({x.strip() for x in row["lots"].split(";") if x.strip()})
        unknown = [x for x in lots if x not in lot_ids]
        if unknown or not lots:
            r.add(
                "pools",
                line,
                "lots",
                row["lots"],
                f"lots of lots.csv separated by ';' ({_some(set(lot_domain))})",
                f"percelen uit lots.csv, gescheiden door ';' ({_some_nl(set(lot_domain))})",
            )
            continue
        if any(x not in lot_domain for x in lots):
            continue  # a lot rejected for another problem: reported there
        doms = {lot_domain[x] for x in lots}
        if len(doms) > 1:
            r.add("pools", line, "lots", row["lots"], "lots of one domain", "percelen van één domein")
            continue
        d = doms.pop()
        if row["region"] not in regions_by_domain.get(d, set()):
            theirs = regions_by_domain.get(d, set())
            r.add(
                "pools",
                line,
                "region",
                row["region"],
                f"a region of domain {d} in budgets ({_some(theirs)})",
                f"een regio van domein {d} in budgets ({_some_nl(theirs)})",
            )
        for x in lots:
            if (row["region"], x) in seen:
                r.add(
                    "pools",
                    line,
                    "lots",
                    x,
                    f"each lot in at most one pool per region (already in pool {seen[(row['region'], x)]})",
                    f"elk perceel in hoogstens één pool per regio (al in pool {seen[(row['region'], x)]})",
                )
            seen[(row["region"], x)] = row["pool"]


def _check_area(r: _Reporter, table: str, row: dict, regions: set, gemeenten: set) -> None:
    """A row that covers an area: a region of budgets.csv or a gemeente of gemeenten.csv, one of them."""
    if bool(row.get("region")) == bool(row.get("gemeente")):
        r.add(
            table,
            row["_row"],
            "region",
            row.get("region") or "",
            "a region or a gemeente (one of them)",
            "een regio of een gemeente (één van beide)",
        )
    elif row.get("region") and row["region"] not in regions:
        r.add(
            table,
            row["_row"],
            "region",
            row["region"],
            f"a region of budgets.csv ({_some(regions)})",
            f"een regio uit budgets.csv ({_some_nl(regions)})",
        )
    elif row.get("gemeente") and row["gemeente"] not in gemeenten:
        r.add(table, row["_row"], "gemeente", row["gemeente"], "a gemeente of gemeenten.csv", "een gemeente uit gemeenten.csv")


def _check_horizon(meta: InstanceMeta, T: dict[str, pd.DataFrame], r: _Reporter, gemeenten: set, lot_ids: set) -> None:
    """years.csv: the instance year first, consecutive; budgets_by_year: every budget row of
    budgets.csv in every later year; year_factors: later years, a lot, a domain or *."""
    yrs, byy, fac = T["years"], T["budgets_by_year"], T["year_factors"]
    later: set[int] = set()
    if len(yrs):
        years = sorted(int(y) for y in yrs["year"])
        expected = list(range(meta.year, meta.year + len(years)))
        if years != expected:
            r.add(
                "years",
                int(yrs["_row"].iloc[0]),
                "year",
                ", ".join(map(str, years)),
                f"consecutive years from the instance year: {', '.join(map(str, expected))}",
                f"opeenvolgende jaren vanaf het jaar van de instantie: {', '.join(map(str, expected))}",
            )
        later = set(expected[1:])
    elif len(byy) or len(fac) or len(T["contract_sums"]):
        table = "budgets_by_year" if len(byy) else ("year_factors" if len(fac) else "contract_sums")
        r.add(
            table,
            int(T[table]["_row"].iloc[0]),
            "year",
            "",
            "years.csv listing the horizon (the instance year and the years after it)",
            "years.csv met de horizon (het jaar van de instantie en de jaren erna)",
        )
        return
    for name, df in (("budgets_by_year", byy), ("year_factors", fac)):
        for row in df.to_dict("records"):
            if int(row["year"]) not in later:
                listed = ", ".join(map(str, sorted(later)))
                r.add(
                    name,
                    row["_row"],
                    "year",
                    row["year"],
                    f"a later year of years.csv ({listed or 'none'})",
                    f"een later jaar uit years.csv ({listed or 'geen'})",
                )
    r.foreign_key("budgets_by_year", "gemeente", gemeenten, "gemeente of gemeenten", "een bestaande gemeente uit gemeenten")
    have = {(g, d, int(y)) for g, d, y in zip(byy["gemeente"], byy["domain"], byy["year"])}
    rows = T["budgets"]
    for y in sorted(later):
        missing = [(g, d) for g, d in zip(rows["gemeente"], rows["domain"]) if (g, d, y) not in have]
        if missing:
            g, d = missing[0]
            r.add(
                "budgets_by_year",
                None,
                "year",
                y,
                f"a budget for every gemeente and domain of budgets.csv in {y}; {len(missing)} missing, e.g. {g} / {d}",
                f"een budget voor elke gemeente en elk domein van budgets.csv in {y}; "
                f"{len(missing)} {'ontbreekt' if len(missing) == 1 else 'ontbreken'}, bijv. {g} / {d}",
            )
    sums = T["contract_sums"]
    if len(sums):
        horizon = {meta.year} | later
        r.foreign_key("contract_sums", "lot", lot_ids, "lot of lots", "een bestaand perceel uit lots")
        regions = set(T["budgets"]["region"])
        for row in sums.to_dict("records"):
            line = row["_row"]
            _check_area(r, "contract_sums", row, regions, gemeenten)
            first, last = int(row["first_year"]), int(row["last_year"])
            if first not in horizon or last not in horizon or last < first:
                r.add(
                    "contract_sums",
                    line,
                    "last_year",
                    f"{first}-{last}",
                    f"years of the horizon, first <= last ({', '.join(map(str, sorted(horizon)))})",
                    f"jaren van de horizon, eerste <= laatste ({', '.join(map(str, sorted(horizon)))})",
                )
    domains = set(meta.domains)
    for row in fac.to_dict("records"):
        if row["target"] not in lot_ids | domains | {"*"}:
            r.add(
                "year_factors",
                row["_row"],
                "target",
                row["target"],
                f"a lot of lots.csv, a domain ({', '.join(sorted(domains))}) or *",
                f"een perceel uit lots.csv, een domein ({', '.join(sorted(domains))}) of *",
            )


def _check_reference_possible(meta: InstanceMeta, T: dict[str, pd.DataFrame], r: _Reporter) -> None:
    maat, bed, bud = T["maatstaven"], T["bedragen"], T["budgets"]
    m = maat.merge(bed, on="maatstaf", suffixes=("", "_b"))
    m["amount"] = m["value"] * m["bedrag_eur"]
    reg = bud[["gemeente", "domain", "region"]]
    m = m.merge(reg, on=["gemeente", "domain"], how="inner")
    scale = meta.options.reference.scale
    keys = {"domain": ["domain"], "region": ["domain", "region"], "gemeente": ["domain", "gemeente"]}[scale]
    money = bud.groupby(keys)["budget_eur"].sum()
    weight = m.groupby(keys)["amount"].sum() if not m.empty else pd.Series(dtype=float)
    for k, avail in money.items():
        if avail > 0 and float(weight.get(k, 0.0)) <= 0:
            kk = k if isinstance(k, tuple) else (k,)
            where = ", ".join(f"{a}={b}" for a, b in zip(keys, kk))
            r.add(
                "maatstaven",
                None,
                None,
                where,
                f"some maatstaf x bedrag > 0 in {where}, so the uitkeringsfactor can scale EUR {avail:,.0f} of budget (options.reference.scale={scale})",
                f"ergens maatstaf x bedrag > 0 in {where}, zodat de uitkeringsfactor {eur(avail, lang='nl')} aan budget kan schalen "
                f"(options.reference.scale={scale})",
            )


def _num(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and v != v)


def _fmt(v: float) -> str:
    return f"{v:,.0f}"
