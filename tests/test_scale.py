"""Scale-up of instances for the benchmarks (verdeelmodel/scale.py): populations split into
sub-areas and lots split into sub-lots keep every total, stay valid, and are the same for the
same seed."""

from __future__ import annotations

import pytest
from helpers import INSTANCES, run_main

import verdeelmodel as vm
from verdeelmodel.instance.io import write_folder
from verdeelmodel.instance.validate import load_instance
from verdeelmodel.scale import split_areas, split_lots


@pytest.fixture(scope="module")
def westfriesland():
    return load_instance(INSTANCES / "westfriesland-2021")


@pytest.mark.parametrize("areas", [1, 3, 8])
def test_split_keeps_every_total_per_gemeente(westfriesland, areas):
    s = split_areas(westfriesland, areas, seed=3)
    for table, column, tol in (("populations", "inhabitants", 0), ("maatstaven", "value", 0), ("need", "volume", 1e-6)):
        a = westfriesland.tables[table].groupby("gemeente")[column].sum()
        b = s.tables[table].groupby("gemeente")[column].sum()
        assert (a - b).abs().max() <= tol, table
    per_g = s.populations.groupby("gemeente")["population"].count()
    base = westfriesland.populations.groupby("gemeente")["population"].count()
    expect = base * (base.rdiv(areas).round().clip(lower=1))
    assert (per_g == expect).all()
    assert (s.populations["inhabitants"] >= 1).all()


def test_split_is_reproducible_and_loads_back(westfriesland, tmp_path):
    a, b = split_areas(westfriesland, 6, seed=5), split_areas(westfriesland, 6, seed=5)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    write_folder(a, tmp_path / "x")
    back = load_instance(tmp_path / "x")
    assert back.meta.synthetic and "sub-areas" in back.meta.description
    assert len(back.populations) == len(a.populations)
    c = split_areas(westfriesland, 6, seed=6)
    assert not c.tables["need"].equals(a.tables["need"])  # another seed, other sizes


def test_the_tekort_of_a_split_instance_is_the_tekort_of_the_whole(westfriesland):
    """Need is divided, budgets and plafonds are per gemeente and region: the first stages see
    the same totals."""
    whole = vm.solve(westfriesland)
    split = vm.solve(split_areas(westfriesland, 8, seed=1))
    assert split.status == whole.status == "optimal"
    for stage in ("tekort", "plafondoverschrijding"):
        assert split.objective[stage] == pytest.approx(whole.objective[stage], abs=0.02)


def test_generate_synthetic_with_sub_areas(tmp_path, capsys):
    rc, _, err = run_main(["generate-synthetic", "--out", str(tmp_path / "s"), "--areas-per-gemeente", "4"], capsys)
    assert rc == 0, err
    inst = load_instance(tmp_path / "s")
    assert inst.meta.synthetic and len(inst.gemeenten) == 342
    assert inst.populations.groupby("gemeente")["population"].count().mean() == pytest.approx(4, abs=0.6)
    rc, _, err = run_main(["generate-synthetic", "--out", str(tmp_path / "s"), "--areas-per-gemeente", "4"], capsys)
    assert rc == 2  # never over an instance folder


def _whole_lot(name: str) -> str:
    return name.split(" / deel ")[0]


