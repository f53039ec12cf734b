"""Compliance services: run and store checks, re-run them, answer the acceptance gate."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from blueprint import audit, events
from blueprint.access import not_found
from blueprint.db import insert_together
from blueprint.errors import InvalidInput
from blueprint.ops.metrics import CHECK_SECONDS
from compliance import engine, queries
from compliance.models import Check, Finding, GateDecision, Job, RuleSet, Status
from compliance.rulesets import ruleset_for
from layers import crs
from layers.models import Layer, Project, SiteRevision
from layers.services import add_site_revision, district_mismatch, geometry_hash

__all__ = ["submit_check", "run_check", "check_project", "rerun_check", "compare_checks", "get_check",
           "get_job", "project_checks", "gate", "gate_answer", "is_stale", "recompute_result_hash",
           "check_links",
           "CATEGORIES", "STAGES", "DECISIONS"]

CATEGORIES = [c.value for c in Project.Category]
STAGES = [s.value for s in Project.Stage]  # the approval stages the gate answers for
DECISIONS = ["allowed", "needs_review", "blocked"]


def _geos(geom: shapely.Geometry | None) -> GEOSGeometry | None:
    return None if geom is None else GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4490)


def _as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    if geom.is_empty:
        raise InvalidInput("用地红线为空。 (The site is empty.)")
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon" or geom.is_empty or not geom.is_valid:
        raise InvalidInput("用地红线必须是有效的面。 (The site must be a valid polygon.)")
    return geom


def result_hash(input_hash: str, ruleset_hash: str, versions: dict, findings: list[dict]) -> str:
    """Hash what a check concluded, so that a printed report can be verified against it."""
    payload = json.dumps({"input": input_hash, "ruleset": ruleset_hash, "versions": versions,
                          "findings": findings}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@transaction.atomic
def submit_check(data=None, *, filename: str | None = None, format: str | None = None,
                 crs_name: str | None = None, zone: int | None = None, dxf_layer: str | None = None,
                 repair: bool = False, project_code: str | None = None, category: str | None = None,
                 background: bool | None = None, created_by: str = "") -> Check | Job:
    """Parse a submitted site (any accepted format) and check it; the one entry for REST and OGC.

    With a project code the site becomes the project's new revision (when it changed) and is
    checked as such; with only a project code, the project's current site is checked. Huge
    sites (or `background=True`) are queued and answered with the job instead of the check.
    """
    from compliance.jobs import enqueue_check
    from compliance.parsers import parse_site

    project = _project(project_code) if project_code else None
    if project is not None and data is None:
        site = project.current_site
        if site is None:
            raise InvalidInput(f"项目 {project.code} 尚未提交用地红线，无法检查。"
                               f" (Project {project.code} has no site yet.)")
        geom, revision = shapely.from_wkb(bytes(site.geom.wkb)), site
        origin = {"input_format": site.source_format or "stored", "source_crs": site.source_crs}
    else:
        parsed = parse_site(data, format=format, crs=crs_name, zone=zone, dxf_layer=dxf_layer,
                            repair=repair, filename=filename)
        geom = parsed.geometry
        revision = _site_revision(project, parsed) if project else None
        mismatch = district_mismatch(project, geom) if project else None
        origin = {"input_format": parsed.source_format, "source_crs": parsed.source_crs,
                  "repair": parsed.repair or "",
                  "warnings": parsed.warnings + ([mismatch] if mismatch else [])}
    args = {"category": category or (project.category if project else Project.Category.URBAN),
            "project": project, "site_revision": revision, **origin}
    if background is None:
        background = crs.ellipsoidal_area_m2(geom) > settings.BLUEPRINT["SITE_ASYNC_AREA_KM2"] * 1e6
    if background:
        _check_category(args["category"])  # a clear error now rather than in the worker
        return enqueue_check(geom, created_by=created_by, **args)
    return run_check(geom, created_by=created_by, **args)


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise InvalidInput(f"未知的工程类别 “{category}”，应为 {', '.join(CATEGORIES)} 之一。"
                           f" (Unknown project category '{category}'.)", field="category")


def _project(code: str) -> Project:
    project = Project.objects.filter(code=code.strip()).first()
    if project is None:
        raise not_found("project", code, field="project_code")
    return project


def _site_revision(project: Project, parsed) -> SiteRevision:
    current = project.current_site
    if current is not None and current.geometry_hash == geometry_hash(parsed.geometry):
        return current
    return add_site_revision(project, parsed.geometry, source_format=parsed.source_format,
                             source_crs=parsed.source_crs, note="submitted for a check")


def run_check(geom_cgcs2000: shapely.Geometry, *, category: str = Project.Category.URBAN,
              project: Project | None = None, site_revision: SiteRevision | None = None,
              input_format: str = "geojson", source_crs: str = "EPSG:4490", repair: str = "",
              warnings: list[str] | None = None, ruleset: RuleSet | None = None,
              rerun_of: Check | None = None, created_by: str = "") -> Check:
    """Check a site (EPSG:4490) against every applicable rule and store the immutable result.

    Three statements: the present (active rule set and layer versions), everything the site
    meets, and the result written with its findings and audit entry — one statement, in one
    transaction with what the `check_stored` subscribers write (inside a caller's, a savepoint).
    """
    _check_category(category)
    started = time.perf_counter()
    geom = _as_multipolygon(geom_cgcs2000)
    site = engine.Site(geom, crs.ellipsoidal_area_m2(geom), category)
    state = queries.read_state()
    ruleset = ruleset or ruleset_for(state.ruleset)
    rules = [rule for rule in ruleset.content["rules"] if engine.applies(rule, category)]
    findings = engine.evaluate_all(rules, site, state.layers)
    stored = [_finding_record(i, f) for i, f in enumerate(findings)]
    versions = _versions_used(findings)
    input_hash = geometry_hash(geom)
    check = Check(
        project=project, site_revision=site_revision, category=category, input_format=input_format,
        source_crs=source_crs, geom=_geos(geom), input_hash=input_hash,
        site_area_m2=site.area_m2, repair=repair, warnings=warnings or [], ruleset=ruleset,
        ruleset_hash=ruleset.content_hash, layer_versions=versions,
        verdict=engine.worst([f.status for f in findings]),
        result_hash=result_hash(input_hash, ruleset.content_hash, versions, stored),
        duration_ms=round((time.perf_counter() - started) * 1000, 1), rerun_of=rerun_of,
        created_by=created_by)
    rows = [Finding(check_result=check, conflict_geom=_geos(f.conflict), layer_version_id=f.layer_version_id,
                    **record) for f, record in zip(findings, stored, strict=True)]
    entry = audit.entry("check.rerun" if rerun_of else "check.run", target=str(check.id),
                        actor=created_by or None, project=project.code if project else None,
                        verdict=check.verdict, rerun_of=str(rerun_of.id) if rerun_of else None,
                        result_hash=check.result_hash)
    with transaction.atomic():  # the result and what subscribers write about it (the outbox)
        insert_together([check, *rows, entry])
        events.send(events.check_stored, check=check)
    CHECK_SECONDS.labels(check.verdict).observe(check.duration_ms / 1000)
    return check


def recompute_result_hash(check: Check) -> str:
    """Recompute a stored check's result hash from its stored findings, to verify a report."""
    records = [_finding_record(f.order, engine.FindingData(
        rule=f.rule, status=f.status, message_zh=f.message_zh, message_en=f.message_en,
        measures=f.measures, features=f.features)) for f in check.findings.order_by("order")]
    return result_hash(check.input_hash, check.ruleset_hash, check.layer_versions, records)


def _finding_record(order: int, finding: engine.FindingData) -> dict:
    rule = finding.rule
    return {"order": order, "rule_id": rule["id"], "kind": rule["kind"], "layer": rule["layer"],
            "status": str(finding.status), "severity": rule["severity"],
            "message_zh": finding.message_zh, "message_en": finding.message_en,
            "measures": finding.measures, "features": finding.features, "rule": rule}


def _versions_used(findings: list[engine.FindingData]) -> dict:
    versions = {}
    for finding in findings:
        if finding.layer_version_id is not None:
            versions[finding.rule["layer"]] = finding.layer_version_id
    return dict(sorted(versions.items()))


def check_project(project: Project, *, created_by: str = "") -> Check:
    """Check a project's current site revision (in the request, whatever its size)."""
    return submit_check(project_code=project.code, background=False, created_by=created_by)


def rerun_check(check: Check, *, created_by: str = "") -> Check:
    """Run a stored check's input again against the current layer versions and rule set."""
    return run_check(shapely.from_wkb(bytes(check.geom.wkb)), category=check.category,
                     project=check.project, site_revision=check.site_revision,
                     input_format=check.input_format, source_crs=check.source_crs, repair=check.repair,
                     warnings=check.warnings, rerun_of=check, created_by=created_by)


def compare_checks(before: Check, after: Check) -> list[dict]:
    """List the rules whose status or figures differ between two checks of the same site."""
    old = {f.rule_id: f for f in before.findings.all()}
    changes = []
    for finding in after.findings.all():
        previous = old.pop(finding.rule_id, None)
        if previous is None:
            changes.append({"rule_id": finding.rule_id, "before": None, "after": finding.status})
        elif (previous.status, previous.measures, previous.features) != (
                finding.status, finding.measures, finding.features):
            changes.append({"rule_id": finding.rule_id, "before": previous.status, "after": finding.status,
                            "before_message_zh": previous.message_zh, "after_message_zh": finding.message_zh})
    changes += [{"rule_id": rule_id, "before": f.status, "after": None} for rule_id, f in old.items()]
    return changes


# A stored check's links by their names in the REST URLconf (api/urls.py, namespace "api"),
# which owns the paths: reverse() reads them, nothing here imports the face.
_CHECK_LINKS = {"self": "api:check", "rerun": "api:check-rerun", "report_html": "api:check-report",
                "report_pdf": "api:check-report-pdf", "verify": "api:check-verify"}


def check_links(check_id, absolute: Callable[[str], str] = str) -> dict[str, str]:
    """Return the links of a stored check (self, rerun, report_html, report_pdf, verify) as
    paths, or as URLs when `absolute` turns a path into one (request.build_absolute_uri)."""
    return {key: absolute(reverse(name, args=[str(check_id)])) for key, name in _CHECK_LINKS.items()}


def get_check(check_id) -> Check:
    """Return a stored check, or raise NotFound."""
    try:
        return Check.objects.select_related("project", "ruleset").get(pk=check_id)
    except (Check.DoesNotExist, ValueError, ValidationError) as exc:  # a malformed id is just unknown
        raise not_found("check", _canonical_uuid(check_id)) from exc


def get_job(job_id) -> Job:
    """Return a background job, or raise NotFound."""
    try:
        return Job.objects.get(pk=job_id)
    except (Job.DoesNotExist, ValueError, ValidationError) as exc:
        raise not_found("job", _canonical_uuid(job_id)) from exc


def _canonical_uuid(value) -> str:
    # As a stored id prints (lower case, hyphens), so that a missing id reads like a hidden one.
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def project_checks(code: str):
    """Return a project's checks, newest first."""
    project = _project(code)
    return project, project.checks.select_related("site_revision").order_by("-created_at")


def is_stale(check: Check) -> list[str]:
    """List why a check no longer describes the present (site redrawn, data or rules changed)."""
    reasons = []
    if check.project_id and check.site_revision_id != getattr(check.project.current_site, "pk", None):
        reasons.append("用地红线已修改 (the site was redrawn)")
    active = dict(Layer.objects.filter(slug__in=check.layer_versions)
                  .values_list("slug", "active_version_id"))
    changed = sorted(slug for slug, version in check.layer_versions.items() if active.get(slug) != version)
    if changed:
        reasons.append(f"图层数据已更新: {', '.join(changed)} (layer data changed)")
    if RuleSet.objects.filter(is_active=True).exclude(content_hash=check.ruleset_hash).exists():
        reasons.append("规则集已更新 (the rule set changed)")
    return reasons


_DECISIONS = {Status.PASS: "allowed", Status.INFO: "allowed", Status.WARN: "allowed",
              Status.NEEDS_REVIEW: "needs_review", Status.NOT_COVERED: "needs_review",
              Status.ERROR: "needs_review", Status.FAIL: "blocked"}


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        names = "；".join(f"{s.value} = {s.label}" for s in Project.Stage)
        raise InvalidInput(f"审批阶段 stage “{stage[:20]}” 无效：应为 {', '.join(STAGES)} 之一（{names}）。"
                           f" (Invalid stage '{stage[:20]}': give one of {', '.join(STAGES)}.)",
                           field="stage", valid=STAGES)


def gate_answer(project: Project) -> tuple[str, list[str], Check | None, list[str]]:
    """What the gate would answer for `project` now: (decision, reasons, the check it rests on,
    why that check is stale). Nothing is recorded: `gate` records each answer it gives."""
    site = project.current_site
    check = (Check.objects.filter(site_revision=site).order_by("-created_at").first() if site else None)
    if check is None:
        never = "尚未进行合规性检查，请先检查用地红线。 (No compliance check of the current site.)"
        return "blocked", [never], None, []
    decision = _DECISIONS[Status(check.verdict)]
    reasons = [f"{f.rule.get('title_zh', f.rule_id)}：{f.message_zh}"
               for f in check.findings.exclude(status__in=[Status.PASS, Status.INFO])]
    stale = is_stale(check)
    if stale and decision == "allowed":
        decision = "needs_review"
    return decision, reasons + [f"检查结果已过时：{r}" for r in stale], check, stale


@transaction.atomic
def gate(code: str, stage: str, *, caller: str = "") -> GateDecision:
    """Answer the approval flow: may project `code` be accepted (受理) at `stage` now, and why not.

    No check of the current site yet is `blocked`: there is nothing a reviewer could review, and
    an approval gate that does not know must not let a project through.
    """
    _check_stage(stage)
    project = _project(code or "")
    decision, reasons, check, stale = gate_answer(project)
    answer = GateDecision.objects.create(project_code=project.code, stage=stage, decision=decision,
                                         reasons=reasons, check_result=check, stale=bool(stale),
                                         caller=caller)
    audit.record("gate.decision", target=project.code, actor=caller or None, stage=stage, decision=decision,
                 check=str(check.id) if check else None, stale=bool(stale))
    return answer
