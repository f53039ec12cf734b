"""Raster layers on /ogc/: the collection entry (coverage provider, map-tile links) and the
OGC API – Tiles map tiles in WebMercatorQuad, served by the same code as the XYZ tiles."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse

from layers.imagery import visible_scenes
from layers.models import Layer

__all__ = ["raster_collection", "map_tilesets", "map_tile", "ogc_exception", "TILE_MATRIX_SET"]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TILE_MATRIX_SET = "WebMercatorQuad"
_FORMATS = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}


def raster_collection(layer: Layer, base_url: str) -> dict:
    """A pygeoapi collection for a raster layer: coverage (GeoTIFF) plus links to map tiles."""
    scenes = visible_scenes(layer)
    bbox = list(layer.active_version.extent.extent) if layer.active_version.extent else None
    dates = sorted(s.acquired.isoformat() for s in scenes)
    return {
        "type": "collection",
        "title": {"zh": layer.title_zh, "en": layer.title_en},
        "description": {"zh": f"{layer.title_zh}（{len(scenes)} 景影像）",
                        "en": f"{layer.title_en} ({len(scenes)} scenes)"},
        "keywords": [layer.slug, layer.access_level, "imagery"],
        "extents": {"spatial": {"bbox": bbox or [73.0, 3.0, 136.0, 54.0], "crs": CRS84},
                    "temporal": {"begin": f"{dates[0]}T00:00:00Z", "end": f"{dates[-1]}T23:59:59Z"}},
        "links": [{"type": "application/json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
                   "title": "Map tiles (PNG, JPEG, WebP)",
                   "href": f"{base_url}/collections/{layer.slug}/map/tiles"}],
        "providers": [{"type": "coverage", "name": "api.ogc.coverage.SceneCoverageProvider",
                       "data": layer.slug,
                       "format": {"name": "GTiff", "mimetype": "image/tiff; application=geotiff"}}],
    }


def ogc_exception(status: int, code: str, description: str) -> HttpResponse:
    """An OGC exception document (code, type, description) as JSON."""
    return HttpResponse(json.dumps({"code": code, "type": code, "description": description},
                                   ensure_ascii=False), status=status, content_type="application/json")


def map_tilesets(request: HttpRequest, slug: str) -> HttpResponse:
    """GET /ogc/collections/{slug}/map/tiles: the one tile set, WebMercatorQuad."""
    from api.imagery import visible_raster_layer
    from blueprint.errors import BlueprintError

    try:
        visible_raster_layer(request, slug)
    except BlueprintError as exc:
        return ogc_exception(404, "NotFound", exc.detail)
    base = request.build_absolute_uri(f"/ogc/collections/{slug}/map/tiles/{TILE_MATRIX_SET}")
    links = [{"rel": "item", "type": f"image/{fmt}", "templated": True,
              "href": f"{base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f={fmt}"}
             for fmt in ("png", "jpeg", "webp")]
    return JsonResponse({"tilesets": [{
        "title": slug, "dataType": "map", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": links}]})


def map_tile(request: HttpRequest, slug: str, tms: str, z: int, row: int, col: int) -> HttpResponse:
    """GET …/map/tiles/WebMercatorQuad/{z}/{row}/{col}?f=png|jpeg|webp (and ?date=YYYY-MM-DD)."""
    from api.imagery import tile

    fmt = _FORMATS.get(request.GET.get("f", "png").lower())
    if tms != TILE_MATRIX_SET:
        return ogc_exception(404, "NotFound",
                             f"只提供 {TILE_MATRIX_SET}。 (Only {TILE_MATRIX_SET} is offered.)")
    if fmt is None:
        return ogc_exception(400, "InvalidParameterValue",
                          "f 应为 png、jpeg 或 webp。 (f must be png, jpeg or webp.)")
    response = tile(request, slug, z, col, row, fmt)
    if response.status_code >= 400:
        detail = json.loads(response.content).get("detail", "")
        code = "NotFound" if response.status_code == 404 else "InvalidParameterValue"
        return ogc_exception(response.status_code, code, detail)
    return response
