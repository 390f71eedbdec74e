r"""The reference allocation (verdeelmodel): the Gemeentefonds arithmetic.

.. math::

    \mathrm{ref}_{g,p,d} = \sum_j \mathrm{maatstaf}_{g,p,j} \times \mathrm{bedrag}_{j,d}
                           \times \mathrm{uitkeringsfactor}_{s(d)}

where the uitkeringsfactor of a scope ``s`` (the whole domain, a region, or a gemeente,
per ``options.reference.scale``) is chosen so the references of the scope add up to the
money available in it: the sum of ``budgets.budget_eur`` (the integratie-uitkering) of
the gemeenten in the scope.

Historical blend: ``ref = lambda x objective + (1 - lambda) x historical``, where the
historical amount of a population is its share of ``historical_eur`` in the scope times
the money available.

Ingroeipad: the change of a population's reference against its historical amount is
capped at ``ingroeipad_eur_per_inhabitant x inhabitants`` (gains and losses alike). The
capped changes no longer add up to zero, so the larger side (the gains, or the losses) is
scaled down proportionally until they do: the total stays equal to the money available
and no population moves more than its cap.

Everything here is plain pandas arithmetic so a controller can recompute each column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from verdeelmodel.instance.validate import Instance

SCOPE_KEYS = {"domain": ["domain"], "region": ["domain", "region"], "gemeente": ["domain", "gemeente"]}

COLUMNS = [
    "gemeente",
    "population",
    "domain",
    "region",
    "maatstaf_sum_eur",
    "uitkeringsfactor",
    "objective_eur",
    "historical_eur",
    "historical_scaled_eur",
    "blended_eur",
    "ingroeipad_cap_eur",
    "reference_eur",
]


def reference_allocation(inst: Instance) -> pd.DataFrame:
    """One row per gemeente x population x domain with every step of the arithmetic."""
    opts = inst.options.reference
    maat, bed, bud = inst.maatstaven, inst.bedragen, inst.budgets
    if bed.empty or maat.empty:
        return pd.DataFrame(columns=COLUMNS)
    keys = SCOPE_KEYS[opts.scale]

    m = maat[["gemeente", "population", "maatstaf", "value"]].merge(bed[["maatstaf", "domain", "bedrag_eur"]], on="maatstaf")
    m["amount"] = m["value"].astype(float) * m["bedrag_eur"].astype(float)
    raw = (
        m.groupby(["gemeente", "population", "domain"], as_index=False, sort=True)["amount"]
        .sum()
        .rename(columns={"amount": "maatstaf_sum_eur"})
    )

    hist = inst.historical[["gemeente", "population", "domain", "historical_eur"]].astype({"historical_eur": float})
    df = raw.merge(hist, on=["gemeente", "population", "domain"], how="outer").fillna({"maatstaf_sum_eur": 0.0, "historical_eur": 0.0})
    df = df.merge(bud[["gemeente", "domain", "region"]], on=["gemeente", "domain"], how="inner")

    money = bud.groupby(keys)["budget_eur"].sum().rename("available_eur")
    df = df.join(money, on=keys)
    raw_total = df.groupby(keys)["maatstaf_sum_eur"].transform("sum")
    df["uitkeringsfactor"] = np.where(raw_total > 0, df["available_eur"] / raw_total.where(raw_total > 0, 1.0), 0.0)
    df["objective_eur"] = df["maatstaf_sum_eur"] * df["uitkeringsfactor"]

    hist_total = df.groupby(keys)["historical_eur"].transform("sum")
    df["historical_scaled_eur"] = np.where(
        hist_total > 0, df["historical_eur"] / hist_total.where(hist_total > 0, 1.0) * df["available_eur"], 0.0
    )
    lam = opts.blend_lambda
    df["blended_eur"] = lam * df["objective_eur"] + (1 - lam) * df["historical_scaled_eur"] if lam < 1 else df["objective_eur"]

    cap = opts.ingroeipad_eur_per_inhabitant
    if cap is None:
        df["ingroeipad_cap_eur"] = np.nan
        df["reference_eur"] = df["blended_eur"]
    else:
        inh = (
            df.merge(inst.populations[["gemeente", "population", "inhabitants"]], on=["gemeente", "population"], how="left")["inhabitants"]
            .fillna(0)
            .to_numpy(float)
        )
        df["ingroeipad_cap_eur"] = cap * inh
        df["reference_eur"] = df["historical_scaled_eur"] + _capped_change(df, keys)
    df = df.sort_values(["domain", "gemeente", "population"], kind="stable").reset_index(drop=True)
    return df[COLUMNS]


def _capped_change(df: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Clip each change at +/- cap, then scale the larger side so the scope's changes sum to 0."""
    delta = (df["blended_eur"] - df["historical_scaled_eur"]).to_numpy(float)
    capv = df["ingroeipad_cap_eur"].to_numpy(float)
    clipped = np.clip(delta, -capv, capv)
    out = clipped.copy()
    for _, idx in df.groupby(keys).indices.items():
        c = clipped[idx]
        gain, loss = c[c > 0].sum(), -c[c < 0].sum()
        if gain > loss > 0 or (gain > 0 and loss == 0):
            out[idx] = np.where(c > 0, c * (loss / gain), c)
        elif loss > gain:
            out[idx] = np.where(c < 0, c * (gain / loss), c)
    return out
