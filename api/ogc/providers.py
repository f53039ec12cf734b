"""A pygeoapi feature provider over the active version of a registered layer."""

from __future__ import annotations

import json
import math

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Polygon
from django.db.models import BigIntegerField, BooleanField, Exists, F, FloatField, Func, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from pygeoapi.provider.base import BaseProvider, ProviderItemNotFoundError

from api.ogc.cql import GEOMETRY_NAMES, check_filter
from api.ogc.errors import provider_error
from api.ogc.geojson_pages import PostgisPage, page_text
from blueprint.errors import BlueprintError, InvalidInput, InvalidQuery, echo
from layers.models import Feature, FeaturePart, Layer

__all__ = ["LayerProvider"]

_JSON_TYPES = {"string": "string", "number": "number", "integer": "integer", "date": "string"}


class LayerProvider(BaseProvider):
    """Features of one layer's active version; pygeoapi makes one per request, so keep it light."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        options = self.options or {}
        if "version_id" in options:  # built with the API object (api.ogc.config): no query here
            self.version_id, self.feature_count = options["version_id"], options["feature_count"]
            self.layer_fields = options["fields"]
        else:
            layer = Layer.objects.select_related("active_version").get(slug=self.data)
            self.version_id, self.feature_count = layer.active_version_id, layer.active_version.feature_count
            self.layer_fields = layer.fields
        self._fields = self.get_fields()  # BaseProvider.fields reads this

    def get_fields(self) -> dict:
        return {name: {"type": _JSON_TYPES.get(kind, "string")} for name, kind in self.layer_fields.items()}

    def query(self, offset=0, limit=10, resulttype="results", bbox=None, datetime_=None, properties=None,
              sortby=None, select_properties=None, skip_geometry=False, q=None, filterq=None,
              crs_transform_spec=None, **kwargs) -> dict:
        """Return a page of features (bbox in lon/lat, as pygeoapi hands over the storage CRS)."""
        try:
            _check_page(resulttype, bbox or [])
            features = self._filtered(bbox or [], properties or [], filterq)
        except BlueprintError as exc:
            raise provider_error(exc) from exc
        if q:
            features = _text_search(features, q)
        unfiltered = not (bbox or properties or filterq or q)
        text_page = PostgisPage.wanted()
        if text_page is not None and resulttype != "hits":
            return self._text_query(text_page, features, None if unfiltered else features, offset, limit,
                                    sortby, select_properties, skip_geometry, crs_transform_spec)
        # The version already knows its size: no full count for an unfiltered big layer.
        matched = self.feature_count if unfiltered else features.count()
        collection = {"type": "FeatureCollection", "features": [], "numberMatched": matched}
        offset = min(int(offset), matched)  # past the end is an empty page, not a bigint overflow
        if resulttype == "hits" or offset >= matched:
            collection["numberReturned"] = 0
            return collection
        rows = self._rows(self._sorted(features, sortby or []), crs_transform_spec, skip_geometry)
        page = rows[offset:offset + int(limit)]
        collection["features"] = [self._feature(row, select_properties) for row in page]
        collection["numberReturned"] = len(collection["features"])
        return collection

    def _text_query(self, text_page, features, counted, offset, limit, sortby, select_properties,
                    skip_geometry, crs_transform_spec) -> dict:
        """A JSON page: its count and its features as PostGIS writes them, in one statement."""
        offset = min(int(offset), self.feature_count if counted is None else 2**62)
        rows = self._rows(self._sorted(features, sortby or []), crs_transform_spec, skip_geometry)
        drop = sorted(set(self.fields) - set(select_properties)) if select_properties else []
        page = rows[offset:offset + int(limit)]
        matched, count, text = page_text(page, counted, geometry=not skip_geometry, drop=drop)
        matched = self.feature_count if counted is None else matched
        return {"type": "FeatureCollection", "numberMatched": matched,
                "features": text_page.placeholders(count, text), "numberReturned": count}

    def get(self, identifier, crs_transform_spec=None, **kwargs) -> dict:
        """Return one feature by its source feature id."""
        try:
            fid = int(identifier)
            if not -2**63 <= fid < 2**63:
                raise ValueError(identifier)
        except (TypeError, ValueError) as exc:
            raise ProviderItemNotFoundError(
                f"要素编号应为整数 (feature ids are integers): {echo(identifier)}") from exc
        row = self._rows(self._active().filter(fid=fid), crs_transform_spec, False).first()
        if row is None:
            raise ProviderItemNotFoundError(f"没有要素 {echo(identifier)} (no feature {echo(identifier)})")
        return self._feature(row, None)

    def _active(self):
        return Feature.objects.filter(version_id=self.version_id)

    def _filtered(self, bbox, properties, filterq):
        features = self._active()
        if bbox:
            # The geometry itself, not its envelope (Features Part 1 /req/core/fc-bbox-response):
            # `intersects` uses the GiST index for the envelope test, then the exact one.
            box = Polygon.from_bbox(tuple(map(float, bbox)))
            box.srid = 4490
            # A heavy feature is tested through its ST_Subdivide parts (few vertices each).
            parts = FeaturePart.objects.filter(feature_id=OuterRef("id"), version_id=self.version_id,
                                               geom__intersects=box)
            # A feature whose envelope lies inside the box intersects it: no exact test (most of a
            # dense page); PostgreSQL tries the arms of an OR in order.
            features = features.filter(geom__bboverlaps=box).filter(
                Q(geom__contained=box) | Q(subdivided=False, geom__intersects=box)
                | Q(Exists(parts), subdivided=True))
        for name, value in properties:
            features = features.filter(**{f"properties__{name}": self._typed(name, value)})
        if filterq is not None:
            features = self._cql2(features, filterq)
        return features

    def _cql2(self, features, filterq):
        from pygeofilter.backends.django import to_filter

        # Each property as a typed SQL value (alias: not selected), so that CQL2 compares text
        # with text and numbers with numbers rather than with jsonb.
        check_filter(filterq, {name: spec["type"] for name, spec in self.fields.items()})
        aliases = {}
        for name, spec in self.fields.items():
            text = KeyTextTransform(name, "properties")
            kind = spec["type"]
            aliases[f"p_{name}"] = Cast(text, FloatField()) if kind == "number" else (
                Cast(text, BigIntegerField()) if kind == "integer" else text)
        mapping = {name: f"p_{name}" for name in self.fields}
        mapping.update({name: "geom" for name in GEOMETRY_NAMES} | {"fid": "fid"})
        return features.alias(**aliases).filter(to_filter(filterq, mapping))

    def _typed(self, name: str, value: str):
        kind = self.fields.get(name, {}).get("type")
        if "\x00" in value:
            raise InvalidQuery(f"属性 {name} 的值中有 NUL 字符：请去掉。 (The value of {name} holds a NUL.)")
        try:
            typed = float(value) if kind == "number" else int(value) if kind == "integer" else value
        except ValueError as exc:
            raise InvalidQuery(f"属性 {name} 应为数值，收到 “{echo(value)}”。"
                               f" (property {name} takes a number.)") from exc
        if isinstance(typed, float) and not math.isfinite(typed):
            raise InvalidQuery(f"属性 {name} 应为有限数。 (property {name} takes a finite number.)")
        return typed

    def _sorted(self, features, sortby):
        keys = []
        for item in sortby:
            name = item["property"]
            if name != "fid" and name not in self.fields:
                raise provider_error(InvalidQuery(f"无法按未知属性 {echo(name)} 排序 (cannot sort by"
                                                  f" {echo(name)})"))
            field = "fid" if name == "fid" else f"properties__{name}"
            keys.append(("-" if item.get("order") == "-" else "") + field)
        return features.order_by(*keys, "fid")

    def _rows(self, features, crs_transform_spec, skip_geometry):
        columns = ["fid", "properties"]
        if not skip_geometry:
            features = features.annotate(geojson=AsGeoJSON(_output_geometry(crs_transform_spec)))
            columns.append("geojson")
        return features.values(*columns)

    def _feature(self, row: dict, select_properties) -> dict:
        properties = row["properties"]
        if select_properties:
            properties = {k: v for k, v in properties.items() if k in select_properties}
        geometry = json.loads(row["geojson"]) if row.get("geojson") else None
        return {"type": "Feature", "id": row["fid"], "geometry": geometry, "properties": properties}


def _text_search(features, q: str):
    """Features Part 9 `q`: features with an attribute value containing any of the comma-separated
    terms, case-insensitively (values only, not the attribute names)."""
    terms = [term.strip() for term in q.split(",") if term.strip()]
    if not terms:
        return features
    patterns = ["%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                for term in terms]
    hit = RawSQL("EXISTS (SELECT 1 FROM jsonb_each_text(layers_feature.properties) AS kv"
                 " WHERE kv.value ILIKE ANY(%s))", [patterns], output_field=BooleanField())
    return features.alias(q_hit=hit).filter(q_hit=True)


def _check_page(resulttype: str, bbox: list) -> None:
    if resulttype not in ("results", "hits"):
        raise InvalidInput(f"resulttype 应为 results 或 hits，收到 “{echo(resulttype)}”。"
                           " (resulttype must be results or hits.)")
    if len(bbox) not in (0, 4):
        raise InvalidInput("bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度（不支持高程）。"
                           " (bbox takes 4 numbers: minx,miny,maxx,maxy; no heights.)")
    if not all(math.isfinite(v) for v in bbox):
        raise InvalidInput("bbox 的 4 个数须为有限数（不能是 nan、inf）。"
                           " (bbox values must be finite numbers.)")
    if bbox and bbox[0] > bbox[2]:
        raise InvalidInput("bbox 的最小经度应小于最大经度（不支持跨 180° 经线）。"
                           " (bbox: minx must be less than maxx; no antimeridian crossing.)")


def _output_geometry(crs_transform_spec):
    """The geometry in the requested CRS; the database holds lon/lat CGCS2000."""
    target = str(getattr(crs_transform_spec, "target_crs_uri", "") or "")
    if target.endswith("/4490"):
        # EPSG:4490 is latitude-first by definition: answer (lat, lon).
        return Func(F("geom"), function="ST_FlipCoordinates", output_field=GeometryField(srid=4490))
    if target.endswith("/3857"):
        return Func(F("geom"), template="ST_Transform(ST_SetSRID(%(expressions)s, 4326), 3857)",
                    output_field=GeometryField(srid=3857))
    return F("geom")
