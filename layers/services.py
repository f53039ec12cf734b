"""The registry's services: plain functions over the models, callable without HTTP."""

from __future__ import annotations

import hashlib
from pathlib import Path

import shapely
import yaml
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ValidationError
from django.db import transaction

from blueprint import access, audit, events
from blueprint.errors import InvalidInput, NotFound
from layers import crs
from layers.codes import parse_unified_project_code
from layers.models import District, Feature, Layer, LayerVersion, Project, SiteRevision

__all__ = [
    "ensure_seed_layers",
    "register_layer",
    "layer_summaries",
    "on_version_activated",
    "district_by_code",
    "districts_at",
    "create_project",
    "add_site_revision",
    "district_mismatch",
    "audit_refused_layer",
]

SEED_FILE = Path(__file__).with_name("seed_layers.yaml")
DISTRICT_LAYER = "admin_district"


def ensure_seed_layers() -> list[Layer]:
    """Register the layers every blueprint starts with (existing entries are left as they are)."""
    from layers.conflicts import ensure_default_rules
    from layers.quality.runner import install_default_rules  # the quality package reads these services

    layers = []
    for entry in yaml.safe_load(SEED_FILE.read_text(encoding="utf-8")):
        layer, created = register_layer(**entry)
        if created:
            install_default_rules(layer)
        layers.append(layer)
    ensure_default_rules()
    return layers


def register_layer(slug: str, title_zh: str, title_en: str, **attrs) -> tuple[Layer, bool]:
    """Register a layer (a new control line is a registration plus an import, no migration)."""
    layer = Layer(slug=slug, title_zh=title_zh, title_en=title_en, **attrs)
    try:
        layer.full_clean(exclude=["active_version"], validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput(f"图层登记信息有误: {exc.message_dict} (Invalid layer entry.)") from exc
    layer, created = Layer.objects.get_or_create(slug=slug, defaults={
        "title_zh": title_zh, "title_en": title_en, **attrs})
    if created:
        audit.record("layer.register", target=slug, access_level=layer.access_level, kind=layer.kind)
    return layer, created


def layer_summaries() -> list[dict]:
    """List the registered layers with their active versions, for pages and APIs."""
    rows = []
    for layer in Layer.objects.select_related("active_version").order_by("slug"):
        version = layer.active_version
        rows.append({
            "slug": layer.slug, "title_zh": layer.title_zh, "title_en": layer.title_en,
            "access_level": layer.access_level, "kind": layer.kind,
            "version": version.number if version else None,
            "features": version.feature_count if version else 0,
            "imported_at": version.created_at if version else None,
        })
    return rows


def on_version_activated(layer: Layer, version: LayerVersion) -> None:
    """Keep derived tables in step with a newly active version (inside its transaction)."""
    if layer.slug == DISTRICT_LAYER:
        _rebuild_districts(version)
    events.send(events.version_activated, layer=layer, version=version)


_LEVELS = {"省": District.Level.PROVINCE, "市": District.Level.CITY, "县": District.Level.COUNTY,
           "乡": District.Level.TOWNSHIP, "镇": District.Level.TOWNSHIP}


def _rebuild_districts(version: LayerVersion) -> None:
    features = list(Feature.objects.filter(version=version).only("properties", "geom"))
    seen = {}
    for feature in features:
        props = feature.properties
        code = str(props.get("XZQDM") or "").strip()
        if not code:
            raise InvalidInput(f"行政区划要素 {feature.fid} 缺少 XZQDM。 (District without XZQDM.)")
        seen[code] = District(
            code=code, name=props.get("XZQMC") or code,
            level=_LEVELS.get(str(props.get("JB") or "")[:1], _level_from_code(code)),
            geom=feature.geom if feature.geom.geom_type == "MultiPolygon" else None)
    District.objects.bulk_create(
        seen.values(), update_conflicts=True, unique_fields=["code"],
        update_fields=["name", "level", "geom"])
    for feature in features:
        parent = str(feature.properties.get("SJXZQDM") or "")
        code = str(feature.properties["XZQDM"])
        if parent and parent != code:
            if not District.objects.filter(code=parent).exists():
                District.objects.create(code=parent, name=parent, level=_level_from_code(parent))
            District.objects.filter(code=code).update(parent_id=parent)


def _level_from_code(code: str) -> str:
    if code.endswith("0000"):
        return District.Level.PROVINCE
    if code.endswith("00"):
        return District.Level.CITY
    return District.Level.COUNTY if len(code) == 6 else District.Level.TOWNSHIP


def district_by_code(code: str) -> District:
    """Return the district with a GB/T 2260 code, or raise NotFound."""
    district = District.objects.filter(code=str(code).strip()).first()
    if district is None:
        raise NotFound(f"未知的行政区划代码 “{code}”。 (Unknown district code '{code}'.)")
    return district


def districts_at(lon: float, lat: float) -> list[District]:
    """Return the districts containing a CGCS2000 point, largest level first."""
    point = Point(lon, lat, srid=4490)
    order = [District.Level.PROVINCE, District.Level.CITY, District.Level.COUNTY,
             District.Level.TOWNSHIP]
    found = list(District.objects.filter(geom__contains=point))
    return sorted(found, key=lambda d: order.index(d.level))


def create_project(*, code: str, name: str, applicant: str, project_type: str | None = None,
                   stage: str = "1", category: str = Project.Category.URBAN) -> Project:
    """Create a project after checking its unified project code against known districts."""
    try:
        parsed = parse_unified_project_code(code)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], field="code") from exc
    district = District.objects.filter(code=parsed.region).first()
    if district is None:
        raise InvalidInput(
            f"统一项目代码中的区划码 {parsed.region} 不是已知的行政区划。"
            f" (Region code {parsed.region} in the project code is not a known district.)",
            field="code")
    if Project.objects.filter(code=str(parsed)).exists():
        raise InvalidInput(f"项目 {parsed} 已存在。 (Project {parsed} exists already.)", field="code")
    project = Project.objects.create(
        code=str(parsed), name=name, applicant=applicant,
        project_type=project_type or parsed.project_type, stage=stage, category=category,
        district=district)
    audit.record("project.create", target=project.code, name=name, applicant=applicant,
                 district=district.code)
    return project


