"""What the map pages read: layer features by bounding box, generalised for the zoom level.

Plain functions over the models, callable without HTTP; the views are thin adapters.
"""

from __future__ import annotations

import json
import math

from django.contrib.gis.geos import Polygon
from django.db.models import F, Func, Q, TextField

from blueprint.errors import InvalidInput, NotFound
from compliance.services import check_links
from layers.models import Feature, Layer, Project

__all__ = ["parse_bbox", "features_in_bbox", "initial_bounds", "jurisdiction_bounds", "home_zone",
           "check_payload", "project_sites_in_bbox", "MAX_FEATURES"]

MAX_FEATURES = 2000
# Leaflet's Web-Mercator zoom 0 spans 360° in 256 px; a vertex closer than half a pixel is noise.
_DEGREES_PER_PIXEL_Z0 = 360 / 256
_MAX_BBOX_DEGREES = 20.0


def parse_bbox(text: str | None) -> tuple[float, float, float, float]:
    """Read `west,south,east,north` in degrees (CGCS2000 lon/lat), or raise InvalidInput."""
    try:
        west, south, east, north = (float(v) for v in (text or "").split(","))
    except ValueError as exc:
        raise InvalidInput("bbox 应为 西,南,东,北 四个经纬度数值，例如 bbox=116.4,35.3,116.7,35.5。"
                           " (bbox must be west,south,east,north in degrees.)", field="bbox") from exc
    if not (all(map(math.isfinite, (west, south, east, north))) and west < east and south < north):
        raise InvalidInput("bbox 的西边应小于东边、南边应小于北边。"
                           " (bbox needs west < east and south < north.)", field="bbox")
    if east - west > _MAX_BBOX_DEGREES or north - south > _MAX_BBOX_DEGREES:
        raise InvalidInput(f"bbox 过大（每边不超过 {_MAX_BBOX_DEGREES:g}°），请放大地图。"
                           f" (bbox too large: at most {_MAX_BBOX_DEGREES:g}° a side.)", field="bbox")
    return max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0)


def _tolerance(zoom: int) -> float:
    return _DEGREES_PER_PIXEL_Z0 / 2 ** zoom / 2


