"""Scale-up of instances for the benchmarks (verdeelmodel/scale.py): populations split into
sub-areas keep every total, stay valid, and are the same for the same seed."""

from __future__ import annotations

import pytest
from helpers import INSTANCES, run_main

import verdeelmodel as vm
from verdeelmodel.instance.io import write_folder
from verdeelmodel.instance.validate import load_instance
from verdeelmodel.scale import split_areas


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
