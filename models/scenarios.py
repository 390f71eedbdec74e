r"""Demand scenarios: Monte Carlo client counts and costs per gemeente x lot.

For every gemeente g and lot l the expected number of clients is
lambda_{g,l} = sum_p volume_{g,p,l} / units_per_client_l (need.csv, demand.csv). In scenario s:

- a common shock M ~ lognormal with mean 1 and standard deviation ``shock_sd`` per region
  (``shock_scope: region``, shared by every lot with a shock) or per region and lot
  (``lot``) multiplies lambda: the gemeenten of a region move together (correlation);
- the client count is Poisson(lambda M), or negative binomial (a Poisson whose mean is also
  Gamma(k, 1/k)-distributed: variance lambda + lambda^2 / k), or fixed at lambda;
- each client costs mean_l = tariff_l x units_per_client_l, or, with ``cost_cv > 0``, an own
  lognormal cost with that mean and coefficient of variation (per client, so a high-cost pool
  sees each client's cost above its threshold).

Every draw comes from one ``numpy.random.Generator`` seeded by the user: the same seed and
numpy version give the same numbers on every machine. Scenarios are drawn in chunks; the
draws of chunk c depend only on (seed, c), so results do not depend on the chunk order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verdeelmodel.instance.validate import Instance

DIST = {"poisson": 0, "negbin": 1, "fixed": 2}


@dataclass
class DemandModel:
    gemeenten: list[str]  # G
    lots: list[str]  # L
    lam: np.ndarray  # [G, L] expected clients
    mean_cost: np.ndarray  # [L] expected cost per client
    cv: np.ndarray  # [L]
    dist: np.ndarray  # [L] DIST codes
    k: np.ndarray  # [L] negbin size (nan if not negbin)
    shock_sd: np.ndarray  # [L]
    shock_group: np.ndarray  # [G, L] index of the shock each cell shares (-1: none)
    n_shocks: int

    @property
    def expected_cost(self) -> np.ndarray:
        """[G, L] expected cost: lambda x mean cost per client."""
        return self.lam * self.mean_cost


def demand_model(inst: Instance) -> DemandModel:
    lots = inst.lots["lot"].tolist()
    gem = inst.gemeenten["gemeente"].tolist()
    gpos = {g: i for i, g in enumerate(gem)}
    lpos = {l: j for j, l in enumerate(lots)}
    lot_domain = dict(zip(lots, inst.lots["domain"].tolist()))
    tariff = inst.lots["tariff_eur"].to_numpy(float)
    d = {r["lot"]: r for r in inst.demand.to_dict("records")}
    L = len(lots)
    upc = np.array([float(d[l]["units_per_client"]) if l in d else 1.0 for l in lots])
    cv = np.array([float(d[l]["cost_cv"]) if l in d else 0.0 for l in lots])
    dist = np.array([DIST[d[l]["distribution"]] if l in d else 0 for l in lots])
    k = np.array([float(d[l]["dispersion"]) if l in d and d[l]["distribution"] == "negbin" else np.nan for l in lots])
    sd = np.array([float(d[l]["shock_sd"]) if l in d else 0.0 for l in lots])
    scope = [d[l]["shock_scope"] if l in d else "none" for l in lots]
    lam = np.zeros((len(gem), L))
    need = inst.need
    for g, l, v in zip(need["gemeente"].tolist(), need["lot"].tolist(), need["volume"].tolist()):
        lam[gpos[g], lpos[l]] += float(v)
    lam /= upc
    region_of = {(g, dd): R for g, dd, R in zip(inst.budgets["gemeente"].tolist(), inst.budgets["domain"].tolist(), inst.budgets["region"].tolist())}
    groups: dict[tuple, int] = {}
    shock_group = -np.ones((len(gem), L), dtype=np.int64)
    for j, l in enumerate(lots):
        if sd[j] <= 0 or scope[j] == "none":
            continue
        for i, g in enumerate(gem):
            R = region_of.get((g, lot_domain[l]))
            if R is None:
                continue
            key = (R,) if scope[j] == "region" else (R, l)
            shock_group[i, j] = groups.setdefault(key, len(groups))
    return DemandModel(gem, lots, lam, tariff * upc, cv, dist, k, sd, shock_group, len(groups))


@dataclass
class ScenarioBatch:
    clients: np.ndarray  # [S, G, L]
    cost: np.ndarray  # [S, G, L]
    _excess: dict  # threshold -> [S, G, L]

    def excess(self, threshold: float) -> np.ndarray:
        """sum over clients of max(0, cost - threshold), per scenario, gemeente and lot."""
        return self._excess[float(threshold)]


def sample(dm: DemandModel, n: int, seed: int, chunk: int = 0, thresholds: tuple[float, ...] = ()) -> ScenarioBatch:
    """``n`` scenarios; ``chunk`` numbers independent batches of the same seed."""
    rng = np.random.default_rng([seed, chunk])
    G, L = dm.lam.shape
    lam = np.broadcast_to(dm.lam, (n, G, L)).copy()
    if dm.n_shocks:
        # shock sd per group: every lot of a group shares it (the first lot's sd sets the group's)
        sd_of = np.zeros(dm.n_shocks)
        for j in reversed(range(L)):  # reversed: the first lot's sd is written last
            grp = dm.shock_group[:, j]
            sd_of[grp[grp >= 0]] = dm.shock_sd[j]
        s2 = np.log1p(sd_of**2)
        shocks = rng.lognormal(-s2 / 2, np.sqrt(s2), size=(n, dm.n_shocks))
        has = dm.shock_group >= 0
        lam[:, has] *= shocks[:, dm.shock_group[has]]
    neg = dm.dist == 1
    if neg.any():
        k = dm.k[neg]
        lam[:, :, neg] *= rng.gamma(k, 1.0 / k, size=(n, G, int(neg.sum())))
    clients = np.where(dm.dist == 2, np.round(lam), rng.poisson(lam)).astype(np.int64)
    cost = clients * dm.mean_cost
    excess = {float(H): clients * np.maximum(0.0, dm.mean_cost - H) for H in thresholds}
    for j in np.flatnonzero(dm.cv > 0):
        counts = clients[:, :, j].ravel()
        total = int(counts.sum())
        s2 = np.log1p(dm.cv[j] ** 2)
        per_client = rng.lognormal(np.log(dm.mean_cost[j]) - s2 / 2, np.sqrt(s2), size=total)
        cell = np.repeat(np.arange(counts.size), counts)
        cost[:, :, j] = np.bincount(cell, weights=per_client, minlength=counts.size).reshape(n, G)
        for H in excess:
            excess[H][:, :, j] = np.bincount(cell, weights=np.maximum(0.0, per_client - H), minlength=counts.size).reshape(n, G)
    return ScenarioBatch(clients, cost, excess)
