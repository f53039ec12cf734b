"""The rule kinds' registry: the rule-set schema is generated from it, a new kind is one class."""

import jsonschema
import pytest

from blueprint.errors import InvalidInput
from compliance.kinds import KINDS, RuleKind, register, ruleset_schema
from layers.quality import registry as quality


def test_the_schema_names_every_registered_kind_and_its_own_fields():
    rule = ruleset_schema()["$defs"]["rule"]
    assert rule["properties"]["kind"]["enum"] == list(KINDS)
    assert {
        "if": {"properties": {"kind": {"const": "min_distance"}}},
        "then": {"required": ["distance_m"]},
    } in rule["allOf"]


def test_a_new_kind_is_one_class():
    class Setback(RuleKind):
        name = "test_setback"
        params = {"setback_m": {"type": "number", "minimum": 0}}
        required = ["setback_m"]

    register(Setback)
    try:
        schema = ruleset_schema()
        rule = {
            "id": "s",
            "kind": "test_setback",
            "layer": "water_body",
            "severity": "fail",
            "title_zh": "退让",
            "guidance_zh": "",
            "legal_basis": "",
        }
        document = {"name": "t", "version": "1", "rules": [rule]}
        with pytest.raises(jsonschema.ValidationError, match="setback_m"):
            jsonschema.validate(document, schema)
        jsonschema.validate({**document, "rules": [{**rule, "setback_m": 5}]}, schema)
    finally:
        KINDS.pop("test_setback")


def test_quality_kinds_check_their_parameters():
    assert {branch["properties"]["kind"]["const"] for branch in quality.params_schema()["oneOf"]} == set(
        quality.KINDS
    )
    with pytest.raises(InvalidInput, match="tolerance_m2"):
        quality.validate_params("no_overlaps", {"tolerance_m2": -1})
    with pytest.raises(InvalidInput, match="field"):
        quality.validate_params("area_agrees", {})
    with pytest.raises(InvalidInput, match="未知的质量规则类型"):
        quality.validate_params("no_such_kind", {})
