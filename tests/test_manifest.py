"""The formulation's manifest (models/manifest.py) and the rule-kind registry (models/rules.py)
are the one place families, stages and kinds are declared; everything else reads them."""

from __future__ import annotations

import inspect
import typing

import pyomo.core as pyo
import pytest
from helpers import INSTANCES, ROOT, pooled_tables, write_instance

from verdeelmodel import load_instance
from verdeelmodel.instance import schema
from verdeelmodel.models import allocation, manifest, rules
from verdeelmodel.models.allocation import build_allocation_model


def test_every_family_has_one_builder_and_every_builder_a_family():
    builders = {n for n, f in inspect.getmembers(allocation, inspect.isfunction) if n.startswith("add_")}
    assert builders == {f.builder for f in manifest.FAMILIES}
    assert [f.name for f, _fn in allocation.FAMILY_BUILDERS] == list(manifest.FAMILY_NAMES)
    assert len(set(manifest.FAMILY_NAMES)) == len(manifest.FAMILY_NAMES)


def test_schema_and_docs_read_the_manifest():
    assert schema.FAMILIES == manifest.FAMILY_NAMES
    weights = schema.ObjectiveOptions().weights
    assert set(weights) == set(manifest.STAGE_NAMES)
    assert weights == {s.value: s.default_weight for s in manifest.Stage}
    formulation = (ROOT / "docs" / "formulation.md").read_text(encoding="utf-8")
    for f in manifest.FAMILIES:
        assert f"### `{f.name}`" in formulation


@pytest.mark.parametrize("source", ["nijmegen-2018", "westfriesland-2021", "pooled"])
def test_every_component_built_is_declared_and_the_model_carries_no_extra_state(tmp_path, source):
    path = write_instance(tmp_path / "i", pooled_tables("onder")) if source == "pooled" else INSTANCES / source
    m, b = build_allocation_model(load_instance(path))
    for con in m.component_objects(pyo.Constraint):
        assert con.name in manifest.FAMILY_OF_COMPONENT, con.name
        assert manifest.kind_of(con.name) in manifest.ROW_KINDS
    for obj in m.component_objects(pyo.Objective):
        assert manifest.stage_name(obj.name) in {*manifest.STAGE_NAMES, "weighted"}
    # the builder's own state lives in BuildInfo, not as attributes on the ConcreteModel
    components = {c.local_name for c in m.component_objects()}
    extra = set(vars(m)) - set(vars(pyo.ConcreteModel())) - components
    assert extra == set(), extra
    assert b.stages and all(isinstance(s, manifest.Stage) for s in b.stages)


def test_budget_group_is_the_budget_scope():
    assert manifest.budget_group("A", "jeugd", "per_domain") == ("A", "jeugd")
    assert manifest.budget_group("A", "jeugd", "total") == ("A",)


def test_rule_kinds_are_declared_once():
    assert schema.PoolingKind.__args__ == rules.KIND_NAMES
    assert typing.get_args(schema.KeyBasis) == rules.BASES
    columns = set(schema.PoolingRuleRow.model_fields)
    for name, kind in rules.KIND.items():
        assert kind.name == name and kind.summary
        assert set(kind.required) <= columns, name
        assert set(kind.weight_columns) <= columns, name
    assert set(rules.KIND) == {k for k in rules.KIND_NAMES}
    from verdeelmodel.models import pooling

    assert pooling.KINDS == rules.KIND_NAMES


def test_a_kind_checks_its_own_parameters():
    """What the validator reports for a rule row comes from its kind."""
    row = {"rule": "x", "kind": "high_cost_pool", "threshold_eur": None, "pool_share": 0.8}
    assert rules.KIND["high_cost_pool"].problems(row) == [
        (
            "threshold_eur",
            "",
            "a value: rule kind high_cost_pool needs threshold_eur",
            "een waarde: een verdeelregel van soort high_cost_pool heeft threshold_eur nodig",
        )
    ]
    row = {"rule": "m", "kind": "mixed", "w_own": 0.5, "w_inhabitants": 0.4}
    [(col, value, expected, nl)] = rules.KIND["mixed"].problems(row)
    assert col == "w_own" and value == "weights adding up to 0.9" and expected.endswith("= 1") and nl.endswith("= 1")
    assert rules.KIND["vast_variabel"].problems({"fixed_eur": None, "fixed_share": None})[0][0] == "fixed_eur"
    assert rules.KIND["profijt"].problems({}) == []
