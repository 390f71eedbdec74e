"""Generate docs/instance-format.md and docs/formulation.md from the code itself.

The schema manifest and the constraint functions' docstrings are the source; a test
checks the committed documents are up to date (``verdeelmodel docs`` rewrites them).
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path

from verdeelmodel.instance.schema import COSTS_SPEC, FAMILIES, TABLES, InstanceMeta, ObjectiveOptions, Options, ReferenceOptions


def _default(f) -> str:
    if f.is_required():
        return "required"
    d = f.get_default(call_default_factory=True)
    if d is None or d == "":
        return "blank"
    return f"`{d}`"


def _type(f) -> str:
    """A column's type in words; an optional number (``float | None``) is a number that may be blank."""
    ann = f.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)] if typing.get_origin(ann) in (typing.Union, types.UnionType) else [ann]
    ann = args[0] if len(args) == 1 else ann
    if typing.get_origin(ann) is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(ann))
    txt = getattr(ann, "__name__", None) or str(ann)
    return {"str": "text", "float": "number", "int": "whole number", "bool": "true/false"}.get(txt, txt)


def _unit(f) -> str:
    extra = f.json_schema_extra or {}
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def instance_format() -> str:
    out = [
        "# Instance format",
        "",
        "_Generated from `verdeelmodel/instance/schema.py` by `verdeelmodel docs`; do not edit by hand._",
        "",
        "An instance is a folder with `instance.yaml` and one CSV file per table (`<table>.csv`),",
        "or one `.xlsx` workbook with a sheet per table plus a sheet `instance` (columns `key`, `value`,",
        "dotted keys such as `options.reference.scale`). `verdeelmodel convert` turns one into the other.",
        "",
        "Conventions: UTF-8; comma-separated; a header row with the column names below; `.` as decimal",
        "point, no thousands separators; **all money in whole euros** (`_eur` columns), never thousands;",
        "an empty cell takes the default. Every table has a `source` column naming a row of",
        "`sources.csv`; a column `source_<column>` gives one number of a row its own source. Unknown",
        "tables, sheets or columns are errors (a misspelt column is never silently ignored).",
        "",
        "## instance.yaml",
        "",
        "| key | meaning |",
        "|---|---|",
    ]
    for name, f in InstanceMeta.model_fields.items():
        if name in ("options", "units"):
            continue
        out.append(f"| `{name}` | {f.description or ''} ({_default(f)}) |")
    out.append("| `units.money` | `EUR` (the only unit accepted: all amounts in euros) |")
    for prefix, model in (("options", Options), ("options.reference", ReferenceOptions), ("options.objective", ObjectiveOptions)):
        for name, f in model.model_fields.items():
            if name in ("reference", "objective"):
                continue
            out.append(f"| `{prefix}.{name}` | {f.description or ''} (default {_default(f)}) |")
    out += ["", f"Constraint families that `options.families` can switch off: {', '.join(f'`{x}`' for x in FAMILIES)}.", ""]
    for spec in (*TABLES, COSTS_SPEC):
        if spec is COSTS_SPEC:
            out += ["## Realised costs (not part of an instance)", "", "The file given to `verdeelmodel pool --costs FILE`.", ""]
        out += [
            f"## {spec.name}.csv ({'required' if spec.required else 'optional'})",
            "",
            spec.doc,
            "",
            (
                f"Key: {', '.join(spec.key)} (each combination once)."
                if spec.key
                else "No key: several rows per gemeente, lot and year are allowed (one per client)."
            ),
            "",
            "| column | type | unit | default | meaning |",
            "|---|---|---|---|---|",
        ]
        for name, f in spec.row.model_fields.items():
            out.append(f"| `{name}` | {_type(f)} | {_unit(f)} | {_default(f)} | {f.description or ''} |")
        out.append("")
    return "\n".join(out)


def formulation() -> str:
    from verdeelmodel.models import allocation, reference

    out = [
        "# Formulation",
        "",
        "_Generated from the docstrings of `models/allocation.py` and `models/reference.py` by `verdeelmodel docs`;",
        "the Pyomo model is the source of truth, this page shows what it says._",
        "",
        "## The model",
        "",
        "```text",
        inspect.cleandoc(allocation.__doc__ or ""),
        "```",
        "",
        "## Constraint families",
        "",
        "Each family is one Pyomo `Constraint` component with the family's name; each row carries a",
        "business label (shown in `constraints.csv` and in infeasibility explanations).",
        "",
    ]
    for fam, fn in allocation.FAMILY_BUILDERS:
        out += [f"### `{fam.name}`", "", "```text", inspect.cleandoc(fn.__doc__ or ""), "```", ""]
    from verdeelmodel.models.manifest import PRICE_UNIT, Stage

    out += ["## Objective stages, in order, and why", ""]
    for i, st in enumerate(Stage, 1):
        out += [f"{i}. **`{st.value}`** ({st.summary}). {st.reason}", ""]
    out += [
        "## Solving",
        "",
        "Stages are solved in order with HiGHS. After each stage a row keeps its objective within",
        "`optimum x (1 + tolerance_rel) + tolerance_abs_eur` (defaults 1e-9 and EUR 0.000001): a later",
        "stage can never buy its goal with more than that of an earlier one. The equal-treatment stage is a",
        "convex quadratic programme (HiGHS's QP solver) and comes last, so no linear row has to keep it.",
        "",
        "Shadow prices (constraints.csv) are reported per stage: `shadow_price_<stage>` is the dual of the",
        "row in that stage (earlier stages held), for "
        + ", ".join(f"`{s.value}` ({u})" for s, u in PRICE_UNIT.items())
        + ". `shadow_price_eur` is the price in the first stage where the rule matters (a nonzero dual), named",
        "in `shadow_price_stage` with its unit in `shadow_price_unit`: the change of that stage's objective per",
        "extra euro of the rule's bound (negative: more plafond or budget, less tekort). In that stage the",
        "earlier stages do not move, so the price equals the finite difference of a re-solve",
        "(tests/test_stages.py). A non-optimal HiGHS status is never loaded as a solution; an infeasible",
        "model is explained from HiGHS's irreducible infeasible subsystem (IIS) in the rows' business labels.",
        "",
        "Reported per gemeente (budgets.csv): `tekort_eur` = what it pays above its budget (provided care and",
        "pooled charges minus IU share and own funds, where positive), `headroom_eur` = what is left where",
        "negative, and `plafondoverschrijding_eur` = the overschrijding of every plafond attributed to the",
        "gemeenten in proportion to their euros under that plafond (constraints.csv `overrun_eur` per plafond).",
        "",
        "## Reference allocation",
        "",
        "```text",
        inspect.cleandoc(reference.__doc__ or ""),
        "```",
        "",
    ]
    return "\n".join(out)


DOCS = {"instance-format.md": instance_format, "formulation.md": formulation}


def write_docs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn in DOCS.items():
        p = folder / name
        p.write_text(fn(), encoding="utf-8")
        written.append(p)
    return written
