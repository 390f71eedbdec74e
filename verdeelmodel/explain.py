"""Business-language explanations: infeasibility (from HiGHS's IIS) and binding rules."""

from __future__ import annotations

from verdeelmodel.fmt import eur, t
from verdeelmodel.models.allocation import Labels
from verdeelmodel.models.manifest import BUSINESS_KINDS, kind_of
from verdeelmodel.solvers.highs import INF, CompiledLP, SolveOutcome

_VAR_WORDS = {
    "allocation": ("the budget of a lot cannot be negative", "het budget van een perceel kan niet negatief zijn"),
    "unmet_need": ("unmet need cannot be negative", "niet-gefinancierde behoefte kan niet negatief zijn"),
    "substitution": ("substitution cannot be negative", "substitutie kan niet negatief zijn"),
    "provider_budget": ("a provider budget cannot be negative", "het budget van een aanbieder kan niet negatief zijn"),
}


def _t(nl: str, en: str) -> str:
    return t(nl, en)


#: the family whose rule a variable's bound stands for
_BOUND_FAMILY = {"allocation": "allocation_within_need", "unmet_need": "substitution_funded"}


def _relation(lo: float, hi: float) -> str:
    if lo > -INF and hi < INF:
        return f"= {eur(hi)}" if abs(hi - lo) < 1e-9 else _t(f"tussen {eur(lo)} en {eur(hi)}", f"between {eur(lo)} and {eur(hi)}")
    return f"<= {eur(hi)}" if hi < INF else f">= {eur(lo)}"


def explain_infeasible(lp: CompiledLP, labels: Labels, out: SolveOutcome) -> list[str]:
    """Turn HiGHS's irreducible infeasible subsystem into sentences with business names
    (``labels``: the model's row labels and the rules kept as variable bounds)."""
    if not out.iis_rows and not out.iis_cols:
        return [
            _t(
                f"Geen verdeling voldoet aan alle regels, en HiGHS gaf geen tegenstrijdige deelverzameling ({out.message}). "
                "Vergelijk plafonds met gegarandeerde minimums en budgetten.",
                f"No allocation satisfies all rules, and HiGHS gave no conflicting subset ({out.message}). "
                "Check plafonds against guaranteed minimums and budgets.",
            )
        ]
    lines = [
        _t(
            "Geen verdeling voldoet aan alle regels. HiGHS vond deze onherleidbare set tegenstrijdige regels (laat er één vallen "
            "of verruim er één, en de rest kan gelden):",
            "No allocation satisfies all rules. HiGHS found this irreducible set of conflicting rules (drop or relax any one of "
            "them and the rest can hold):",
        )
    ]
    ceilings, minimums = [], []
    for r, _bound in out.iis_rows:
        fam, idx = lp.row_component[r], lp.row_index[r]
        label = labels.rows[fam][idx]
        lo, hi = lp.row_lower[r], lp.row_upper[r]
        kind = kind_of(fam)
        rel = "" if kind == "balance" and lo == hi == 0 else f": {_relation(lo, hi)}"
        lines.append(f"  - {label}{rel}   [{fam}]")
        if kind == "ceiling" and hi < INF:
            ceilings.append((label, hi))
        elif kind == "minimum" and lo > -INF:
            minimums.append((label, lo))
    var_notes = set()
    for c, bound in out.iis_cols:
        comp, idx = lp.col_component[c], lp.col_index[c]
        label = labels.bound(comp, idx)
        if label is not None and bound in ("upper", "boxed") and lp.col_upper[c] < INF:
            lines.append(f"  - {label}: <= {eur(lp.col_upper[c])}   [{_BOUND_FAMILY.get(comp, comp)}]")
            ceilings.append((label, float(lp.col_upper[c])))
        if bound in ("lower", "boxed", "null", "free"):
            words = _VAR_WORDS.get(comp)
            var_notes.add(_t(words[1], words[0]) if words else comp)
    var_notes = sorted(var_notes)
    for note in var_notes:
        lines.append(f"  - {note}")
    if ceilings and minimums:
        c_total, m_total = sum(v for _, v in ceilings), sum(v for _, v in minimums)
        c_txt = " + ".join(f"{lab} {eur(v)}" for lab, v in ceilings)
        m_txt = " + ".join(f"{lab} {eur(v)}" for lab, v in minimums)
        c_sum = f" = {eur(c_total)}" if len(ceilings) > 1 else ""
        m_sum = f" = {eur(m_total)}" if len(minimums) > 1 else ""
        lines.append(_t(f"Kort gezegd: {c_txt}{c_sum} < {m_txt}{m_sum}.", f"In short: {c_txt}{c_sum} < {m_txt}{m_sum}."))
    return lines


