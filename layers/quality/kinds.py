"""The quality-rule kinds. Each selects its failures from one version's partition in SQL, set-wise
(a GiST self-join for overlaps, window functions for duplicates), never feature by feature."""

from __future__ import annotations

import json

from layers import crs
from layers.quality.landuse import GBT_21010
from layers.quality.registry import Context, QualityKind, register

__all__ = [
    "GeometryValid",
    "Cgcs2000",
    "RequiredAttributes",
    "CodeList",
    "WithinDistricts",
    "NoOverlaps",
    "TilesCoverage",
    "AreaAgrees",
    "Duplicates",
]

_TOLERANCE = {"type": "number", "minimum": 0}
_FIELDS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}


@register
class GeometryValid(QualityKind):
    name = "geometry_valid"
    title_zh, title_en = "几何有效且非空", "Geometry valid and non-empty"
    params = {"repaired_fail": {"type": "boolean", "description": "导入时自动修复的要素也计为问题"}}

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        repaired = """UNION ALL
            SELECT (r->>'fid')::bigint, '导入时几何无效，已自动修复：' || (r->>'reason'),
                   'Invalid geometry repaired on import: ' || (r->>'reason'), NULL::geometry,
                   jsonb_build_object('stage', 'repaired')
            FROM layers_layerversion v, jsonb_array_elements(v.repaired) r WHERE v.id = %(v)s"""
        return [
            (
                f"""
            SELECT (r->>'fid')::bigint, '导入时被拒绝：' || (r->>'reason'),
                   'Rejected on import: ' || (r->>'reason'), NULL::geometry,
                   jsonb_build_object('stage', 'rejected')
            FROM layers_layerversion v, jsonb_array_elements(v.rejected) r WHERE v.id = %(v)s
            UNION ALL
            SELECT f.fid, CASE WHEN ST_IsEmpty(f.geom) THEN '空几何' ELSE '几何无效：' ||
                ST_IsValidReason(f.geom) END,
                   CASE WHEN ST_IsEmpty(f.geom) THEN 'Empty geometry' ELSE 'Invalid geometry: ' ||
                       ST_IsValidReason(f.geom) END,
                   NULL::geometry, jsonb_build_object('stage', 'stored')
            FROM layers_feature f WHERE f.version_id = %(v)s AND (ST_IsEmpty(f.geom) OR NOT
                ST_IsValid(f.geom))
            {repaired if self.p.get("repaired_fail") else ""}""",
                {"v": ctx.version_id},
            )
        ]


@register
class Cgcs2000(QualityKind):
    name = "cgcs2000"
    title_zh, title_en = "CGCS2000 坐标系", "Delivered in CGCS2000"
    params = {}

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        ok = crs.is_cgcs2000(ctx.source_crs)
        return [
            (
                """SELECT NULL::bigint, %(zh)s, %(en)s, NULL::geometry, %(details)s::jsonb
                   WHERE NOT %(ok)s""",
                {
                    "ok": ok,
                    "details": json.dumps({"source_crs": ctx.source_crs}),
                    "zh": f"数据坐标系为 {ctx.source_crs}，不是 2000 国家大地坐标系 (CGCS2000)；"
                    "已转换入库，请以 CGCS2000 报送。",
                    "en": f"The data came in {ctx.source_crs}, not CGCS2000 (converted on import).",
                },
            )
        ]


_TYPE_OK = r"""CASE s.t
    WHEN 'string' THEN jsonb_typeof(f.properties -> s.k) = 'string'
    WHEN 'number' THEN jsonb_typeof(f.properties -> s.k) = 'number'
    WHEN 'integer' THEN jsonb_typeof(f.properties -> s.k) = 'number' AND (f.properties ->> s.k) ~ '^-?[0-9]+$'
    WHEN 'date' THEN jsonb_typeof(f.properties -> s.k) = 'string'
                     AND (f.properties ->> s.k) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
    ELSE true END"""
_BLANK = "(f.properties ->> s.k IS NULL OR btrim(f.properties ->> s.k) = '')"