def features_in_bbox(layer: Layer, bbox: tuple[float, float, float, float], zoom: int,
                     limit: int = MAX_FEATURES) -> dict:
    """Return the active version's features meeting `bbox` as a GeoJSON FeatureCollection.

    Geometries are simplified to half a screen pixel at `zoom` (topology kept, so a patch never
    vanishes into a line), coordinates rounded to what the zoom can show; at most `limit`
    features, and `truncated` says when more were there.
    """
    version = layer.active_version
    if version is None:
        raise NotFound(f"图层 {layer.slug} 尚无数据。 (Layer {layer.slug} has no data yet.)")
    zoom = max(0, min(int(zoom), 22))
    digits = max(5, min(8, zoom // 3 + 3))
    simplified = Func(F("geom"), _tolerance(zoom), function="ST_SimplifyPreserveTopology")
    rows = (Feature.objects.filter(version_id=version.pk, geom__bboverlaps=Polygon.from_bbox(bbox))
            .annotate(shape=Func(simplified, digits, function="ST_AsGeoJSON", output_field=TextField()))
            .order_by("fid").values_list("fid", "properties", "area_m2", "shape")[:limit + 1])
    rows = list(rows)
    features = [{"type": "Feature", "id": fid, "geometry": json.loads(shape),
                 "properties": {**properties, "_area_m2": area}}
                for fid, properties, area, shape in rows[:limit]]
    return {"type": "FeatureCollection", "layer": layer.slug, "version": version.number,
            "zoom": zoom, "truncated": len(rows) > limit, "features": features}


def initial_bounds(layers: list[Layer]) -> list[float] | None:
    """The box a map opens on: the districts' extent, else all visible layers' together."""
    extents = [layer.active_version.extent.extent for layer in layers
               if layer.active_version and layer.active_version.extent and layer.slug == "admin_district"]
    extents = extents or [layer.active_version.extent.extent for layer in layers
                          if layer.active_version and layer.active_version.extent]
    if not extents:
        return None
    return [min(e[0] for e in extents), min(e[1] for e in extents),
            max(e[2] for e in extents), max(e[3] for e in extents)]


def _extent(queryset) -> list[float] | None:
    from django.contrib.gis.db.models import Extent

    box = queryset.aggregate(box=Extent("geom"))["box"]
    return list(box) if box else None


def jurisdiction_bounds(districts: tuple[str, ...], projects: Q | None,
                        own_projects: bool) -> list[float] | None:
    """The box a person's map opens on: where their work is.

    `districts` are the GB/T 2260 codes of their profile (a city's code covers the city, a county's
    the county); `projects` the filter of the projects they may see. An applicant (`own_projects`)
    opens on the current sites of their projects, else on their districts; staff on their
    districts. None when neither says anything (the caller falls back to every district)."""
    from django.db.models import OuterRef, Subquery

    from layers.models import District, SiteRevision

    if own_projects and projects is not None:
        latest = (SiteRevision.objects.filter(project=OuterRef("project")).order_by("-number")
                  .values("number")[:1])
        own = Project.objects.filter(projects).values("pk")
        sites = SiteRevision.objects.filter(number=Subquery(latest), project__in=own)
        box = _extent(sites)
        if box:
            return _padded(box)
    if districts:
        return _extent(District.objects.filter(code__in=list(districts), geom__isnull=False))
    return None


def home_zone(districts: tuple[str, ...], bounds: list[float] | None) -> int | None:
    """The 3° Gauss–Krüger zone of the first of `districts` (a person's own), else of the centre of
    `bounds`: the zone a surveyor of that district writes coordinates in."""
    from layers.models import District

    first = District.objects.filter(code=districts[0]).exclude(geom=None).first() if districts else None
    if first is not None:
        return round(first.geom.point_on_surface.x / 3)
    return round((bounds[0] + bounds[2]) / 2 / 3) if bounds else None


def _padded(box: list[float], share: float = 0.15, least: float = 0.01) -> list[float]:
    """Grow a box by a share of its size (at least `least` degrees), so sites are not at the edge."""
    dx, dy = max((box[2] - box[0]) * share, least), max((box[3] - box[1]) * share, least)
    return [box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy]


def check_payload(check) -> dict:
    """A stored check as the page script draws it: verdict, site, findings with their conflicts."""
    from compliance.guidance import next_steps
    from layers.crs import area_units

    said = ("title_en", "guidance_zh", "guidance_en", "legal_basis", "department")  # what the PDF says too
    findings = [{"rule_id": f.rule_id, "title_zh": f.rule.get("title_zh", f.rule_id), "rule": {
                     key: f.rule.get(key, "") for key in said}, "layer": f.layer, "status": f.status,
                 "message_zh": f.message_zh, "message_en": f.message_en, "measures": f.measures,
                 "conflict": json.loads(f.conflict_geom.geojson) if f.conflict_geom else None}
                for f in check.findings.order_by("order")]
    links = check_links(check.id)
    return {"id": str(check.id), "verdict": check.verdict, "site": json.loads(check.geom.geojson),
            "site_area": area_units(check.site_area_m2), "warnings": check.warnings, "findings": findings,
            "next_steps": next_steps(check),
            "links": {"report_pdf": links["report_pdf"], "report_html": links["report_html"],
                      "page": f"/maps/checks/{check.id}"}}


def project_sites_in_bbox(bbox: tuple[float, float, float, float], zoom: int, scope: Q,
                          limit: int = MAX_FEATURES) -> dict:
    """Return the current sites (latest revisions) of the projects in `scope` (a filter over Project)
    meeting `bbox`, as GeoJSON."""
    from django.db.models import OuterRef, Subquery

    from layers.models import SiteRevision

    zoom = max(0, min(int(zoom), 22))
    latest = SiteRevision.objects.filter(project=OuterRef("project")).order_by("-number").values("number")[:1]
    simplified = Func(F("geom"), _tolerance(zoom), function="ST_SimplifyPreserveTopology")
    in_scope = Project.objects.filter(scope).values("pk")
    rows = list(SiteRevision.objects.filter(geom__bboverlaps=Polygon.from_bbox(bbox), number=Subquery(latest),
                                            project__in=in_scope)
                .annotate(shape=Func(simplified, 7, function="ST_AsGeoJSON", output_field=TextField()))
                .select_related("project__district").order_by("project__code")[:limit + 1])
    features = [{"type": "Feature", "id": row.project.code, "geometry": json.loads(row.shape),
                 "properties": {"XMDM": row.project.code, "XMMC": row.project.name,
                               "JSDW": row.project.applicant,
                                "XZQMC": row.project.district.name, "JD": row.project.get_stage_display(),
                                "revision": row.number, "_area_m2": row.area_m2,
                                "_url": f"/maps/projects/{row.project.code}"}}
                for row in rows[:limit]]
    return {"type": "FeatureCollection", "layer": "project_site", "zoom": zoom,
            "truncated": len(rows) > limit, "features": features}
