"""项目定位: find a place from what a planner types or pastes.

A unified project code, part of a project name, a district name or code, a coordinate pair
(degrees, or Gauss–Krüger with or without the zone prefix), or a pasted 界址坐标 TXT. Coordinates
go through `layers.crs` and the TXT through the compliance parsers, so the map lands exactly
where a check would.
"""

from __future__ import annotations

import json
import re

import shapely
from django.db.models import Q
from shapely.geometry import Point, mapping

from blueprint.errors import InvalidInput, NotFound
from compliance.parsers import parse_site
from layers import crs
from layers.models import District, Project
from layers.services import districts_at

__all__ = ["locate", "project_result", "MAX_RESULTS"]

MAX_RESULTS = 20
_CODE = re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_POINT_LINE = re.compile(r"^\s*J?\d+\s*,\s*\d+\s*,\s*[\d.]+\s*,\s*[\d.]+\s*$", re.M | re.I)
_DEGREES_NOTE = ("按 经度, 纬度 理解", "read as longitude, latitude")
_SWAPPED_NOTE = ("按 纬度, 经度 理解（第一个数像纬度）",
                 "read as latitude, longitude (the first number looks like a latitude)")


def locate(query: str, *, zone: int | None = None, projects: Q | None = None) -> list[dict]:
    """Return what `query` names, best match first; raise InvalidInput or NotFound saying why not.

    `zone` is the 3° Gauss–Krüger zone for eastings without a prefix; `projects` the filter of
    the projects the caller may see (the access policy decides; None: no projects).
    """
    text = (query or "").strip()
    if not text:
        raise InvalidInput("请输入项目代码、项目名称、行政区或坐标。"
                           " (Type a project code, a project name, a district or coordinates.)", field="q")
    if "[地块坐标]" in text or len(_POINT_LINE.findall(text)) >= 3:
        return [_site_result(text, zone)]
    dms = _dms_pair(text)
    if dms:
        return [_point_result(*dms, zone)]
    numbers = _NUMBER.findall(text)
    if len(numbers) == 2 and not re.search(r"[^\d\s.,;+\-°:=xXyYEeNn()（），；：＝]", text):
        return [_point_result(float(numbers[0]), float(numbers[1]), zone)]
    results = []
    if projects is not None:
        results += _projects(text, projects)
    results += _districts(text)
    results += _places(text)
    if not results:
        hint = ("" if projects is not None
                else "（登录后还可按项目代码、名称查询 sign in to search projects too）")
        raise NotFound(f"没有找到“{text[:40]}”。{hint} (Nothing found for '{text[:40]}'.)", field="q")
    return results[:MAX_RESULTS]


# 116°35'30.5"E, 35°24'36"N; 东经116°35′30″ 北纬35°24′36″; minutes and seconds optional.
_DMS = re.compile(r"(?P<hemi1>[东西南北EWNS]经?纬?)?\s*(?P<d>\d{1,3}(?:\.\d+)?)\s*[°度]\s*"
                  r"(?:(?P<m>\d{1,2}(?:\.\d+)?)\s*['′’分]\s*)?(?:(?P<s>\d{1,2}(?:\.\d+)?)\s*(?:[\"″”]|秒|'')\s*)?"
                  r"(?P<hemi2>[EWNS东西南北])?", re.I)


def _dms_pair(text: str) -> tuple[float, float] | None:
    """Two angles in degrees, minutes and seconds, as (longitude, latitude) when their letters
    say which is which (else in the order given, for `_read_pair` to sort out)."""
    angles = [m for m in _DMS.finditer(text) if m.group("d") and ("°" in m.group(0) or "度" in m.group(0))]
    if len(angles) != 2:
        return None
    values = []
    for match in angles:
        minutes, seconds = float(match.group("m") or 0), float(match.group("s") or 0)
        value = float(match.group("d")) + minutes / 60 + seconds / 3600
        hemi = (match.group("hemi1") or match.group("hemi2") or "").upper()[:1]
        if hemi in ("W", "S", "西", "南"):
            value = -value
        values.append((hemi, value))
    if values[0][0] in ("N", "S", "北", "南") or values[1][0] in ("E", "W", "东", "西"):
        values.reverse()
    return values[0][1], values[1][1]


def _places(text: str) -> list[dict]:
    """Named water (lakes, rivers) of the active water layer whose name contains `text`."""
    from layers.models import Feature, Layer

    layer = Layer.objects.filter(slug="water_body", active_version__isnull=False).first()
    if layer is None or len(text) < 2:
        return []
    rows = (Feature.objects.filter(version_id=layer.active_version_id, properties__MC__icontains=text)
            .order_by("fid")[:MAX_RESULTS])
    out = []
    for row in rows:
        geom = shapely.from_wkb(bytes(row.geom.wkb))
        centre = geom.representative_point()
        out.append({"kind": "place", "title": row.properties.get("MC", ""), "geometry": mapping(geom),
                    "bbox": _bbox(geom), "districts": _district_list(centre.x, centre.y),
                    "note_zh": row.properties.get("LX", ""), "note_en": ""})
    return out


def _bbox(geom) -> list[float]:
    return [round(v, 7) for v in shapely.bounds(geom).tolist()]


