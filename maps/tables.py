"""The attribute table of a layer (属性表) within the map's view or a drawn area: sorted, paged,
each row with the box to zoom to; and the same selection, whole, for an export.

Plain functions over the models; which layer a visitor may read is maps.access's question.
"""

from __future__ import annotations

import json
import math

import shapely
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db.models import F, FloatField, Func, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from blueprint.errors import InvalidInput, NotFound
from layers.models import Feature, Layer

__all__ = ["Selection", "parse_selection", "table_page", "selected_features", "PER_PAGE", "MAX_EXPORT"]

PER_PAGE = 50
MAX_EXPORT = 20_000  # features in one export; more: draw a smaller area
_MAX_AREA_TEXT = 100_000  # characters of a drawn area's GeoJSON
_SORTABLE_EXTRA = {"_fid": "fid", "_area_m2": "area_m2"}


class Selection:
    """Where the table reads: a bbox (the view) or a drawn polygon, in CGCS2000 lon/lat."""

    def __init__(self, geom: GEOSGeometry, kind: str) -> None:
        self.geom, self.kind = geom, kind

    def filter(self, queryset):
        if self.kind == "bbox":
            return queryset.filter(geom__bboverlaps=self.geom, geom__intersects=self.geom)
        return queryset.filter(geom__intersects=self.geom)

    @property
    def extent(self) -> list[float]:
        return [round(v, 7) for v in self.geom.extent]


def parse_selection(bbox_text: str | None, area_text: str | None, parse_bbox) -> Selection:
    """Read ?area= (a GeoJSON polygon drawn on the map) or else ?bbox= (the view)."""
    if area_text:
        if len(area_text) > _MAX_AREA_TEXT:
            raise InvalidInput("绘制的范围过于复杂，请简化后重试。 (The drawn area is too complex.)",
                               field="area")
        try:
            shape = shapely.geometry.shape(json.loads(area_text))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidInput("area 应为 GeoJSON 面，例如在地图上绘制的范围。"
                               " (area must be a GeoJSON polygon.)", field="area") from exc
        if shape.geom_type not in ("Polygon", "MultiPolygon") or not shape.is_valid or shape.is_empty:
            raise InvalidInput("绘制的范围应为不自相交的面。 (The area must be a valid polygon.)",
                               field="area")
        if not shapely.box(-180, -90, 180, 90).contains(shape):
            raise InvalidInput("area 的坐标应为经纬度。 (area must be in degrees.)", field="area")
        return Selection(GEOSGeometry(shape.wkt, srid=4490), "area")
    geom = Polygon.from_bbox(parse_bbox(bbox_text))
    geom.srid = 4490
    return Selection(geom, "bbox")


def _version(layer: Layer) -> int:
    if layer.active_version_id is None:
        raise NotFound(f"图层 {layer.slug} 尚无数据。 (Layer {layer.slug} has no data yet.)")
    return layer.active_version_id


def _order(layer: Layer, sort: str, descending: bool):
    if sort in _SORTABLE_EXTRA:
        key = F(_SORTABLE_EXTRA[sort])
    elif sort in layer.fields:
        text = KeyTextTransform(sort, "properties")
        key = Cast(text, FloatField()) if layer.fields[sort] in ("integer", "number") else text
    else:
        names = "、".join([*layer.fields, *_SORTABLE_EXTRA])
        raise InvalidInput(f"不能按 “{sort[:40]}” 排序：可选字段为 {names}。"
                           f" (Cannot sort by '{sort[:40]}'.)", field="sort")
    return [key.desc(nulls_last=True) if descending else key.asc(nulls_last=True), "fid"]


def table_page(layer: Layer, selection: Selection, *, sort: str = "_fid", descending: bool = False,
               page: int = 1, per_page: int = PER_PAGE) -> dict:
    """One page of the layer's features meeting the selection: attributes, area, the box to zoom to."""
    features = selection.filter(Feature.objects.filter(version_id=_version(layer)))
    total = features.count()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = (features.order_by(*_order(layer, sort, descending))
            .annotate(box=Func(Func(F("geom"), function="Box2D"), function="text", output_field=TextField()))
            .values_list("fid", "properties", "area_m2", "box")[(page - 1) * per_page:page * per_page])
    return {"layer": layer.slug, "total": total, "page": page, "pages": pages, "per_page": per_page,
            "sort": sort, "order": "desc" if descending else "asc", "selection": selection.kind,
            "fields": list(layer.fields),
            "rows": [{"fid": fid, "properties": props, "area_m2": area, "bbox": _box(box)}
                     for fid, props, area, box in rows]}


def _box(text: str) -> list[float]:
    # PostGIS writes a Box2D as "BOX(w s,e n)".
    corners = text[text.index("(") + 1:text.rindex(")")].replace(",", " ").split()
    return [float(v) for v in corners]


def selected_features(layer: Layer, selection: Selection) -> tuple[list, list[dict], list[float | None]]:
    """The whole features meeting the selection (geometries, attributes, areas), for an export."""
    features = selection.filter(Feature.objects.filter(version_id=_version(layer)))
    total = features.count()
    if total > MAX_EXPORT:
        raise InvalidInput(f"所选范围内有 {total:,} 个要素，超过单次导出上限 {MAX_EXPORT:,} 个，请缩小范围。"
                           f" ({total} features: more than {MAX_EXPORT} per export; select a smaller area.)",
                           field="bbox")
    rows = features.order_by("fid").values_list("geom", "properties", "area_m2")
    geoms, props, areas = [], [], []
    for geom, properties, area in rows:
        geoms.append(shapely.from_wkb(bytes(geom.wkb)))
        props.append(properties)
        areas.append(area)
    return geoms, props, areas
