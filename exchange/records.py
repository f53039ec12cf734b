"""Build a front-database record from an outbox row (its sources are immutable, so a retry
builds the same record), and the geometry the local quality check looks at."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import shapely
from django.conf import settings
from django.db import connection
from shapely.geometry.base import BaseGeometry

from exchange import attachments
from exchange.models import OutboxRow, Table

__all__ = ["Record", "build", "local_time"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_PART_SQL = """
SELECT f.properties::text, ST_AsBinary(ST_Multi(ST_CollectionExtract(
         CASE WHEN ST_CoveredBy(f.geom, d.geom) THEN f.geom ELSE ST_Intersection(f.geom, d.geom) END, 3)))
  FROM layers_feature f, layers_district d
 WHERE f.version_id = %s AND d.code = %s AND f.geom && d.geom AND ST_Relate(f.geom, d.geom, 'T********')
 ORDER BY f.fid"""


@dataclass
class Record:
    """The columns of one front-database row, and the geometry it describes (for the check)."""

    columns: dict
    geometry: BaseGeometry | None = None


def local_time(moment):
    """The standard's local time (Asia/Shanghai), to the second, as a naive timestamp."""
    return moment.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def build(row: OutboxRow) -> Record:
    """The record of `row`; an invalidation row repeats its target with SJYXBS = 0."""
    target = row.supersedes if not row.valid else row
    record = _BUILDERS[row.table](target, with_attachment=row.valid)
    record.columns.update({
        "DFSJZJ": row.key, "XZQHDM": row.district_id, "SJYXBS": 1 if row.valid else 0,
        "SJWXYY": None if row.valid else _superseded_reason(row), "SJSCZT": 0,
        "GXSJ": local_time(row.created_at)})
    return record


def _superseded_reason(row: OutboxRow) -> str:
    replacement = row.supersedes.superseded_by.filter(valid=True).order_by("id").first()
    new = f"，由 {replacement.key} 替代" if replacement else "，该区域已无此数据"
    return f"数据已更新{new} (superseded)"


def _control_line(row: OutboxRow, *, with_attachment: bool) -> Record:
    layer, version, district = row.layer, row.layer_version, row.district
    name = f"{layer.slug}_{district.code}_v{version.number}"
    geometries, properties = _part(version.pk, district.code)
    columns = {
        "KZXWJXH": f"{layer.slug}-v{version.number}",
        "KZXWJMC": f"{layer.title_zh}（{district.name}）第{version.number}版.zip",
        "KZXSYKSSJ": local_time(version.created_at),
        "KZXWJSM": (f"{layer.title_zh} {district.name}部分，第 {version.number} 版，"
                    f"{len(geometries)} 个图斑，2000国家大地坐标系 (EPSG:4490)，属性 GBK 编码；"
                    f"来源 {version.source_name}"),
        "KZXWJFJ": attachments.zipped_shapefile(name, geometries, properties, layer.fields)
        if with_attachment and geometries else None,
    }
    union = shapely.union_all(geometries) if geometries else None
    return Record(columns, union)


def _part(version_id: int, code: str) -> tuple[list[BaseGeometry], list[dict]]:
    import json

    with connection.cursor() as cursor:
        cursor.execute(_PART_SQL, [version_id, code])
        rows = [(json.loads(props), shapely.from_wkb(bytes(wkb))) for props, wkb in cursor.fetchall()]
    kept = [(p, g) for p, g in rows if not g.is_empty]
    return [g for _, g in kept], [p for p, _ in kept]


def _site(row: OutboxRow, *, with_attachment: bool) -> Record:
    revision, project = row.site_revision, row.project
    geom = shapely.from_wkb(bytes(revision.geom.wkb))
    columns = {
        "XMDM": project.code, "JZWJXH": str(revision.number),
        "JZWJMC": f"{project.code}_用地红线_第{revision.number}版.txt",
        "JZWJSM": (f"{project.name} 用地红线第 {revision.number} 版，"
                   f"面积 {revision.area_m2 / 10_000:.4f} 公顷，界址坐标 TXT"
                   "（2000国家大地坐标系 3度带高斯-克吕格，带号前缀）"),
        "JZWJFJ": attachments.boundary_txt(geom, code=project.code, name=project.name[:50])
        if with_attachment else None,
    }
    return Record(columns, geom)


def _opinion(row: OutboxRow, *, with_attachment: bool) -> Record:
    check, project = row.check_result, row.project
    return Record({
        "XMDM": project.code, "QQYJSLBM": str(check.pk),
        "BLDWDM": settings.BLUEPRINT["EXCHANGE_BUREAU_CODE"],
        "BLDWMC": settings.BLUEPRINT["EXCHANGE_BUREAU_NAME"],
        "FKSJ": local_time(check.created_at), "BLR": check.created_by or "系统自动检查",
        "QQYJ": _opinion_text(check),
        "FJMC": f"合规性检查报告_{project.code}_{str(check.pk)[:8]}.pdf",
        "FJID": f"/api/checks/{check.pk}/report.pdf",
    })


_VERDICTS = {"pass": "符合", "info": "符合", "warn": "基本符合（有提示）", "needs_review": "需人工复核",
             "not_covered": "数据未覆盖，无法判定", "error": "检查未能完成", "fail": "不符合"}


def _opinion_text(check) -> str:
    findings = [f for f in check.findings.order_by("order") if f.status != "pass"]
    lines = [f"“一张蓝图”合规性检查结论：{_VERDICTS.get(check.verdict, check.verdict)}。"
             f"用地面积 {check.site_area_m2 / 10_000:.4f} 公顷，规则集 {check.ruleset_hash[:12]}。"]
    lines += [f"{i}. {f.message_zh}" for i, f in enumerate(findings[:10], start=1)]
    if len(findings) > 10:
        lines.append(f"另有 {len(findings) - 10} 项，详见检查报告。")
    return "\n".join(lines)[:4000]


_BUILDERS = {Table.CONTROL_LINE: _control_line, Table.SITE: _site, Table.OPINION: _opinion}
