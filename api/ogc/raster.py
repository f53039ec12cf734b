"""Raster layers on /ogc/: the collection entry (coverage provider, map-tile links) and the
OGC API – Tiles map tiles in WebMercatorQuad, served by the same code as the XYZ tiles."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, JsonResponse

from api.ogc.uris import CRS84
from blueprint.errors import InvalidInput, NotFound
from layers.crs import CHINA_BOUNDS
from layers.imagery import visible_scenes
from layers.models import Layer

__all__ = ["raster_collection", "map_tilesets", "map_tile", "TILE_MATRIX_SET"]
TILE_MATRIX_SET = "WebMercatorQuad"
_FORMATS = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}


def raster_collection(layer: Layer, base_url: str) -> dict:
    """A pygeoapi collection for a raster layer: coverage (GeoTIFF) plus links to map tiles."""
    scenes = visible_scenes(layer)
    bbox = list(layer.active_version.extent.extent) if layer.active_version.extent else None
    dates = sorted(s.acquired for s in scenes)
    return {
        "type": "collection",
        "title": {"zh": layer.title_zh, "en": layer.title_en},
        "description": {"zh": f"{layer.title_zh}（{len(scenes)} 景影像）",
                        "en": f"{layer.title_en} ({len(scenes)} scenes)"},
        "keywords": [layer.slug, layer.access_level, "imagery"],
        "extents": {"spatial": {"bbox": bbox or list(CHINA_BOUNDS), "crs": CRS84},
                    # datetimes, as pygeoapi's YAML loader gives them (its datetime check wants them)
                    "temporal": {"begin": dt.datetime.combine(dates[0], dt.time.min, dt.UTC),
                                 "end": dt.datetime.combine(dates[-1], dt.time(23, 59, 59), dt.UTC)}},
        "links": [{"type": "application/json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
                   "title": "Map tiles (PNG, JPEG, WebP)",
                   "href": f"{base_url}/collections/{layer.slug}/map/tiles"}],
        "providers": [{"type": "coverage", "name": "api.ogc.coverage.SceneCoverageProvider",
                       "data": layer.slug,
                       "format": {"name": "GTiff", "mimetype": "image/tiff; application=geotiff"}}],
    }


def map_tilesets(request: HttpRequest, slug: str) -> HttpResponse:
    """GET /ogc/collections/{slug}/map/tiles: the one tile set, WebMercatorQuad."""
    from api.imagery import visible_raster_layer

    visible_raster_layer(request, slug)  # a hidden or missing layer: NotFound, answered by the guard
    base = request.build_absolute_uri(f"/ogc/collections/{slug}/map/tiles/{TILE_MATRIX_SET}")
    links = [{"rel": "item", "type": f"image/{fmt}", "templated": True,
              "href": f"{base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f={fmt}"}
             for fmt in ("png", "jpeg", "webp")]
    return JsonResponse({"tilesets": [{
        "title": slug, "dataType": "map", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": links}]})


def map_tile(request: HttpRequest, slug: str, tms: str, z: int, row: int, col: int) -> HttpResponse:
    """GET …/map/tiles/WebMercatorQuad/{z}/{row}/{col}?f=png|jpeg|webp (and ?date=YYYY-MM-DD).

    The XYZ tile itself; its domain errors reach the OGC guard, which answers OGC exception JSON."""
    from api.imagery import tile

    fmt = _FORMATS.get(request.GET.get("f", "png").lower())
    if tms != TILE_MATRIX_SET:
        raise NotFound(f"只提供 {TILE_MATRIX_SET}。 (Only {TILE_MATRIX_SET} is offered.)")
    if fmt is None:
        raise InvalidInput("f 应为 png、jpeg 或 webp。 (f must be png, jpeg or webp.)")
    return tile(request, slug, z, col, row, fmt)
