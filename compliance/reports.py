"""The check report (建设项目用地合规性检查报告): an HTML page, its PDF, and its verification.

Everything the report shows is read from the stored, immutable check; the PDF is rendered with
WeasyPrint from the same HTML, with no network access. A printed report carries the check's
result hash, which `verify` recomputes from the stored findings.
"""

from __future__ import annotations

import hmac
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import shapely
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from blueprint.pdf import html_to_pdf
from compliance import services
from compliance.mapsvg import site_map_svg
from compliance.models import Check, Finding, Status
from layers.crs import area_units
from layers.models import LayerVersion, Project
from layers.services import geometry_hash
from layers.styles import labelled_attributes

__all__ = ["report_context", "render_report_html", "render_report_pdf", "html_to_pdf", "verify",
           "STATUS_LABELS"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_FEATURE_ROWS = 20
CSS_FILE = Path(__file__).parent / "static" / "compliance" / "report.css"
STATUS_LABELS = {
    Status.PASS: ("通过", "Pass"),
    Status.INFO: ("提示", "Info"),
    Status.WARN: ("警告", "Warning"),
    Status.NEEDS_REVIEW: ("需人工复核", "Needs review"),
    Status.NOT_COVERED: ("数据未覆盖", "Not covered by the data"),
    Status.ERROR: ("检查出错", "Check error"),
    Status.FAIL: ("不通过", "Fail"),
}
FORMAT_LABELS = {"geojson": "GeoJSON", "wkt": "WKT", "txt": "界址点坐标 TXT", "shapefile": "Shapefile",
                 "kml": "KML", "dxf": "CAD (DXF)", "stored": "已登记用地红线"}
# The area a finding is about, by the measure the engine wrote: (area key, share key, label).
AREA_MEASURES = [("overlap", "share", "占用面积"), ("outside", "outside_share", "界外面积"),
                 ("area_within", "share_within", "缓冲区内面积"), ("outside_coverage", None, "未覆盖面积")]


def verify(check: Check, claimed_hash: str) -> bool:
    """Say whether `claimed_hash` is the result hash of `check` as recomputed from what is stored."""
    recomputed = services.recompute_result_hash(check)
    site_intact = geometry_hash(shapely.from_wkb(bytes(check.geom.wkb))) == check.input_hash
    claimed = (claimed_hash or "").strip().lower().encode()
    return (site_intact and hmac.compare_digest(recomputed.encode(), check.result_hash.encode())
            and hmac.compare_digest(recomputed.encode(), claimed))


def render_report_html(check: Check, request=None) -> str:
    """Render the report as a self-contained HTML page (inline CSS and SVG, no external files)."""
    with translation.override("zh-hans"):
        return render_to_string("compliance/report.html", report_context(check, request))


def render_report_pdf(check: Check, request=None) -> bytes:
    """Render the report as PDF; nothing is fetched over the network."""
    return html_to_pdf(render_report_html(check, request))


def report_context(check: Check, request=None) -> dict:
    """Gather everything the report shows, formatted for officials (m², 亩, 公顷, Beijing time)."""
    links = services.check_links(check.id)
    verify_path = f"{links['verify']}?hash={check.result_hash}"
    map_path = f"/maps/checks/{check.id}"
    stored = check.findings.select_related("layer_version__layer").order_by("order")
    with translation.override("zh-hans"):
        findings = [_finding_row(f) for f in stored]
        return {
            "check": check,
            "verdict": _status(check.verdict),
            "project": _project(check),
            "category": str(Project.Category(check.category).label),
            "site": _site(check),
            # Built from numbers and escaped labels only; 420 px high keeps it on the first A4 page.
            "map_svg": mark_safe(site_map_svg(check, width=720, height=420)),
            "findings": findings,
            "issues": [f for f in findings if f["status"]["value"] not in (Status.PASS, Status.INFO)],
            "layers": _layers(check),
            "ruleset": {"name": check.ruleset.name, "version": check.ruleset.version,
                        "hash": check.ruleset_hash},
            "checked_at": _local(check.created_at),
            "generated_at": _local(timezone.now()),
            "duration_ms": f"{check.duration_ms:,.1f}",
            "verify_url": request.build_absolute_uri(verify_path) if request else verify_path,
            "pdf_url": links["report_pdf"],
            # The map pages' result page (maps/), named by path: compliance does not import maps.
            "map_url": request.build_absolute_uri(map_path) if request else map_path,
            "verified": verify(check, check.result_hash),
            "stale": services.is_stale(check),
            "css": mark_safe(_stylesheet()),
        }


@cache
def _stylesheet() -> str:
    return CSS_FILE.read_text(encoding="utf-8")


def _status(value: str) -> dict:
    zh, en = STATUS_LABELS[Status(value)]
    return {"value": value, "zh": zh, "en": en}


def _local(moment, zone_note: bool = True) -> str:
    text = timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}（北京时间）" if zone_note else text


