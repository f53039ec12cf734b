"""The site map of a check report (用地红线与管控线套合图): SVG drawn here, offline.

No tiles, no plotting library, no network: the site, the control-line features of the exact
layer versions the check used and the conflicts are read from the database and written as paths.
Lon/lat are drawn with a local equirectangular scaling (cos of the mid-latitude), which keeps
shapes true at the scale of a site.
"""

from __future__ import annotations

import html
import math
from typing import NamedTuple

import numpy as np
import shapely
from django.contrib.gis.geos import Polygon as GeosPolygon

from compliance.models import Check, Status
from layers.crs import geodesic_distance_m
from layers.models import Feature, Layer
from layers.styles import layer_style

__all__ = ["site_map_svg", "view_map_svg", "svg_style"]

LEGEND_WIDTH = 170
MARGIN = 1.5  # the view spans the site's extent times this
# Enough to show the surroundings; a denser area is drawn in part (the findings table is the record).
MAX_FEATURES_PER_LAYER = 3000
FONT = 'font-family="Noto Sans CJK SC, sans-serif"'
SITE_STYLE = 'fill="none" stroke="#d0021b" stroke-width="2.6" stroke-dasharray="9 4"'
SITE_HALO = 'fill="none" stroke="#ffffff" stroke-width="4.6" stroke-opacity="0.9"'
# Conflicts get a broad translucent edge so that a sliver thinner than a pixel still shows.
CONFLICT_STYLE = ('fill="url(#hatch-conflict)" stroke="#d0021b" stroke-width="4" stroke-opacity="0.6" '
                  'stroke-linejoin="round"')
OUTSIDE_STYLE = 'fill="url(#hatch-outside)" stroke="#7b3fa0" stroke-width="1.2"'
NOT_COVERED_STYLE = 'fill="url(#hatch-grey)" stroke="#6b7280" stroke-width="1"'
# The layers are drawn in their map style (layers/styles.py: the page, its legend and this map
# alike), in the style's drawing order; a pattern per hatched layer.
_HATCH_ANGLES = {"diagonal": 45, "cross": 45, "horizontal": 0, "vertical": 90}
DEFS = """<defs>{layer_patterns}
<pattern id="hatch-conflict" width="5" height="5" patternUnits="userSpaceOnUse"
 patternTransform="rotate(-45)"><rect width="5" height="5" fill="#d0021b" fill-opacity="0.25"/>
<line x1="0" y1="0" x2="0" y2="5" stroke="#d0021b" stroke-width="2"/></pattern>
<pattern id="hatch-outside" width="6" height="6" patternUnits="userSpaceOnUse"
 patternTransform="rotate(45)"><rect width="6" height="6" fill="#7b3fa0" fill-opacity="0.12"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#7b3fa0" stroke-width="1.3"/></pattern>
<pattern id="hatch-grey" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<line x1="0" y1="0" x2="0" y2="6" stroke="#6b7280" stroke-width="1.2"/></pattern>
<clipPath id="map-clip"><rect x="0" y="0" width="{w}" height="{h}"/></clipPath>
</defs>"""


class _Frame(NamedTuple):
    """Where the map looks and how lon/lat become pixels (local equirectangular)."""

    lon0: float
    lat0: float
    cos_lat: float
    scale: float  # pixels per degree of latitude
    width: int
    height: int
    bbox: tuple[float, float, float, float]  # the view in lon/lat


class _Group(NamedTuple):
    style: str
    css_class: str
    label: str
    geoms: list


def site_map_svg(check: Check, width: int = 720, height: int = 480) -> str:
    """Draw the site of `check`, the control lines around it and its conflicts, as an SVG string."""
    site = shapely.from_wkb(bytes(check.geom.wkb))
    map_w = width - LEGEND_WIDTH
    frame = _frame(site.bounds, map_w, height)
    rows = Layer.objects.filter(slug__in=check.layer_versions).values_list("slug", "title_zh", "style")
    titles = {slug: title for slug, title, _ in rows}
    styles = {slug: layer_style(slug, stored) for slug, _, stored in rows}
    styles.update({slug: layer_style(slug) for slug in check.layer_versions if slug not in styles})
    slugs = sorted(check.layer_versions, key=lambda s: (styles[s]["order"], s))
    svg = {slug: svg_style(slug, styles[slug]) for slug in slugs}
    groups = _conflicts(check, titles)
    layers = [_path(geom, frame, svg[slug][0], f"layer layer-{slug}")
              for slug in slugs for geom in _layer_geometries(check.layer_versions[slug], frame.bbox)]
    legend = [(SITE_STYLE.replace("9 4", "5 2"), "用地红线"),
              *((svg[s][0], titles.get(s, s)) for s in slugs),
              *((group.style, group.label) for group in groups)]
    return _sheet([*layers, *_overlay(site, groups, frame)], legend, frame, width, "site-map",
                  "用地红线与管控线套合图", "".join(svg[s][1] for s in slugs))


