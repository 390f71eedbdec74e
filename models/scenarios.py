r"""Demand scenarios: Monte Carlo client counts and costs per gemeente x lot.

For every gemeente g and lot l the expected number of clients is
lambda_{g,l} = sum_p volume_{g,p,l} / units_per_client_l (need.csv, demand.csv). In scenario s:

- a common shock multiplies lambda: one standard normal z per region of the lot's domain and
  scenario (``shock_scope: region``, shared by every lot of that domain with a shock) or per
  region and lot (``lot``); each lot turns it into M = exp(sigma z - sigma^2 / 2), lognormal with
  mean 1 and its own standard deviation ``shock_sd``: the gemeenten of a region (and its lots)
  move together (correlation);
- the client count is Poisson(lambda M), or negative binomial (a Poisson whose mean is also
  Gamma(k, 1/k)-distributed: variance lambda + lambda^2 / k), or fixed at lambda;
- each client costs mean_l = tariff_l x units_per_client_l, or, with ``cost_cv > 0``, an own
  lognormal cost with that mean and coefficient of variation (per client, so a high-cost pool
  sees each client's cost above its threshold);
- with ``intensity_sd > 0`` the cost per client of a lot also moves for a whole region at once:
  one standard normal per region, lot and scenario turned into a lognormal multiplier with mean 1
  (the intensity or mix of arrangements drifting: the risk an average price per client carries,
  the middelingsprincipe). Its draws come after the client counts and before the per-client
  costs, and only when some lot has one, so instances without it draw exactly as before.

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
    history: np.ndarray | None = None  # [Y, G, L] use in earlier years relative to its mean (nan: no history)
    intensity_sd: np.ndarray | None = None  # [L] sd of the common cost-per-client shock (0: none)
    intensity_group: np.ndarray | None = None  # [G, L] index of the intensity shock a cell shares (-1: none)
    n_intensity: int = 0
    persistence: np.ndarray | None = None  # [n_shocks] AR(1) coefficient of each shock over years (0: independent)

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
    region_of = {
        (g, dd): R for g, dd, R in zip(inst.budgets["gemeente"].tolist(), inst.budgets["domain"].tolist(), inst.budgets["region"].tolist())
    }
    groups: dict[tuple, int] = {}
    shock_group = -np.ones((len(gem), L), dtype=np.int64)
    for j, l in enumerate(lots):
        if sd[j] <= 0 or scope[j] == "none":
            continue
        for i, g in enumerate(gem):
            R = region_of.get((g, lot_domain[l]))
            if R is None:
                continue
            key = (lot_domain[l], R) if scope[j] == "region" else (lot_domain[l], R, l)
            shock_group[i, j] = groups.setdefault(key, len(groups))
    rho_l = np.array([float(d[l].get("shock_persistence") or 0.0) if l in d else 0.0 for l in lots])
    members: dict[int, list[float]] = {}
    for i, j in zip(*np.nonzero(shock_group >= 0)):
        members.setdefault(int(shock_group[i, j]), []).append(float(rho_l[j]))
    persistence = np.array([float(np.mean(members[k])) for k in range(len(groups))]) if groups else np.zeros(0)
    isd = np.array([float(d[l].get("intensity_sd") or 0.0) if l in d else 0.0 for l in lots])
    igroups: dict[tuple, int] = {}
    intensity_group = -np.ones((len(gem), L), dtype=np.int64)
    for j, l in enumerate(lots):
        if isd[j] <= 0:
            continue
        for i, g in enumerate(gem):
            R = region_of.get((g, lot_domain[l]))
            if R is not None:
                intensity_group[i, j] = igroups.setdefault((lot_domain[l], R, l), len(igroups))
    return DemandModel(
        gem,
        lots,
        lam,
        tariff * upc,
        cv,
        dist,
        k,
        sd,
        shock_group,
        len(groups),
        _relative_history(inst, gpos, lpos),
        isd,
        intensity_group,
        len(igroups),
        persistence,
    )


def _relative_history(inst: Instance, gpos: dict, lpos: dict) -> np.ndarray | None:
    """[Y, G, L]: clients in each year of use_history.csv divided by the cell's mean over the years
    (nan where a cell has no history, or used nothing in any year)."""
    h = inst.use_history
    if h.empty:
        return None
    years = sorted(set(h["year"].astype(int)))
    ypos = {y: i for i, y in enumerate(years)}
    use = np.zeros((len(years), len(gpos), len(lpos)))
    seen = np.zeros((len(gpos), len(lpos)), dtype=bool)
    for g, l, y, c in zip(h["gemeente"].tolist(), h["lot"].tolist(), h["year"].tolist(), h["clients"].tolist()):
        use[ypos[int(y)], gpos[g], lpos[l]] += float(c)
        seen[gpos[g], lpos[l]] = True
    mean = use.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(seen & (mean > 0), use / np.where(mean > 0, mean, 1.0), np.nan)
    return rel


@dataclass
class ScenarioBatch:
    clients: np.ndarray  # [S, G, L]
    cost: np.ndarray  # [S, G, L]
    _excess: dict  # threshold -> [S, G, L]
    z: np.ndarray | None = None  # [S, n_shocks] the standard normals behind the common shocks (for the next year of a path)

    def excess(self, threshold: float) -> np.ndarray:
        """sum over clients of max(0, cost - threshold), per scenario, gemeente and lot."""
        return self._excess[float(threshold)]


def sample(
    dm: DemandModel,
    n: int,
    seed: int,
    chunk: int = 0,
    thresholds: tuple[float, ...] = (),
    bootstrap: bool = False,
    year: int = 0,
    prev_z: np.ndarray | None = None,
) -> ScenarioBatch:
    """``n`` scenarios; ``chunk`` numbers independent batches of the same seed.

    ``bootstrap``: where use_history.csv has the cell, each scenario first draws one of the
    history's years (the same year for every gemeente: a region's good and bad years stay
    together) and scales the expected clients by that year's use relative to the cell's mean;
    the client count around it is then drawn as usual.

    ``year`` > 0 draws year ``year`` of a path over a horizon from its own stream (seed, chunk,
    year); the first year is the single-year draw. ``prev_z``: the previous year's shock normals
    [n, n_shocks] of the same paths; each shock then lasts by its persistence rho:
    z = rho prev_z + sqrt(1 - rho^2) e, still standard normal, so every year has the same spread."""
    rng = np.random.default_rng([seed, chunk] if year == 0 else [seed, chunk, 1000 + year])
    G, L = dm.lam.shape
    # in-place arithmetic on [n, G, L] buffers: the same operations on the same values as
    # lam = dm.lam (x rel) x exp(sig z - sig^2 / 2) (x gamma), without the temporaries
    lam = None
    if bootstrap:
        if dm.history is None:
            raise ValueError("a historical bootstrap needs use_history.csv")
        year = rng.integers(0, dm.history.shape[0], size=n)
        # where the history is nan the cell keeps lam (lam x 1.0 is lam exactly)
        lam = np.nan_to_num(dm.history, nan=1.0)[year]  # [n, G, L]
        lam *= dm.lam
    if dm.n_shocks:
        # one standard normal z per shock group and scenario; each lot turns it into its own
        # lognormal multiplier with mean 1 and its own sd: exp(sigma_l z - sigma_l^2 / 2)
        z = np.zeros((n, dm.n_shocks + 1))  # the last column: cells without a shock (sigma 0 there)
        z[:, :-1] = rng.standard_normal(size=(n, dm.n_shocks))
        if prev_z is not None and dm.persistence is not None and len(dm.persistence):
            rho = dm.persistence
            z[:, :-1] = rho * prev_z + np.sqrt(1.0 - rho**2) * z[:, :-1]
        shock_z = z[:, :-1].copy()
        has = dm.shock_group >= 0
        sig = np.where(has, np.sqrt(np.log1p(dm.shock_sd**2)), 0.0)  # [G, L]
        # the multiplier per distinct (group, sigma) pair (a few hundred, not G x L cells), then
        # spread to the cells: each cell gets exp(sigma z - sigma^2 / 2) of its own sigma and z
        pairs, cell_pair = np.unique(np.stack([dm.shock_group.ravel().astype(float), sig.ravel()], axis=1), axis=0, return_inverse=True)
        psig = pairs[:, 1]
        mp = z[:, pairs[:, 0].astype(np.int64)]  # [n, pairs]; group -1 reads the zero column
        mp *= psig
        mp -= psig**2 / 2
        np.exp(mp, out=mp)
        m = np.take(mp, cell_pair.reshape(G, L), axis=1)  # [n, G, L], C-ordered
        del mp
        if lam is None:
            lam = m
            lam *= dm.lam
        else:
            lam *= m
            del m
    if lam is None:
        lam = np.broadcast_to(dm.lam, (n, G, L)).copy()
    neg = np.flatnonzero(dm.dist == 1)
    if len(neg):
        k = dm.k[neg]
        gam = rng.gamma(k, 1.0 / k, size=(n, G, len(neg)))
        for q, j in enumerate(neg):
            lam[:, :, j] *= gam[:, :, q]
        del gam
    clients = rng.poisson(lam)  # every cell draws (the stream), fixed lots then take round(lam)
    for j in np.flatnonzero(dm.dist == 2):
        clients[:, :, j] = np.round(lam[:, :, j])
    del lam
    if dm.n_intensity:
        # one standard normal per (region, lot) group and scenario; lognormal multiplier with mean 1
        z = np.zeros((n, dm.n_intensity + 1))
        z[:, :-1] = rng.standard_normal(size=(n, dm.n_intensity))
        has = dm.intensity_group >= 0
        sig = np.where(has, np.sqrt(np.log1p(dm.intensity_sd**2)), 0.0)  # [G, L]
        per_client_mean = np.take(z, dm.intensity_group, axis=1)  # [n, G, L]: mean_cost x exp(sig z - sig^2 / 2), in place
        per_client_mean *= sig
        per_client_mean -= sig**2 / 2
        np.exp(per_client_mean, out=per_client_mean)
        per_client_mean *= dm.mean_cost
    else:
        per_client_mean = np.broadcast_to(dm.mean_cost, clients.shape)
    cost = clients * per_client_mean
    excess = {float(H): clients * np.maximum(0.0, per_client_mean - H) for H in thresholds}
    for j in np.flatnonzero(dm.cv > 0):
        counts = clients[:, :, j].ravel()
        total = int(counts.sum())
        s2 = np.log1p(dm.cv[j] ** 2)
        # float32 draws (cents of precision on a client's cost), summed per cell in float64 by
        # contiguous segments: a cell's clients are consecutive in the draw
        # exp(normal x sqrt(s2) + (log mean - s2 / 2)) in float32, in place
        per_client = rng.standard_normal(total, dtype=np.float32)
        per_client *= np.float32(np.sqrt(s2))
        per_client += np.float32(np.log(dm.mean_cost[j]) - s2 / 2)
        np.exp(per_client, out=per_client)
        if dm.n_intensity and dm.intensity_sd[j] > 0:  # each client's cost moves with its cell's intensity
            per_client *= np.repeat((per_client_mean[:, :, j] / dm.mean_cost[j]).ravel(), counts).astype(np.float32)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        cost[:, :, j] = _per_cell(per_client, counts, starts, (n, G))
        above = np.empty_like(per_client) if excess else None
        for H in excess:
            np.subtract(per_client, np.float32(H), out=above)
            np.maximum(above, np.float32(0.0), out=above)
            excess[H][:, :, j] = _per_cell(above, counts, starts, (n, G))
        del per_client, above
    return ScenarioBatch(clients, cost, excess, shock_z if dm.n_shocks else None)


def _per_cell(values: np.ndarray, counts: np.ndarray, starts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Sum per-client values per cell (a cell's clients are consecutive), in float64."""
    out = np.zeros(counts.size)
    has = counts > 0
    if has.any():
        out[has] = _segment_sums(values, starts[has])
    return out.reshape(shape)


#: Values cast to float64 at a time by _segment_sums (2 MB: the cast stays in cache for the sums).
_BLOCK = 1 << 18


def _segment_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """np.add.reduceat(values, starts, dtype=np.float64) for increasing ``starts`` (the last
    segment runs to the end). reduceat casts the whole input to float64 first (16 M clients: a
    128 MB copy per lot and chunk); here whole segments are cast a block at a time into a small
    buffer, and each segment is summed by the same float64 reduction of the same values."""
    if values.dtype == np.float64 or values.size <= _BLOCK:
        return np.add.reduceat(values, starts, dtype=np.float64)
    m, size = len(starts), values.size
    res = np.empty(m)
    buf = np.empty(_BLOCK)
    i0 = 0
    while i0 < m:
        a = int(starts[i0])
        if size - a <= _BLOCK:
            i1, b = m, size
        else:
            i1 = max(i0 + 1, int(np.searchsorted(starts, a + _BLOCK, side="right")) - 1)
            b = int(starts[i1]) if i1 < m else size
        if b - a > buf.size:
            buf = np.empty(b - a)
        block = buf[: b - a]
        block[...] = values[a:b]
        res[i0:i1] = np.add.reduceat(block, starts[i0:i1] - a)
        i0 = i1
    return res
