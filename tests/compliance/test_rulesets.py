"""Rule sets: schema validation with locations, registry references, CQL2, hashing, activation."""

import pytest
import yaml

from blueprint.errors import InvalidInput
from compliance.models import RuleSet
from compliance.rulesets import DEFAULT_RULESET, active_ruleset, content_hash, parse_ruleset, save_ruleset

pytestmark = pytest.mark.django_db

DEFAULT_TEXT = DEFAULT_RULESET.read_text(encoding="utf-8")


def edited(change) -> str:
    content = yaml.safe_load(DEFAULT_TEXT)
    change(content)
    return yaml.safe_dump(content, allow_unicode=True)


def test_default_rule_set_is_valid_and_covers_the_three_lines():
    content = parse_ruleset(DEFAULT_TEXT)
    layers = {rule["layer"] for rule in content["rules"]}
    assert {"ecological_redline", "basic_farmland", "urban_development_boundary", "water_body"} <= layers
    kinds = {rule["kind"] for rule in content["rules"]}
    assert kinds == {"must_not_intersect", "must_be_within", "min_distance", "attribute_condition"}


@pytest.mark.parametrize("change,words", [
    (lambda c: c["rules"][0].update(severity="fatal"), ["rules/0/severity"]),
    (lambda c: c["rules"][0].pop("legal_basis"), ["legal_basis"]),
    (lambda c: c["rules"][0].update(layer="no_such_layer"), ["no_such_layer"]),
    (lambda c: c["rules"][4].update(condition="GHFQMC <> "), ["CQL2"]),
    (lambda c: c["rules"].append(dict(c["rules"][0])), ["ecological_redline"]),
    (lambda c: c["rules"][5].pop("distance_m"), ["distance_m"]),
])
def test_invalid_rule_sets_say_where(change, words):
    with pytest.raises(InvalidInput) as err:
        parse_ruleset(edited(change))
    for word in words:
        assert word in err.value.detail


def test_not_yaml():
    with pytest.raises(InvalidInput, match="YAML"):
        parse_ruleset("rules: [unclosed")


def test_hash_ignores_formatting_and_activation_switches():
    first = active_ruleset()
    reformatted = yaml.safe_dump(yaml.safe_load(DEFAULT_TEXT), allow_unicode=True, indent=4)
    assert save_ruleset(reformatted).pk == first.pk  # same meaning, same hash, same row
    stricter = save_ruleset(edited(lambda c: c["rules"][1]["tolerance"].update(area_m2=0.1)))
    assert stricter.content_hash != first.content_hash == content_hash(parse_ruleset(DEFAULT_TEXT))
    assert RuleSet.objects.filter(is_active=True).get() == stricter
