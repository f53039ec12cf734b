"""pygeoapi's Django URLs, served through our adapter (imported with the URLconf, not at start-up)."""

import pygeoapi.api.itemtypes as pygeoapi_items
import pygeoapi.django_.views as pygeoapi_views
from django.urls import URLPattern, path
from pygeoapi.django_.urls import urlpatterns as pygeoapi_urlpatterns

from api.ogc import map_tiles, tile_views, views
from api.ogc.adapter import execute_from_django
from api.ogc.bbox import transform_bbox
from api.ogc.cql2 import parse_filter, parse_json_filter
from api.ogc.guard import METHODS, READ, guarded

# pygeoapi's views look this name up at request time: serve them from our cached API objects.
pygeoapi_views.execute_from_django = execute_from_django
# pygeoapi makes a pyproj Transformer per bbox-crs request (~0.5 s): transform through ours, cached.
pygeoapi_items.transform_bbox = transform_bbox
# pygeoapi parses every `filter` as CQL2 text: parse by `filter-lang` (CQL2 JSON too).
pygeoapi_items.parse_cql2_text = parse_filter
pygeoapi_items.parse_cql2_json = parse_json_filter  # a POST to /items with a CQL2 JSON body
# Dismissing a job (DELETE /ogc/jobs/{id}) is an API call like execution, which pygeoapi exempts.
pygeoapi_views.jobs.csrf_exempt = True

_TILES = "collections/<str:collection_id>/tiles/<str:tileMatrixSetId>"
# OGC API – Tiles map tiles (pygeoapi 0.24 serves vector tiles only): imagery, and vector layers drawn
# as PNG on the server (api/ogc/map_tiles.py).
_MAP_TILES = "collections/<slug:slug>/map/tiles"


def _guarded(pattern: URLPattern) -> URLPattern:
    """The route behind api/ogc/guard.py: its methods only, reads under the statement timeout."""
    methods = METHODS.get(pattern.name, READ)
    view = guarded(pattern.callback, methods, execution=pattern.name == "process-execution")
    return URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)


_COLLECTION = "collections/<str:collection_id>"
urlpatterns = [_guarded(p) for p in [
    # Ahead of pygeoapi's own (api/ogc/views.py says why).
    path(f"{_COLLECTION}/items", views.collection_items, name="collection-items"),
    path(f"{_COLLECTION}/items/<str:item_id>", views.collection_item, name="collection-item"),
    path(f"{_COLLECTION}/coverage", views.collection_coverage, name="collection-coverage"),
    path("conformance", views.conformance, name="conformance"),
    path("TileMatrixSets/<str:tilematrixset_id>", views.tilematrixset, name="tilematrixset"),
    path(_MAP_TILES, map_tiles.collection_map_tilesets, name="map-tilesets"),
    path(f"{_MAP_TILES}/<str:tileMatrixSetId>/<str:tileMatrix>/<str:tileRow>/<str:tileCol>",
         map_tiles.collection_map_tile, name="map-tile"),
    # Ahead of pygeoapi's own: the same endpoints with HTTP caching and OGC errors (api/ogc/tile_views.py).
    path(_TILES, tile_views.collection_tileset, name="collection-tiles-metadata"),
    path(f"{_TILES}/metadata", tile_views.collection_tileset, name="collection-tiles-metadata"),
    path(f"{_TILES}/<str:tileMatrix>/<str:tileRow>/<str:tileCol>", tile_views.collection_tile,
         name="collection-item-tiles"),
    *pygeoapi_urlpatterns,
]]

__all__ = ["urlpatterns"]