@register
class RequiredAttributes(QualityKind):
    name = "required_attributes"
    title_zh, title_en = "必填属性齐全且类型正确", "Required attributes present and typed"
    params = {
        "fields": {**_FIELDS, "description": "必填字段（默认：图层属性定义的全部字段）"},
        "check_types": {"type": "boolean", "description": "按图层属性定义检查类型（默认是）"},
    }

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        keys = self.p.get("fields") or list(ctx.schema)
        types = [ctx.schema.get(k, "any") if self.p.get("check_types", True) else "any" for k in keys]
        return [
            (
                f"""
            SELECT f.fid,
                   concat_ws('；', '缺少必填字段 ' || array_to_string(m.missing, '、'),
                             '字段类型不符 ' || array_to_string(m.wrong, '、')),
                   concat_ws('; ', 'missing ' || array_to_string(m.missing, ', '),
                             'wrong type ' || array_to_string(m.wrong, ', ')),
                   NULL::geometry, jsonb_build_object('missing', m.missing, 'wrong_type', m.wrong)
            FROM layers_feature f, LATERAL (
                SELECT array_agg(s.k ORDER BY s.n) FILTER (WHERE {_BLANK}) AS missing,
                       array_agg(s.k ORDER BY s.n) FILTER (WHERE NOT {_BLANK} AND NOT ({_TYPE_OK})) AS wrong
                FROM unnest(%(keys)s::text[], %(types)s::text[]) WITH ORDINALITY AS s(k, t, n)) m
            WHERE f.version_id = %(v)s AND (m.missing IS NOT NULL OR m.wrong IS NOT NULL)""",
                {"v": ctx.version_id, "keys": keys, "types": types},
            )
        ]


_LISTS = {
    "gbt2260": ("GB/T 2260 行政区划代码", "EXISTS (SELECT 1 FROM layers_district d WHERE d.code = {value})"),
    "gbt21010": ("GB/T 21010 土地利用分类代码", "{value} = ANY(%(codes)s)"),
    "project_code": (
        "统一项目代码 (GB/T 40058)",
        "{value} ~ '^[0-9]{{4}}-[0-9]{{6}}-[0-9]{{2}}-0[123]-[0-9]{{6}}$' AND EXISTS ("
        "SELECT 1 FROM layers_district d WHERE d.code = substr({value}, 6, 6))",
    ),
    "values": ("规定取值", "{value} = ANY(%(values)s)"),
}


@register
class CodeList(QualityKind):
    name = "code_list"
    title_zh, title_en = "代码符合代码表", "Codes from a code list"
    params = {
        "field": {"type": "string", "minLength": 1},
        "list": {
            "enum": list(_LISTS),
            "description": "gbt2260 行政区划 / gbt21010 地类 / project_code / values",
        },
        "values": {"type": "array", "items": {"type": "string"}},
        "prefix_length": {
            "type": "integer",
            "minimum": 1,
            "description": "只比较前 N 位（如 ZLDWDM 的前 6 位为县级区划码）",
        },
    }
    required = ["field", "list"]

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        label, test = _LISTS[self.p["list"]]
        value = "btrim(f.properties ->> %(field)s)"
        if self.p.get("prefix_length"):
            value = f"left({value}, %(n)s)"
        return [
            (
                f"""
            SELECT f.fid, format('字段 %%s 的值 “%%s” 不在%%s中', %(field)s::text, f.properties ->> %(field)s,
                %(label)s::text),
                   format('%%s = ''%%s'' is not in the code list %%s', %(field)s::text, f.properties ->>
                       %(field)s, %(list)s::text),
                   NULL::geometry, jsonb_build_object('field', %(field)s::text, 'value', f.properties
                       ->> %(field)s)
            FROM layers_feature f
            WHERE f.version_id = %(v)s AND NOT (f.properties ->> %(field)s IS NULL OR btrim(f.properties
                ->> %(field)s) = '')
              AND NOT ({test.format(value=value)})""",
                {
                    "v": ctx.version_id,
                    "field": self.p["field"],
                    "label": label,
                    "list": self.p["list"],
                    "n": self.p.get("prefix_length"),
                    "codes": list(GBT_21010),
                    "values": self.p.get("values", []),
                },
            )
        ]


