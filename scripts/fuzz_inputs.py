#!/usr/bin/env python
"""Seeded fuzzer of verdeelmodel's inputs: damaged CSVs, values, names, references, instance.yaml,
workbooks and command-line options, each run through the real command line in a fresh process.

The promise under test: every bad input or option gives a clear message and exit code 2 (never a
traceback, never exit 1, never a silent acceptance of a wrong value); 0 is success, 3 an explained
"no allocation possible". Every case is something a careless user or an attacker could produce.

    python scripts/fuzz_inputs.py [--cases N] [--seed S] [--out DIR] [--timeout SEC] [--jobs J]
                                  [--only ID,ID] [--keep]

Each case states what it expects: ``valid`` (exit 0, or 3 for a solve), ``invalid`` (exit 2 with a
message naming the file or option) or ``either``. Verdicts:

``ok``           as expected
``traceback``    stderr holds "Traceback" or "internal error"
``exit1``        exit code 1 without a traceback
``other``        any other exit code (a signal, a crash)
``timeout``      still running after --timeout seconds (killed)
``silent``       exit 0 on a case known to be invalid (or exit 3: the wrong value was taken in), or an
                 ambiguous number read without saying how
``unclear``      exit 2, but no message line names the file or option
``rejected``     exit 2 on a case that is valid
``damage``       a file the run should not touch was changed, deleted or created (--out, name paths)
``wrong-value``  exit 0, but the results hold another number than the one typed
``injection``    an output cell a spreadsheet would run as a formula
``unsafe-echo``  a control character or bidi override printed raw to the terminal
``slow``         took longer than the case allows (alias bombs: 1 s beyond a plain validate)
``flood``        more than 200 KB on stderr

Cases are generated from the seed alone (one random stream per category), so ``--seed S --only ID``
re-runs one case exactly. The run writes ``cases.csv`` (every case), ``summary.md`` (the tables and
every case that was not ok) and keeps the folder of each case that was not ok under ``cases/``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_VENV_PY = ROOT / ".venv" / "bin" / "python"
PY = str(_VENV_PY if _VENV_PY.exists() else Path(sys.executable))
CLI = [PY, "-m", "verdeelmodel", "--lang", "en"]
MEMORY_LIMIT = 6 << 30  # address space of one CLI run: a decompression bomb must not take the machine down
FLOOD_BYTES = 200_000

# a child sets its memory limit and then becomes the CLI (no preexec_fn: the runner uses threads)
_TRAMPOLINE = "import os,resource,sys;resource.setrlimit(resource.RLIMIT_AS,(int(sys.argv[1]),)*2);os.execv(sys.argv[2],sys.argv[2:])"

# --------------------------------------------------------------------------- the base instance

BASE_META = """name: fuzzbase
year: 2024
description: seeded base instance of scripts/fuzz_inputs.py (three gemeenten, one region)
units: {money: EUR}
domains: {jeugd: Jeugdhulp, wmo: Wmo 2015}
"""


def _t(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


#: every table as rows of text, header first; valid together (validate and every command exit 0)
BASE: dict[str, list[list[str]]] = {
    "sources": _t("source,kind,description,reference\ntest,assumption,fuzz base data,"),
    "gemeenten": _t(
        """gemeente,inhabitants,available_reserve_eur,weerstandscapaciteit_eur,reserve_floor_eur,cbs_code,source
A,1000,50,1000,0,GM0001,test
B,3000,0,,0,GM0002,test
C,6000,20,,0,,test"""
    ),
    "budgets": _t(
        """gemeente,domain,region,budget_eur,own_funds_eur,source
A,jeugd,R,100,0,test
B,jeugd,R,60,0,test
C,jeugd,R,150,0,test"""
    ),
    "populations": _t(
        """gemeente,population,kind,inhabitants,source
A,jeugd,target_group,100,test
B,jeugd,target_group,100,test
C,jeugd,target_group,100,test"""
    ),
    "lots": _t(
        """lot,label,domain,echelon,funding_form,scope,tariff_eur,unit,taakveld,priority_weight,statutory,category,source
basis,Basis,jeugd,basis,taak,local,1,eur,6.72,1,false,,test
spec,Specialistisch,jeugd,specialist,inspanning,regional,10,hour,6.72,2,true,,test
verblijf,Verblijf,jeugd,hoogspecialistisch,output,regional,1,client_year,6.82,3,true,,test"""
    ),
    "need": _t(
        """gemeente,population,lot,volume,source
A,jeugd,basis,30,test
A,jeugd,spec,8,test
A,jeugd,verblijf,50,test
B,jeugd,verblijf,10,test
C,jeugd,verblijf,25,test
B,jeugd,basis,40,test
C,jeugd,spec,9,test"""
    ),
    "ceilings": _t("lot,region,gemeente,ceiling_eur,minimum_eur,source\nspec,R,,500,,test\nbasis,,A,100,5,test"),
    "substitutions": _t("from_lot,to_lot,ratio,max_share,gemeente,population,label,source\nspec,basis,1.5,0.5,,,schil,test"),
    "demand": _t(
        """lot,distribution,dispersion,units_per_client,cost_cv,shock_sd,intensity_sd,shock_scope,shock_persistence,source
verblijf,negbin,2,1,0.5,0.1,0,region,0,test
spec,poisson,,2,0,0,0,region,0,test"""
    ),
    "pooling_rules": _t(
        """rule,kind,basis,years,w_own,w_inhabitants,w_budget,threshold_eur,pool_share,label,source
mix,mixed,,1,0.4,0.35,0.25,,,Mix,test
solidair,solidariteit,inhabitants,1,,,,,,Solidair,test
hoog,high_cost_pool,inhabitants,1,,,,0.25,0.8,Hoog,test"""
    ),
    "pools": _t("region,pool,lots,rule,source\nR,verblijf,verblijf,mix,test"),
    "use_history": [["gemeente", "lot", "year", "clients", "cost_eur", "source"]]
    + [[g, "verblijf", str(y), str(c + y - 2021), "0", "test"] for g, c in (("A", 4), ("B", 1), ("C", 2)) for y in (2021, 2022, 2023)],
    "years": _t("year,label,blend_lambda,source\n2024,begroting,,test\n2025,raming,,test"),
    "budgets_by_year": _t(
        "gemeente,domain,year,budget_eur,own_funds_eur,source\nA,jeugd,2025,105,0,test\nB,jeugd,2025,62,0,test\nC,jeugd,2025,155,0,test"
    ),
    "year_factors": _t("year,target,tariff_factor,demand_factor,source\n2025,*,1.03,1.0,test"),
    "contract_options": _t(
        """lot,region,gemeente,form,variant,current,premium,lump_sum_eur,corridor_band,corridor_share,viability_floor,source