_STAGE_WORDS = {
    "tekort": ("het tekort", "the tekort"),
    "plafondoverschrijding": ("de plafondoverschrijding", "the plafondoverschrijding"),
    "unmet": ("de gewogen niet-gefinancierde behoefte", "weighted unmet need (non-statutory)"),
    "deviation": ("de afwijking van het verdeelmodel", "the deviation from the reference allocation"),
}


def binding_sentences(constraints, gemeente: str | None = None, limit: int = 12) -> tuple[list[str], int]:
    """The binding plafonds, budgets, minimums and goals (of one gemeente, when given), those with
    a price first by the stage where it matters, each in words with what one more euro of the rule
    does there (in the language of verdeelmodel.fmt); and how many more there are."""
    from verdeelmodel.fmt import num

    c = constraints
    b = c[c["binding"] & c["kind"].isin(BUSINESS_KINDS)].copy()
    if gemeente is not None:
        b = b[b["index"].astype(str).str.split("|").map(lambda parts: gemeente in parts)]
    total = len(b)
    order = {s: i for i, s in enumerate(_STAGE_WORDS)}
    b["rank"] = b["shadow_price_stage"].map(lambda s: order.get(s, len(order)))
    b["abs"] = b["shadow_price_eur"].abs()
    b = b.sort_values(["rank", "abs", "name"], ascending=[True, False, True], kind="stable").head(limit)
    out = []
    for r in b.itertuples(index=False):
        bound = r.upper_eur if r.kind != "minimum" and r.upper_eur == r.upper_eur else r.lower_eur
        sp, stage = r.shadow_price_eur, r.shadow_price_stage
        if not stage or abs(sp) < 1e-9:
            effect = _t("op de marge zonder effect", "no effect at the margin")
        else:
            nl, en = _STAGE_WORDS.get(stage, (stage, stage))
            lowers = (sp < 0) != (r.kind == "minimum")
            if r.kind == "minimum":
                step = _t("één euro minder van dit minimum", "one euro less of this minimum")
            else:
                step = _t("één euro meer", "one more euro")
            effect = _t(
                f"{step} {'verlaagt' if lowers else 'verhoogt'} {nl} met {num(abs(sp), 2)} euro",
                f"{step} {'lowers' if lowers else 'raises'} {en} by {abs(sp):.4g}",
            )
        over = _t(f", {eur(r.overrun_eur)} erboven", f", {eur(r.overrun_eur)} above it") if getattr(r, "overrun_eur", 0) > 0.5 else ""
        limit_txt = _t(f"grens {eur(bound)}{over}; ", f"{eur(bound)}{over}; ") if bound == bound and bound is not None else ""
        out.append(f"{r.name}: {limit_txt}{effect}")
    return out, total - len(out)


def describe_binding(res_constraints, limit: int = 12) -> list[str]:
    """One bullet per binding plafond, budget, minimum or goal, with its shadow price in words, in
    the stage where it matters (binding_sentences), and how many more are in constraints.csv."""
    lines, more = binding_sentences(res_constraints, None, limit)
    if not lines:
        return [_t("  (geen)", "  (none)")]
    out = [f"  - {line}" for line in lines]
    if more > 0:
        out.append(_t(f"  ... en nog {more} bindende regels in constraints.csv", f"  ... and {more} more binding rules in constraints.csv"))
    return out
