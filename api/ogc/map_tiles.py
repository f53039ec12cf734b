"""OGC API – Tiles *map* tiles of every collection: …/map/tiles/{tileMatrixSetId}/{z}/{row}/{col}.

Raster layers (imagery) are answered by api/ogc/raster.py. Vector layers are drawn on the server
as PNG in the page's style (layers/map_tiles.py) from the same per-tile geometry as their vector
tiles, under the same access policy (a layer the caller may not read is a 404), the same audit of
restricted reads, and the same ETag / Cache-Control / 304 as the vector tiles. A tile where the
layer has nothing is a transparent PNG, not a 204: image clients such as Leaflet's L.tileLayer
treat a 204 as a failed image, while a vector-tile client knows the 204.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

from api.ogc import raster
from api.ogc.tile_views import cached, visible_tile_provider
from api.ogc.uris import CRS84
from blueprint import access
from blueprint.caching import etag as tile_etag
from blueprint.caching import not_modified
from blueprint.errors import InvalidInput, echo
from layers.map_tiles import render_map_tile
from layers.models import Layer
from layers.styles import layer_style
from layers.tiles import TILE_MATRIX_SETS, TileSpec, tile_request

__all__ = ["collection_map_tile", "collection_map_tilesets", "MAP_TILE_REVISION"]

MAP_TILE_REVISION = "1"  # bump when the drawing (not the data or the style: both are in the ETag) changes
_TILESET_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/"
_CRS = {"WebMercatorQuad": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "WorldCRS84Quad": CRS84}


def collection_map_tile(request: HttpRequest, slug: str, tileMatrixSetId: str, tileMatrix: str,  # noqa: N803
                        tileRow: str, tileCol: str) -> HttpResponse:  # noqa: N803
    """One map tile: PNG of a vector layer, or the imagery of a raster layer."""
    provider = visible_tile_provider(request, slug)
    if provider is None:
        return _raster_tile(request, slug, tileMatrixSetId, tileMatrix, tileRow, tileCol)
    tile = tile_request(tileMatrixSetId, tileMatrix, tileRow, tileCol)  # errors: answered by the guard
    if request.GET.get("f", "png").lower() != "png":
        raise InvalidInput("f 应为 png（矢量图层的地图瓦片只有 PNG）。"
                           " (f must be png: map tiles of vector layers are PNG.)")
    options = provider["options"]
    style = layer_style(slug)
    etag = tile_etag(MAP_TILE_REVISION, slug, options["version_id"], json.dumps(style, sort_keys=True),
                     f"{tile.tms}/{tile.z}/{tile.y}/{tile.x}")
    if not_modified(request, etag):
        return cached(HttpResponse(status=HTTPStatus.NOT_MODIFIED), etag, provider)
    extent = options.get("extent")
    spec = TileSpec(slug, options["version_id"], options["fields"], options["polygonal"],
                    tuple(extent) if extent else None, options.get("parts", True))
    response = HttpResponse(render_map_tile(spec, tile, style))
    layer = Layer.objects.filter(slug=slug).values("slug", "access_level").first()
    access.record_layer_read(request, layer, f"map/{tile.tms}/{tile.z}/{tile.y}/{tile.x}")
    return cached(response, etag, provider, "image/png")


def collection_map_tilesets(request: HttpRequest, slug: str) -> HttpResponse:
    """GET …/map/tiles: the map tile sets of a collection (PNG; imagery: PNG, JPEG, WebP)."""
    if visible_tile_provider(request, slug) is None:
        return raster.map_tilesets(request, slug)
    base = request.build_absolute_uri(f"/ogc/collections/{slug}/map/tiles")
    return JsonResponse({"tilesets": [{
        "title": f"{slug} ({tms})", "dataType": "map", "crs": _CRS[tms],
        "tileMatrixSetURI": _TILESET_URI + tms,
        "links": [{"rel": "item", "type": "image/png", "templated": True,
                   "href": f"{base}/{tms}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=png"}]}
        for tms in TILE_MATRIX_SETS]})


def _raster_tile(request: HttpRequest, slug: str, tms: str, z: str, row: str, col: str) -> HttpResponse:
    try:
        z_, row_, col_ = int(z), int(row), int(col)
    except ValueError:
        address = echo(f"{z}/{row}/{col}")
        raise InvalidInput(f"瓦片层级、行、列须为整数: {address}"
                           f" (tileMatrix, tileRow and tileCol must be integers: {address})") from None
    return raster.map_tile(request, slug, tms, z_, row_, col_)