spec,R,,inspanning,,true,0,,,,,test
spec,R,,output,,false,0.05,,,,,test
spec,R,,taak,,false,0.08,,,,0.9,test"""
    ),
    "risks": _t("gemeente,risk,amount_eur,probability,low_eur,high_eur,source\nA,grondexploitatie,1000,0.25,500,2000,test"),
    "providers": _t("provider,label,ceiling_eur,minimum_eur,source\nP1,Aanbieder 1,1000,,test"),
    "contracts": _t("provider,lot,region,gemeente,ceiling_eur,minimum_eur,source\nP1,spec,R,,400,,test"),
    "goals": _t("goal,domain,value,gemeente,population,lot,baseline_eur,source\nfunded_share,jeugd,0.5,,,basis,,test"),
    "maatstaven": _t(
        "gemeente,population,maatstaf,value,source\nA,jeugd,jongeren,100,test\nB,jeugd,jongeren,300,test\nC,jeugd,jongeren,600,test"
    ),
    "bedragen": _t("maatstaf,domain,bedrag_eur,source\njongeren,jeugd,1.5,test"),
    "historical": _t(
        "gemeente,population,domain,historical_eur,source\nA,jeugd,jeugd,90,test\nB,jeugd,jeugd,70,test\nC,jeugd,jeugd,140,test"
    ),
}
REQUIRED = ("sources", "gemeenten", "budgets", "populations", "lots", "need")


@dataclass(frozen=True)
class Col:
    """What a number column of the schema accepts (kept here, not imported: the fuzzer states it)."""

    kind: str  # eur, share, num, int, year, bool
    required: bool = False
    positive: bool = False  # > 0 rather than >= 0
    upper: float | None = None  # the largest value allowed
    scaled: bool = False  # need in euros = this x tariff: a huge value is beyond the supported range


NUMERIC: dict[str, dict[str, Col]] = {
    "gemeenten": {
        "inhabitants": Col("int", True, positive=True),
        "available_reserve_eur": Col("eur"),
        "weerstandscapaciteit_eur": Col("eur"),
        "reserve_floor_eur": Col("eur"),
    },
    "budgets": {"budget_eur": Col("eur", True), "own_funds_eur": Col("eur")},
    "populations": {"inhabitants": Col("int")},
    "lots": {"tariff_eur": Col("eur", True, positive=True), "priority_weight": Col("num"), "statutory": Col("bool")},
    "need": {"volume": Col("num", True, scaled=True)},
    "ceilings": {"ceiling_eur": Col("eur"), "minimum_eur": Col("eur")},
    "substitutions": {"ratio": Col("num", True, positive=True), "max_share": Col("share", True, upper=1)},
    "demand": {
        "dispersion": Col("num", positive=True),
        "units_per_client": Col("num", positive=True),
        "cost_cv": Col("share", upper=5),
        "shock_sd": Col("share", upper=2),
        "intensity_sd": Col("share", upper=2),
        "shock_persistence": Col("share", upper=0.999),
    },
    "pooling_rules": {
        "years": Col("int", upper=10),
        "w_own": Col("share", upper=1),
        "w_inhabitants": Col("share", upper=1),
        "w_budget": Col("share", upper=1),
        "threshold_eur": Col("eur"),
        "pool_share": Col("share", upper=1),
    },
    "use_history": {"year": Col("year", True), "clients": Col("num", True), "cost_eur": Col("eur")},
    "years": {"year": Col("year", True), "blend_lambda": Col("share", upper=1)},
    "budgets_by_year": {"year": Col("year", True), "budget_eur": Col("eur", True), "own_funds_eur": Col("eur")},
    "year_factors": {"year": Col("year", True), "tariff_factor": Col("num", positive=True), "demand_factor": Col("num", positive=True)},
    "contract_options": {
        "current": Col("bool"),
        "premium": Col("share", upper=1),
        "lump_sum_eur": Col("eur"),
        "corridor_band": Col("share", upper=1),
        "corridor_share": Col("share", upper=1),
        "viability_floor": Col("share", upper=2),
    },
    "risks": {
        "amount_eur": Col("eur", True, positive=True),
        "probability": Col("share", True, positive=True, upper=1),
        "low_eur": Col("eur"),
        "high_eur": Col("eur"),
    },
    "providers": {"ceiling_eur": Col("eur"), "minimum_eur": Col("eur")},
    "contracts": {"ceiling_eur": Col("eur"), "minimum_eur": Col("eur")},
    "goals": {"value": Col("share", True, upper=1), "baseline_eur": Col("eur")},
    "maatstaven": {"value": Col("num", True)},
    "bedragen": {"bedrag_eur": Col("eur", True)},
    "historical": {"historical_eur": Col("eur", True)},
}

#: the columns that are required (text or number), to know whether a blank or a missing column is wrong
REQUIRED_COLUMNS: dict[str, set[str]] = {
    "sources": {"source", "kind", "description"},
    "gemeenten": {"gemeente", "inhabitants", "source"},
    "budgets": {"gemeente", "domain", "region", "budget_eur", "source"},
    "populations": {"gemeente", "population", "source"},
    "lots": {"lot", "domain", "echelon", "funding_form", "scope", "tariff_eur", "unit", "source"},
    "need": {"gemeente", "population", "lot", "volume", "source"},
    "ceilings": {"lot", "source"},
    "substitutions": {"from_lot", "to_lot", "ratio", "max_share", "source"},
    "demand": {"lot", "source"},
    "pooling_rules": {"rule", "kind", "source"},
    "pools": {"region", "pool", "lots", "rule", "source"},
    "use_history": {"gemeente", "lot", "year", "clients", "source"},
    "years": {"year", "source"},
    "budgets_by_year": {"gemeente", "domain", "year", "budget_eur", "source"},
    "year_factors": {"year", "target", "source"},
    "contract_options": {"lot", "form", "source"},
    "risks": {"gemeente", "risk", "amount_eur", "probability", "source"},
    "providers": {"provider", "source"},
    "contracts": {"provider", "lot", "source"},
    "goals": {"goal", "domain", "value", "source"},
    "maatstaven": {"gemeente", "population", "maatstaf", "value", "source"},
    "bedragen": {"maatstaf", "domain", "bedrag_eur", "source"},
    "historical": {"gemeente", "population", "domain", "historical_eur", "source"},
}

#: free-text columns (no key, no reference): where a stray byte changes nothing else
FREE_TEXT = {
    "sources": "description",
    "lots": "label",
    "substitutions": "label",
    "pooling_rules": "label",
    "providers": "label",
    "years": "label",
    "risks": "risk",
}

#: where each kind of name appears: (table, column); pools.lots holds lots separated by ';'
REFS: dict[str, list[tuple[str, str]]] = {
    "gemeente": [
        (t, c)
        for t, c in (
            ("gemeenten", "gemeente"),
            ("budgets", "gemeente"),
            ("populations", "gemeente"),
            ("need", "gemeente"),
            ("ceilings", "gemeente"),
            ("substitutions", "gemeente"),
            ("use_history", "gemeente"),
            ("budgets_by_year", "gemeente"),
            ("risks", "gemeente"),
            ("maatstaven", "gemeente"),
            ("historical", "gemeente"),
            ("contracts", "gemeente"),
            ("contract_options", "gemeente"),
            ("goals", "gemeente"),
        )
    ],
    "lot": [
        ("lots", "lot"),
        ("need", "lot"),
        ("ceilings", "lot"),
        ("substitutions", "from_lot"),
        ("substitutions", "to_lot"),
        ("demand", "lot"),
        ("pools", "lots"),
        ("use_history", "lot"),
        ("contract_options", "lot"),
        ("contracts", "lot"),
        ("goals", "lot"),
    ],
    "region": [("budgets", "region"), ("ceilings", "region"), ("pools", "region"), ("contract_options", "region"), ("contracts", "region")],
    "population": [
        ("populations", "population"),
        ("need", "population"),
        ("maatstaven", "population"),
        ("historical", "population"),
        ("substitutions", "population"),
        ("goals", "population"),
    ],
    "source": [(t, "source") for t in BASE],
    "rule": [("pooling_rules", "rule"), ("pools", "rule")],
    "provider": [("providers", "provider"), ("contracts", "provider")],
}
#: the value of each kind of name that the cases rename, and the file that defines it
RENAMED = {
    "gemeente": ("A", "gemeenten"),
    "lot": ("spec", "lots"),
    "region": ("R", "budgets"),
    "population": ("jeugd", "populations"),
    "source": ("test", "sources"),
    "rule": ("mix", "pooling_rules"),
    "provider": ("P1", "providers"),
}


def tables_copy() -> dict[str, list[list[str]]]:
    return {k: [list(r) for r in v] for k, v in BASE.items()}


def csv_bytes(rows: list[list[str]], delimiter: str = ",", eol: str = "\n", encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=eol)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def rename(tables: dict[str, list[list[str]]], kind: str, old: str, new: str, only: set[str] | None = None) -> None:
    """Rename a name everywhere it is used (or only in the tables ``only``)."""
    for t, c in REFS[kind]:
        if only is not None and t not in only:
            continue
        rows = tables[t]
        j = rows[0].index(c)
        for r in rows[1:]:
            if t == "pools" and c == "lots":
                r[j] = ";".join(new if x == old else x for x in r[j].split(";"))
            elif r[j] == old:
                r[j] = new


def write_instance(folder: Path, tables: dict | None = None, meta: str | bytes | None = None, raw: dict | None = None) -> None:
    """An instance folder: the tables (text rows), instance.yaml, and ``raw`` files as bytes
    (None deletes a file; a name ending in '/' becomes a folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    m = BASE_META if meta is None else meta
    (folder / "instance.yaml").write_bytes(m.encode("utf-8") if isinstance(m, str) else m)
    for name, rows in (tables or tables_copy()).items():
        (folder / f"{name}.csv").write_bytes(csv_bytes(rows))
    for name, data in (raw or {}).items():
        p = folder / name.rstrip("/")
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
        if name.endswith("/"):
            p.mkdir()
        elif data is not None:
            p.write_bytes(data)


# --------------------------------------------------------------------------- cases and results


@dataclass
class Result:
    rc: int | None
    elapsed: float
    stdout: str
    stderr: str


Check = Callable[[Path, Result], list[tuple[str, str]]]


@dataclass
class Case:
    category: str
    description: str
    argv: list[str]  # after `verdeelmodel --lang en`; paths relative to the case folder (the cwd)
    expect: str  # valid | invalid | either
    names: tuple[str, ...] = ()  # one of these must appear in an exit-2 message (case-insensitive)
    build: Callable[[Path], None] | None = None
    checks: list[Check] = field(default_factory=list)
    max_extra_s: float | None = None  # at most this many seconds beyond a plain validate
    files: str = ""  # which file was damaged and how, for the report
    id: int = 0
    result: Result | None = None
    verdict: str = ""
    detail: str = ""


VERDICT_ORDER = [
    "timeout",
    "traceback",
    "exit1",
    "other",
    "damage",
    "injection",
    "wrong-value",
    "silent",
    "unsafe-echo",
    "rejected",
    "unclear",
    "slow",
    "flood",
    "ok",
]

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # \r too: it overwrites a line


def judge(case: Case, case_dir: Path, res: Result, baseline: float) -> tuple[str, str]:
    found: list[tuple[str, str]] = []
    err, both = res.stderr, res.stdout + res.stderr
    if res.rc is None:
        found.append(("timeout", f"killed after {res.elapsed:.0f} s"))
    if "Traceback" in err or "internal error" in err:
        found.append(("traceback", first_lines(err, 1)))
    if res.rc == 1:
        found.append(("exit1", "exit code 1"))
    if res.rc not in (None, 0, 1, 2, 3):
        found.append(("other", f"exit code {res.rc}"))
    for check in case.checks:
        try:
            found.extend(check(case_dir, res))
        except Exception as e:  # a check that cannot run is itself worth a look
            found.append(("damage", f"check failed: {type(e).__name__}: {e}"))
    m = _UNSAFE.search(both)
    if m:
        found.append(("unsafe-echo", f"U+{ord(m.group()):04X} printed raw"))
    if res.rc in (0, 2, 3):
        named = not case.names or any(n.lower() in err.lower() for n in case.names)
        if case.expect == "invalid" and res.rc == 0:
            found.append(("silent", "exit 0 on an invalid input"))
        elif case.expect == "invalid" and res.rc == 3:
            found.append(("silent", "exit 3: the invalid input was taken in and the model found infeasible"))
        elif case.expect == "valid" and res.rc == 2:
            found.append(("rejected", "exit 2 on a valid input"))
        elif res.rc == 2 and not named:
            found.append(("unclear", f"the message names none of {list(case.names)}"))
    if case.max_extra_s is not None and res.rc is not None and res.elapsed > baseline + case.max_extra_s:
        found.append(("slow", f"{res.elapsed:.1f} s, more than {case.max_extra_s:g} s beyond a plain validate ({baseline:.1f} s)"))
    if len(err) > FLOOD_BYTES:
        found.append(("flood", f"{len(err):,} characters on stderr"))
    if not found:
        return "ok", ""
    found.sort(key=lambda f: VERDICT_ORDER.index(f[0]))
    return found[0][0], "; ".join(f"{v}: {d}" for v, d in found)


def first_lines(text: str, n: int = 3, width: int = 300) -> str:
    """The first n meaningful lines of stderr (argparse's usage block skipped), control
    characters escaped."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines[1:] if not line.startswith(" ")] or lines
    out = []
    for line in lines[:n]:
        line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
        out.append(line if len(line) <= width else line[:width] + " ...")
    return " | ".join(out)


# --------------------------------------------------------------------------- checks


def _digest(path: Path) -> dict[str, str]:
    if path.is_symlink() and not path.exists():
        return {"": "dangling link"}
    if path.is_file():
        return {"": hashlib.sha256(path.read_bytes()).hexdigest()}
    out = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def untouched(rel: str) -> tuple[Callable[[Path], None], Check]:
    """A snapshot of a file or folder taken after the build and compared after the run."""
    saved: dict[str, dict[str, str]] = {}

    def snap(d: Path) -> None:
        saved["before"] = _digest(d / rel)

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        target = d / rel
        if not target.exists() and not target.is_symlink():
            return [("damage", f"{rel} was deleted")]
        after, before = _digest(target), saved["before"]
        if after == before:
            return []
        gone = sorted(set(before) - set(after))
        new = sorted(set(after) - set(before))
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
        return [("damage", f"{rel} changed: deleted {gone[:5]}, new {new[:5]}, rewritten {changed[:5]}")]

    return snap, check


def nothing_at(*paths: str) -> Check:
    """Paths (absolute, or relative to the case folder) that a run must not create; removed if it did."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        found = []
        for p in paths:
            q = Path(p) if Path(p).is_absolute() else (d / p)
            q = Path(os.path.normpath(q))
            if q.exists() or q.is_symlink():
                found.append(("damage", f"created {q} outside the output folder"))
                if q.is_dir() and not q.is_symlink():
                    shutil.rmtree(q, ignore_errors=True)
                else:
                    q.unlink(missing_ok=True)
        return found

    return check


def budget_is(gemeente: str, value: float) -> Check:
    """Exit 0: out/budgets.csv gives the gemeente this budget (the number typed was read as meant)."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        if res.rc != 0:
            return []
        f = d / "out" / "budgets.csv"
        if not f.exists():
            return [("wrong-value", "exit 0 but no out/budgets.csv to compare")]
        with f.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("gemeente") == gemeente:
                    got = float(row["budget_eur"])
                    if abs(got - value) > 1e-6 * max(1.0, abs(value)):
                        return [("wrong-value", f"budget of {gemeente} read as {got:g}, typed as {value:g}")]
                    return []
        return [("wrong-value", f"no row for {gemeente} in out/budgets.csv")]

    return check


def says_reading() -> Check:
    """Exit 0 on an ambiguous number: the run must say how it read it."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        if res.rc == 0 and "read as" not in (res.stdout + res.stderr):
            return [("silent", "an ambiguous number was taken without saying how it was read")]
        return []

    return check


_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def no_formulas(folder: str = "out") -> Check:
    """No output cell that a spreadsheet would run: a CSV cell starting with = + - @ (not a plain
    number), or a formula cell in an .xlsx."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        out = d / folder
        if not out.exists():
            return []
        hits = []
        files = [out] if out.is_file() else sorted(out.rglob("*"))
        for f in files:
            if f.suffix == ".csv":
                text = f.read_text(encoding="utf-8-sig", errors="replace")
                delim = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
                for row in csv.reader(io.StringIO(text), delimiter=delim):
                    for cell in row:
                        if _FORMULA.match(cell) and not _NUMBER.match(cell.strip()):
                            hits.append(f"{f.name}: {cell[:40]!r}")
            elif f.suffix == ".xlsx":
                import openpyxl

                wb = openpyxl.load_workbook(f, read_only=False)
                for ws in wb.worksheets:
                    for row in ws.iter_rows():
                        for c in row:
                            if c.data_type == "f":
                                hits.append(f"{f.name}[{ws.title}]!{c.coordinate}: {str(c.value)[:40]!r}")
        return [("injection", f"{len(hits)} formula cell(s), e.g. {hits[:3]}")] if hits else []

    return check


def report_pages(n: int) -> Check:
    """Exit 0 of `report`: one HTML page per region (two regions never share a page)."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        if res.rc != 0:
            return []
        pages = sorted(p.name for p in (d / "out").glob("*.html"))
        if len(pages) != n:
            return [("damage", f"{n} regions but {len(pages)} report page(s) {pages}: one region's page overwrote another's")]
        return []

    return check


def grid_points(n: int) -> Check:
    """Exit 0 of `sweep`: the grid has n distinct points (no --param silently dropped)."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        if res.rc != 0:
            return []
        if "read as the two points" in res.stderr:  # the reading taken is said: not silent
            return []
        f = d / "out" / "sweep.csv"
        with f.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        return (
            []
            if len(rows) == n
            else [
                ("silent", f"{len(rows)} points in sweep.csv where {n} were meant (a --param dropped, or a decimal comma read as a list)")
            ]
        )

    return check


def _with_snap(case: Case, rel: str) -> Case:
    """Add a snapshot of ``rel`` to the case: build, then snapshot; after the run, compare."""
    snap, check = untouched(rel)
    build = case.build

    def b(d: Path) -> None:
        if build:
            build(d)
        snap(d)

    case.build = b
    case.checks.append(check)
    return case


# --------------------------------------------------------------------------- category 1: CSV damage


def pick_table(rng: random.Random) -> str:
    return rng.choice(list(REQUIRED) * 2 + [t for t in BASE if t not in REQUIRED])


def _cmd(rng: random.Random, p: float = 0.15) -> list[str]:
    """validate (fast), or for a sample solve."""
    return ["solve", "inst", "--out", "out", "--quiet"] if rng.random() < p else ["validate", "inst"]


def file_case(cat, rng, desc, table, data, expect, names=None, extra=None, p_solve=0.15, **kw) -> Case:
    raw = {f"{table}.csv": data, **(extra or {})}
    return Case(
        cat,
        desc,
        _cmd(rng, p_solve),
        expect,
        names or (f"{table}.csv",),
        build=lambda d, raw=raw: write_instance(d / "inst", raw=raw),
        files=f"{table}.csv: {desc}",
        **kw,
    )


def gen_csv(rng: random.Random):
    cat = "1 csv damage"

    def truncate():
        t = pick_table(rng)
        data = csv_bytes(BASE[t])
        cut = rng.randrange(1, len(data) - 1)
        head = data.index(b"\n")
        return file_case(cat, rng, f"{t}.csv truncated at byte {cut} of {len(data)}", t, data[:cut], "invalid" if cut < head else "either")

    def semicolon():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv with ';' as delimiter (Dutch Excel)", t, csv_bytes(BASE[t], ";"), "valid")

    def semicolon_comma():
        t = rng.choice(["substitutions", "pooling_rules", "year_factors", "demand", "goals", "risks", "contract_options"])
        rows = [list(r) for r in BASE[t]]
        num = NUMERIC.get(t, {})
        for r in rows[1:]:
            for j, c in enumerate(rows[0]):
                if c in num and num[c].kind != "bool":
                    r[j] = r[j].replace(".", ",")
        return file_case(cat, rng, f"{t}.csv with ';' and decimal commas (Dutch Excel)", t, csv_bytes(rows, ";"), "valid")

    def bom():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv with a UTF-8 BOM", t, b"\xef\xbb\xbf" + csv_bytes(BASE[t]), "valid")

    def double_bom():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv with two UTF-8 BOMs", t, b"\xef\xbb\xbf" * 2 + csv_bytes(BASE[t]), "invalid")

    def utf16():
        t = pick_table(rng)
        return file_case(
            cat, rng, f"{t}.csv saved as UTF-16 (Excel 'Unicode text')", t, csv_bytes(BASE[t]).decode().encode("utf-16"), "invalid"
        )

    def latin1():
        t = rng.choice(list(FREE_TEXT))
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index(FREE_TEXT[t])
        rows[1][j] = "Súdwest-Fryslân café"
        data = csv_bytes(rows, encoding="latin-1")
        return file_case(cat, rng, f"{t}.csv in latin-1 with 'Súdwest-Fryslân café' in {FREE_TEXT[t]}", t, data, "invalid")

    def mixed_encoding():
        t = rng.choice(list(FREE_TEXT))
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index(FREE_TEXT[t])
        rows[1][j] = "Súdwest"
        data = csv_bytes(rows)
        data = data.replace("Súdwest".encode(), "Súdwest".encode() + b" / " + "Súdwest".encode("latin-1"))
        return file_case(cat, rng, f"{t}.csv mixing UTF-8 and latin-1 bytes in one cell", t, data, "invalid")

    def cp1252_euro():
        t, c = rng.choice([(t, c) for t, cs in NUMERIC.items() for c, col in cs.items() if col.kind == "eur"])
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index(c)
        rows[1][j] = "€ 100"
        return file_case(cat, rng, f"{t}.csv with '€ 100' in {c} saved as Windows-1252", t, csv_bytes(rows, encoding="cp1252"), "invalid")

    def nul_byte():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        i = rng.randrange(1, len(rows))
        j = rng.randrange(len(rows[0]))
        v = rows[i][j]
        k = rng.randrange(len(v) + 1)
        rows[i][j] = v[:k] + "\x00" + v[k:]
        return file_case(cat, rng, f"{t}.csv with a NUL byte in row {i + 1}, column {rows[0][j]}", t, csv_bytes(rows), "invalid")

    def nul_tail():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv padded with 4096 NUL bytes", t, csv_bytes(BASE[t]) + b"\x00" * 4096, "invalid")

    def long_cell():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        i = rng.randrange(1, len(rows))
        j = rng.randrange(len(rows[0]))
        n = rng.choice([131_073, 200_000, 1_000_000])
        rows[i][j] = rows[i][j] + "x" * n
        return file_case(cat, rng, f"{t}.csv with a {n:,}-character cell (row {i + 1}, {rows[0][j]})", t, csv_bytes(rows), "invalid")

    def long_header():
        t = pick_table(rng)
        rows = [list(r) + ["y"] for r in BASE[t]]
        rows[0][-1] = "h" * 150_000
        return file_case(cat, rng, f"{t}.csv with a 150,000-character header column", t, csv_bytes(rows), "invalid")

    def extra_column():
        t = pick_table(rng)
        rows = [list(r) + ["let op"] for r in BASE[t]]
        rows[0][-1] = "opmerking"
        return file_case(cat, rng, f"{t}.csv with an unknown column 'opmerking'", t, csv_bytes(rows), "invalid")

    def trailing_comma():
        t = pick_table(rng)
        data = b"\n".join(line + b"," for line in csv_bytes(BASE[t]).rstrip(b"\n").split(b"\n")) + b"\n"
        return file_case(cat, rng, f"{t}.csv with a trailing ',' on every line (empty last column)", t, data, "either")

    def missing_column():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        j = rng.randrange(len(rows[0]))
        c = rows[0][j]
        rows = [r[:j] + r[j + 1 :] for r in rows]
        expect = "invalid" if c in REQUIRED_COLUMNS[t] else "either"
        return file_case(cat, rng, f"{t}.csv without column {c}", t, csv_bytes(rows), expect)

    def short_row():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        i = rng.randrange(1, len(rows))
        rows[i] = rows[i][:-1]
        return file_case(cat, rng, f"{t}.csv row {i + 1} one cell short", t, csv_bytes(rows), "invalid")

    def long_row():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        i = rng.randrange(1, len(rows))
        rows[i] = rows[i] + ["extra"]
        return file_case(cat, rng, f"{t}.csv row {i + 1} one cell too many", t, csv_bytes(rows), "invalid")

    def dup_header():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        j = rng.randrange(len(rows[0]))
        rows = [r + [r[j]] for r in rows]
        return file_case(cat, rng, f"{t}.csv with column {rows[0][j]} twice in the header", t, csv_bytes(rows), "invalid")

    def dup_row():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        rows.append(list(rng.choice(rows[1:])))
        return file_case(cat, rng, f"{t}.csv with one row repeated", t, csv_bytes(rows), "invalid")

    def many_dup_rows():
        t = pick_table(rng)
        n = rng.choice([10_000, 25_000, 60_000])
        rows = [list(r) for r in BASE[t]] + [list(BASE[t][1])] * n
        return file_case(
            cat, rng, f"{t}.csv with its first row repeated {n:,} times", t, csv_bytes(rows), "invalid", p_solve=0.3, max_extra_s=20
        )

    def empty_file():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv empty (0 bytes)", t, b"", "invalid")

    def blank_file():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv holding only blank lines and spaces", t, b"\n  \n\r\n", "invalid")

    def header_only():
        t = pick_table(rng)
        expect = "invalid" if t in REQUIRED else "either"
        return file_case(cat, rng, f"{t}.csv with only its header", t, csv_bytes(BASE[t][:1]), expect)

    def line_ends():
        t = pick_table(rng)
        eol = rng.choice(["\r\n", "\r"])
        return file_case(cat, rng, f"{t}.csv with {eol!r} line ends", t, csv_bytes(BASE[t], eol=eol), "valid")

    def mixed_line_ends():
        t = pick_table(rng)
        lines = csv_bytes(BASE[t]).rstrip(b"\n").split(b"\n")
        data = b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines)
        return file_case(cat, rng, f"{t}.csv with mixed line ends", t, data, "valid")

    def unbalanced_quote():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        i = rng.randrange(1, len(rows))
        j = rng.randrange(len(rows[0]))
        lines = csv_bytes(rows).decode().split("\n")
        cells = lines[i].split(",")
        cells[j] = '"' + cells[j]
        lines[i] = ",".join(cells)
        last = i == len(rows) - 1 and j == len(rows[0]) - 1
        return file_case(
            cat,
            rng,
            f"{t}.csv with an unbalanced '\"' opening row {i + 1}, {rows[0][j]}",
            t,
            "\n".join(lines).encode(),
            "either" if last else "invalid",
        )

    def quote_in_cell():
        t = rng.choice(list(FREE_TEXT))
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index(FREE_TEXT[t])
        lines = csv_bytes(rows).decode().split("\n")
        cells = lines[1].split(",")
        cells[j] = cells[j] + ' 12" scherm'
        lines[1] = ",".join(cells)
        return file_case(cat, rng, f"{t}.csv with a bare '\"' inside the text of {FREE_TEXT[t]}", t, "\n".join(lines).encode(), "either")

    def all_quoted():
        t = pick_table(rng)
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(BASE[t])
        return file_case(cat, rng, f"{t}.csv with every cell quoted", t, buf.getvalue().encode(), "valid")

    def blank_lines():
        t = pick_table(rng)
        data = csv_bytes(BASE[t]).replace(b"\n", b"\n\n,,\n", 2)
        return file_case(cat, rng, f"{t}.csv with blank and comma-only lines between rows", t, data, "either")

    def table_is_folder():
        t = pick_table(rng)
        return Case(
            cat,
            f"{t}.csv is a folder",
            _cmd(rng),
            "invalid",
            (f"{t}.csv",),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv/": None}),
            files=f"{t}.csv: a folder",
        )

    def table_case():
        t = rng.choice(list(BASE))
        name = rng.choice([t.capitalize() + ".csv", t + ".CSV", t + ".Csv"])
        expect = "invalid"
        return Case(
            cat,
            f"{t}.csv saved as {name}",
            _cmd(rng),
            expect,
            (name, f"{t}.csv", t),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": None, name: csv_bytes(BASE[t])}),
            files=f"{name} instead of {t}.csv",
        )

    def header_case():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        rows[0] = [c.capitalize() for c in rows[0]]
        return file_case(cat, rng, f"{t}.csv with capitalised column names", t, csv_bytes(rows), "invalid")

    def header_spaces():
        t = pick_table(rng)
        rows = [list(r) for r in BASE[t]]
        rows[0] = [f" {c} " for c in rows[0]]
        return file_case(cat, rng, f"{t}.csv with spaces around the column names", t, csv_bytes(rows), "valid")

    def tab_delimited():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv tab-separated", t, csv_bytes(BASE[t], "\t"), "invalid")

    def excel_sep_line():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv starting with Excel's 'sep=,' line", t, b"sep=,\n" + csv_bytes(BASE[t]), "either")

    def garbage():
        t = pick_table(rng)
        data = bytes(rng.randrange(256) for _ in range(rng.choice([16, 4096])))
        return file_case(cat, rng, f"{t}.csv holding {len(data)} random bytes", t, data, "invalid")

    def gzipped():
        t = pick_table(rng)
        return file_case(cat, rng, f"{t}.csv gzip-compressed", t, gzip.compress(csv_bytes(BASE[t]), mtime=0), "invalid")

    return [
        truncate,
        semicolon,
        semicolon_comma,
        bom,
        double_bom,
        utf16,
        latin1,
        mixed_encoding,
        cp1252_euro,
        nul_byte,
        nul_tail,
        long_cell,
        long_header,
        extra_column,
        trailing_comma,
        missing_column,
        short_row,
        long_row,
        dup_header,
        dup_row,
        many_dup_rows,
        empty_file,
        blank_file,
        header_only,
        line_ends,
        mixed_line_ends,
        unbalanced_quote,
        quote_in_cell,
        all_quoted,
        blank_lines,
        table_is_folder,
        table_case,
        header_case,
        header_spaces,
        tab_delimited,
        excel_sep_line,
        garbage,
        gzipped,
    ]


# --------------------------------------------------------------------------- category 2: values


#: number columns whose value no other table constrains (a plausible new value stays valid); elsewhere
#: a changed magnitude may break a cross-table rule (minimum <= plafond, low <= amount <= high, ...)
FREE = {
    ("budgets", "budget_eur"),
    ("budgets", "own_funds_eur"),
    ("budgets_by_year", "budget_eur"),
    ("budgets_by_year", "own_funds_eur"),
    ("gemeenten", "available_reserve_eur"),
    ("gemeenten", "weerstandscapaciteit_eur"),
    ("bedragen", "bedrag_eur"),
    ("historical", "historical_eur"),
    ("lots", "tariff_eur"),
    ("lots", "priority_weight"),
    ("lots", "statutory"),
    ("maatstaven", "value"),
    ("need", "volume"),
    ("use_history", "clients"),
    ("use_history", "cost_eur"),
}

_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def value_variants(col: Col, orig: str, free: bool) -> list[tuple[str, str, str, float | None, bool]]:
    """(label, text, expect, the number it means when valid, whether a reading note is due) for a
    cell of column ``col`` that holds ``orig``; ``free``: no other table constrains the column."""
    k = col.kind
    ok = "valid" if free else "either"  # a new value: valid unless another table constrains it
    if k == "bool":
        return [
            ("boolean 'yes'", "yes", "either", None, False),
            ("boolean '2'", "2", "invalid", None, False),
            ("boolean 'ja'", "ja", "either", None, False),
            ("boolean 'waar'", "waar", "either", None, False),
            ("boolean 'TRUE'", "TRUE", ok, None, False),
            ("boolean ' true '", " true ", ok, None, False),
            ("boolean '1'", "1", "either", None, False),
            ("boolean 'x'", "x", "invalid", None, False),
            ("boolean '=TRUE()'", "=TRUE()", "invalid", None, False),
            ("boolean blank", "", ok, None, False),
        ]
    zero_ok = not col.positive and k != "year"
    big_invalid = k in ("eur", "share", "year") or col.scaled or col.upper is not None
    v: list[tuple[str, str, str, float | None, bool]] = [
        ("text", "twaalf", "invalid", None, False),
        ("'n/a'", "n/a", "invalid", None, False),
        ("a dash for zero", "-", "invalid", None, False),
        ("nan", "nan", "invalid", None, False),
        ("NaN", "NaN", "invalid", None, False),
        ("inf", "inf", "invalid", None, False),
        ("-inf", "-inf", "invalid", None, False),
        ("Infinity", "Infinity", "invalid", None, False),
        ("1e400 (overflows to inf)", "1e400", "invalid", None, False),
        ("negative", "-5", "invalid", None, False),
        ("negative zero", "-0", "either" if zero_ok else "invalid", None, False),
        ("zero", "0", ok if zero_ok else "invalid", 0.0, False),
        ("huge 1e20", "1e20", "invalid" if big_invalid else "either", None, False),
        ("huge whole 10^20", "100000000000000000000", "invalid" if big_invalid else "either", None, False),
        ("'1_000' (digit separator)", "1_000", "invalid", None, False),
        ("hex '0x10'", "0x10", "invalid", None, False),
        ("formula '=1+1'", "=1+1", "invalid", None, False),
        ("accounting negative '(100)'", "(100)", "invalid", None, False),
        ("unicode minus '−5'", "\u22125", "invalid", None, False),
        ("trailing minus '5-'", "5-", "invalid", None, False),
        ("superscript digits '¹⁰'", "¹⁰", "invalid", None, False),
        ("blank", "", "invalid" if col.required else ok, None, False),
        ("'1e-400' (underflows to 0)", "1e-400", "either", 0.0, False),
    ]
    if orig.strip():  # the same number typed differently
        meant = float(orig)
        v += [
            ("spaces around", f" {orig}  ", "valid", meant, False),
            ("tab and NBSP around", f"\t{orig}\u00a0", "either", meant, False),
            ("Arabic-Indic digits", orig.translate(_ARABIC), "either", meant, False),
            ("fullwidth digits", orig.translate(_FULLWIDTH), "either", meant, False),
            ("leading '+'", "+" + orig, "valid", meant, False),
        ]
    if k == "eur":
        v += [
            ("sub-cent amount '12.3456'", "12.3456", "invalid", None, False),
            ("sub-cent amount '0.001'", "0.001", "invalid", None, False),
            ("sub-cent amount '1234567.891'", "1234567.891", "invalid", None, False),
            ("Dutch thousands '4.500.000'", "4.500.000", ok, 4_500_000.0, False),
            ("Dutch '€ 4.600.000'", "€ 4.600.000", ok, 4_600_000.0, False),
            ("Dutch '4.500.000,50'", "4.500.000,50", ok, 4_500_000.5, False),
            ("Dutch '€ 1.234,-'", "€ 1.234,-", "either", 1234.0, False),
            ("ambiguous '80.000'", "80.000", "either", 80_000.0, True),
            ("ambiguous '100.005'", "100.005", "either", 100_005.0, True),
            ("ambiguous '1,500'", "1,500", "either", 1.5, True),
            ("English '4,500,000'", "4,500,000", "either", 4_500_000.0, True),
            ("space thousands '4 500 000'", "4 500 000", "either", 4_500_000.0, False),
            ("'100 EUR'", "100 EUR", "either", 100.0, False),
            ("'100 euro'", "100 euro", "either", 100.0, False),
            ("'1e3'", "1e3", "either", 1000.0, False),
            ("beyond the range 1e13+1", "10000000000001", "invalid", None, False),
            ("at the range 1e13", "10000000000000", "either", 1e13, False),
            ("'4.50.0' (fits no notation)", "4.50.0", "invalid", None, False),
        ]
    elif k == "share":
        hi = col.upper if col.upper is not None else 1
        v += [
            ("decimal comma '0,2'", "0,2", ok if 0.2 <= hi else "invalid", 0.2, False),
            ("tiny '0.0001'", "0.0001", "either", 0.0001, False),
            ("percentage '20%'", "20%", "either", 0.2, False),
            ("above the range", f"{hi + 0.5:g}", "invalid", None, False),
            ("'1,500'", "1,500", ok if 1.5 <= hi else "invalid", 1.5, True),
            ("'0,500'", "0,500", ok if 0.5 <= hi else "invalid", 0.5, False),
        ]
    elif k == "num":
        v += [
            ("decimal comma '12,5'", "12,5", ok, 12.5, False),
            ("ambiguous '80.000'", "80.000", "either", 80.0, True),
            ("Dutch thousands '4.500.000'", "4.500.000", "either" if col.scaled else ok, 4_500_000.0, False),
            ("tiny '0.0001'", "0.0001", "either", 0.0001, False),
        ]
    elif k in ("int", "year"):
        v += [
            ("decimal '1.5'", "1.5", "invalid", None, False),
            ("'2.0'", "2.0", "either", 2.0, False),
            ("'1e3'", "1e3", "either", 1000.0, False),
        ]
        if k == "int" and col.upper is None:
            v += [
                ("Dutch thousands '1.234.567'", "1.234.567", ok, 1_234_567.0, False),
                ("Dutch thousands '4.500'", "4.500", "either", 4500.0, True),
            ]
        if k == "year":
            v += [("year 1899", "1899", "invalid", None, False), ("year 99999", "99999", "invalid", None, False)]
    return v


def gen_values(rng: random.Random):
    cat = "2 value damage"
    cols = [(t, c, col) for t, cs in NUMERIC.items() for c, col in cs.items()]

    def one(table: str | None = None, column: str | None = None):
        if table is None:
            t, c, col = rng.choice(cols)
        else:
            t, c, col = table, column, NUMERIC[table][column]
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index(c)
        i = 1 if t == "budgets" else rng.randrange(1, len(rows))
        label, text, expect, meant, note = rng.choice(value_variants(col, rows[i][j], (t, c) in FREE))
        rows[i][j] = text
        checks: list[Check] = []
        argv = _cmd(rng, 0.12)
        if t == "budgets" and c == "budget_eur" and meant is not None and expect != "invalid":
            argv = ["solve", "inst", "--out", "out", "--quiet"]
            checks.append(budget_is(rows[i][0], meant))
        if note:
            checks.append(says_reading())
        desc = f"{t}.{c} row {i + 1}: {label} {text!r}"
        raw = {f"{t}.csv": csv_bytes(rows)}
        return Case(
            cat,
            desc,
            argv,
            expect,
            (f"{t}.csv",),
            build=lambda d: write_instance(d / "inst", raw=raw),
            checks=checks,
            files=f"{t}.csv row {i + 1} column {c} = {text!r}",
        )

    def budget():
        return one("budgets", "budget_eur")

    def generic():
        return one()

    # budgets.budget_eur is checked end to end (solve reads back the number); the rest by validate
    return [budget, generic, generic, generic]


# --------------------------------------------------------------------------- category 3: names


def _nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


NAMES: list[tuple[str, str, str]] = [
    # (label, name, expect)
    ("formula '=1+1'", "=1+1", "valid"),
    ("formula '+31 6 1234'", "+31 6 1234", "valid"),
    ("leading '-x'", "-x", "valid"),
    ("'@SUM(A1)'", "@SUM(A1)", "valid"),
    ("DDE '=cmd|' /C calc'!A0'", "=cmd|' /C calc'!A0", "valid"),
    ("'=HYPERLINK(...)'", '=HYPERLINK("http://example.invalid","klik")', "valid"),
    ("tab then formula", "\t=1+1", "either"),
    ("ANSI colour escape", "A\x1b[31mROOD\x1b[0m", "invalid"),
    ("terminal title escape", "\x1b]0;pwned\x07A", "invalid"),
    ("clear-screen escape", "\x1b[2J\x1b[HA", "invalid"),
    ("bell and backspaces", "A\x07\x08\x08B", "invalid"),
    ("NUL inside", "A\x00B", "invalid"),
    ("DEL inside", "A\x7fB", "invalid"),
    ("C1 control NEL", "A\x85B", "invalid"),
    ("newline inside (quoted)", "A\nB", "either"),
    ("carriage return inside (quoted)", "A\rverdeelmodel: all fine", "either"),
    ("bidi override", "\u202egnp.exe", "either"),
    ("zero-width space only", "\u200b", "either"),
    ("NBSP only", "\u00a0", "invalid"),
    ("spaces only", "   ", "invalid"),
    ("empty", "", "invalid"),
    ("120 characters", "G" * 120, "valid"),
    ("121 characters", "G" * 121, "invalid"),
    ("5,000 characters", "G" * 5000, "invalid"),
    ("path '../x'", "../x", "valid"),
    ("path '../../../../etc/passwd'", "../../../../etc/passwd", "valid"),
    ("absolute path '/abs'", "/abs", "valid"),
    ("'..'", "..", "valid"),
    ("Windows path 'C:\\x'", "C:\\x", "valid"),
    ("device name 'CON'", "CON", "valid"),
    ("'~'", "~", "valid"),
    ("emoji", "🏠 Huis", "valid"),
    ("CJK", "海牙", "valid"),
    ("'NA'", "NA", "valid"),
    ("'None'", "None", "valid"),
    ("'nan'", "nan", "valid"),
    ("'null'", "null", "valid"),
    ("'true'", "true", "valid"),
    ("leading zeros '00123'", "00123", "valid"),
    ("'1e3'", "1e3", "valid"),
    ("with ';'", "A;B", "either"),
    ("with '|'", "A|B", "either"),
    ("'*'", "*", "either"),
    ("with ',' (quoted)", "Berg, Dal", "valid"),
    ("with '\"' (quoted)", 'de "Kern"', "valid"),
    ("NFD spelling 'Súdwest-Fryslân'", _nfd("Súdwest-Fryslân"), "valid"),
]


def gen_names(rng: random.Random):
    cat = "3 names"

    def renamed(kind: str | None = None, choice: tuple[str, str, str] | None = None, cmd: list[str] | None = None, checks=()):
        kind = kind or rng.choice(list(RENAMED))
        label, name, expect = choice or rng.choice(NAMES)
        old, defining = RENAMED[kind]
        tables = tables_copy()
        rename(tables, kind, old, name)
        if kind == "lot" and name in ("", "   ", "\u00a0") or kind == "lot" and ";" in name:
            expect = "either" if expect != "invalid" else expect
        data = {f"{t}.csv": csv_bytes(rows) for t, rows in tables.items()}
        formula = name.lstrip("\t")[:1] in ("=", "+", "-", "@")
        argv = cmd or (
            ["solve", "inst", "--out", "out", "--quiet", "--xlsx"]
            if formula or rng.random() < 0.25 and expect != "invalid"
            else ["validate", "inst"]
        )
        ch = list(checks)
        if argv[0] == "solve":
            ch.append(no_formulas())
        return Case(
            cat,
            f"{kind} {old!r} renamed to {label} {name[:60]!r}",
            argv,
            expect,
            (f"{defining}.csv", ".csv"),
            build=lambda d: write_instance(d / "inst", raw=data),
            checks=ch,
            files=f"every table: {kind} {old!r} -> {name[:60]!r}",
        )

    def any_name():
        return renamed()

    def formula_name():
        return renamed(choice=rng.choice([n for n in NAMES if n[1].lstrip("\t")[:1] in ("=", "+", "-", "@")]))

    def control_name():
        return renamed(choice=rng.choice([n for n in NAMES if any(unicodedata.category(c) in ("Cc", "Cf") for c in n[1])]))

    def nfc_nfd_refs():
        kind = rng.choice(["gemeente", "lot", "population", "region"])
        old, defining = RENAMED[kind]
        tables = tables_copy()
        rename(tables, kind, old, "Súdwest-Fryslân")
        nfd_tables = {t for t, _ in REFS[kind] if t != defining}
        rename(tables, kind, "Súdwest-Fryslân", _nfd("Súdwest-Fryslân"), only=nfd_tables)
        data = {f"{t}.csv": csv_bytes(rows) for t, rows in tables.items()}
        return Case(
            cat,
            f"{kind} spelled NFC in {defining}.csv, NFD in the tables that refer to it",
            _cmd(rng, 0.3),
            "valid",
            (".csv",),
            build=lambda d: write_instance(d / "inst", raw=data),
            files=f"{defining}.csv NFC, others NFD",
        )

    def nfc_nfd_twice():
        tables = tables_copy()
        rename(tables, "gemeente", "A", "Súdwest-Fryslân")
        rows = tables["gemeenten"]
        rows.append(list(rows[1]))
        rows[-1][0] = _nfd("Súdwest-Fryslân")
        data = {f"{t}.csv": csv_bytes(r) for t, r in tables.items()}
        return Case(
            cat,
            "two gemeenten 'Súdwest-Fryslân', one NFC and one NFD (the same name)",
            ["validate", "inst"],
            "invalid",
            ("gemeenten.csv",),
            build=lambda d: write_instance(d / "inst", raw=data),
            files="gemeenten.csv: the name twice, NFC and NFD",
        )

    def case_twins():
        tables = tables_copy()
        rows = tables["gemeenten"]
        rows.append(list(rows[1]))
        rows[-1][0] = "a"
        tables["budgets"].append(["a", "jeugd", "R", "10", "0", "test"])
        tables["populations"].append(["a", "jeugd", "target_group", "10", "test"])
        tables["budgets_by_year"].append(["a", "jeugd", "2025", "10", "0", "test"])
        data = {f"{t}.csv": csv_bytes(r) for t, r in tables.items()}
        return Case(
            cat,
            "two gemeenten 'A' and 'a' (differ only in case)",
            ["validate", "inst"],
            "either",
            (".csv",),
            build=lambda d: write_instance(d / "inst", raw=data),
            files="gemeenten.csv: 'A' and 'a'",
        )

    def spaces_in_refs():
        kind = rng.choice(["gemeente", "lot", "population", "region"])
        old, defining = RENAMED[kind]
        tables = tables_copy()
        rename(tables, kind, old, f" {old}  ", only={t for t, _ in REFS[kind] if t != defining})
        data = {f"{t}.csv": csv_bytes(r) for t, r in tables.items()}
        return Case(
            cat,
            f"{kind} {old!r} with spaces around it where it is referred to",
            _cmd(rng),
            "valid",
            (".csv",),
            build=lambda d: write_instance(d / "inst", raw=data),
            files=f"{kind} ' {old}  ' in the referring tables",
        )

    def report_regions():
        # two regions whose report pages would share a file name (slug), and a path-like region
        pair = rng.choice([("R", "r"), ("R 1", "R-1"), ("Noord/Zuid", "Noord-Zuid"), ("../R", "R")])
        tables = tables_copy()
        rename(tables, "region", "R", pair[0])
        for r in tables["budgets"][1:]:
            if r[0] == "C":
                r[2] = pair[1]
        data = {f"{t}.csv": csv_bytes(r) for t, r in tables.items()}
        return Case(
            cat,
            f"report: two regions {pair[0]!r} and {pair[1]!r} (one page per region)",
            ["report", "inst", "--scenarios", "200", "--out", "out", "--quiet"],
            "either",
            ("budgets.csv", ".csv"),
            build=lambda d: write_instance(d / "inst", raw=data),
            checks=[report_pages(2), nothing_at("R.html", "../R", "rapport-r.html")],
            files=f"budgets.csv: regions {pair[0]!r} (A, B) and {pair[1]!r} (C)",
        )

    def echo_on_solve():
        return renamed(
            kind=rng.choice(["gemeente", "lot", "region"]),
            choice=rng.choice([n for n in NAMES if n[2] != "invalid" and any(unicodedata.category(c) in ("Cc", "Cf") for c in n[1])]),
            cmd=["solve", "inst", "--out", "out"],
        )

    def convert_formula():
        label, name, _ = rng.choice([n for n in NAMES if n[1][:1] in ("=", "+", "-", "@")])
        tables = tables_copy()
        kind = rng.choice(["gemeente", "lot", "region", "population"])
        rename(tables, kind, RENAMED[kind][0], name)
        data = {f"{t}.csv": csv_bytes(r) for t, r in tables.items()}
        return Case(
            cat,
            f"convert to .xlsx with {kind} named {label} {name!r}",
            ["convert", "inst", "x.xlsx"],
            "valid",
            (".csv",),
            build=lambda d: write_instance(d / "inst", raw=data),
            checks=[no_formulas("x.xlsx")],
            files=f"every table: {kind} -> {name!r}",
        )

    return [
        any_name,
        any_name,
        formula_name,
        control_name,
        nfc_nfd_refs,
        nfc_nfd_twice,
        case_twins,
        spaces_in_refs,
        report_regions,
        echo_on_solve,
        convert_formula,
    ]


# --------------------------------------------------------------------------- category 4: references


def gen_refs(rng: random.Random):
    cat = "4 references"

    def unknown_ref():
        kind = rng.choice(["gemeente", "lot", "population", "region", "source", "rule", "provider"])
        old, defining = RENAMED[kind]
        t, c = rng.choice([(t, c) for t, c in REFS[kind] if t != defining])
        tables = tables_copy()
        rows = tables[t]
        j = rows[0].index(c)
        hits = [i for i in range(1, len(rows)) if old in rows[i][j].split(";")]
        if not hits:
            return None
        i = rng.choice(hits)
        new = rng.choice(["Onbekend", old.lower() if old.lower() != old else old.upper(), old + "x", old + " (oud)"])
        rows[i][j] = ";".join(new if x == old else x for x in rows[i][j].split(";"))
        return Case(
            cat,
            f"{t}.{c} row {i + 1}: unknown {kind} {new!r}",
            _cmd(rng),
            "invalid",
            (f"{t}.csv",),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": csv_bytes(rows)}),
            files=f"{t}.csv row {i + 1}: {c} = {new!r}",
        )

    def unknown_domain():
        t = rng.choice(["budgets", "lots", "goals", "historical", "bedragen", "budgets_by_year"])
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index("domain")
        rows[1][j] = rng.choice(["Jeugd", "participatie", "jeugdhulp"])
        return Case(
            cat,
            f"{t}.domain row 2: a domain not in instance.yaml {rows[1][j]!r}",
            _cmd(rng),
            "invalid",
            (f"{t}.csv",),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": csv_bytes(rows)}),
            files=f"{t}.csv row 2: domain {rows[1][j]!r}",
        )

    def missing_table():
        t = rng.choice(list(REQUIRED))
        return Case(
            cat,
            f"required table {t}.csv missing",
            _cmd(rng),
            "invalid",
            (f"{t}.csv", t),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": None}),
            files=f"{t}.csv deleted",
        )

    def missing_optional():
        t = rng.choice(["pooling_rules", "years", "use_history", "providers"])
        expect = {"pooling_rules": "invalid", "years": "invalid", "providers": "invalid"}.get(t, "either")
        return Case(
            cat,
            f"{t}.csv missing while other tables refer to it",
            _cmd(rng),
            expect,
            (t,),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": None}),
            files=f"{t}.csv deleted",
        )

    def missing_yaml():
        return Case(
            cat,
            "instance.yaml missing",
            _cmd(rng),
            "invalid",
            ("instance.yaml",),
            build=lambda d: write_instance(d / "inst", raw={"instance.yaml": None}),
            files="instance.yaml deleted",
        )

    def empty_folder():
        return Case(
            cat,
            "an empty folder as instance",
            ["validate", "inst"],
            "invalid",
            ("instance.yaml", "inst"),
            build=lambda d: (d / "inst").mkdir(),
        )

    def not_there():
        p = rng.choice(["nosuch", "inst/need.csv", "inst.zip", "inst/"])
        return Case(
            cat,
            f"instance path {p!r} (missing, a CSV, a zip, a folder with '/')",
            [rng.choice(["validate", "solve"]), p],
            "valid" if p == "inst/" else "invalid",
            (p.rstrip("/"),),
            build=lambda d: (write_instance(d / "inst"), (d / "inst.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)),
        )

    def both_or_neither():
        t = rng.choice(["ceilings", "contracts", "contract_options"])
        rows = [list(r) for r in BASE[t]]
        jr, jg = rows[0].index("region"), rows[0].index("gemeente")
        both = rng.random() < 0.5
        rows[1][jr], rows[1][jg] = ("R", "A") if both else ("", "")
        return Case(
            cat,
            f"{t} row 2 with {'both a region and a gemeente' if both else 'neither region nor gemeente'}",
            _cmd(rng),
            "invalid",
            (f"{t}.csv",),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": csv_bytes(rows)}),
            files=f"{t}.csv row 2: region {rows[1][jr]!r}, gemeente {rows[1][jg]!r}",
        )

    def self_substitution():
        rows = [list(r) for r in BASE["substitutions"]]
        rows[1][1] = rows[1][0]
        return Case(
            cat,
            "substitutions: a lot substituted by itself",
            _cmd(rng),
            "invalid",
            ("substitutions.csv",),
            build=lambda d: write_instance(d / "inst", raw={"substitutions.csv": csv_bytes(rows)}),
        )

    def pool_lots_list():
        v = rng.choice(["verblijf;", ";verblijf", "verblijf;verblijf", "verblijf; spec", "verblijf,spec", "verblijf;nosuch"])
        rows = [list(r) for r in BASE["pools"]]
        rows[1][2] = v
        expect = "invalid" if v in ("verblijf,spec", "verblijf;nosuch") else "either"  # an empty or repeated item may be ignored
        return Case(
            cat,
            f"pools.lots = {v!r}",
            _cmd(rng),
            expect,
            ("pools.csv",),
            build=lambda d: write_instance(d / "inst", raw={"pools.csv": csv_bytes(rows)}),
        )

    def orphan_gemeente():
        tables = tables_copy()
        tables["gemeenten"].append(["D", "500", "0", "", "0", "", "test"])
        which = rng.choice(["no budget or population", "a population but no budget"])
        if which.startswith("a population"):
            tables["populations"].append(["D", "jeugd", "target_group", "10", "test"])
        data = {f"{t}.csv": csv_bytes(r) for t, r in tables.items()}
        return Case(
            cat,
            f"gemeente D with {which}",
            _cmd(rng, 0.5),
            "either",
            ("gemeenten.csv", "budgets.csv", "populations.csv"),
            build=lambda d: write_instance(d / "inst", raw=data),
        )

    def year_outside_horizon():
        t = rng.choice(["budgets_by_year", "year_factors"])
        rows = [list(r) for r in BASE[t]]
        j = rows[0].index("year")
        rows[1][j] = rng.choice(["2030", "2023", "2024"])
        return Case(
            cat,
            f"{t}.year row 2 = {rows[1][j]} (not a later year of years.csv)",
            _cmd(rng),
            "invalid",
            (f"{t}.csv",),
            build=lambda d: write_instance(d / "inst", raw={f"{t}.csv": csv_bytes(rows)}),
        )

    def horizon_gap():
        rows = [list(r) for r in BASE["years"]]
        rows[2][0] = rng.choice(["2026", "2023"])
        return Case(
            cat,
            f"years.csv: 2024 then {rows[2][0]} (not consecutive from the instance year)",
            _cmd(rng),
            "invalid",
            ("years.csv",),
            build=lambda d: write_instance(d / "inst", raw={"years.csv": csv_bytes(rows)}),
        )

    def min_above_ceiling():
        rows = [list(r) for r in BASE["ceilings"]]
        rows[2][4] = "500"
        return Case(
            cat,
            "ceilings: minimum 500 above the plafond 100",
            ["solve", "inst", "--out", "out", "--quiet"],
            "either",
            ("ceilings.csv",),
            build=lambda d: write_instance(d / "inst", raw={"ceilings.csv": csv_bytes(rows)}),
        )

    return [
        unknown_ref,
        unknown_ref,
        unknown_ref,
        unknown_domain,
        missing_table,
        missing_optional,
        missing_yaml,
        empty_folder,
        not_there,
        both_or_neither,
        self_substitution,
        pool_lots_list,
        orphan_gemeente,
        year_outside_horizon,
        horizon_gap,
        min_above_ceiling,
    ]


# --------------------------------------------------------------------------- category 5: instance.yaml


def _yaml_with(**changes: str) -> str:
    """The base instance.yaml with top-level lines replaced (key -> 'key: value' text, '' drops)."""
    lines = BASE_META.splitlines()
    out = []
    for line in lines:
        key = line.split(":", 1)[0]
        if key in changes:
            if changes[key]:
                out.append(changes.pop(key))
        else:
            out.append(line)
    out += [v for v in changes.values() if v]
    return "\n".join(out) + "\n"


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    return BASE_META + "\n".join(lines).replace("a0:", "x_a0:") + f"\ndescription2: *a{levels - 1}\n"


def gen_yaml(rng: random.Random):
    cat = "5 instance.yaml"
    token = f"ESC{rng.randrange(10**9)}"

    def yc(desc, text, expect, argv=None, checks=(), max_extra_s=None, names=("instance.yaml",)):
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        return Case(
            cat,
            desc,
            argv or _cmd(rng, 0.1),
            expect,
            names,
            build=lambda d: write_instance(d / "inst", meta=data),
            checks=list(checks),
            max_extra_s=max_extra_s,
            files="instance.yaml: " + desc,
        )

    syntax = [
        ("unclosed quote", _yaml_with(name='name: "fuzzbase')),
        ("unclosed flow mapping", _yaml_with(units="units: {money: EUR")),
        ("tab indentation", BASE_META + "options:\n\tbudget_scope: total\n"),
        ("bad indentation", BASE_META + "options:\n  budget_scope: total\n   reference: {scale: region}\n"),
        ("a colon-led line", BASE_META + ": x\n"),
        ("two documents", BASE_META + "---\nname: other\n"),
        ("unknown local tag", _yaml_with(name="name: !naam fuzzbase")),
        ("Windows-1252 bytes", BASE_META.replace("seeded base", "basisgegevens café").encode("cp1252")),
        ("UTF-16", BASE_META.encode("utf-16")),
        ("NUL byte", BASE_META.replace("fuzzbase", "fuzz\0base")),
        ("empty file", ""),
        ("only a comment", "# niets\n"),
        ("a list", "- name: fuzzbase\n- year: 2024\n"),
        ("a scalar", "fuzzbase\n"),
        ("deeply nested list (5,000 levels)", BASE_META + "x: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("deeply nested mapping (3,000 levels)", BASE_META + "x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"),
    ]
    tags = [
        ("!!python/object/apply:os.system", _yaml_with(description=f"description: !!python/object/apply:os.system ['touch {token}']")),
        ("!!python/object/new", _yaml_with(description="description: !!python/object/new:builtins.str ['x']")),
        ("!!python/name:os.system", _yaml_with(description="description: !!python/name:os.system")),
        ("!!binary name", _yaml_with(name="name: !!binary ZnV6emJhc2U=")),
        ("!!set domains", _yaml_with(domains="domains: !!set {jeugd, wmo}")),
        ("!!timestamp year", _yaml_with(year="year: 2024-01-01")),
        ("!!float year", _yaml_with(year="year: !!float 2024")),
        ("!!str year", _yaml_with(year="year: !!str 2024")),
    ]
    anchors = [
        ("an anchor and alias", BASE_META.replace("units: {money: EUR}", "units: &u {money: EUR}") + "x_units: *u\n"),
        ("a merge key", BASE_META + "base: &b {scale: region}\noptions:\n  reference:\n    <<: *b\n"),
        ("alias bomb (9 levels, 2 KB)", alias_bomb(9)),
    ]
    dupes = [
        ("year twice", BASE_META + "year: 2025\n"),
        ("domain key twice", _yaml_with(domains="domains: {jeugd: Jeugdhulp, jeugd: Jeugd, wmo: Wmo}")),
        ("options key twice", BASE_META + "options: {budget_scope: total}\noptions: {budget_scope: per_domain}\n"),
    ]
    unknown = [
        ("unknown key 'nmae'", BASE_META + "nmae: x\n"),
        ("unknown option", BASE_META + "options: {budget_scoop: total}\n"),
        ("unknown objective setting", BASE_META + "options: {objective: {mdoe: weighted}}\n"),
        ("unknown family", BASE_META + "options: {families: {need_covrage: false}}\n"),
        ("unknown weight", BASE_META + "options: {objective: {mode: weighted, weights: {tekrot: 5}}}\n"),
    ]
    types = [
        ("year as text 'twintig'", _yaml_with(year="year: twintig"), "invalid"),
        ("year 2024.5", _yaml_with(year="year: 2024.5"), "invalid"),
        ("year '2024' quoted", _yaml_with(year="year: '2024'"), "either"),
        ("year true", _yaml_with(year="year: true"), "invalid"),
        ("year -1", _yaml_with(year="year: -1"), "invalid"),
        ("year .nan", _yaml_with(year="year: .nan"), "invalid"),
        ("year 10^30", _yaml_with(year="year: 1000000000000000000000000000000"), "invalid"),
        ("year null", _yaml_with(year="year:"), "invalid"),
        ("name empty", _yaml_with(name="name: ''"), "invalid"),
        ("name a number", _yaml_with(name="name: 2024"), "either"),
        ("name a list", _yaml_with(name="name: [a, b]"), "invalid"),
        ("name 10,000 characters", _yaml_with(name="name: " + "n" * 10_000), "either"),
        ("name with an escape sequence", _yaml_with(name='name: "fuzz\\e[31mbase"'), "invalid"),
        ("description missing", _yaml_with(description=""), "invalid"),
        ("description a mapping", _yaml_with(description="description: {a: 1}"), "invalid"),
        ("description 2 MB", _yaml_with(description="description: " + "lorem ipsum " * 170_000), "either"),
        ("domains a list", _yaml_with(domains="domains: [jeugd, wmo]"), "invalid"),
        ("domains empty", _yaml_with(domains="domains: {}"), "invalid"),
        ("domains a string", _yaml_with(domains="domains: jeugd"), "invalid"),
        ("domain label a list", _yaml_with(domains="domains: {jeugd: [a], wmo: Wmo}"), "invalid"),
        ("domain key a number", _yaml_with(domains="domains: {1: Jeugd, jeugd: Jeugdhulp}"), "either"),
        ("units money USD", _yaml_with(units="units: {money: USD}"), "invalid"),
        ("units money kEUR", _yaml_with(units="units: {money: kEUR}"), "invalid"),
        ("units a string", _yaml_with(units="units: EUR"), "invalid"),
        ("synthetic 'yes'", BASE_META + "synthetic: 'ja'\n", "invalid"),
        ("objective mode 'foo'", BASE_META + "options: {objective: {mode: foo}}\n", "invalid"),
        ("tolerance_rel -1", BASE_META + "options: {objective: {tolerance_rel: -1}}\n", "invalid"),
        ("tolerance_rel .inf", BASE_META + "options: {objective: {tolerance_rel: .inf}}\n", "invalid"),
        ("tolerance_abs_eur .nan", BASE_META + "options: {objective: {tolerance_abs_eur: .nan}}\n", "invalid"),
        ("tolerance_abs_eur 1e20", BASE_META + "options: {objective: {tolerance_abs_eur: 1e20}}\n", "either"),
        ("blend_lambda 2", BASE_META + "options: {reference: {blend_lambda: 2}}\n", "invalid"),
        ("blend_lambda '0,5'", BASE_META + "options: {reference: {blend_lambda: '0,5'}}\n", "either"),
        ("ingroeipad -5", BASE_META + "options: {reference: {ingroeipad_eur_per_inhabitant: -5}}\n", "invalid"),
        ("scale 'land'", BASE_META + "options: {reference: {scale: land}}\n", "invalid"),
        ("weights negative", BASE_META + "options: {objective: {mode: weighted, weights: {tekort: -5}}}\n", "invalid"),
        ("weights .inf", BASE_META + "options: {objective: {mode: weighted, weights: {tekort: .inf}}}\n", "invalid"),
        ("families value 'maybe'", BASE_META + "options: {families: {need_coverage: maybe}}\n", "invalid"),
        ("options a list", BASE_META + "options: [a]\n", "invalid"),
        ("budget_scope 'totaal'", BASE_META + "options: {budget_scope: totaal}\n", "invalid"),
    ]

    def syntax_case():
        desc, text = rng.choice(syntax)
        return yc(desc, text, "invalid", max_extra_s=5)

    def tag_case():
        desc, text = rng.choice(tags)
        expect = "either" if desc.startswith(("!!timestamp", "!!float", "!!str", "!!binary", "!!set")) else "invalid"
        return yc(desc, text, expect, checks=[nothing_at(token, f"inst/{token}")])

    def anchor_case():
        desc, text = rng.choice(anchors)
        return yc(desc, text, "invalid", max_extra_s=1.0)

    def dup_case():
        desc, text = rng.choice(dupes)
        return yc(desc, text, "invalid")

    def unknown_case():
        desc, text = rng.choice(unknown)
        return yc(desc, text, "invalid")

    def type_case():
        desc, text, expect = rng.choice(types)
        return yc(desc, text, expect)

    def path_name():
        name = rng.choice(
            [f"../../{token}", f"/tmp/{token}", f"a/../../../{token}", "..", ".", f"~/{token}", f"{token}/../../x", f"..\\..\\{token}"]
        )
        text = _yaml_with(name=f"name: {json.dumps(name)}")
        cmd = rng.choice([["solve", "inst", "--quiet"], ["pool", "inst", "--quiet"], ["plan", "inst", "--quiet"]])
        # the default output folder is out/<name>: it must stay below out/ whatever the name says
        return yc(
            f"name {name!r}, {cmd[0]} without --out",
            text,
            "either",
            argv=cmd,
            checks=[nothing_at(f"../{token}", f"../../{token}", f"/tmp/{token}", token, f"out/{token}/../../x"), stays_below_out(token)],
        )

    return [syntax_case, tag_case, anchor_case, anchor_case, dup_case, unknown_case, type_case, type_case, path_name]


def stays_below_out(token: str) -> Check:
    """What a run wrote lies below out/ of the case folder (not next to it, not above it)."""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        stray = [p.name for p in d.iterdir() if p.name not in ("inst", "out")]
        return [("damage", f"wrote {stray} in the working folder, outside out/")] if stray else []

    return check


# --------------------------------------------------------------------------- category 6: workbooks


def _wb_edit(fn: Callable) -> Callable[[Path, Path], None]:
    """A builder: load the base workbook with openpyxl, apply fn(wb), save."""

    def build(base: Path, target: Path) -> None:
        import openpyxl

        wb = openpyxl.load_workbook(base)
        fn(wb)
        wb.save(target)

    return build


def _col(ws, name: str) -> int:
    return [c.value for c in ws[1]].index(name) + 1


def _zip_edit(member_fn: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None) -> Callable[[Path, Path], None]:
    """A builder: rewrite members of the base workbook's zip (None drops a member)."""

    def build(base: Path, target: Path) -> None:
        with zipfile.ZipFile(base) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = member_fn(info.filename, zin.read(info.filename))
                if data is not None:
                    zout.writestr(info.filename, data)
            for name, data in (extra or {}).items():
                zout.writestr(name, data)

    return build


def _sheet_member(base: Path, title: str) -> str:
    """The zip member of a sheet by title (xl/worksheets/sheetN.xml)."""
    with zipfile.ZipFile(base) as z:
        wbxml = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet[^>]*name="{re.escape(title)}"[^>]*r:id="([^"]+)"', wbxml) or re.search(
        rf'<sheet[^>]*r:id="([^"]+)"[^>]*name="{re.escape(title)}"', wbxml
    )
    target = re.search(rf'<Relationship[^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    t = target.group(1).lstrip("/")
    return t if t.startswith("xl/") else "xl/" + t


def gen_workbooks(rng: random.Random, base_xlsx: Path):
    cat = "6 workbooks"

    def wc(desc, builder, expect, names=("x.xlsx",), argv=None, checks=(), max_extra_s=None, target="x.xlsx"):
        def build(d: Path) -> None:
            builder(base_xlsx, d / target)

        return Case(
            cat,
            desc,
            argv or (["solve", target, "--out", "out", "--quiet"] if rng.random() < 0.15 else ["validate", target]),
            expect,
            names,
            build=build,
            checks=list(checks),
            max_extra_s=max_extra_s,
            files=f"{target}: {desc}",
        )

    def formula_uncached():
        sheet, col, f = rng.choice(
            [
                ("budgets", "budget_eur", "=50*2"),
                ("need", "volume", "=SUM(1,2)"),
                ("budgets", "gemeente", '="A"'),
                ("lots", "tariff_eur", "=1/0"),
            ]
        )

        def fn(wb):
            ws = wb[sheet]
            ws.cell(2, _col(ws, col)).value = f

        return wc(f"formula {f!r} without a saved result in {sheet}.{col}", _wb_edit(fn), "invalid", names=("x.xlsx[" + sheet,))

    def formula_cached():
        def member(name: str, data: bytes) -> bytes:
            if name == member_name:
                text = data.decode()
                # the budget of A (100, a number cell) becomes a formula with its saved result
                text, n = re.subn(r'(<c r="D2"[^>]*>)<v>100</v>', r"\1<f>50*2</f><v>100</v>", text, count=1)
                if n != 1:
                    raise ValueError("budgets!D2 of the base workbook is not the number 100")
                return text.encode()
            return data

        member_name = _sheet_member(base_xlsx, "budgets")
        return wc(
            "budgets.budget_eur of A as formula =50*2 with its saved result 100",
            _zip_edit(member),
            "valid",
            argv=["solve", "x.xlsx", "--out", "out", "--quiet"],
            checks=[budget_is("A", 100.0)],
        )

    def sheet_name():
        sheet = rng.choice(["budgets", "need", "lots", "gemeenten", "ceilings"])
        new = rng.choice([sheet.capitalize(), sheet + " ", sheet[:-1], "Blad1", sheet + "_oud"])

        def fn(wb):
            wb[sheet].title = new

        return wc(f"sheet {sheet!r} renamed {new!r}", _wb_edit(fn), "invalid", names=("x.xlsx",))

    def no_instance_sheet():
        def fn(wb):
            del wb["instance"]

        return wc("no 'instance' sheet", _wb_edit(fn), "invalid", names=("instance", "x.xlsx"))

    def instance_sheet():
        key, value, expect = rng.choice(
            [
                ("name", "fuzzbase2", "invalid"),  # key twice
                ("year", "2024.5", "invalid"),
                ("options.objective.mode", "foo", "invalid"),
                ("nmae", "x", "invalid"),
                ("name.first", "x", "invalid"),
                ("year", "[" * 5000 + "]" * 5000, "invalid"),
                ("description", "&a [1]", "either"),
                ("units.money", "USD", "invalid"),
                ("year", "=2000+24", "invalid"),
            ]
        )

        def fn(wb):
            ws = wb["instance"]
            if key == "year" and value.startswith("="):
                for r in ws.iter_rows(min_row=2):
                    if r[0].value == "year":
                        r[1].value = value
                return
            ws.append([key, value])

        return wc(f"instance sheet: row {key} = {value[:40]!r}", _wb_edit(fn), expect, names=("x.xlsx[instance]", "x.xlsx"))

    def merged():
        sheet, rng_ = rng.choice([("lots", "B2:C2"), ("budgets", "A2:A4"), ("need", "A1:B1"), ("gemeenten", "B2:D3")])

        def fn(wb):
            wb[sheet].merge_cells(rng_)

        return wc(
            f"merged cells {rng_} in {sheet}",
            _wb_edit(fn),
            "either" if not rng_.startswith("A1") else "invalid",
            names=(f"x.xlsx[{sheet}",),
        )

    def many_rows():
        n = rng.choice([20_000, 50_000])

        def fn(wb):
            ws = wb["need"]
            row = [c.value for c in ws[2]]
            for _ in range(n):
                ws.append(row)

        return wc(f"need sheet with its first row repeated {n:,} times", _wb_edit(fn), "invalid", names=("x.xlsx[need]",), max_extra_s=25)

    def far_cell():
        where, text = rng.choice([("XFD1048576", "x"), ("A1048576", " "), ("XFD2", "x"), ("ZZ50000", "0")])
        sheet = rng.choice(["need", "sources", "instance"])

        def fn(wb):
            wb[sheet][where] = text

        expect = "either" if text.strip() == "" or sheet == "instance" else "invalid"
        return wc(
            f"one stray value {text!r} in cell {where} of {sheet}",
            _wb_edit(fn),
            expect,
            names=(f"x.xlsx[{sheet}]", "x.xlsx"),
            max_extra_s=15,
        )

    def cell_types():
        sheet, col, value, label, expect, meant = rng.choice(
            [
                ("budgets", "budget_eur", "date", "a date", "invalid", None),
                ("need", "volume", True, "TRUE", "invalid", None),
                ("budgets", "budget_eur", 1e300, "1e300", "invalid", None),
                ("budgets", "budget_eur", 100.004, "100.004 (sub-cent)", "invalid", None),
                ("budgets", "budget_eur", "4.500.000", "the text '4.500.000'", "valid", 4_500_000.0),
                ("budgets", "budget_eur", "100", "the number 100 as text", "valid", 100.0),
                ("budgets", "budget_eur", 0.1 + 0.2, "0.1+0.2 (binary float)", "valid", 0.3),
                ("budgets", "budget_eur", 1234567.891, "1234567.891 (a computed amount)", "invalid", None),
                ("lots", "statutory", 1, "the number 1", "either", None),
                ("gemeenten", "inhabitants", 1000.5, "1000.5", "invalid", None),
                ("gemeenten", "gemeente", 42, "a number as name", "either", None),
                ("budgets", "budget_eur", "#DIV/0!", "an error value", "invalid", None),
                ("sources", "description", "x" * 40_000, "40,000 characters", "either", None),
            ]
        )

        def fn(wb):
            import datetime

            ws = wb[sheet]
            c = ws.cell(2, _col(ws, col))
            if value == "date":
                c.value = datetime.datetime(2024, 1, 1)
            elif value == "#DIV/0!":
                c.value = value
                c.data_type = "e"
            else:
                c.value = value

        checks = []
        argv = None
        if meant is not None:
            argv = ["solve", "x.xlsx", "--out", "out", "--quiet"]
            checks.append(budget_is("A", meant))
        return wc(f"{sheet}.{col} row 2 holds {label}", _wb_edit(fn), expect, names=("x.xlsx[",), argv=argv, checks=checks)

    def hidden_sheet():
        which = rng.choice(["unknown", "ceilings"])

        def fn(wb):
            if which == "unknown":
                ws = wb.create_sheet("notities")
                ws.append(["let op"])
            else:
                ws = wb["ceilings"] if "ceilings" in wb.sheetnames else wb.create_sheet("ceilings")
            ws.sheet_state = "hidden"

        return wc(f"a hidden sheet ({which})", _wb_edit(fn), "invalid" if which == "unknown" else "either", names=("x.xlsx",))

    def beyond_header():
        def fn(wb):
            ws = wb["need"]
            ws.cell(3, ws.max_column + 2).value = "opmerking"

        return wc("a value right of the header columns in need", _wb_edit(fn), "invalid", names=("x.xlsx[need]",))

    def not_a_zip():
        data = rng.choice(
            [b"hello, this is not a workbook\n", b"", csv_bytes(BASE["need"]), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504]
        )

        def builder(base: Path, target: Path) -> None:
            target.write_bytes(data)

        kind = "empty" if not data else "an old .xls (OLE) header" if data[:4] == b"\xd0\xcf\x11\xe0" else "text"
        return wc(f"a non-zip file ({kind}, {len(data)} bytes) named .xlsx", builder, "invalid")

    def garbage_zip():
        variant = rng.choice(["random members", "truncated", "no workbook.xml", "xml garbage in sheet", "empty zip"])

        def builder(base: Path, target: Path) -> None:
            if variant == "random members":
                with zipfile.ZipFile(target, "w") as z:
                    z.writestr("hello.txt", "hi")
                    z.writestr("[Content_Types].xml", "<x/>")
            elif variant == "truncated":
                data = base.read_bytes()
                target.write_bytes(data[: len(data) // 2])
            elif variant == "no workbook.xml":
                _zip_edit(lambda n, d: None if n == "xl/workbook.xml" else d)(base, target)
            elif variant == "xml garbage in sheet":
                m = _sheet_member(base, "need")
                _zip_edit(lambda n, d: b"<worksheet><<<" if n == m else d)(base, target)
            else:
                with zipfile.ZipFile(target, "w"):
                    pass

        return wc(f"a zip with garbage ({variant}) named .xlsx", builder, "invalid")

    def xml_attacks():
        variant = rng.choice(["XXE file entity", "XML billion laughs", "50 MB cell", "100 MB sheet of whitespace"])
        kind_cell = "<t>assumption</t>"  # sources.kind of row 2: an enumeration, so a bad value is printed

        def edit_sources(base: Path, target: Path, fn: Callable[[bytes], bytes]) -> None:
            sm = _sheet_member(base, "sources")

            def member(n: str, d: bytes) -> bytes:
                if n != sm:
                    return d
                if kind_cell.encode() not in d:
                    raise ValueError(f"{kind_cell} not in the sources sheet of the base workbook")
                return fn(d)

            _zip_edit(member)(base, target)

        def builder(base: Path, target: Path) -> None:
            if variant == "XXE file entity":
                dtd = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
                edit_sources(base, target, lambda d: dtd + d.replace(kind_cell.encode(), b"<t>&xxe;</t>", 1))
            elif variant == "XML billion laughs":
                ents = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
                dtd = f'<?xml version="1.0"?><!DOCTYPE worksheet [{ents}]>'.encode()
                edit_sources(base, target, lambda d: dtd + d.replace(kind_cell.encode(), b"<t>&l9;</t>", 1))
            elif variant == "50 MB cell":
                edit_sources(base, target, lambda d: d.replace(kind_cell.encode(), b"<t>" + b"x" * 50_000_000 + b"</t>", 1))
            else:
                sm = _sheet_member(base, "need")
                _zip_edit(lambda n, d: d.replace(b"<sheetData>", b"<sheetData>" + b" " * 100_000_000, 1) if n == sm else d)(base, target)

        expect = "either" if variant.startswith("100 MB") else "invalid"
        where = "" if variant.startswith("100 MB") else " (in sources.kind)"
        return wc(f"an .xlsx with {variant}{where}", builder, expect, names=("x.xlsx",), max_extra_s=15, checks=[no_secret_echo()])

    def suffixes():
        name, expect = rng.choice(
            [("x.XLSX", "valid"), ("x.xlsm", "invalid"), ("x.xls", "invalid"), ("x.xlsx.bak", "invalid"), ("x.ods", "invalid")]
        )

        def builder(base: Path, target: Path) -> None:
            shutil.copy(base, target)

        return wc(f"the base workbook named {name}", builder, expect, names=(name,), target=name, argv=["validate", name])

    def convert_back():
        variant = rng.choice(["good", "formula", "into the instance folder", "into an existing workbook"])
        if variant == "good":
            return wc("convert the workbook back to a folder", lambda b, t: shutil.copy(b, t), "valid", argv=["convert", "x.xlsx", "back"])
        if variant == "formula":

            def fn(wb):
                ws = wb["budgets"]
                ws.cell(2, _col(ws, "budget_eur")).value = "=50*2"

            return wc(
                "convert a workbook with an uncached formula to a folder", _wb_edit(fn), "invalid", argv=["convert", "x.xlsx", "back"]
            )
        if variant == "into the instance folder":

            def builder(base: Path, target: Path) -> None:
                shutil.copy(base, target)
                write_instance(target.parent / "inst")

            case = wc(
                "convert a workbook into an existing instance folder",
                builder,
                "invalid",
                names=("inst",),
                argv=["convert", "x.xlsx", "inst"],
            )
            return _with_snap(case, "inst")

        def builder2(base: Path, target: Path) -> None:
            shutil.copy(base, target)
            write_instance(target.parent / "inst")
            shutil.copy(base, target.parent / "mine.xlsx")

        case = wc(
            "convert a folder onto an existing workbook", builder2, "invalid", names=("mine.xlsx",), argv=["convert", "inst", "mine.xlsx"]
        )
        return _with_snap(case, "mine.xlsx")

    return [
        formula_uncached,
        formula_cached,
        sheet_name,
        no_instance_sheet,
        instance_sheet,
        instance_sheet,
        merged,
        many_rows,
        far_cell,
        cell_types,
        cell_types,
        hidden_sheet,
        beyond_header,
        not_a_zip,
        garbage_zip,
        xml_attacks,
        suffixes,
        convert_back,
    ]


def no_secret_echo() -> Check:
    """An XML external entity is never resolved: the host's name never shows up in the output."""
    try:
        secret = Path("/etc/hostname").read_text().strip()
    except OSError:
        secret = ""

    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        if secret and len(secret) >= 4 and secret in res.stdout + res.stderr:
            return [("damage", "the content of /etc/hostname (an XML external entity) appears in the output")]
        return []

    return check


# --------------------------------------------------------------------------- category 7: options

WHOLE = {  # option -> (commands, lowest, highest)
    "--scenarios": (["reserves", "fairness", "contract"], 1, 10_000_000),
    "--seed": (["reserves", "fairness", "contract", "plan"], 0, 2**63 - 1),
    "--threads": (["solve"], 1, 256),
    "--processes": (["fairness"], 1, 256),
    "--permutations": (["fairness"], 1, 10_000_000),
    "--paths": (["plan"], 0, 10_000_000),
    "--years": (["plan"], 1, 100),
    "--max-scenarios": (["reserves"], 1, 10_000_000),
    "--year": (["pool"], 1900, 2200),
}
FLOAT = {  # option -> (commands, lo, hi, lo_open, hi_open)
    "--confidence": (["reserves", "fairness", "contract"], 0, 1, True, True),
    "--time-limit": (["solve"], 0, 1e7, True, False),
    "--risk-aversion": (["contract"], 0, 1e6, False, False),
    "--reserve-limit": (["contract"], 0, 1e15, False, False),
    "--level": (["plan"], 0, 1, True, True),
}
BASE_ARGS = {
    "solve": ["--out", "out", "--quiet"],
    "reserves": ["--scenarios", "300", "--no-plots", "--out", "out", "--quiet"],
    "fairness": ["--scenarios", "300", "--no-plots", "--out", "out", "--quiet"],
    "contract": ["--scenarios", "200", "--no-plots", "--out", "out", "--quiet"],
    "plan": ["--out", "out", "--quiet"],
    "pool": ["--out", "out", "--quiet"],
    "sweep": ["--out", "out", "--quiet"],
}


def with_option(cmd: str, opt: str, value: str | list[str]) -> list[str]:
    """The command on the base instance with ``opt`` set (replacing the base value)."""
    args = list(BASE_ARGS[cmd])
    if opt in args:
        i = args.index(opt)
        del args[i : i + 2]
    vals = value if isinstance(value, list) else [value]
    return [cmd, "inst", *args, opt, *vals]


def _whole_expect(text: str, lo: int, hi: int) -> str:
    strict = re.fullmatch(r"[0-9]+", text.strip())
    if strict and text == text.strip():
        return "valid" if lo <= int(text) <= hi else "invalid"
    try:
        v = int(text.replace("_", ""))
    except ValueError:
        return "invalid"
    return "either" if lo <= v <= hi else "invalid"


def _float_expect(text: str, lo, hi, lo_open, hi_open) -> str:
    try:
        v = float(text)
    except ValueError:
        return "invalid"
    import math

    ok = math.isfinite(v) and (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
    plain = re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None
    return ("valid" if plain else "either") if ok else "invalid"


WHOLE_VALUES = [
    "",
    " ",
    "abc",
    "-1",
    "0",
    "1.5",
    "1e3",
    "nan",
    "inf",
    "99999999999999999999999999",
    "0x10",
    "1_000",
    "１０",
    "+5",
    " 5",
    "10.000",
    "10,000",
    "10 000",
    "2",
    "9223372036854775808",
]
FLOAT_VALUES = [
    "",
    "abc",
    "nan",
    "inf",
    "-inf",
    "-0.5",
    "0",
    "1",
    "1.5",
    "1e400",
    "0,9",
    "90%",
    "0.9.1",
    "1e-300",
    "0x1p-2",
    "０.９",
    "0.9_9",
    "0.5",
    "1e16",
    "-0",
]


def gen_options(rng: random.Random):
    cat = "7 options"

    def oc(desc, argv, expect, names, build=None, checks=(), max_extra_s=None):
        return Case(
            cat,
            desc,
            argv,
            expect,
            names,
            build=build or (lambda d: write_instance(d / "inst")),
            checks=list(checks),
            max_extra_s=max_extra_s,
        )

    def whole():
        opt = rng.choice(list(WHOLE))
        cmds, lo, hi = WHOLE[opt]
        cmd = rng.choice(cmds)
        v = rng.choice(WHOLE_VALUES)
        expect = _whole_expect(v, lo, hi)
        if expect != "invalid":
            try:
                n = int(v.replace("_", ""))
            except ValueError:
                n = 0
            if opt in ("--scenarios", "--max-scenarios", "--permutations", "--paths") and n > 5000:
                v, expect = "0", _whole_expect("0", lo, hi)  # valid but slow: not what this fuzzer is for
        return oc(f"{cmd} {opt} {v!r}", with_option(cmd, opt, v), expect, (opt,))

    def floating():
        opt = rng.choice(list(FLOAT))
        cmds, lo, hi, lo_open, hi_open = FLOAT[opt]
        cmd = rng.choice(cmds)
        v = rng.choice(FLOAT_VALUES)
        expect = _float_expect(v, lo, hi, lo_open, hi_open)
        if opt in ("--reserve-limit", "--level") and expect == "valid":
            expect = "either"  # the command may still refuse it: a limit no plan meets, a level above 0.5
        return oc(f"{cmd} {opt} {v!r}", with_option(cmd, opt, v), expect, (opt, opt.strip("-").replace("-", " ")))

    def confidence_list():
        vals, expect = rng.choice(
            [(["0.8", "0.8"], "either"), (["0.9", "nan"], "invalid"), ([], "invalid"), (["0.95", "0.5", "0.99"], "valid")]
        )
        return oc(
            f"reserves --confidence {' '.join(vals) or '(none)'}", with_option("reserves", "--confidence", vals), expect, ("--confidence",)
        )

    def target_se():
        v, expect = rng.choice(
            [
                ("abc", "invalid"),
                ("-1", "invalid"),
                ("0", "invalid"),
                ("0%", "invalid"),
                ("nan%", "invalid"),
                ("1e400", "invalid"),
                ("%", "invalid"),
                ("150%", "either"),
                ("5", "either"),
                ("1%", "either"),
                ("1,5%", "either"),
            ]
        )
        argv = with_option("reserves", "--target-se", v) + ["--max-scenarios", "1200"]
        return oc(f"reserves --target-se {v!r} (max 1200 scenarios)", argv, expect, ("--target-se",))

    def optimise_key():
        v, expect = rng.choice(
            [
                ("mix=0.2:0.8", "valid"),
                ("mix=0.8:0.2", "invalid"),
                ("nosuch=0:1", "invalid"),
                ("mix=nan:1", "invalid"),
                ("mix=-1:2", "invalid"),
                ("mix", "invalid"),
                ("solidair=0:1", "invalid"),
                ("mix=0,2:0,8", "either"),
                ("mix=0.2:0.8:0.9", "invalid"),
            ]
        )
        return oc(
            f"reserves --optimise-key {v!r}", with_option("reserves", "--optimise-key", v), expect, ("--optimise-key", v.split("=")[0])
        )

    def names_opts():
        cmd, opt, v = rng.choice(
            [
                ("reserves", "--rule", "nosuch"),
                ("pool", "--rule", "nosuch"),
                ("reserves", "--pool", "nosuch"),
                ("fairness", "--region", "nosuch"),
                ("reserves", "--region", "nosuch"),
                ("reserves", "--plan", "foo"),
                ("solve", "--csv-dialect", "excel"),
                ("pool", "--pool", ""),
                ("reserves", "--rule", "=1+1"),
                ("fairness", "--rule", "\x1b[31m"),
            ]
        )
        return oc(f"{cmd} {opt} {v!r}", with_option(cmd, opt, v), "invalid", (opt, v or opt))

    def sweep():
        params, expect, points = rng.choice(
            [
                (["demand:*=inf"], "invalid", 0),
                (["demand:*=nan"], "invalid", 0),
                (["demand:*=-1"], "invalid", 0),
                (["demand:*=1e400"], "invalid", 0),
                (["demand:*=0.5:2:100001"], "invalid", 0),
                (["demand:*=0.5:2:0"], "invalid", 0),
                (["demand:*=0.5:2:-3"], "invalid", 0),
                (["demand:*=0.5:2:3.5"], "invalid", 0),
                (["demand:*=0.5:2"], "invalid", 0),
                (["demand:*=0.5:inf:3"], "invalid", 0),
                (["demand:*=1,,2"], "invalid", 0),
                (["demand:*="], "invalid", 0),
                (["=1"], "invalid", 0),
                (["demand:*"], "invalid", 0),
                (["nosuch=1"], "invalid", 0),
                (["demand:nolot=1,2"], "invalid", 0),
                (["tariff:spec=0"], "invalid", 0),
                (["tariff:spec=1e14"], "invalid", 0),
                (["budget:A|jeugd=1e14"], "invalid", 0),
                (["demand:*=1e12"], "invalid", 0),
                (["demand:*=0.5:2:400", "tariff:spec=1:20:400"], "invalid", 0),
                (["w_own:mix=1.5"], "invalid", 0),
                (["w_own:solidair=0.5"], "invalid", 0),
                (["limit:foo:bar=1"], "invalid", 0),
                (["goal:basis_share:jeugd=0.5"], "invalid", 0),
                (["demand:*=1,2", "demand:*=3,4"], "invalid", 4),
                (["demand:spec=0.9,1.1", "demand:spec=1"], "invalid", 2),
                (["demand:*=0.9,1.1"], "valid", 2),
                (["demand:*=0,9"], "either", 1),
                (["budget:A|jeugd=100,200"], "valid", 2),
                (["demand:*=0.9:1.1:3", "tariff:spec=5,10"], "valid", 6),
            ]
        )
        argv = ["sweep", "inst", *BASE_ARGS["sweep"]]
        for p in params:
            argv += ["--param", p]
        checks = [grid_points(points)] if points else []
        return oc(
            "sweep " + " ".join(f"--param {p!r}" for p in params),
            argv,
            expect,
            ("--param", "parameter", params[0].split("=")[0] or "="),
            checks=checks,
        )

    def out_file():
        cmd = rng.choice(list(BASE_ARGS))
        variant = rng.choice(["a file", "below a file", "/dev/null", "a 300-character name", "a name with a newline"])
        target = {
            "a file": "notes.txt",
            "below a file": "notes.txt/out",
            "/dev/null": "/dev/null",
            "a 300-character name": "o" * 300,
            "a name with a newline": "out\nx",
        }[variant]

        def build(d: Path) -> None:
            write_instance(d / "inst")
            (d / "notes.txt").write_text("mijn aantekeningen\n")

        argv = (
            with_option(cmd, "--out", target) if cmd != "sweep" else ["sweep", "inst", "--param", "demand:*=1", "--out", target, "--quiet"]
        )
        expect = "either" if variant == "a name with a newline" else "invalid"
        case = oc(f"{cmd} --out {variant}", argv, expect, ("--out", target[:20]), build=build)
        return _with_snap(case, "notes.txt")

    def out_foreign():
        cmd = rng.choice(list(BASE_ARGS))
        variant = rng.choice(
            [
                "a foreign folder",
                "the instance folder",
                "a link to a foreign folder",
                "'' (the working folder)",
                "a folder with a forged manifest.json",
                "an earlier output folder with a file added",
            ]
        )

        def build(d: Path) -> None:
            write_instance(d / "inst")
            f = d / "mijn"
            f.mkdir()
            (f / "begroting.xlsx").write_bytes(b"PK\x03\x04 not really")
            (f / "notities.txt").write_text("niet weggooien\n")
            if variant == "a link to a foreign folder":
                (d / "link").symlink_to(f, target_is_directory=True)
            if variant == "a folder with a forged manifest.json":
                (f / "manifest.json").write_text(json.dumps({"command": "solve", "input_sha256": "0" * 64, "versions": {}}))
            if variant == "an earlier output folder with a file added":
                shutil.rmtree(f)
                shutil.copytree(PREP_SOLVE, f)
                (f / "notities.txt").write_text("niet weggooien\n")

        target = {
            "a foreign folder": "mijn",
            "the instance folder": "inst",
            "a link to a foreign folder": "link",
            "'' (the working folder)": "",
        }.get(variant, "mijn")
        argv = (
            with_option(cmd, "--out", target) if cmd != "sweep" else ["sweep", "inst", "--param", "demand:*=1", "--out", target, "--quiet"]
        )
        snap = "inst" if target in ("inst", "") else "mijn"
        expect = "either" if variant.startswith(("a folder with a forged", "an earlier output")) else "invalid"
        case = oc(f"{cmd} --out {variant}", argv, expect, ("--out",), build=build)
        if variant.startswith("an earlier output"):
            case.checks.append(survives("mijn/notities.txt"))
        elif variant.startswith("a folder with a forged"):
            case.checks.append(survives("mijn/notities.txt"))
            case.checks.append(survives("mijn/begroting.xlsx"))
        else:
            case = _with_snap(case, snap)
        return case

    def costs():
        variant = rng.choice(
            [
                "missing",
                "a folder",
                "empty",
                "latin-1",
                "text cost",
                "unknown gemeente",
                "year 1899",
                "negative cost",
                "nan clients",
                "10,000 duplicate rows",
            ]
        )
        head = "gemeente,lot,year,clients,cost_eur,source\n"
        data = {
            "empty": b"",
            "latin-1": (head + "A,verblijf,2024,1,10,administratie café\n").encode("latin-1"),
            "text cost": (head + "A,verblijf,2024,1,tien,x\n").encode(),
            "unknown gemeente": (head + "Q,verblijf,2024,1,10,x\n").encode(),
            "year 1899": (head + "A,verblijf,1899,1,10,x\n").encode(),
            "negative cost": (head + "A,verblijf,2024,1,-10,x\n").encode(),
            "nan clients": (head + "A,verblijf,2024,nan,10,x\n").encode(),
            "10,000 duplicate rows": (head + "A,verblijf,2024,1,10,x\n" * 10_000).encode(),
        }.get(variant)
        expect = "either" if variant == "10,000 duplicate rows" else "invalid"

        def build(d: Path) -> None:
            write_instance(d / "inst")
            if variant == "a folder":
                (d / "costs.csv").mkdir()
            elif data is not None:
                (d / "costs.csv").write_bytes(data)

        return oc(f"pool --costs: {variant}", with_option("pool", "--costs", "costs.csv"), expect, ("costs.csv", "--costs"), build=build)

    def convert_targets():
        variant = rng.choice(["same folder", "folder to folder", "onto a file", "missing source", "template onto a workbook"])
        if variant == "template onto a workbook":

            def b0(d: Path) -> None:
                (d / "mine.xlsx").write_bytes(b"mijn werk")

            return _with_snap(
                oc("template onto an existing workbook", ["template", "mine.xlsx"], "invalid", ("mine.xlsx",), build=b0), "mine.xlsx"
            )
        argv = {
            "same folder": ["convert", "inst", "inst"],
            "folder to folder": ["convert", "inst", "copy"],
            "onto a file": ["convert", "inst", "notes.txt"],
            "missing source": ["convert", "nosuch", "x.xlsx"],
        }[variant]

        def build(d: Path) -> None:
            write_instance(d / "inst")
            (d / "notes.txt").write_text("mijn aantekeningen\n")

        case = oc(f"convert: {variant}", argv, "invalid", ("inst", "copy", "notes.txt", "nosuch", "convert"), build=build)
        case = _with_snap(case, "inst")
        return _with_snap(case, "notes.txt")

    return [
        whole,
        whole,
        whole,
        floating,
        floating,
        floating,
        confidence_list,
        target_se,
        optimise_key,
        names_opts,
        sweep,
        sweep,
        out_file,
        out_foreign,
        out_foreign,
        costs,
        convert_targets,
    ]


def survives(rel: str) -> Check:
    def check(d: Path, res: Result) -> list[tuple[str, str]]:
        return [] if (d / rel).exists() else [("damage", f"{rel}, a file verdeelmodel did not write, was deleted")]

    return check


PREP_SOLVE = Path()  # set in main: an output folder of an earlier solve


# --------------------------------------------------------------------------- generation and running

CATEGORIES = ["1 csv damage", "2 value damage", "3 names", "4 references", "5 instance.yaml", "6 workbooks", "7 options"]


def generate(seed: int, n: int, base_xlsx: Path) -> list[Case]:
    per = [n // len(CATEGORIES) + (1 if i < n % len(CATEGORIES) else 0) for i in range(len(CATEGORIES))]
    cases: list[Case] = []
    for cat, k in zip(CATEGORIES, per):
        rng = random.Random(f"{seed}:{cat}")
        makers = {
            "1 csv damage": gen_csv,
            "2 value damage": gen_values,
            "3 names": gen_names,
            "4 references": gen_refs,
            "5 instance.yaml": gen_yaml,
            "6 workbooks": lambda r: gen_workbooks(r, base_xlsx),
            "7 options": gen_options,
        }[cat](rng)
        seen: set[str] = set()
        made: list[Case] = []
        order: list[Callable] = []
        attempts = 0
        while len(made) < k and attempts < 50 * k + 100:
            attempts += 1
            if not order:
                order = list(makers)
                rng.shuffle(order)
            case = order.pop()()
            if case is None or (case.description, tuple(case.argv)) in seen:
                continue
            seen.add((case.description, tuple(case.argv)))
            made.append(case)
        cases += made
    for i, c in enumerate(cases, start=1):
        c.id = i
    return cases


def run_cli(argv: list[str], cwd: Path, timeout: float) -> Result:
    env = {**os.environ, "VERDEELMODEL_LANG": "en", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    # no memory limit for `report`: Chromium reserves far more address space than it uses
    limit = str(MEMORY_LIMIT if argv[:1] != ["report"] else -1)
    cmd = [PY, "-c", _TRAMPOLINE, limit, *CLI, *argv]
    t0 = time.monotonic()
    p = subprocess.Popen(
        cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )
    try:
        out, err = p.communicate(timeout=timeout)
        rc: int | None = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        rc = None
    return Result(rc, time.monotonic() - t0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def run_case(case: Case, root: Path, timeout: float, baseline: float) -> Case:
    d = root / "cases" / f"{case.id:04d}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    try:
        if case.build:
            case.build(d)
    except Exception as e:
        case.result = Result(None, 0.0, "", "")
        case.verdict, case.detail = "build-error", f"{type(e).__name__}: {e}"
        return case
    res = run_cli(case.argv, d, timeout)
    case.result = res
    case.verdict, case.detail = judge(case, d, res, baseline)
    return case


def prepare(root: Path, timeout: float) -> tuple[float, Path]:
    """The base instance, its workbook and an earlier output folder; the time of a plain validate."""
    global PREP_SOLVE
    prep = root / "prep"
    if prep.exists():
        shutil.rmtree(prep)
    prep.mkdir(parents=True)
    write_instance(prep / "inst")
    times = []
    for _ in range(3):
        r = run_cli(["validate", "inst"], prep, timeout)
        if r.rc != 0:
            sys.exit(f"fuzz_inputs: the base instance does not validate (exit {r.rc}): {first_lines(r.stderr)}")
        times.append(r.elapsed)
    for argv in (["convert", "inst", "base.xlsx"], ["validate", "base.xlsx"], ["solve", "inst", "--out", "solve-out", "--quiet"]):
        r = run_cli(argv, prep, timeout)
        if r.rc != 0:
            sys.exit(f"fuzz_inputs: {' '.join(argv)} on the base instance gave exit {r.rc}: {first_lines(r.stderr)}")
    PREP_SOLVE = prep / "solve-out"
    return statistics.median(times), prep / "base.xlsx"


# --------------------------------------------------------------------------- reporting


def command_line(case: Case) -> str:
    return "verdeelmodel --lang en " + " ".join(shlex.quote(a) for a in case.argv)


def write_csv(cases: list[Case], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "id",
                "category",
                "description",
                "expect",
                "argv",
                "files",
                "exit_code",
                "seconds",
                "verdict",
                "detail",
                "stderr_first_line",
                "stderr_head",
            ]
        )
        for c in cases:
            r = c.result
            rc = "" if r is None else ("timeout" if r.rc is None else r.rc)
            w.writerow(
                [
                    c.id,
                    c.category,
                    c.description,
                    c.expect,
                    command_line(c),
                    c.files,
                    rc,
                    "" if r is None else f"{r.elapsed:.2f}",
                    c.verdict,
                    c.detail,
                    "" if r is None else first_lines(r.stderr, 1),
                    "" if r is None else first_lines(r.stderr, 4),
                ]
            )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_table(cases: list[Case]) -> str:
    head = "| category | cases | exit 0 | exit 1 | exit 2 | exit 3 | other | timeout | tracebacks | silent | not ok |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    totals = Counter()
    for cat in CATEGORIES + ["total"]:
        cs = cases if cat == "total" else [c for c in cases if c.category == cat]
        if not cs and cat != "total":
            continue
        rcs = Counter(c.result.rc if c.result else "build" for c in cs)
        row = {
            "cases": len(cs),
            "0": rcs[0],
            "1": rcs[1],
            "2": rcs[2],
            "3": rcs[3],
            "other": sum(v for k, v in rcs.items() if k not in (0, 1, 2, 3, None)),
            "timeout": rcs[None],
            "tb": sum(1 for c in cs if c.result and ("Traceback" in c.result.stderr or "internal error" in c.result.stderr)),
            "silent": sum(1 for c in cs if c.verdict == "silent"),
            "bad": sum(1 for c in cs if c.verdict != "ok"),
        }
        if cat != "total":
            totals.update(row)
        lines.append(
            f"| {cat} | {row['cases']} | {row['0']} | {row['1']} | {row['2']} | {row['3']} | {row['other']} | {row['timeout']} | {row['tb']} | {row['silent']} | {row['bad']} |"
        )
    return "\n".join(lines)


def verdict_table(cases: list[Case]) -> str:
    count = Counter(c.verdict for c in cases)
    return "| verdict | cases |\n|---|---:|\n" + "\n".join(f"| {v} | {count[v]} |" for v in VERDICT_ORDER + ["build-error"] if count[v])


def _tick(text: str) -> str:
    """Text for inside a Markdown code span."""
    return text.replace("`", "'")


def failures(cases: list[Case], root: Path) -> str:
    bad = [c for c in cases if c.verdict != "ok"]
    if not bad:
        return "Every case was ok.\n"
    out = []
    for c in sorted(bad, key=lambda c: (VERDICT_ORDER.index(c.verdict) if c.verdict in VERDICT_ORDER else -1, c.id)):
        r = c.result
        rc = "timeout" if r and r.rc is None else (r.rc if r else "-")
        out.append(
            f"- **#{c.id} {c.verdict}** [{c.category}] {_md(c.description)} (expect {c.expect}; exit {rc}; {r.elapsed if r else 0:.1f} s)\n"
            f"  - command: `cd {root / 'cases' / f'{c.id:04d}'} && {_tick(command_line(c))}`\n"
            + (f"  - files: {_md(c.files)}\n" if c.files else "")
            + f"  - why: {_md(c.detail)}\n"
            + (f"  - stderr: `{_tick(first_lines(r.stderr, 3))}`\n" if r and r.stderr.strip() else "")
        )
    return "".join(out)


def package_version() -> str:
    """The commit the package was at (read-only git), and whether its files differ from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "verdeelmodel", "models", "solvers"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (" with uncommitted changes to the package" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=420, help="cases in all, spread over the 7 categories (default 420)")
    ap.add_argument("--seed", type=int, default=20260101, help="the seed every case is generated from (default 20260101)")
    ap.add_argument(
        "--out", type=Path, default=None, help="folder for cases.csv, summary.md and the failing cases (default: a new temp folder)"
    )
    ap.add_argument("--timeout", type=float, default=25.0, help="seconds before a run is killed (default 25)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="runs at once (default: CPUs)")
    ap.add_argument("--only", default="", help="only these case ids (comma-separated), e.g. to re-run a failure")
    ap.add_argument("--keep", action="store_true", help="keep the folder of every case, not only of those that were not ok")
    args = ap.parse_args(argv)
    if args.cases < 1 or args.timeout <= 0 or args.jobs < 1:
        ap.error("--cases, --timeout and --jobs must be positive")
    root = (args.out or Path(tempfile.mkdtemp(prefix="fuzz-verdeelmodel-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    version = package_version()
    baseline, base_xlsx = prepare(root, args.timeout)
    cases = generate(args.seed, args.cases, base_xlsx)
    if args.only:
        wanted = {int(x) for x in args.only.split(",") if x.strip()}
        cases = [c for c in cases if c.id in wanted]
    print(
        f"fuzz_inputs: {len(cases)} cases, seed {args.seed}, {args.jobs} at once, timeout {args.timeout:g} s; baseline validate {baseline:.2f} s; in {root}",
        file=sys.stderr,
    )
    done = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_case, c, root, args.timeout, baseline) for c in cases]
        for f in as_completed(futures):
            c = f.result()
            done += 1
            if c.verdict != "ok":
                print(f"  [{done}/{len(cases)}] #{c.id} {c.verdict}: {c.category}: {c.description[:100]}", file=sys.stderr)
            elif done % 50 == 0:
                print(f"  [{done}/{len(cases)}] {time.monotonic() - t0:.0f} s", file=sys.stderr)
            if c.verdict == "ok" and not args.keep:
                shutil.rmtree(root / "cases" / f"{c.id:04d}", ignore_errors=True)
    elapsed = time.monotonic() - t0
    write_csv(cases, root / "cases.csv")
    reproduce = f"{PY} scripts/fuzz_inputs.py --cases {args.cases} --seed {args.seed} --timeout {args.timeout:g}"
    md = (
        f"# verdeelmodel input fuzz: {len(cases)} cases, seed {args.seed}\n\n"
        f"Package at commit {version}. Reproduce: `{reproduce}` (one case: add `--only ID`). Runtime {elapsed:.0f} s with {args.jobs} runs at once; "
        f"a plain validate takes {baseline:.2f} s.\n\n{summary_table(cases)}\n\n{verdict_table(cases)}\n\n"
        f"## Cases that were not ok\n\n{failures(cases, root)}"
    )
    (root / "summary.md").write_text(md, encoding="utf-8")
    print(md)
    print(f"wrote {root / 'cases.csv'} and {root / 'summary.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
