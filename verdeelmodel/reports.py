"""Writing results: CSV tables, summary.json, manifest.json and plots, all atomically, by one\nwriter for every command (:func:`write_all`)."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from verdeelmodel._atomic import atomic_dir
from verdeelmodel._results import Result
from verdeelmodel.instance.validate import Instance

PACKAGES = ("verdeelmodel", "pyomo", "highspy", "pandas", "numpy", "pydantic")


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the numbers (a loaded module's own
    ``__version__``, else the installed distribution's)."""
    import sys

    out = {"python": platform.python_version()}
    for p in PACKAGES:
        mod = sys.modules.get(p)
        v = getattr(mod, "__version__", None) if mod is not None else None
        if isinstance(v, str):
            out[p] = v
            continue
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def manifest(inst: Instance, command: str, options: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    """What produced the outputs: inputs (hash), software versions, seed and options.
    No timestamps, so identical runs give identical manifests."""
    return {
        "command": command,
        "instance": inst.name,
        "instance_path": str(inst.path),
        "input_sha256": inst.input_hash,
        "input_files": inst.input_files,
        "seed": seed,
        "options": options,
        "instance_options": inst.options.model_dump(mode="json"),
        "versions": versions(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


PROVENANCE_NL = {"public": "openbaar", "derived": "afgeleid", "assumption": "aanname", "synthetic": "synthetisch", "unknown": "onbekend"}


def provenance_summary(inst: Instance, lang: str = "en") -> str:
    """How many input rows rest on public, derived, assumed or synthetic sources (``lang`` nl:
    the kinds in Dutch)."""
    kind = dict(zip(inst.sources["source"], inst.sources["kind"]))
    counts: dict[str, int] = {}
    for name, df in inst.tables.items():
        if name == "sources" or df.empty:
            continue
        for src in df["source"]:
            counts[kind.get(src, "unknown")] = counts.get(kind.get(src, "unknown"), 0) + 1
    order = ["public", "derived", "assumption", "synthetic", "unknown"]
    if lang == "nl":
        from verdeelmodel import fmt

        return ", ".join(f"{fmt.num(counts[k])} {PROVENANCE_NL[k]}" for k in order if counts.get(k))
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


def _num(v: float) -> float | None:
    return None if v != v else float(v)


def summary_dict(res: Result) -> dict[str, Any]:
    d: dict[str, Any] = {
        "instance": res.instance,
        "status": res.status,
        "objective": {k: _num(v) for k, v in res.objective.items()},
        **{k: round(v, 6) for k, v in res.timings.items()},
    }
    if res.optimal:
        d["totals_eur"] = {k: round(v, 2) for k, v in res.totals.items()}
        d["binding_constraints"] = int(res.binding.shape[0])
        by_g = res.budgets.groupby("gemeente", sort=True)[["tekort_eur", "plafondoverschrijding_eur", "headroom_eur"]].sum()
        d["per_gemeente_eur"] = {
            g: {
                "tekort": round(float(r.tekort_eur), 2),
                "plafondoverschrijding": round(float(r.plafondoverschrijding_eur), 2),
                "headroom": round(float(r.headroom_eur), 2),
            }
            for g, r in by_g.iterrows()
        }
        d["notes"] = list(res.notes)
    else:
        d["explanation"] = res.explanation
    return d


#: a text cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def formula_safe(v: Any) -> Any:
    """A text as a spreadsheet shows it and never runs it: a leading ``'`` before a text that
    starts like a formula (OWASP CSV-injection guidance); numbers and other texts unchanged."""
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v


def _csv(df: pd.DataFrame, dialect: str = "machine") -> str:
    """A table as CSV: comma-separated with '.' decimals (machines), or for a Dutch-locale Excel
    (``nl``: ';' separators, decimal comma, a UTF-8 byte order mark); column names unchanged.
    Text cells are formula-safe (:func:`formula_safe`): an instance's names are data."""
    text = [c for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_datetime64_any_dtype(df[c]))]
    if text and any(df[c].map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)).any() for c in text):
        df = df.copy()
        for c in text:
            df[c] = df[c].map(formula_safe)
    if any(isinstance(c, str) and c.startswith(FORMULA_START) for c in df.columns):  # a rule name as a column
        df = df.rename(columns=formula_safe)
    if dialect == "nl":
        return "\ufeff" + df.to_csv(index=False, lineterminator="\r\n", sep=";", decimal=",")
    return df.to_csv(index=False, lineterminator="\n")


def _result_classes() -> tuple[type, ...]:
    from verdeelmodel._results import Result
    from verdeelmodel.workflows import CloseResult, ContractResult, FairnessResult, PlanResult, PoolResult, ReservesResult, SweepResult

    return (Result, PoolResult, ReservesResult, SweepResult, FairnessResult, PlanResult, CloseResult, ContractResult)


