"""Evaluate one rule against one site: the finding, its figures, the features hit, the conflict.

Every rule yields a status. A rule that cannot run says `error`; a site outside the data's
coverage says `not_covered`. Neither is ever a pass.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from django.db import DatabaseError, connection, transaction

from compliance import queries
from compliance.findings import FindingData, Site, m2_text, polygonal
from compliance.kinds import KINDS, ReadsBuilder
from compliance.models import STATUS_ORDER, Status
from layers import crs

__all__ = ["Site", "FindingData", "evaluate_all", "evaluate", "applies", "worst"]

logger = logging.getLogger(__name__)


def applies(rule: dict, category: str) -> bool:
    """Say whether a rule applies to a project category."""
    return category in rule.get("applies_to", [category])


def worst(statuses: list[str]) -> str:
    """Return the worst of some statuses (the verdict of a check)."""
    return max(statuses, key=STATUS_ORDER.index, default=Status.PASS)


def evaluate_all(rules: list[dict], site: Site, layers: dict[str, queries.LayerRef]) -> list[FindingData]:
    """Evaluate the applicable rules against the layers' active versions (`queries.read_state`):
    their coverage and what the site meets in them are read once for all rules, the site's
    overlays in one statement."""
    versions = {slug: layer.active_version_id for slug, layer in layers.items() if layer.active_version_id}
    needed = {versions[rule["layer"]] for rule in rules if rule["layer"] in versions}
    coverage = queries.covered(site.geom, sorted(needed))
    runnable = [(rule, versions[rule["layer"]]) for rule in rules
                if rule["layer"] in versions and coverage[versions[rule["layer"]]][0]]
    try:
        # Inside a transaction (the one storing a revision, say), a failed read must not poison
        # it: a savepoint. Outside one the read is a statement of its own, nothing to protect.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            data = queries.read_site(site.geom, _reads(runnable))
    except DatabaseError as exc:
        logger.error("reading the site failed: %s", exc)
        data = exc
    return [evaluate(rule, site, layers.get(rule["layer"]), coverage, data) for rule in rules]


def _reads(runnable: list[tuple[dict, int]]) -> queries.Reads:
    reads = ReadsBuilder()
    for rule, version in runnable:
        KINDS[rule["kind"]].reads(rule, version, reads)
    return reads.reads()


def evaluate(rule: dict, site: Site, layer: queries.LayerRef | None, coverage: dict,
             data: queries.SiteData | Exception) -> FindingData:
    """Evaluate one applicable rule; never raise for a data problem, say `error` instead."""
    if layer is None or layer.active_version_id is None:
        return FindingData(rule, Status.ERROR,
                           f"图层 {rule['layer']} 没有可用数据，本项未能检查。",
                           f"Layer {rule['layer']} has no active data: the rule could not run.")
    version_id = layer.active_version_id
    inside, outside = coverage[version_id]
    if not inside:
        outside_m2 = crs.ellipsoidal_area_m2(outside) if outside is not None else site.area_m2
        return FindingData(
            rule, Status.NOT_COVERED,
            f"用地有 {m2_text(outside_m2)} 位于{layer.title_zh}数据覆盖范围之外，本项无法判定。",
            f"{outside_m2:.2f} m² of the site lie outside the coverage of {layer.title_en}: not assessed.",
            version_id, {"outside_coverage": crs.area_units(outside_m2)},
            conflict=polygonal(outside))
    if isinstance(data, Exception):
        return FindingData(rule, Status.ERROR, f"本项检查执行失败，结果未知：{str(data)[:200]}",
                           f"The rule failed to run; no result: {str(data)[:200]}", version_id)
    finding = KINDS[rule["kind"]].evaluate(rule, site, layer, version_id, data)
    finding.layer_version_id = version_id
    return _apply_exceptions(finding, site.category)


def _apply_exceptions(finding: FindingData, category: str) -> FindingData:
    if finding.status in (Status.PASS, Status.ERROR, Status.NOT_COVERED):
        return finding
    for exception in finding.rule.get("exceptions", []):
        if category in exception["categories"]:
            finding.measures["exception"] = {"status_without": finding.status,
                                             "note_zh": exception.get("note_zh", "")}
            finding.status = exception["status"]
            finding.message_zh += f" 例外：{exception.get('note_zh', '')}"
            break
    return finding