def district_mismatch(project: Project, geom_cgcs2000: shapely.Geometry) -> str | None:
    """Say when a site lies (partly) outside the district of its project's code, else None.

    A wrong Gauss–Krüger zone or a mistyped region code shows up here first.
    """
    district = project.district
    if district.geom is None:
        return None
    boundary = shapely.from_wkb(bytes(district.geom.wkb))
    outside = shapely.difference(geom_cgcs2000, boundary)
    if outside.is_empty or outside.area <= 1e-9 * geom_cgcs2000.area:
        return None
    share = crs.ellipsoidal_area_m2(outside) / crs.ellipsoidal_area_m2(geom_cgcs2000)
    return (f"用地红线有 {share:.1%} 位于项目所属行政区 {district.name}（{district.code}）之外："
            f"请核对统一项目代码中的区划码，或坐标的带号与坐标系。"
            f" ({share:.1%} of the site lies outside {district.code}, the district of the project"
            f" code: check the code's region, or the coordinates' zone and CRS.)")


def geometry_hash(geom: shapely.Geometry) -> str:
    """Hash a normalised geometry, so that the same site drawn twice is recognised.

    A polygon hashes as the one-part multipolygon it is stored as.
    """
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return hashlib.sha256(shapely.to_wkb(shapely.normalize(geom), output_dimension=2)).hexdigest()


@transaction.atomic
def add_site_revision(project: Project, geom_cgcs2000: shapely.Geometry, *, source_format: str = "",
                      source_crs: str = "EPSG:4490", note: str = "") -> SiteRevision:
    """Add a site boundary revision (a polygon or multipolygon in EPSG:4490)."""
    if geom_cgcs2000.geom_type == "Polygon":
        geom_cgcs2000 = shapely.MultiPolygon([geom_cgcs2000])
    if geom_cgcs2000.geom_type != "MultiPolygon" or not geom_cgcs2000.is_valid:
        raise InvalidInput("用地红线必须是有效的面。 (A site must be a valid polygon.)")
    project = Project.objects.select_for_update().get(pk=project.pk)
    last = project.site_revisions.order_by("-number").values_list("number", flat=True).first()
    revision = SiteRevision.objects.create(
        project=project, number=(last or 0) + 1,
        geom=GEOSGeometry(memoryview(geom_cgcs2000.wkb), srid=4490),
        area_m2=crs.ellipsoidal_area_m2(geom_cgcs2000), source_format=source_format,
        source_crs=source_crs, geometry_hash=geometry_hash(geom_cgcs2000), note=note)
    audit.record("site.revise", target=project.code, revision=revision.number,
                 area_m2=round(revision.area_m2, 2), geometry_hash=revision.geometry_hash, note=note)
    events.send(events.site_revised, revision=revision)
    return revision


def audit_refused_layer(request, slug: str) -> None:
    """Audit a refused read after a 404: when `slug` names a layer the caller may not read (and not
    a layer that is merely missing, or an item missing from a layer they may read)."""
    layer = Layer.objects.filter(slug=slug).values("slug", "access_level").first()
    if layer is not None and not access.can_read_layer(request, layer):
        audit.refused(404, target=f"layer:{slug}", request=request,
                      reason=f"{layer['access_level']} layer")
