"""The city's own quality check of a record before it is sent (Xiangyang art. 8).

What fails here is marked -1 (本地校验失败) with its reasons, shown to staff and not sent.
"""

from __future__ import annotations

import re
from functools import lru_cache

import shapely
from django.core.exceptions import ValidationError

from exchange.models import OutboxRow, Table
from exchange.records import Record
from layers import crs
from layers.codes import validate_unified_project_code

__all__ = ["problems", "LOCAL_FAILURE_STATUS"]

LOCAL_FAILURE_STATUS = -1
# A shape may run over its district's boundary by this share of its area, or this many m²
# (digitising noise, and slivers where boundaries of different sources meet).
_OUTSIDE_SHARE, _OUTSIDE_M2 = 1e-4, 1.0

REQUIRED = {
    Table.CONTROL_LINE: ["DFSJZJ", "XZQHDM", "KZXWJXH", "KZXWJMC", "KZXSYKSSJ", "GXSJ"],
    Table.SITE: ["DFSJZJ", "XZQHDM", "XMDM", "JZWJXH", "JZWJMC", "GXSJ"],
    Table.OPINION: ["DFSJZJ", "XZQHDM", "XMDM", "QQYJSLBM", "BLDWDM", "BLDWMC", "FKSJ", "QQYJ", "GXSJ"],
}
ATTACHMENT = {Table.CONTROL_LINE: "KZXWJFJ", Table.SITE: "JZWJFJ"}
_REGION = re.compile(r"^\d{6}$")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def problems(row: OutboxRow, record: Record) -> list[str]:
    """Everything wrong with `record`, in Chinese; empty when it may be sent."""
    columns = record.columns
    found = [f"缺少必填字段 {name}" for name in REQUIRED[row.table] if columns.get(name) in (None, "")]
    if row.valid and row.table in ATTACHMENT and not columns.get(ATTACHMENT[row.table]):
        found.append(f"缺少附件 {ATTACHMENT[row.table]}")
    if not _REGION.match(str(columns.get("XZQHDM") or "")):
        found.append(f"行政区划代码 {columns.get('XZQHDM')} 不是 6 位 GB/T 2260 代码")
    if "XMDM" in columns:
        found += _project_code(columns["XMDM"])
    if row.table == Table.OPINION and not _CREDIT_CODE.match(str(columns.get("BLDWDM") or "")):
        found.append(f"办理单位代码 {columns.get('BLDWDM')} 不是 18 位统一社会信用代码")
    if row.valid and row.table != Table.OPINION:
        found += _geometry(row, record.geometry)
    return found


@lru_cache(maxsize=64)
def _prepared(wkb: bytes):
    boundary = shapely.from_wkb(wkb)
    shapely.prepare(boundary)
    return boundary


def _project_code(code) -> list[str]:
    try:
        validate_unified_project_code(str(code or ""))
    except ValidationError as exc:
        return [f"项目代码 {code} 无效：{exc.messages[0]}"]
    return []


def _geometry(row: OutboxRow, geom) -> list[str]:
    if geom is None or geom.is_empty:
        return ["没有图形"]
    if not geom.is_valid:
        return [f"图形无效：{shapely.is_valid_reason(geom)}"]
    district = row.district
    if district.geom is None:
        return [f"行政区 {district.code} 没有边界，无法核对图形位置"]
    boundary = _prepared(bytes(district.geom.wkb))
    if shapely.contains(boundary, geom):  # the usual case, cheap on a prepared boundary
        return []
    outside = shapely.difference(geom, boundary)
    if outside.is_empty:
        return []
    outside_m2 = crs.ellipsoidal_area_m2(outside)
    share = outside_m2 / max(crs.ellipsoidal_area_m2(geom), 1e-9)
    if share > _OUTSIDE_SHARE and outside_m2 > _OUTSIDE_M2:
        return [f"图形有 {share:.2%} 位于行政区 {district.name}（{district.code}）之外"]
    return []