@register
class WithinDistricts(QualityKind):
    name = "within_districts"
    title_zh, title_en = "位于所声明的行政区内", "Within the districts the version claims"
    params = {"tolerance_m2": {**_TOLERANCE, "description": "区外面积容差（平方米，默认 1）"}}

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        claim = (
            "SELECT geom AS g FROM layers_district WHERE code = %(county)s"
            if ctx.county
            else "SELECT coverage AS g FROM layers_layerversion WHERE id = %(v)s"
        )
        args = {
            "v": ctx.version_id,
            "county": ctx.county,
            "floor": ctx.fid_floor,
            "tol": self.p.get("tolerance_m2", 1.0),
        }
        return [
            ("DROP TABLE IF EXISTS quality_claim", {}),
            # Pieces of the claimed districts, GiST-indexed: most features are covered by one piece.
            (
                f"CREATE TEMP TABLE quality_claim ON COMMIT DROP AS SELECT ST_Subdivide(g, 128) AS geom"
                f" FROM ({claim}) c WHERE g IS NOT NULL",
                args,
            ),
            ("CREATE INDEX ON quality_claim USING gist (geom); ANALYZE quality_claim", {}),
            (
                """
            WITH cand AS (
                SELECT f.fid, f.geom FROM layers_feature f WHERE f.version_id = %(v)s AND f.fid > %(floor)s
                AND NOT EXISTS (SELECT 1 FROM quality_claim c WHERE ST_CoveredBy(f.geom, c.geom))),
            outside AS (
                SELECT cand.fid, ST_CollectionExtract(ST_Difference(cand.geom, coalesce(
                    (SELECT ST_Union(c.geom) FROM quality_claim c WHERE c.geom && cand.geom),
                    'SRID=4490;POLYGON EMPTY'::geometry)), 3) AS g FROM cand),
            measured AS (SELECT fid, g, ST_Area(g::geography) AS area FROM outside)
            SELECT fid, format('有 %%s 平方米位于所声明的行政区之外', round(area::numeric, 2)),
                   format('%%s m² lie outside the districts the version claims', round(area::numeric, 2)),
                   g, jsonb_build_object('outside_m2', area)
            FROM measured WHERE area > %(tol)s""",
                args,
            ),
        ]


@register
class NoOverlaps(QualityKind):
    name = "no_overlaps"
    title_zh, title_en = "图斑之间无重叠", "No overlaps inside the layer"
    params = {"tolerance_m2": {**_TOLERANCE, "description": "重叠面积容差（平方米，默认 0.01）"}}

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        # A GiST self-join on the version's partition; '2********' = the interiors share an area.
        return [
            (
                """
            SELECT x.fid, format('与要素 %%s 重叠 %%s 平方米', x.other, round(m.area::numeric, 2)),
                   format('overlaps feature %%s by %%s m²', x.other, round(m.area::numeric, 2)),
                   x.g, jsonb_build_object('other_fid', x.other, 'overlap_m2', m.area)
            FROM (SELECT a.fid, b.fid AS other, ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS g
                  FROM layers_feature a JOIN layers_feature b
                    ON b.version_id = %(v)s AND a.fid < b.fid AND a.geom && b.geom
                  WHERE a.version_id = %(v)s AND ST_Relate(a.geom, b.geom, '2********')) x,
                 LATERAL (SELECT ST_Area(x.g::geography) AS area) m
            WHERE m.area > %(tol)s""",
                {"v": ctx.version_id, "tol": self.p.get("tolerance_m2", 0.01)},
            )
        ]


@register
class TilesCoverage(QualityKind):
    name = "tiles_coverage"
    title_zh, title_en = "铺满覆盖范围，无空隙与缝隙", "Tiles its coverage: no gaps or slivers"
    params = {
        "with_layers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "与这些图层的现行版本一起铺满（如三区）",
        },
        "ignore_below_m2": {**_TOLERANCE, "description": "小于此面积的视为计算噪声（默认 0.01）"},
        "sliver_m2": {**_TOLERANCE, "description": "小于此面积或狭长的计为缝隙（默认 100）"},
    }

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        args = {
            "v": ctx.version_id,
            "others": self.p.get("with_layers", []),
            "ignore": self.p.get("ignore_below_m2", 0.01),
            "sliver": self.p.get("sliver_m2", 100.0),
        }
        return [
            (
                """
            WITH pieces AS (
                SELECT geom FROM layers_feature WHERE version_id = %(v)s
                UNION ALL
                SELECT f.geom FROM layers_layer l JOIN layers_feature f ON f.version_id = l.active_version_id
                WHERE l.slug = ANY(%(others)s)),
            gaps AS (SELECT (ST_Dump(ST_CollectionExtract(ST_Difference(v.coverage,
                                (SELECT ST_Union(geom) FROM pieces)), 3))).geom AS g
                     FROM layers_layerversion v WHERE v.id = %(v)s AND v.coverage IS NOT NULL),
            measured AS (SELECT g, ST_Area(g::geography) AS area, ST_Perimeter(g::geography) AS
                perimeter FROM gaps)
            SELECT NULL::bigint,
                   CASE WHEN area < %(sliver)s OR 4 * pi() * area / (perimeter ^ 2) < 0.05
                        THEN format('缝隙（狭长或细小的未覆盖区）%%s 平方米', round(area::numeric, 2))
                        ELSE format('空隙（未被任何图斑覆盖）%%s 平方米', round(area::numeric, 2)) END,
                   format('uncovered area of %%s m²', round(area::numeric, 2)), g,
                   jsonb_build_object('gap_m2', area, 'thinness', 4 * pi() * area / (perimeter ^ 2))
            FROM measured WHERE area > %(ignore)s""",
                args,
            )
        ]