def _district_list(lon: float, lat: float) -> list[dict]:
    return [{"code": d.code, "name": d.name, "level": d.level} for d in districts_at(lon, lat)]


def _point_result(first: float, second: float, zone: int | None) -> dict:
    lon, lat, source, note = _read_pair(first, second, zone)
    point = Point(lon, lat)
    result = {"kind": "point", "title": f"{lat:.6f}°N, {lon:.6f}°E", "geometry": mapping(point),
              "bbox": _bbox(point), "districts": _district_list(lon, lat), "source_crs": source,
              "note_zh": note[0], "note_en": note[1]}
    if not result["districts"]:
        result["note_zh"] += "；此处不在任何已登记的行政区内"
        result["note_en"] += "; no registered district contains this point"
    return result


def _read_pair(first: float, second: float, zone: int | None) -> tuple[float, float, str, tuple]:
    west, south, east, north = crs.CHINA_BOUNDS
    if abs(first) <= 180 and abs(second) <= 180:
        if west <= first <= east and south <= second <= north:
            return first, second, "EPSG:4490", _DEGREES_NOTE
        if west <= second <= east and south <= first <= north:
            return second, first, "EPSG:4490", _SWAPPED_NOTE
        raise InvalidInput(f"经纬度 ({first}, {second}) 不在中国范围内：请检查数值与顺序。"
                           f" (Degrees ({first}, {second}) fall outside China: check the values.)", field="q")
    # Surveyors write X (northing) first; tell them apart by size: an easting carries the zone
    # prefix (≥ 10 000 000) or lies within 1 000 000 of the false easting, a northing is ≥ 1 000 000.
    northing, easting = (second, first) if first >= 1e7 or first < 1e6 <= second else (first, second)
    # A zone prefix on the easting wins over the zone the page suggests for plain eastings.
    source = crs.gauss_kruger_from_easting(easting, None if easting >= 1e7 else zone)
    point = crs.to_cgcs2000(Point(easting, northing), source)
    how = "含带号" if source.gk_prefixed else f"按 {source.gk_zone} 带、不含带号"
    note = (f"高斯-克吕格 3° 带 {source.gk_zone} 带（{how}，X={northing:.3f} 北，Y={easting:.3f} 东）",
            f"Gauss–Krüger 3° zone {source.gk_zone}, "
            f"{'zone-prefixed' if source.gk_prefixed else 'no prefix'}"
            f" (X={northing:.3f} N, Y={easting:.3f} E)")
    return point.x, point.y, source.label, note


def _site_result(text: str, zone: int | None) -> dict:
    if "[地块坐标]" not in text:
        # Point lines without the file's sections: read them as one parcel.
        lines = _POINT_LINE.findall(text)
        text = f"[地块坐标]\n{len(lines)},,,,面,,,,@\n" + "\n".join(line.strip() for line in lines)
    # The file's own 带号 wins over the zone the page suggests.
    parsed = parse_site(text, format="txt", zone=None if "带号" in text else zone)
    geom = parsed.geometry
    centre = geom.representative_point()
    area = crs.area_units(crs.ellipsoidal_area_m2(geom))
    return {"kind": "site", "title": "界址坐标地块", "title_en": "Boundary-point parcel",
            "geometry": mapping(geom),
            "bbox": _bbox(geom), "districts": _district_list(centre.x, centre.y),
            "source_crs": parsed.source_crs, "area": area, "warnings": parsed.warnings,
            "note_zh": f"共 {len(shapely.get_parts(geom))} 块，坐标系 {parsed.source_crs}",
            "note_en": f"{len(shapely.get_parts(geom))} part(s), CRS {parsed.source_crs}"}


def project_result(project: Project) -> dict:
    """Describe a project for the map: its current site, where it is, its page."""
    site = project.current_site
    geometry = json.loads(site.geom.geojson) if site else None
    bbox = list(site.geom.extent) if site else (list(project.district.geom.extent)
                                                 if project.district.geom else None)
    return {"kind": "project", "title": project.name, "code": project.code, "geometry": geometry,
            "bbox": bbox, "districts": [{"code": project.district.code, "name": project.district.name,
                                         "level": project.district.level}],
            "area": crs.area_units(site.area_m2) if site else None,
            "revision": site.number if site else None, "url": f"/maps/projects/{project.code}"}


def _projects(text: str, scope: Q) -> list[dict]:
    found = Project.objects.select_related("district").filter(scope)
    if _CODE.match(text):
        found = found.filter(code=text)
    else:
        found = found.filter(name__icontains=text) | found.filter(code__startswith=text)
    return [project_result(p) for p in found.order_by("code")[:MAX_RESULTS]]


def _districts(text: str) -> list[dict]:
    found = District.objects.filter(name__icontains=text) | District.objects.filter(code=text)
    return [{"kind": "district", "title": d.name, "code": d.code,
             "geometry": json.loads(d.geom.geojson) if d.geom else None,
             "bbox": list(d.geom.extent) if d.geom else None,
             "districts": [{"code": d.code, "name": d.name, "level": d.level}]}
            for d in found.order_by("code")[:MAX_RESULTS]]
