"""OGC API – Tiles: a pygeoapi MVT provider over a layer's active version (layers/tiles.py).

pygeoapi makes a provider per request, so everything the provider needs (version, attributes,
extent) travels in the provider definition, built once per registry state: a tile costs one
statement, an empty one none.
"""

from __future__ import annotations

from pygeoapi.models.provider.base import TileMatrixSetEnum, TileSetMetadata
from pygeoapi.provider.base import ProviderItemNotFoundError
from pygeoapi.provider.base_mvt import BaseMVTProvider
from pygeoapi.util import url_join

from api.ogc.errors import provider_error
from blueprint.errors import BlueprintError
from layers import tiles as layer_tiles
from layers.models import Layer
from layers.tiles import MAX_ZOOM, TILE_MATRIX_SETS, TileSpec, render_tile, tile_fields, tile_request

__all__ = ["LayerTileProvider", "tile_provider", "MVT_MIMETYPE"]

MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"
_JSON_TYPES = {"number": "Number", "integer": "Number"}


def tile_provider(layer: Layer, bbox: list[float] | None) -> dict:
    """The pygeoapi provider definition of a layer's vector tiles."""
    return {
        "type": "tile", "name": "api.ogc.tiles.LayerTileProvider", "data": layer.slug,
        "format": {"name": "mvt", "mimetype": MVT_MIMETYPE},
        "options": {
            "zoom": {"min": 0, "max": MAX_ZOOM["WebMercatorQuad"]}, "schemes": list(TILE_MATRIX_SETS),
            "version_id": layer.active_version_id, "fields": tile_fields(layer), "extent": bbox,
            "polygonal": "Polygon" in layer.geometry_type,
            "public": layer.access_level == Layer.Access.PUBLIC,
            "parts": layer_tiles.has_parts(layer.active_version_id),
        },
    }


class LayerTileProvider(BaseMVTProvider):
    """Mapbox vector tiles of one layer version, in WebMercatorQuad and WorldCRS84Quad."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        options = self.options
        extent = options.get("extent")
        self.spec = TileSpec(self.data, options["version_id"], options["fields"], options["polygonal"],
                             tuple(extent) if extent else None, options.get("parts", True))

    def __repr__(self) -> str:
        return f"<LayerTileProvider> {self.data}"

    def get_layer(self) -> str:
        return self.data

    def get_fields(self) -> dict:
        return {name: {"type": kind} for name, kind in self.spec.fields.items()}

    def get_tiling_schemes(self) -> list:
        return [e.value for e in TileMatrixSetEnum if e.value.tileMatrixSet in TILE_MATRIX_SETS]

    def get_tiles_service(self, baseurl=None, servicepath=None, dirpath=None, tile_type=None) -> dict:
        self._service_url = servicepath
        return self.get_tms_links()

    def get_tiles(self, layer=None, tileset=None, z=None, y=None, x=None, format_=None) -> bytes | None:
        """The tile's MVT bytes, or None (pygeoapi answers 204) when it holds no feature."""
        try:
            return render_tile(self.spec, tile_request(tileset, z, y, x))
        except BlueprintError as exc:  # a tile outside the matrix stays a 404, a bad index a 400
            raise provider_error(exc) from exc

    def get_default_metadata(self, dataset, server_url, layer, tileset, title, description, keywords,
                             **kwargs) -> dict:
        """OGC Tile Set metadata (JSON) for one tile matrix set."""
        scheme = self._scheme(tileset)
        tiles_url = url_join(server_url, f"collections/{dataset}/tiles/{scheme.tileMatrixSet}")
        content = TileSetMetadata(title=title, description=description, keywords=keywords, crs=scheme.crs,
                                  tileMatrixSetURI=scheme.tileMatrixSetURI)
        metadata = content.model_dump(exclude_none=True, by_alias=True)
        metadata["dataType"] = "vector"
        metadata["links"] = [
            {"href": url_join(server_url, "TileMatrixSets", scheme.tileMatrixSet), "type": "application/json",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "title": f"{scheme.tileMatrixSet} tile matrix set definition"},
            {"href": f"{tiles_url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt", "rel": "item",
             "type": MVT_MIMETYPE, "templated": True, "title": f"{scheme.tileMatrixSet} vector tiles"},
            {"href": f"{tiles_url}/metadata?f=tilejson", "rel": "describedby", "type": "application/json",
             "title": "TileJSON"},
        ]
        metadata["layers"] = [{"id": self.data, "dataType": "vector", "geometryDimension": 2,
                               "propertiesSchema": {"type": "object", "properties": {
                                   name: {"type": kind if kind in ("number", "integer") else "string"}
                                   for name, kind in self.spec.fields.items()}}}]
        return metadata

    def get_vendor_metadata(self, dataset, server_url, layer, tileset, title, description, keywords,
                            **kwargs) -> dict:
        """TileJSON 3.0.0, for MapLibre, Mapbox GL and Leaflet.VectorGrid."""
        scheme = self._scheme(tileset)
        extent = self.spec.extent or (-180.0, -85.0511, 180.0, 85.0511)
        tiles_url = url_join(server_url, f"collections/{dataset}/tiles/{scheme.tileMatrixSet}")
        return {
            "tilejson": "3.0.0", "name": title, "description": description, "scheme": "xyz",
            "tiles": [f"{tiles_url}/{{z}}/{{y}}/{{x}}?f=mvt"],
            "minzoom": 0, "maxzoom": MAX_ZOOM[scheme.tileMatrixSet], "bounds": list(extent),
            "center": [(extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2, 8],
            "crs": scheme.crs,
            "vector_layers": [{"id": self.data, "description": title, "minzoom": 0,
                               "maxzoom": MAX_ZOOM[scheme.tileMatrixSet],
                               "fields": {name: _JSON_TYPES.get(kind, "String")
                                          for name, kind in self.spec.fields.items()}}],
        }

    def get_html_metadata(self, dataset, server_url, layer, tileset, title, description, keywords,
                          **kwargs) -> dict:
        scheme = self._scheme(tileset)
        tiles_url = url_join(server_url, f"collections/{dataset}/tiles/{scheme.tileMatrixSet}")
        return {"id": dataset, "title": title, "tileset": scheme.tileMatrixSet,
                "collections_path": f"{tiles_url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt",
                "json_url": f"{tiles_url}/metadata?f=json"}

    def _scheme(self, tileset: str):
        for scheme in self.get_tiling_schemes():
            if scheme.tileMatrixSet == tileset:
                return scheme
        raise ProviderItemNotFoundError(
            user_msg=f"没有瓦片矩阵集 {tileset}，可用 {', '.join(TILE_MATRIX_SETS)}"
                     f" (unknown tile matrix set {tileset}; use one of {', '.join(TILE_MATRIX_SETS)})")