_UNITS = {"m2": 1.0, "mu": 10000.0 / 15.0, "hectare": 10000.0}


@register
class AreaAgrees(QualityKind):
    name = "area_agrees"
    title_zh, title_en = "面积字段与椭球面积一致", "Stated area agrees with the ellipsoidal area"
    params = {
        "field": {"type": "string", "minLength": 1, "description": "面积字段，如 YJJBNTTBMJ、TBMJ、MJ"},
        "unit": {"enum": list(_UNITS), "description": "字段单位：m2 平方米 / mu 亩 / hectare 公顷"},
        "tolerance_m2": {**_TOLERANCE, "description": "容差（平方米，默认 1）"},
        "tolerance_share": {**_TOLERANCE, "maximum": 1, "description": "相对容差（默认 0.001）"},
    }
    required = ["field"]

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        # The allowed difference is the larger of the absolute and the relative tolerance.
        return [
            (
                """
            SELECT fid, format('%%s 填写 %%s 平方米，椭球面积 %%s 平方米，相差 %%s 平方米', %(field)s::text,
                               round(stated::numeric, 2), round(measured::numeric, 2), round((stated -
                                   measured)::numeric, 2)),
                   format('%%s states %%s m², the ellipsoidal area is %%s m²', %(field)s::text,
                          round(stated::numeric, 2), round(measured::numeric, 2)),
                   NULL::geometry, jsonb_build_object('stated_m2', stated, 'ellipsoidal_m2', measured)
            FROM (SELECT f.fid, (f.properties ->> %(field)s)::float8 * %(factor)s AS stated, f.area_m2
                AS measured
                  FROM layers_feature f
                  WHERE f.version_id = %(v)s AND jsonb_typeof(f.properties -> %(field)s) = 'number') x
            WHERE abs(stated - measured) > greatest(%(tol)s, %(share)s * measured)""",
                {
                    "v": ctx.version_id,
                    "field": self.p["field"],
                    "factor": _UNITS[self.p.get("unit", "m2")],
                    "tol": self.p.get("tolerance_m2", 1.0),
                    "share": self.p.get("tolerance_share", 0.001),
                },
            )
        ]


@register
class Duplicates(QualityKind):
    name = "duplicates"
    title_zh, title_en = "无重复要素", "No duplicate features"
    params = {
        "key_fields": {**_FIELDS, "description": "组合唯一的字段，如 [ZLDWDM, TBBH]"},
        "geometry": {"type": "boolean", "description": "几何完全相同也计为重复（默认是）"},
    }

    def statements(self, ctx: Context) -> list[tuple[str, dict]]:
        args = {"v": ctx.version_id, "keys": self.p.get("key_fields") or []}
        parts = []
        if self.p.get("geometry", True):
            parts.append("""
            SELECT fid, format('与要素 %%s 几何完全相同', first),
                   format('same geometry as feature %%s', first),
                   NULL::geometry, jsonb_build_object('duplicate_of', first, 'by', 'geometry')
            FROM (SELECT f.fid, min(f.fid) OVER (PARTITION BY md5(ST_AsBinary(ST_Normalize(f.geom)))) AS first
                  FROM layers_feature f WHERE f.version_id = %(v)s) x WHERE fid <> first""")
        if args["keys"]:
            parts.append("""
            SELECT fid, format('与要素 %%s 的 %%s 相同：%%s', first, array_to_string(%(keys)s::text[], '+'),
                               array_to_string(key, ' / ')),
                   format('same %%s as feature %%s', array_to_string(%(keys)s::text[], '+'), first),
                   NULL::geometry, jsonb_build_object('duplicate_of', first, 'by', to_jsonb(key))
            FROM (SELECT fid, key, min(fid) OVER (PARTITION BY key) AS first FROM (
                    SELECT f.fid, ARRAY(SELECT f.properties ->> u.k FROM unnest(%(keys)s::text[])
                                        WITH ORDINALITY AS u(k, n) ORDER BY u.n) AS key
                    FROM layers_feature f WHERE f.version_id = %(v)s) keyed
                  WHERE array_position(key, NULL) IS NULL) x WHERE fid <> first""")
        if not parts:
            return [("SELECT NULL::bigint, ''::text, ''::text, NULL::geometry, NULL::jsonb WHERE false", {})]
        return [(" UNION ALL ".join(parts), args)]
