"""pygeoapi's Django URLs, served through our adapter (imported with the URLconf, not at start-up)."""

import pygeoapi.django_.views as pygeoapi_views
from django.urls import path
from pygeoapi.django_.urls import urlpatterns as pygeoapi_urlpatterns

from api.ogc import tile_views
from api.ogc.adapter import execute_from_django

# pygeoapi's views look this name up at request time: serve them from our cached API objects.
pygeoapi_views.execute_from_django = execute_from_django

_TILES = "collections/<str:collection_id>/tiles/<str:tileMatrixSetId>"
# Ahead of pygeoapi's own: the same endpoints with HTTP caching and OGC errors (api/ogc/tile_views.py).
urlpatterns = [
    path(_TILES, tile_views.collection_tileset, name="collection-tiles-metadata"),
    path(f"{_TILES}/metadata", tile_views.collection_tileset, name="collection-tiles-metadata"),
    path(f"{_TILES}/<str:tileMatrix>/<str:tileRow>/<str:tileCol>", tile_views.collection_tile,
         name="collection-item-tiles"),
    *pygeoapi_urlpatterns,
]

__all__ = ["urlpatterns"]