def _project(check: Check) -> dict | None:
    project = check.project
    if project is None:
        return None
    return {"code": project.code, "name": project.name, "applicant": project.applicant,
            "stage": project.get_stage_display(), "category": project.get_category_display(),
            "type": project.get_project_type_display(), "district": project.district.name,
            "revision": check.site_revision.number if check.site_revision else None}


def _site(check: Check) -> dict:
    return {"area": _areas(check.site_area_m2), "hectare": f"{check.site_area_m2 / 10_000:,.4f}",
            "format": FORMAT_LABELS.get(check.input_format, check.input_format),
            "crs": check.source_crs, "repair": check.repair, "warnings": check.warnings}


def _areas(square_metres: float) -> dict:
    units = area_units(square_metres)
    return {"m2": f"{units['m2']:,.2f}", "mu": f"{units['mu']:,.4f}"}


def _share(share: float | None) -> str:
    if share is None:
        return "—"
    if 0 < share < 0.0001:
        return "< 0.01%"
    return f"{share:.2%}"


def _limits(limits: dict | None) -> str:
    if not limits:
        return "—"
    return f"≤ {limits.get('area_m2', 0):g} 平方米 且 ≤ {_share(limits.get('share', 0))}"


def _finding_row(finding: Finding) -> dict:
    """Turn one stored finding into the rows and sentences the report prints."""
    rule, measures = finding.rule, finding.measures
    version = finding.layer_version
    return {
        "number": finding.order + 1,
        "title_zh": rule.get("title_zh", finding.rule_id), "title_en": rule.get("title_en", ""),
        "status": _status(finding.status),
        "message_zh": finding.message_zh, "message_en": finding.message_en,
        "layer": f"{version.layer.title_zh} 第 {version.number} 版" if version else finding.layer,
        "area": _finding_area(measures),
        "distance": _distance(measures),
        "features": [_feature_row(f, version.layer.field_labels if version else None)
                     for f in finding.features[:MAX_FEATURE_ROWS]],
        "features_total": len(finding.features),
        "features_more": len(finding.features) > MAX_FEATURE_ROWS,
        "guidance_zh": rule.get("guidance_zh", ""), "guidance_en": rule.get("guidance_en", ""),
        "legal_basis": rule.get("legal_basis", ""), "department": rule.get("department", ""),
        "tolerance": _limits(rule.get("tolerance")), "review_band": _limits(rule.get("review_band")),
        "required_distance": rule.get("distance_m"),
        "condition": rule.get("condition_zh") or rule.get("condition"),  # in words where the rule has them
        "exception": _exception(measures.get("exception")),
    }


def _exception(exception: dict | None) -> dict | None:
    if not exception:
        return None
    return {"status_without": _status(exception["status_without"]), "note_zh": exception.get("note_zh", "")}


def _finding_area(measures: dict) -> dict | None:
    for key, share_key, label in AREA_MEASURES:
        if key in measures:
            share = measures.get(share_key) if share_key else None
            return {"label": label, **_areas(measures[key]["m2"]), "share": _share(share)}
    return None


def _distance(measures: dict) -> str:
    if "closest_m" in measures:
        return f"{measures['closest_m']:,.1f} 米"
    if "nearest" in measures:
        return f"{measures['nearest']['distance_m']:,.1f} 米"
    return "—"


def _feature_row(feature: dict, labels: dict | None = None) -> dict:
    known = {k: v for k, v in feature.get("attributes", {}).items() if v not in (None, "")}
    # In the layer's Chinese field names, values formatted (layers/styles.py), as the map's popup.
    attributes = "；".join(f"{label} {value}" for label, value in labelled_attributes(known, labels))
    overlap = feature.get("overlap") or {}
    row = {"fid": feature.get("fid"), "attributes": attributes or "—",
           "share": _share(feature.get("share_of_site")),
           "distance": f"{feature['distance_m']:,.1f} 米" if "distance_m" in feature else "—"}
    row.update(_areas(overlap["m2"]) if overlap else {"m2": "—", "mu": "—"})
    return row


def _layers(check: Check) -> list[dict]:
    """Describe the data vintage of every layer version the check read."""
    versions = LayerVersion.objects.select_related("layer").in_bulk(list(check.layer_versions.values()))
    rows = []
    for slug, version_id in check.layer_versions.items():
        version = versions.get(version_id)
        if version is None:  # versions are protected from deletion; this would be a corrupt record
            rows.append({"slug": slug, "title": slug, "number": "?", "source": "（版本记录缺失）"})
            continue
        rows.append({"slug": slug, "title": version.layer.title_zh, "number": version.number,
                     "source": version.source_name, "source_crs": version.source_crs,
                     "imported_at": _local(version.created_at, zone_note=False),
                     "features": f"{version.feature_count:,}", "hash": version.content_hash[:12]})
    return rows
