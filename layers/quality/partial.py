"""A county's part of a layer: build a city version from the active one with that county's
features replaced by a submitted file. A feature belongs to the county holding a point of it
(`ST_PointOnSurface`), the same rule the quality report uses to count failures per county."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

from blueprint.errors import Conflict, InvalidInput
from layers.models import District, Layer

__all__ = ["Part"]


@dataclass(frozen=True)
class Part:
    county: str
    base_version_id: int
    fid_floor: int  # the new features get fids above the base version's largest

    @classmethod
    def of(cls, layer: Layer, county: str | None) -> Part | None:
        if not county:
            return None
        district = District.objects.filter(
            code=county, level=District.Level.COUNTY, geom__isnull=False
        ).first()
        if district is None:
            raise InvalidInput(
                f"“{county}” 不是有边界的县级行政区，无法替换其部分。"
                f" ('{county}' is not a county with a boundary.)",
                field="county",
            )
        if layer.active_version_id is None:
            raise Conflict(
                f"图层 {layer.slug} 还没有现行版本，无法只替换一个县的部分：请先导入全市数据。"
                f" (Layer {layer.slug} has no active version to replace a county's part of.)"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(max(fid), 0) FROM layers_feature WHERE version_id = %s",
                [layer.active_version_id],
            )
            floor = cursor.fetchone()[0]
        return cls(county, layer.active_version_id, floor)

    def carry(self, cursor, table: str, version_id: int) -> None:
        """Renumber the file's rows above the floor, then copy the rest of the city into `table`."""
        cursor.execute(f"UPDATE {table} SET fid = fid + %s", [self.fid_floor + 1])
        cursor.execute(
            f"INSERT INTO {table} (version_id, fid, properties, area_m2, subdivided, geom)"
            " SELECT %(new)s, f.fid, f.properties, f.area_m2, f.subdivided, f.geom FROM layers_feature f"
            " WHERE f.version_id = %(base)s AND NOT ST_Intersects("
            "   (SELECT geom FROM layers_district WHERE code = %(county)s), ST_PointOnSurface(f.geom))",
            {"new": version_id, "base": self.base_version_id, "county": self.county},
        )

    def measure(self, version_id: int) -> tuple[int, float, GEOSGeometry]:
        """The city version's count, area and extent."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), coalesce(sum(area_m2), 0),"
                " ST_AsEWKB(ST_Envelope(ST_Extent(geom)::geometry))"
                " FROM layers_feature WHERE version_id = %s",
                [version_id],
            )
            count, area, extent = cursor.fetchone()
        geom = GEOSGeometry(memoryview(extent))
        geom.srid = 4490
        return count, area, geom

    def set_coverage(self, version_id: int) -> None:
        """The base version's coverage and the county's boundary."""
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE layers_layerversion v SET coverage = (SELECT ST_Multi(ST_CollectionExtract("
                "  ST_Union(coalesce(b.coverage, d.geom), d.geom), 3))"
                "  FROM layers_layerversion b, layers_district d"
                "  WHERE b.id = %(base)s AND d.code = %(county)s)"
                " WHERE v.id = %(v)s",
                {"v": version_id, "base": self.base_version_id, "county": self.county},
            )