def _sheet(paths: list[str], legend: list[tuple[str, str]], frame: _Frame, width: int, css_class: str,
           label: str, patterns: str = "") -> str:
    """Frame the drawn paths with the north arrow, the scale bar and the legend, as one SVG;
    `patterns` are the layers' hatch patterns (svg_style)."""
    map_w, height = frame.width, frame.height
    parts = [f'<rect width="{map_w}" height="{height}" fill="#f4f6f8"/>', '<g clip-path="url(#map-clip)">',
             *paths, "</g>", _north_arrow(), _scale_bar(frame),
             f'<rect width="{map_w}" height="{height}" fill="none" stroke="#4b5563"/>',
             _legend(legend, map_w, height)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" class="{css_class}" role="img" aria-label="{label}">'
            + DEFS.format(w=map_w, h=height, layer_patterns=patterns)
            + "".join(p for p in parts if p) + "</svg>")


def svg_style(slug: str, style: dict) -> tuple[str, str]:
    """A layer's map style as SVG presentation attributes, and its hatch pattern (or "")."""
    fill, pattern = 'fill="none"', ""
    colour = style.get("fillColor") or style["color"]
    if style.get("fillOpacity", 0) > 0:
        fill = f'fill="{colour}" fill-opacity="{style["fillOpacity"]:g}"'
        angle = _HATCH_ANGLES.get(style.get("hatch") or "none")
        if angle is not None:
            line = style.get("hatchColor") or style["color"]
            cross = (f'<line x1="0" y1="3.5" x2="7" y2="3.5" stroke="{line}" stroke-width="1.1"/>'
                     if style["hatch"] == "cross" else "")
            pattern = (f'<pattern id="hatch-{slug}" width="7" height="7" patternUnits="userSpaceOnUse" '
                       f'patternTransform="rotate({angle})"><rect width="7" height="7" fill="{colour}" '
                       f'fill-opacity="{style["fillOpacity"]:g}"/><line x1="0" y1="0" x2="0" y2="7" '
                       f'stroke="{line}" stroke-width="1.1"/>{cross}</pattern>')
            fill = f'fill="url(#hatch-{slug})"'
    dash = f' stroke-dasharray="{style["dashArray"]}"' if style.get("dashArray") else ""
    stroke = f'stroke="{style["color"]}" stroke-width="{max(float(style.get("weight", 1)), 0.8):g}"{dash}'
    return f"{fill} {stroke}", pattern


def view_map_svg(bbox: tuple[float, float, float, float], layers: list[tuple[str, str, int]],
                 width: int = 1000, height: int = 640) -> str:
    """Draw a map view (a 专题图): the features of `layers` — (slug, title, version id), drawn in this
    order — within `bbox` (lon/lat), with the legend, north arrow and scale bar of the report map."""
    map_w = width - LEGEND_WIDTH
    frame = _frame(bbox, map_w, height, margin=1.0)
    stored = dict(Layer.objects.filter(slug__in=[row[0] for row in layers]).values_list("slug", "style"))
    styles = {slug: layer_style(slug, stored.get(slug)) for slug, _, _ in layers}
    ranked = sorted(layers, key=lambda row: (styles[row[0]]["order"], row[0]))
    svg = {slug: svg_style(slug, styles[slug]) for slug, _, _ in ranked}
    paths = [_path(geom, frame, svg[slug][0], f"layer layer-{slug}")
             for slug, _, version_id in ranked for geom in _layer_geometries(version_id, frame.bbox)]
    legend = [(svg[slug][0], title) for slug, title, _ in ranked]
    return _sheet(paths, legend, frame, width, "view-map", "专题图", "".join(svg[s][1] for s, _, _ in ranked))


