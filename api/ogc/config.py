"""Build pygeoapi's configuration from the layer registry (no hand-kept YAML per layer)."""

from __future__ import annotations

from django.db.models import Q

from api.ogc.raster import raster_collection
from api.ogc.tiles import tile_provider
from api.ogc.uris import CRS84, EPSG
from layers.crs import CHINA_BOUNDS
from layers.models import Layer

__all__ = ["CRS84", "EPSG", "OUTPUT_CRS", "STORAGE_CRS", "DEFAULT_ITEMS", "MAX_ITEMS", "build_config",
           "visible_layers"]

STORAGE_CRS = EPSG + "4490"  # what the collections say (api/ogc/documents.py), CGCS2000
OUTPUT_CRS = [CRS84, STORAGE_CRS, EPSG + "3857"]
# Items per page when a client names no `limit` (GDAL and QGIS page with the server's default:
# 3 000 farmland patches are 3 requests, not 300), and the most one page holds (a larger
# `limit` is cut to it, as Features Part 1 allows; the `next` link goes on from there).
DEFAULT_ITEMS = 1000
MAX_ITEMS = 10000


def visible_layers(access_key: tuple) -> list[Layer]:
    """The layers (vector and raster) with data that callers with this access key may read.

    `access_key` is `api.ogc.adapter.access_class(request)`, i.e. blueprint.access.layer_access_key:
    (access levels, extra layers named by a token).
    """
    levels, extra = access_key
    return list(Layer.objects.select_related("active_version")
                .filter(active_version__isnull=False)
                .filter(Q(access_level__in=levels) | Q(slug__in=extra)).order_by("slug"))


def build_config(layers: list[Layer], base_url: str) -> dict:
    """Return a pygeoapi configuration with one collection per layer."""
    return {
        "server": {
            "url": base_url, "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
            "languages": ["zh-CN", "en-US"], "map": {"url": "", "attribution": ""},
            "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS},
            "api_rules": {"strict_slashes": True},
            "manager": {"name": "api.ogc.manager.JobManager", "connection": None, "output_dir": None,
                        "site_url": _site_url(base_url)},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": {"zh": "一张蓝图 OGC API", "en": "One Blueprint OGC API"},
                "description": {"zh": "工程建设项目审批“一张蓝图”图层服务",
                                "en": "Layers of the construction-approval one blueprint"},
                "keywords": ["一张蓝图", "三区三线", "CGCS2000"], "terms_of_service": "",
                "url": base_url},
            "license": {"name": "见各图层 (see each layer)", "url": base_url},
            "provider": {"name": "一张蓝图 One Blueprint"},
            "contact": {"name": "一张蓝图 One Blueprint"},
        },
        "resources": {layer.slug: _collection(layer, base_url) for layer in layers} | _processes(base_url),
    }


def _site_url(base_url: str) -> str:
    return base_url.removesuffix("/ogc")


def _processes(base_url: str) -> dict:
    """The OGC API processes (their jobs live in compliance.models.Job, see api/ogc/manager.py)."""
    return {"site-compliance": {"type": "process", "processor": {
        "name": "api.ogc.processes.SiteComplianceProcessor", "site_url": _site_url(base_url)}}}


def _collection(layer: Layer, base_url: str) -> dict:
    if layer.kind == Layer.Kind.RASTER:
        return raster_collection(layer, base_url)
    version = layer.active_version
    bbox = list(version.extent.extent) if version.extent else list(CHINA_BOUNDS)
    return {
        "type": "collection",
        "title": {"zh": layer.title_zh, "en": layer.title_en},
        "description": {"zh": f"{layer.title_zh}（第 {version.number} 版，{version.feature_count} 个要素）",
                        "en": f"{layer.title_en} (version {version.number},"
                              f" {version.feature_count} features)"},
        "keywords": [layer.slug, layer.access_level],  # slug and access level first: the audit reads them
        "extents": {"spatial": {"bbox": bbox, "crs": CRS84}},
        "links": [{"type": "application/json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
                   "title": "地图瓦片 (map tiles, PNG)",
                   "href": f"{base_url}/collections/{layer.slug}/map/tiles"}],
        "providers": [{
            "type": "feature", "name": "api.ogc.providers.LayerProvider", "data": layer.slug,
            "id_field": "fid",
            # Stored lon/lat in CGCS2000. pygeoapi is told CRS84 (identical within centimetres)
            # because 0.24 mishandles a latitude-first storage CRS (its issue #2102: it would flip
            # bbox and CQL2 geometries); the collection document says EPSG:4490, the truth
            # (api/ogc/documents.py). Output in EPSG:4490 is flipped latitude-first by the provider.
            "storage_crs": CRS84, "crs": OUTPUT_CRS,
            # What the provider needs, read once per registry state (api.ogc.adapter), not per request.
            "options": {"version_id": version.pk, "feature_count": version.feature_count,
                        "fields": dict(layer.fields)},
        }, tile_provider(layer, bbox)],
    }
