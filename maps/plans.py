"""Pages of the plans' data: a version diff and the 多规合一 conflicts, on a map, with downloads.

Adapters like maps/views.py: one call into layers.diffs / layers.conflicts, then a template or a
file. Who may see what: REVIEW_PLANS (blueprint/access_rules.py), the layers' access levels, and a
county planner's districts (the tables and maps hold only their counties).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import shapely
from django.db.models import Q
from django.http import FileResponse
from django.views.decorators.http import require_GET

from blueprint import access as policy
from blueprint.errors import InvalidInput, NotFound
from layers import conflicts, diffs
from layers.models import ConflictPatch, ConflictRule, District, Layer
from layers.services import audit_refused_layer
from layers.versions import get_version
from maps.views import _page, page_errors

__all__ = ["version_diff", "version_diff_download", "conflict_map", "conflict_download", "MAP_LIMIT"]

MAP_LIMIT = 3000  # features drawn on a page; the table and the download hold all of them


def scope_counties(request) -> list[str] | None:
    """The county codes the visitor may see (None: every county, for the city level)."""
    who = policy.principal(request)
    if policy.districts_q(who) == Q():  # the city level files (and sees) everywhere
        return None
    return list(District.objects.filter(policy.districts_q(who), level=District.Level.COUNTY)
                .values_list("code", flat=True))


def _readable_layer(request, slug: str) -> Layer:
    layer = Layer.objects.select_related("active_version").filter(slug=slug).first()
    if layer is None or not policy.can_read_layer(request, layer):
        audit_refused_layer(request, slug)
        raise NotFound(f"没有可查看的图层 “{slug}”。 (No visible layer '{slug}'.)")
    return layer


def _number(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not str(value).isdigit():
        raise InvalidInput(f"{name} 应为版本号（正整数），收到 “{str(value)[:20]}”。"
                           f" ({name} must be a version number.)", field=name)
    return int(value)


def _diff(request, slug: str) -> diffs.VersionDiff:
    layer = _readable_layer(request, slug)
    after_no = _number(request.GET.get("to"), "to") or (layer.active_version.number
                                                         if layer.active_version_id else None)
    before_no = _number(request.GET.get("from"), "from") or (after_no - 1 if after_no else None)
    if not before_no or not after_no:
        raise InvalidInput("请用 ?from=旧版本号&to=新版本号 指定要比较的两个版本。"
                           " (Give ?from=&to= version numbers.)", field="from")
    _, before = get_version(slug, before_no)
    _, after = get_version(slug, after_no)
    policy.record_layer_read(request, layer)
    return diffs.diff_versions(layer, before, after, counties=scope_counties(request))


_STYLE = "conflict"  # the page's CSS colours each kind by its class


@require_GET
@page_errors
def version_diff(request, slug: str):
    """版本比较: what changed between two versions of a layer, per county, on the map."""
    diff = _diff(request, slug)
    rows = diffs.diff_geometries(diff, limit=MAP_LIMIT)
    highlight = [{"geometry": shapely.geometry.mapping(row["geometry"]), "style": _STYLE,
                  "className": f"bp-diff bp-diff-{row['change']}"} for row in rows]
    query = f"from={diff.before.number}&to={diff.after.number}"
    context = {"diff": diff, "shown": len(rows), "total": len(diff.items), "query": query,
               "counts": {c: diff.count(c) for c in ("added", "removed", "changed")},
               "versions": diff.layer.versions.order_by("-number")}
    return _page(request, "maps/version_diff.html", "version-diff", context, highlight=highlight, fit=True)


def _file_response(path: Path, folder: tempfile.TemporaryDirectory, name: str, content_type: str):
    response = FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type=content_type)
    response._resource_closers.append(folder.cleanup)  # the folder goes when the file is sent
    return response


@require_GET
@page_errors
def version_diff_download(request, slug: str, fmt: str):
    """The diff's features as GeoPackage or GeoJSON (EPSG:4490)."""
    if fmt not in diffs.DOWNLOAD_FORMATS:
        raise InvalidInput(f"不支持的下载格式 “{fmt[:10]}”，应为 gpkg 或 geojson。 (Use gpkg or geojson.)")
    diff = _diff(request, slug)
    folder = tempfile.TemporaryDirectory()
    name = f"{slug}_v{diff.before.number}_v{diff.after.number}_diff.{fmt}"
    path = diffs.write_diff(diff, Path(folder.name) / name, fmt)
    return _file_response(path, folder, name, diffs.DOWNLOAD_FORMATS[fmt][1])