def output_files() -> set[str]:
    """Every file name a command writes into an output folder (besides a report's rapport-*.html
    and .pdf): how an output folder of a version before the marker file is recognised."""
    out = {"summary.json", "manifest.json", WORKBOOK, "explanation.txt"}
    for cls in _result_classes():
        out |= {f"{t}.csv" for t in cls.TABLES} | set(cls.EXTRA_FILES)
    return out


#: the results workbook (``--xlsx``)
WORKBOOK = "resultaten.xlsx"


def write_all(
    result,
    out_dir: str | Path,
    man: dict[str, Any],
    *,
    inst: Instance | None = None,
    plots: bool = True,
    region: str | None = None,
    xlsx: bool = False,
    csv_dialect: str = "machine",
) -> list[str]:
    """Write a result's tables (``to_frames``, each as ``<name>.csv``), its summary.json, the
    manifest and, for reserves, the PNG plots, all at once into ``out_dir`` (nothing partial on
    failure); files of earlier runs that this run did not produce are removed. ``xlsx``: also
    the results workbook (resultaten.xlsx); ``csv_dialect`` "nl": the CSVs as a Dutch Excel
    opens them (``;``, decimal comma, UTF-8 with BOM), the column names unchanged."""
    from verdeelmodel._results import Result
    from verdeelmodel.workflows import CloseResult, ContractResult, FairnessResult, PlanResult, PoolResult, ReservesResult, SweepResult

    frames = result.to_frames()
    files: dict[str, str | Callable[[Path], None]] = {f"{name}.csv": _csv(df, csv_dialect) for name, df in frames.items()}
    if xlsx and frames:
        from verdeelmodel.workbook import write_results_workbook

        inh = dict(zip(inst.gemeenten["gemeente"], inst.gemeenten["inhabitants"].astype(float))) if inst is not None else None
        from verdeelmodel import fmt as F

        prov = provenance_summary(inst, F.language()) if inst is not None else ""
        title = f"{man.get('instance', '')}: verdeelmodel {man.get('command', '')}"
        files[WORKBOOK] = lambda path: write_results_workbook(frames, path, title=title, manifest=man, provenance=prov, inhabitants=inh)
    if isinstance(result, Result):
        if not result.optimal:
            files["explanation.txt"] = "\n".join(result.explanation) + "\n"
        files["summary.json"] = _json(summary_dict(result))
    elif isinstance(result, (PoolResult, ReservesResult, FairnessResult, PlanResult, CloseResult, ContractResult)):
        files["summary.json"] = _json(result.summary())
    elif not isinstance(result, SweepResult):
        raise TypeError(f"no writer for {type(result).__name__}")
    files["manifest.json"] = _json(man)
    if isinstance(result, ReservesResult) and plots:
        if inst is None:
            raise ValueError("plots of reserves need the instance (inst=)")
        files.update(_reserve_plots(result, inst, region))
    if isinstance(result, PoolResult) and plots and len(result.settlement):
        from verdeelmodel import plots as P

        labels = dict(zip(inst.pooling_rules["rule"], inst.pooling_rules["label"])) if inst is not None and len(inst.pooling_rules) else {}
        files["settlement.png"] = lambda path: P.transfers(result.settlement, path, result.instance, labels)
    if isinstance(result, ContractResult) and plots and len(result.frontier):
        from verdeelmodel import plots as P

        files["frontier.png"] = lambda path: P.frontier(result.frontier, path, result.instance)
    if isinstance(result, FairnessResult) and plots and result.games:
        from verdeelmodel import plots as P

        files["fairness.png"] = lambda path: P.fairness(result.games, path, result.instance, result.confidence)
    with atomic_dir(out_dir) as tmp:
        for name, content in files.items():
            if callable(content):
                content(tmp / name)
            else:
                (tmp / name).write_text(content, encoding="utf-8", newline="")
    return sorted(files)


def _reserve_plots(rv, inst: Instance, region: str | None) -> dict[str, Callable[[Path], None]]:
    """The council plots of a reserves result, for one region when there are more than 16 gemeenten."""
    from verdeelmodel import plots as P

    gem = rv.gemeenten
    if len(gem) > 16:
        bud = inst.budgets
        reg = region or sorted(bud["region"].unique())[0]
        gem = sorted(set(bud.loc[bud["region"] == reg, "gemeente"]))
        where = f"{inst.name}, region {reg}"
    else:
        where = inst.name
    idx = [rv.gemeenten.index(g) for g in gem]
    a, table = rv.confidences[0], rv.table
    labels = dict(zip(inst.pooling_rules["rule"], inst.pooling_rules["label"])) if len(inst.pooling_rules) else {}
    return {
        "overspend_distribution.png": lambda path: P.overspend_distribution(
            {r: o[:, idx] for r, o in rv.tekort.items()}, gem, table, a, path, where, labels
        ),
        "reserves_by_rule.png": lambda path: P.reserves_by_rule(table, gem, list(rv.confidences), path, where, labels),
        "pooling_benefit.png": lambda path: P.pooling_benefit(
            table[table["gemeente"].isin(gem)], list(rv.confidences), path, where, labels
        ),
    }