def _overlay(site: shapely.Geometry, groups: list[_Group], frame: _Frame) -> list[str]:
    """Draw conflicts and the site; overlaps go over the site's white halo, so that a sliver
    along the site's edge stays visible."""
    below = [group for group in groups if group.css_class != "conflict"]
    above = [group for group in groups if group.css_class == "conflict"]
    paths = [_path(g, frame, group.style, group.css_class) for group in below for g in group.geoms]
    paths.append(_path(site, frame, SITE_HALO, "site-halo"))
    paths += [_path(g, frame, group.style, group.css_class) for group in above for g in group.geoms]
    paths.append(_path(site, frame, SITE_STYLE, "site"))
    return paths


def _frame(bounds: tuple[float, float, float, float], map_w: int, map_h: int,
           margin: float = MARGIN) -> _Frame:
    """Fit the bounds, grown by `margin`, to the drawing area at one scale for x and y."""
    west, south, east, north = bounds
    lon0, lat0 = (west + east) / 2, (south + north) / 2
    cos_lat = math.cos(math.radians(lat0))
    # Half-extents in "scaled degrees" (longitude times cos(lat)), where x and y are comparable.
    half_x = max((east - west) / 2 * cos_lat, 1e-6) * margin
    half_y = max((north - south) / 2, 1e-6) * margin
    if half_x / half_y > map_w / map_h:
        half_y = half_x * map_h / map_w
    else:
        half_x = half_y * map_w / map_h
    bbox = (lon0 - half_x / cos_lat, lat0 - half_y, lon0 + half_x / cos_lat, lat0 + half_y)
    return _Frame(lon0, lat0, cos_lat, map_w / (2 * half_x), map_w, map_h, bbox)


def _to_pixels(geom: shapely.Geometry, frame: _Frame) -> shapely.Geometry:
    def project(coords: np.ndarray) -> np.ndarray:
        x = (coords[:, 0] - frame.lon0) * frame.cos_lat * frame.scale + frame.width / 2
        y = frame.height / 2 - (coords[:, 1] - frame.lat0) * frame.scale
        return np.column_stack([x, y])

    return shapely.transform(geom, project)


def _layer_geometries(version_id: int, bbox: tuple[float, float, float, float]) -> list[shapely.Geometry]:
    """Read the features of one layer version whose bounding box meets the view."""
    view = GeosPolygon.from_bbox(bbox)
    view.srid = 4490
    rows = (Feature.objects.filter(version_id=version_id, geom__bboverlaps=view)
            .order_by("fid").values_list("geom", flat=True)[:MAX_FEATURES_PER_LAYER])
    return [shapely.from_wkb(bytes(geom.wkb)) for geom in rows]


def _conflicts(check: Check, titles: dict[str, str]) -> list[_Group]:
    """Group the conflict geometries of the findings that did not pass, each group with its style.

    Areas outside a zone the site must lie within, and areas the data does not cover, are drawn
    apart from overlaps, so that a farmland sliver stays visible on a site outside the boundary.
    """
    not_covered, outside, overlaps, outside_of = [], [], [], []
    findings = (check.findings.exclude(status__in=[Status.PASS, Status.INFO])
                .exclude(conflict_geom=None).order_by("order"))
    for finding in findings:
        geom = shapely.from_wkb(bytes(finding.conflict_geom.wkb))
        if finding.status == Status.NOT_COVERED:
            not_covered.append(geom)
        elif finding.kind == "must_be_within":
            outside.append(geom)
            outside_of.append(titles.get(finding.layer, finding.layer))
        else:
            overlaps.append(geom)
    groups = [_Group(NOT_COVERED_STYLE, "not-covered", "数据未覆盖范围", not_covered),
              _Group(OUTSIDE_STYLE, "conflict outside", f"位于{'、'.join(dict.fromkeys(outside_of))}外",
                     outside),
              _Group(CONFLICT_STYLE, "conflict", "冲突范围", overlaps)]
    return [group for group in groups if group.geoms]


