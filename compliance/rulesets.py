"""Rule sets as data: parse YAML, validate against the schema and the registry, hash, activate."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml
from django.db import transaction

from blueprint import audit
from blueprint.errors import InvalidInput
from compliance.kinds import ruleset_schema
from compliance.models import RuleSet
from layers.models import Layer

__all__ = ["DEFAULT_RULESET", "parse_ruleset", "save_ruleset", "active_ruleset", "ruleset_for",
           "content_hash"]

DEFAULT_RULESET = Path(__file__).parent / "rulesets" / "default.yaml"


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(ruleset_schema())


def content_hash(content: dict) -> str:
    """Hash the rules' meaning (canonical JSON), not their YAML formatting."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_ruleset(text: str) -> dict:
    """Parse and validate a rule set; raise InvalidInput saying where it is wrong."""
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"规则集不是有效的 YAML：{exc} (The rule set is not valid YAML.)") from exc
    errors = sorted(_validator().iter_errors(content), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise InvalidInput(f"规则集在 {where} 处不符合格式：{errors[0].message}"
                           f" (Rule set invalid at {where}: {errors[0].message})")
    _check_references(content)
    return content


def _check_references(content: dict) -> None:
    ids = [rule["id"] for rule in content["rules"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InvalidInput(f"规则编号重复: {duplicates} (Duplicate rule ids.)")
    known = set(Layer.objects.values_list("slug", flat=True))
    for rule in content["rules"]:
        if rule["layer"] not in known:
            raise InvalidInput(f"规则 {rule['id']} 引用的图层 {rule['layer']} 未登记。"
                               f" (Rule {rule['id']} names an unregistered layer {rule['layer']}.)")
        if "condition" in rule:
            # pygeofilter builds its grammar on import (~0.5 s): only when a rule needs it.
            from lark.exceptions import LarkError
            from pygeofilter.parsers.cql2_text import parse as parse_cql2

            try:
                parse_cql2(rule["condition"])
            except LarkError as exc:
                raise InvalidInput(f"规则 {rule['id']} 的 CQL2 条件无法解析：{rule['condition']}"
                                   f" (Rule {rule['id']}: cannot parse the CQL2 condition: {exc})") from exc


@transaction.atomic
def save_ruleset(text: str, *, activate: bool = True, created_by: str = "") -> RuleSet:
    """Store a rule set (the same content twice is one row) and optionally make it active."""
    content = parse_ruleset(text)
    digest = content_hash(content)
    ruleset, created = RuleSet.objects.get_or_create(content_hash=digest, defaults={
        "name": content["name"], "version": content["version"], "source_yaml": text,
        "content": content, "created_by": created_by})
    target = f"{ruleset.name} {ruleset.version}"
    if created:
        audit.record("ruleset.save", target=target, actor=created_by or None, content_hash=digest,
                     rules=len(content["rules"]))
    if activate and not ruleset.is_active:
        RuleSet.objects.filter(is_active=True).update(is_active=False)
        RuleSet.objects.filter(pk=ruleset.pk).update(is_active=True)
        ruleset.is_active = True
        audit.record("ruleset.activate", target=target, actor=created_by or None, content_hash=digest)
    return ruleset


def active_ruleset() -> RuleSet:
    """Return the active rule set, installing the default one on first use."""
    return RuleSet.objects.filter(is_active=True).first() or _install_default()


def ruleset_for(active: tuple[int, str] | None) -> RuleSet:
    """Return the rule set a caller read as active, as (id, content hash), from a per-process
    cache; with none active, install the default one."""
    return (_ruleset(*active) if active is not None else None) or _install_default()


def _install_default() -> RuleSet:
    return save_ruleset(DEFAULT_RULESET.read_text(encoding="utf-8"), created_by="default")


@lru_cache(maxsize=16)
def _ruleset(pk: int, digest: str) -> RuleSet | None:
    # A rule set is never edited in place (a change is a new row), and its hash is of its
    # content, so (id, hash) names one content for good.
    return RuleSet.objects.filter(pk=pk, content_hash=digest).first()
