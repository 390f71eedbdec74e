"""Writing results: CSV tables, summary.json and manifest.json, all atomically."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from verdeelmodel._atomic import atomic_dir
from verdeelmodel.api import Result
from verdeelmodel.instance.validate import Instance

OUTPUT_FILES = ("pooling.csv", "allocation.csv", "substitutions.csv", "provider_budgets.csv", "budgets.csv", "constraints.csv", "reference.csv", "explanation.txt", "summary.json", "manifest.json")
PACKAGES = ("verdeelmodel", "pyomo", "highspy", "pandas", "numpy", "scipy", "pydantic")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
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


def provenance_summary(inst: Instance) -> str:
    """How many input rows rest on public, derived, assumed or synthetic sources."""
    kind = dict(zip(inst.sources["source"], inst.sources["kind"]))
    counts: dict[str, int] = {}
    for name, df in inst.tables.items():
        if name == "sources" or df.empty:
            continue
        for src in df["source"]:
            counts[kind.get(src, "unknown")] = counts.get(kind.get(src, "unknown"), 0) + 1
    order = ["public", "derived", "assumption", "synthetic", "unknown"]
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
        a = res.allocation
        d["totals_eur"] = {
            "budget": round(float(res.budgets["budget_eur"].sum()), 2),
            "need": round(float(a["need_eur"].sum()), 2),
            "allocated": round(float(a["amount_eur"].sum()), 2),
            "unmet": round(float(a["unmet_eur"].sum()), 2),
            "headroom": round(float(res.budgets["headroom_eur"].sum()), 2),
        }
        d["binding_constraints"] = int(res.binding.shape[0])
    else:
        d["explanation"] = res.explanation
    return d


def write_result(res: Result, inst: Instance, out_dir: str | Path, man: dict[str, Any]) -> list[str]:
    """Write every table of the result to ``out_dir`` at once (nothing partial on failure)."""
    files: dict[str, str] = {}
    if res.optimal:
        tables = {
            "allocation.csv": res.allocation,
            "substitutions.csv": res.substitutions,
            "provider_budgets.csv": res.provider_budgets,
            "budgets.csv": res.budgets,
            "constraints.csv": res.constraints,
            "reference.csv": res.reference,
        }
        if len(res.pooling):
            tables["pooling.csv"] = res.pooling
        for name, df in tables.items():
            files[name] = _csv(df)
    else:
        files["explanation.txt"] = "\n".join(res.explanation) + "\n"
    files["summary.json"] = _json(summary_dict(res))
    files["manifest.json"] = _json(man)
    with atomic_dir(out_dir) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="")
    # outputs of an earlier run that this run did not produce would mislead: remove them
    for stale in set(OUTPUT_FILES) - set(files):
        (Path(out_dir) / stale).unlink(missing_ok=True)
    return sorted(files)


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def write_settlement(table: pd.DataFrame, out_dir: str | Path, man: dict[str, Any], basis: str) -> list[str]:
    """settlement.csv (one row per rule x pool x gemeente), comparison.csv (charges side by side),
    summary.json and manifest.json, written at once."""
    comp = table.pivot_table(index=["pool", "region", "gemeente"], columns=["rule_set", "rule"], values="charge_eur", aggfunc="sum", sort=True)
    comp.columns = [f"{rule}_eur" if rs == "candidate" else f"{rule}_agreed_eur" for rs, rule in comp.columns]
    comp = comp.reset_index()
    totals = table.groupby(["rule_set", "rule", "pool"], as_index=False)[["charge_eur", "profijt_eur", "payout_eur", "contribution_eur"]].sum()
    summary = {
        "basis": basis,
        "pools": sorted(table["pool"].unique().tolist()),
        "totals_eur": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in totals.to_dict("records")],
    }
    files = {
        "settlement.csv": _csv(table),
        "comparison.csv": _csv(comp),
        "summary.json": _json(summary),
        "manifest.json": _json(man),
    }
    with atomic_dir(out_dir) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="")
    return sorted(files)


def write_reserves(inst: Instance, run, table: pd.DataFrame, confidences: list[float], out_dir: str | Path, man: dict[str, Any], region: str | None, plots: bool, seconds: float, joint=None, key=None) -> list[str]:
    """reserves.csv (joint.csv), summary.json, manifest.json and the PNG plots, written at once."""
    files: dict[str, str] = {"reserves.csv": _csv(table), "manifest.json": _json(man)}
    if joint is not None and joint.status == "optimal":
        jt = joint.table.copy()
        for c in [c for c in jt.columns if c.endswith("_eur")]:
            jt[c] = np.round(jt[c].to_numpy(float), 2) + 0.0
        files["joint.csv"] = _csv(jt)
    if key is not None and key.status == "optimal":
        kt = key.table.copy()
        kt.insert(0, "rule", key.rule)
        kt.insert(1, "w_own_optimal", round(key.weight, 6))
        kt.insert(2, "w_own_instance", key.agreed_weight)
        for c in [c for c in kt.columns if c.endswith("_eur")]:
            kt[c] = np.round(kt[c].to_numpy(float), 2) + 0.0
        files["key_weight.csv"] = _csv(kt)
    summary = {
        "instance": inst.name,
        "scenarios": int(next(iter(run.overspend.values())).shape[0]),
        "seed": man.get("seed"),
        "seconds": round(seconds, 3),
        "total_required_eur": {
            f"{a:g}": {r: round(float(v), 2) for r, v in table[table["confidence"] == a].groupby("rule", sort=False)["required_eur"].sum().items()}
            for a in confidences
        },
    }
    files["summary.json"] = _json(summary)
    with atomic_dir(out_dir) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="")
        if plots:
            from verdeelmodel import plots as P

            gem = run.gemeenten
            if len(gem) > 16:
                bud = inst.budgets
                reg = region or sorted(bud["region"].unique())[0]
                gem = sorted(set(bud.loc[bud["region"] == reg, "gemeente"]))
                where = f"{inst.name}, region {reg}"
            else:
                where = inst.name
            idx = [run.gemeenten.index(g) for g in gem]
            a = confidences[0]
            P.overspend_distribution({r: o[:, idx] for r, o in run.overspend.items()}, gem, table, a, tmp / "overspend_distribution.png", where)
            P.reserves_by_rule(table, gem, a, tmp / "reserves_by_rule.png", where)
            P.pooling_benefit(table[table["gemeente"].isin(gem)], a, tmp / "pooling_benefit.png", where)
            for f in ("overspend_distribution.png", "reserves_by_rule.png", "pooling_benefit.png"):
                files[f] = ""
    for stale in {"joint.csv", "key_weight.csv", "overspend_distribution.png", "reserves_by_rule.png", "pooling_benefit.png"} - set(files):
        (Path(out_dir) / stale).unlink(missing_ok=True)  # an earlier run's output would mislead
    return sorted(files)


def write_table(table: pd.DataFrame, name: str, out_dir: str | Path, man: dict[str, Any]) -> list[str]:
    """One result table plus manifest.json, written at once."""
    files = {name: _csv(table), "manifest.json": _json(man)}
    with atomic_dir(out_dir) as tmp:
        for n, text in files.items():
            (tmp / n).write_text(text, encoding="utf-8", newline="")
    return sorted(files)