def _path(geom: shapely.Geometry, frame: _Frame, style: str, css_class: str) -> str:
    """Write one geometry as an SVG path, clipped to the view and simplified to half a pixel."""
    pixels = shapely.clip_by_rect(_to_pixels(geom, frame), -10, -10, frame.width + 10, frame.height + 10)
    pixels = shapely.simplify(pixels, 0.5, preserve_topology=True)
    d = _path_data(pixels)
    if not d:
        return ""
    return f'<path class="{css_class}" fill-rule="evenodd" {style} d="{d}"/>'


def _path_data(geom: shapely.Geometry) -> str:
    commands = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            for ring in (part.exterior, *part.interiors):
                commands.append(_ring(ring.coords) + "Z")
        elif part.geom_type == "LineString":
            commands.append(_ring(part.coords))
        elif part.geom_type in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
            commands.append(_path_data(part))
    return "".join(c for c in commands if c)


def _ring(coords) -> str:
    points = [f"{x:.1f} {y:.1f}" for x, y, *_ in coords]
    return f"M{points[0]}L{' '.join(points[1:])}" if len(points) > 1 else ""


def _north_arrow() -> str:
    x, y = 34, 30
    return (f'<g class="north-arrow" {FONT}>'
            f'<circle cx="{x}" cy="{y + 22}" r="20" fill="#ffffff" fill-opacity="0.85" stroke="#4b5563"/>'
            f'<path d="M{x} {y + 4}L{x + 8} {y + 36}L{x} {y + 29}Z" fill="#1f2937"/>'
            f'<path d="M{x} {y + 4}L{x - 8} {y + 36}L{x} {y + 29}Z" fill="#ffffff" stroke="#1f2937"/>'
            f'<text x="{x}" y="{y - 4}" text-anchor="middle" font-size="13" font-weight="bold">北 N</text>'
            "</g>")


def _nice_length(metres: float) -> float:
    """Round a length down to 1, 2 or 5 times a power of ten."""
    power = 10 ** math.floor(math.log10(metres))
    return max(step * power for step in (1, 2, 5) if step * power <= metres)


def _scale_bar(frame: _Frame) -> str:
    """Draw a scale bar whose length is measured on the ellipsoid along the mid-latitude."""
    west, _, east, _ = frame.bbox
    span_m = geodesic_distance_m(west, frame.lat0, east, frame.lat0)
    metres_per_px = span_m / frame.width
    length_m = _nice_length(span_m / 4)
    px = length_m / metres_per_px
    label = f"{length_m / 1000:g} 公里" if length_m >= 1000 else f"{length_m:g} 米"
    x, y = 16, frame.height - 22
    half, box = px / 2, px + 62  # room for the label centred on the bar's end
    return (f'<g class="scale-bar" {FONT} font-size="11">'
            f'<rect x="{x - 6}" y="{y - 18}" width="{box:.1f}" height="32" fill="#fff" fill-opacity=".85"/>'
            f'<rect x="{x}" y="{y}" width="{half:.1f}" height="6" fill="#1f2937" stroke="#1f2937"/>'
            f'<rect x="{x + half:.1f}" y="{y}" width="{half:.1f}" height="6" fill="#fff" stroke="#1f2937"/>'
            f'<text x="{x}" y="{y - 4}">0</text>'
            f'<text x="{x + px:.1f}" y="{y - 4}" text-anchor="middle">{label}</text></g>')


def _legend(entries: list[tuple[str, str]], x0: int, height: int) -> str:
    """Draw the legend panel right of the map: a swatch and a Chinese name per entry."""
    rows = [f'<g class="legend" {FONT} font-size="12">',
            f'<rect x="{x0}" y="0" width="{LEGEND_WIDTH}" height="{height}" fill="#ffffff"/>',
            f'<text x="{x0 + 14}" y="26" font-size="14" font-weight="bold">图例</text>']
    for i, (style, label) in enumerate(entries):
        y = 44 + i * 26
        rows.append(f'<rect x="{x0 + 14}" y="{y}" width="26" height="16" {style}/>')
        rows.append(f'<text x="{x0 + 48}" y="{y + 12.5}">{html.escape(label)}</text>')
    rows.append(f'<text x="{x0 + 14}" y="{height - 28}" font-size="10" fill="#4b5563">CGCS2000 经纬度</text>')
    rows.append(f'<text x="{x0 + 14}" y="{height - 14}" font-size="10" fill="#4b5563">EPSG:4490</text>')
    return "".join(rows) + "</g>"