def _rules(request) -> list[ConflictRule]:
    """The enabled conflict rules whose two layers the visitor may read."""
    rules = ConflictRule.objects.filter(enabled=True).select_related("layer_a", "layer_b")
    return [r for r in rules if policy.can_read_layer(request, r.layer_a)
            and policy.can_read_layer(request, r.layer_b)]


def _chosen(request, rules: list[ConflictRule]) -> ConflictRule | None:
    slug = request.GET.get("rule")
    if not slug:
        return rules[0] if rules else None
    found = next((r for r in rules if r.slug == slug), None)
    if found is None:
        raise NotFound(f"没有可查看的冲突类型 “{slug[:64]}”。 (No visible conflict rule '{slug[:64]}'.)")
    return found


@require_GET
@page_errors
def conflict_map(request):
    """多规合一冲突: conflict patches of one rule on the map, and every rule's areas per county."""
    rules = _rules(request)
    rule = _chosen(request, rules)
    counties = scope_counties(request)
    county = request.GET.get("county") or None
    if county and counties is not None and county not in counties:
        raise NotFound(f"无权查看行政区 {county[:12]}。 (Not your district.)")
    table = conflicts.conflict_areas_by_county(rules=[r.slug for r in rules], counties=counties)
    patches = ConflictPatch.objects.none()
    if rule is not None:
        patches = rule.patches.order_by("-area_m2")
        if county or counties is not None:
            patches = patches.filter(district_id__in=[county] if county else counties)
    shown = list(patches[:MAP_LIMIT])
    for r in (rule.layer_a, rule.layer_b) if rule else ():
        policy.record_layer_read(request, r)
    highlight = [{"geometry": shapely.geometry.mapping(shapely.from_wkb(bytes(p.geom.wkb))),
                  "style": _STYLE, "className": "bp-conflict-patch"} for p in shown]
    context = {"rules": rules, "rule": rule, "table": table, "county": county,
               "patches": shown[:200], "shown": len(shown), "total": patches.count()}
    return _page(request, "maps/conflicts.html", "conflicts", context, highlight=highlight, fit=True)


@require_GET
@page_errors
def conflict_download(request, fmt: str):
    """One rule's conflict patches (?rule=, ?county=) as GeoPackage or GeoJSON."""
    if fmt not in diffs.DOWNLOAD_FORMATS:
        raise InvalidInput(f"不支持的下载格式 “{fmt[:10]}”，应为 gpkg 或 geojson。 (Use gpkg or geojson.)")
    rules = _rules(request)
    rule = _chosen(request, rules)
    if rule is None:
        raise NotFound("没有可查看的冲突类型。 (No visible conflict rule.)")
    counties = scope_counties(request)
    county = request.GET.get("county") or None
    if county:
        if counties is not None and county not in counties:
            raise NotFound(f"无权查看行政区 {county[:12]}。 (Not your district.)")
        counties = [county]
    policy.record_layer_read(request, rule.layer_a)
    policy.record_layer_read(request, rule.layer_b)
    folder = tempfile.TemporaryDirectory()
    name = f"conflicts_{rule.slug}{'_' + county if county else ''}.{fmt}"
    path = conflicts.write_patches(Path(folder.name) / name, rule=rule, counties=counties, fmt=fmt)
    return _file_response(path, folder, name, diffs.DOWNLOAD_FORMATS[fmt][1])