@pytest.mark.parametrize("lots", [12, 24, 48])
def test_split_lots_keeps_every_total_per_lot(westfriesland, lots):
    s = split_lots(westfriesland, lots, seed=3)
    k = max(1, round(lots / 12))
    assert len(s.lots) == 12 * k and (s.lots.groupby(s.lots["lot"].map(_whole_lot)).size() == k).all()
    for table, keys, columns, tol in (
        ("need", ["gemeente", "population"], ["volume"], 1e-6),
        ("ceilings", ["region", "gemeente"], ["ceiling_eur", "minimum_eur"], 1e-6),
        ("contracts", ["provider", "region", "gemeente"], ["ceiling_eur", "minimum_eur"], 1e-6),
        ("use_history", ["gemeente", "year"], ["clients", "cost_eur"], 1e-6),
    ):
        a, b = westfriesland.tables[table], s.tables[table].copy()
        b["lot"] = b["lot"].map(_whole_lot)
        assert len(b) == k * len(a), table
        for c in columns:
            x = a.groupby(["lot", *keys])[c].apply(lambda v: v.astype(float).sum(min_count=1))
            y = b.groupby(["lot", *keys])[c].apply(lambda v: v.astype(float).sum(min_count=1))
            assert ((x - y).abs().fillna(0) <= tol).all() and (x.isna() == y.isna()).all(), (table, c)
            cents = b[c].astype(float).dropna()
            assert ((cents * 100 - (cents * 100).round()).abs() < 1e-6).all() or c in ("volume", "clients")
    # per-unit figures copied; a goal, a demand row and a year factor per sub-lot; pools pool every sub-lot
    merged = s.lots.assign(whole=s.lots["lot"].map(_whole_lot)).merge(westfriesland.lots, left_on="whole", right_on="lot")
    assert (merged["tariff_eur_x"] == merged["tariff_eur_y"]).all() and (merged["domain_x"] == merged["domain_y"]).all()
    assert len(s.tables["goals"]) == k * len(westfriesland.tables["goals"])
    assert len(s.tables["demand"]) == k * len(westfriesland.tables["demand"])
    fac = westfriesland.tables["year_factors"]
    lot_rows = fac["target"].isin(set(westfriesland.lots["lot"])).sum()
    assert len(s.tables["year_factors"]) == len(fac) + (k - 1) * lot_rows
    for before, after in zip(westfriesland.tables["pools"]["lots"], s.tables["pools"]["lots"]):
        parts = after.split(";")
        assert len(parts) == k * len(before.split(";")) and {_whole_lot(x) for x in parts} == set(before.split(";"))
    # substitution: every sub-lot of A may move its share of A's need, the sum over sub-lots is A's
    need = s.tables["need"].groupby("lot")["volume"].sum()
    sub = s.tables["substitutions"]
    assert len(sub) <= (2 * k - 1) * len(westfriesland.tables["substitutions"]) and (sub["max_share"] <= 1).all()
    movable = (sub["max_share"] * sub["from_lot"].map(need)).groupby([sub["from_lot"].map(_whole_lot), sub["to_lot"].map(_whole_lot)]).sum()
    whole_need = westfriesland.tables["need"].groupby("lot")["volume"].sum()
    for r in westfriesland.tables["substitutions"].itertuples():
        assert movable[(r.from_lot, r.to_lot)] == pytest.approx(r.max_share * whole_need[r.from_lot], rel=1e-9)
    if k > 1:
        assert s.meta.synthetic and s.meta.name.endswith(f"-{lots}-percelen") and "sub-lots" in s.meta.description


def test_split_lots_is_reproducible_and_refuses_fewer_lots(westfriesland, tmp_path):
    a, b = split_lots(westfriesland, 36, seed=5), split_lots(westfriesland, 36, seed=5)
    write_folder(a, tmp_path / "a")
    write_folder(b, tmp_path / "b")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    back = load_instance(tmp_path / "a")
    assert back.meta.synthetic and len(back.lots) == 36
    c = split_lots(westfriesland, 36, seed=6)
    assert not c.tables["need"].equals(a.tables["need"])  # another seed, other sizes
    with pytest.raises(ValueError, match="at least"):
        split_lots(westfriesland, 11)


def test_the_tekort_of_split_lots_is_the_tekort_of_the_whole(westfriesland, tmp_path):
    """Every amount of a lot divided by the same weights: the linear stages have the same optimum,
    also after writing and loading back, and together with sub-areas."""
    whole = vm.solve(westfriesland)
    write_folder(split_lots(split_areas(westfriesland, 4, seed=2), 48, seed=1), tmp_path / "x")
    split = vm.solve(load_instance(tmp_path / "x"))
    assert split.status == whole.status == "optimal"
    for stage in ("tekort", "plafondoverschrijding", "unmet", "spend"):
        assert split.objective[stage] == pytest.approx(whole.objective[stage], abs=0.05), stage


def test_generate_synthetic_with_sub_lots(tmp_path, capsys):
    out = tmp_path / "s"
    rc, _, err = run_main(["generate-synthetic", "--out", str(out), "--lots", "30", "--areas-per-gemeente", "3"], capsys)
    assert rc == 0, err
    rc, _, err = run_main(["validate", str(out)], capsys)
    assert rc == 0, err
    inst = load_instance(out)
    assert inst.meta.synthetic and len(inst.lots) == 30 and len(inst.gemeenten) == 342
    assert inst.meta.name == "nl-synthetic-3-gebieden-30-percelen"
    rc, _, err = run_main(["--lang", "en", "generate-synthetic", "--out", str(tmp_path / "t"), "--lots", "10"], capsys)
    assert rc == 2 and "at least the instance's 15 lots" in err
    assert not (tmp_path / "t").exists()
