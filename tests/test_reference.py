"""The Gemeentefonds arithmetic, worked out by hand.

Two gemeenten in one region. Maatstaven: A 100 jongeren and 10 minderjarigen laag inkomen,
B 300 and 50. Bedragen: jongeren EUR 10, laag inkomen EUR 100.
  A: 100 x 10 + 10 x 100 = 2,000;   B: 300 x 10 + 50 x 100 = 8,000;   sum 10,000.
Budgets (IU): A 40, B 60 -> money available 100 -> uitkeringsfactor 100 / 10,000 = 0.01.
  ref A = 2,000 x 0.01 = 20;   ref B = 8,000 x 0.01 = 80.
"""

from __future__ import annotations

import pytest

from verdeelmodel import load_instance
from verdeelmodel.models.reference import reference_allocation


def _two(t, hist=None, inh=(1000, 1000)):
    t["gemeenten"].append({"gemeente": "B", "inhabitants": 5000, "source": "test"})
    t["budgets"][0]["budget_eur"] = 40
    t["budgets"].append({"gemeente": "B", "domain": "jeugd", "region": "R", "budget_eur": 60, "source": "test"})
    t["populations"] = [
        {"gemeente": "A", "population": "jeugd", "inhabitants": inh[0], "source": "test"},
        {"gemeente": "B", "population": "jeugd", "inhabitants": inh[1], "source": "test"},
    ]
    t["need"] = [{"gemeente": g, "population": "jeugd", "lot": "basis", "volume": 50, "source": "test"} for g in "AB"]
    t["maatstaven"] = [
        {"gemeente": "A", "population": "jeugd", "maatstaf": "jongeren", "value": 100, "source": "test"},
        {"gemeente": "A", "population": "jeugd", "maatstaf": "laag_inkomen", "value": 10, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "maatstaf": "jongeren", "value": 300, "source": "test"},
        {"gemeente": "B", "population": "jeugd", "maatstaf": "laag_inkomen", "value": 50, "source": "test"},
    ]
    t["bedragen"] = [
        {"maatstaf": "jongeren", "domain": "jeugd", "bedrag_eur": 10, "source": "test"},
        {"maatstaf": "laag_inkomen", "domain": "jeugd", "bedrag_eur": 100, "source": "test"},
    ]
    if hist:
        t["historical"] = [
            {"gemeente": g, "population": "jeugd", "domain": "jeugd", "historical_eur": v, "source": "test"} for g, v in hist.items()
        ]


def ref(make, meta=None, **kw):
    inst = load_instance(make(lambda t: _two(t, **kw), meta))
    return reference_allocation(inst).set_index("gemeente")


@pytest.mark.parametrize("scale", ["domain", "region"])
def test_gemeentefonds_arithmetic(make, scale):
    r = ref(make, {"options": {"reference": {"scale": scale}}})
    assert r.loc["A", "maatstaf_sum_eur"] == 2000 and r.loc["B", "maatstaf_sum_eur"] == 8000
    assert r.loc["A", "uitkeringsfactor"] == pytest.approx(0.01)
    assert r.loc["A", "reference_eur"] == pytest.approx(20) and r.loc["B", "reference_eur"] == pytest.approx(80)
    assert r["reference_eur"].sum() == pytest.approx(100)


def test_scale_per_gemeente_returns_each_budget(make):
    # per gemeente the factor scales each gemeente's maatstaven to its own IU: 40 and 60
    r = ref(make, {"options": {"reference": {"scale": "gemeente"}}})
    assert r.loc["A", "uitkeringsfactor"] == pytest.approx(40 / 2000)
    assert r.loc["A", "reference_eur"] == pytest.approx(40) and r.loc["B", "reference_eur"] == pytest.approx(60)


def test_historical_blend(make):
    # historical 30 / 70 of 100 -> scaled 30, 70. lambda 0.5: A = 0.5 x 20 + 0.5 x 30 = 25, B = 75
    r = ref(make, {"options": {"reference": {"blend_lambda": 0.5}}}, hist={"A": 300, "B": 700})
    assert r.loc["A", "historical_scaled_eur"] == pytest.approx(30)
    assert r.loc["A", "reference_eur"] == pytest.approx(25) and r.loc["B", "reference_eur"] == pytest.approx(75)


def test_ingroeipad_symmetric_caps(make):
    # historical 50 / 50, objective 20 / 80: change -30 / +30; cap EUR 0.01 x 1,000 inhabitants = 10
    # -> A 50 - 10 = 40, B 50 + 10 = 60; the total stays 100
    r = ref(make, {"options": {"reference": {"ingroeipad_eur_per_inhabitant": 0.01}}}, hist={"A": 50, "B": 50})
    assert r.loc["A", "ingroeipad_cap_eur"] == pytest.approx(10)
    assert r.loc["A", "reference_eur"] == pytest.approx(40) and r.loc["B", "reference_eur"] == pytest.approx(60)


def test_ingroeipad_scales_the_larger_side(make):
    # caps: A 0.01 x 1,000 = 10, B 0.01 x 2,000 = 20: A loses 10, B would gain 20;
    # gains are scaled to the losses (10 / 20): B gains 10 -> A 40, B 60, total 100
    r = ref(make, {"options": {"reference": {"ingroeipad_eur_per_inhabitant": 0.01}}}, hist={"A": 50, "B": 50}, inh=(1000, 2000))
    assert r.loc["B", "ingroeipad_cap_eur"] == pytest.approx(20)
    assert r.loc["A", "reference_eur"] == pytest.approx(40) and r.loc["B", "reference_eur"] == pytest.approx(60)
    assert r["reference_eur"].sum() == pytest.approx(100)


def test_no_maatstaven_no_reference(make):
    inst = load_instance(make())
    assert reference_allocation(inst).empty
