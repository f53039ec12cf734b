"""The impact of a layer version before it goes live: which projects' verdicts would change.

Every project's current check (the latest check of its current site revision) whose rules read the
layer is evaluated again, through the engine, against the candidate version instead of the active
one: only the findings of that layer's rules are re-evaluated, with the rules as they were applied,
and the others kept as stored, so the answer is what a re-run would say if only this layer changed.
After the switch those checks are stale (`services.is_stale` compares their pinned versions with the
active ones) and `queue_reruns` hands their re-runs to the workers in one action.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import shapely
from django.db import connection, transaction

from compliance import engine, queries
from compliance.models import Check, Finding
from compliance.services import is_stale, rerun_check
from layers.models import Layer, LayerVersion
from layers.versions import ImpactTable

__all__ = ["ProjectImpact", "Impact", "current_checks", "preview", "preview_table", "stale_checks",
           "queue_reruns", "rerun_if_stale"]

# The latest check of each project's current site revision (what the gate relies on).
_CURRENT = """
SELECT DISTINCT ON (c.site_revision_id) c.id
FROM compliance_check c
JOIN (SELECT DISTINCT ON (project_id) id FROM layers_siterevision ORDER BY project_id, number DESC) r
  ON r.id = c.site_revision_id
ORDER BY c.site_revision_id, c.created_at DESC"""


@dataclass
class ProjectImpact:
    """One project whose current check would read differently with the candidate version."""

    project_code: str
    project_name: str
    district: str
    check_id: str
    verdict_before: str
    verdict_after: str
    findings: list[dict] = field(default_factory=list)  # rule_id, before, after, messages

    @property
    def verdict_changes(self) -> bool:
        return self.verdict_before != self.verdict_after


@dataclass
class Impact:
    layer: str
    version: int
    active_version: int | None
    checks_evaluated: int
    projects: list[ProjectImpact] = field(default_factory=list)

    @property
    def verdict_changes(self) -> list[ProjectImpact]:
        return [p for p in self.projects if p.verdict_changes]


def current_checks(layer_slug: str) -> list[Check]:
    """The current check of every project whose rules read `layer_slug`."""
    with connection.cursor() as cursor:
        cursor.execute(_CURRENT)
        ids = [row[0] for row in cursor.fetchall()]
    reading = Finding.objects.filter(layer=layer_slug, check_result_id__in=ids).values("check_result_id")
    return list(Check.objects.filter(pk__in=reading).select_related("project")
                .prefetch_related("findings").order_by("project__code"))


def _normalised(value):
    return json.loads(json.dumps(value, default=str))


def _reevaluate(check: Check, layer: queries.LayerRef) -> ProjectImpact | None:
    stored = sorted(check.findings.all(), key=lambda f: f.order)
    mine = [f for f in stored if f.layer == layer.slug]
    site = engine.Site(shapely.from_wkb(bytes(check.geom.wkb)), check.site_area_m2, check.category)
    fresh = engine.evaluate_all([f.rule for f in mine], site, {layer.slug: layer})
    changes = []
    for old, new in zip(mine, fresh, strict=True):
        if (old.status, old.measures, old.features) != (str(new.status), _normalised(new.measures),
                                                         _normalised(new.features)):
            changes.append({"rule_id": old.rule_id, "before": old.status, "after": str(new.status),
                            "before_message_zh": old.message_zh, "after_message_zh": new.message_zh})
    others = [f.status for f in stored if f.layer != layer.slug]
    verdict = engine.worst(others + [str(f.status) for f in fresh])
    if not changes and verdict == check.verdict:
        return None
    project = check.project
    return ProjectImpact(project.code, project.name, project.district_id, str(check.pk), check.verdict,
                         verdict, changes)


def preview(layer: Layer, version: LayerVersion) -> Impact:
    """Say which projects' current checks would change (verdict or findings) if `version` of
    `layer` were active, without activating it."""
    candidate = queries.LayerRef(layer.slug, layer.title_zh, layer.title_en, version.pk)
    checks = current_checks(layer.slug)
    active = layer.active_version.number if layer.active_version_id else None
    impact = Impact(layer.slug, version.number, active, len(checks))
    # Reads only; inside one transaction so that every check sees the same data.
    with transaction.atomic():
        for check in checks:
            changed = _reevaluate(check, candidate)
            if changed is not None:
                impact.projects.append(changed)
    return impact


def preview_table(layer: Layer, version: LayerVersion) -> ImpactTable:
    """The impact preview as the table the version pages show (layers.versions registry)."""
    impact = preview(layer, version)
    changed = impact.verdict_changes
    summary = (f"评估了 {impact.checks_evaluated} 个项目的当前检查：{len(changed)} 个项目结论将改变，"
               f"{len(impact.projects) - len(changed)} 个项目结论不变但检查项数值改变。"
               f" ({impact.checks_evaluated} current checks evaluated: {len(changed)} verdicts change.)")
    rows = [[p.project_code, p.project_name, p.district, p.verdict_before, p.verdict_after,
             "；".join(f"{f['rule_id']}: {f['before']} → {f['after']}" for f in p.findings)]
            for p in sorted(impact.projects, key=lambda p: (not p.verdict_changes, p.project_code))]
    data = {"checks_evaluated": impact.checks_evaluated,
            "verdict_changes": [{"project": p.project_code, "check": p.check_id, "before": p.verdict_before,
                                 "after": p.verdict_after} for p in changed],
            "finding_changes": len(impact.projects)}
    return ImpactTable("合规性检查影响 Compliance impact", summary,
                       ["项目代码", "项目名称", "行政区", "现结论", "新结论", "变化的检查项"], rows, data)


def stale_checks(layer_slug: str) -> list[Check]:
    """The current checks pinned to another version of `layer_slug` than the active one."""
    active = Layer.objects.filter(slug=layer_slug).values_list("active_version_id", flat=True).first()
    return [c for c in current_checks(layer_slug) if c.layer_versions.get(layer_slug) != active]


def queue_reruns(layer_slug: str, *, actor: str = "") -> int:
    """Queue the re-run of every project's check made stale by a switch of `layer_slug` (one job
    per check, deduplicated by procrastinate's queueing lock); return how many were queued."""
    from procrastinate.exceptions import AlreadyEnqueued

    from compliance.tasks import rerun_check_task

    queued = 0
    for check in stale_checks(layer_slug):
        try:
            with transaction.atomic():
                rerun_check_task.configure(queueing_lock=f"rerun-{check.pk}").defer(
                    check_id=str(check.pk), actor=actor)
        except AlreadyEnqueued:
            continue
        queued += 1
    return queued


def rerun_if_stale(check_id: str, actor: str = "") -> str | None:
    """Re-run a check if it is still its project's current check and still stale; the new id."""
    check = Check.objects.select_related("project").filter(pk=check_id).first()
    if check is None or check.project_id is None:
        return None
    current = check.project.current_site
    newest = Check.objects.filter(site_revision_id=check.site_revision_id).order_by("-created_at").first()
    if current is None or current.pk != check.site_revision_id or newest.pk != check.pk:
        return None
    if not is_stale(check):
        return None
    return str(rerun_check(check, created_by=actor or "system").pk)
