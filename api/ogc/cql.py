"""Check a parsed CQL2 filter against a layer's queryables before it reaches the database.

pygeofilter's Django backend turns any property name it does not know into an ORM lookup, so a
name such as `version__finding__check_result__project__applicant` followed the relations of the
feature table into restricted data (issue 13). Here every name must be one of the layer's own
queryables, every comparison must compare like with like (text with text, numbers with numbers,
geometries with geometries: PostgreSQL refused `text > integer` with a 500), text holds no NUL
(PostgreSQL cannot take one), and geometry literals are finite and well-formed.
"""

from __future__ import annotations

import json

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from pygeofilter import ast, values

from blueprint.errors import InvalidQuery, echo

__all__ = ["check_filter", "GEOMETRY_NAMES"]

GEOMETRY_NAMES = ("geometry", "geom")
_NUMERIC = {"number", "integer"}
_UNSUPPORTED = (ast.TemporalPredicate, ast.ArrayPredicate, ast.Function, ast.Exists)


def check_filter(root: ast.Node, fields: dict[str, str]) -> None:
    """Raise InvalidQuery unless `root` names only `fields` (name → JSON type), `fid` and the
    geometry, with operands of matching types."""
    kinds = {**fields, "fid": "integer", **{name: "geometry" for name in GEOMETRY_NAMES}}
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute) and node.name not in kinds:
            raise _unknown(node.name, fields)
        if isinstance(node, _UNSUPPORTED):
            raise InvalidQuery(f"不支持此 CQL2 运算：{type(node).__name__}；可用比较、LIKE、IN、BETWEEN、"
                               f"IS NULL 与空间谓词。 (Unsupported CQL2 operation {type(node).__name__}.)")
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, (values.Geometry, values.Envelope)):
            _check_geometry(node)
        elif isinstance(node, ast.Predicate):
            _check_types(node, kinds)
        if isinstance(node, ast.Node):
            stack.extend(node.get_sub_nodes())
        elif isinstance(node, list):
            stack.extend(node)


def _unknown(name: str, fields: dict[str, str]) -> InvalidQuery:
    allowed = ", ".join([*fields, "fid", "geometry"])
    return InvalidQuery(f"CQL2 过滤条件只能引用本图层的属性（见 queryables）：{allowed}；"
                        f"没有 “{echo(name)}”。"
                        f" (The filter may name only the layer's queryables: {allowed}; not '{echo(name)}'.)")


def _kind(node, kinds: dict[str, str]) -> str | None:
    if isinstance(node, ast.Attribute):
        if node.name not in kinds:
            raise _unknown(node.name, {k: v for k, v in kinds.items() if k not in ("fid", *GEOMETRY_NAMES)})
        kind = kinds[node.name]
        return "number" if kind in _NUMERIC else kind
    if isinstance(node, bool):
        return "boolean"
    if isinstance(node, (int, float)):
        return "number"
    if isinstance(node, str):
        _check_text(node)
        return "string"
    if isinstance(node, (values.Geometry, values.Envelope)):
        return "geometry"
    if isinstance(node, ast.Arithmetic):
        return "number"
    return None if isinstance(node, ast.Node) else type(node).__name__


def _check_types(node: ast.Predicate, kinds: dict[str, str]) -> None:
    if isinstance(node, (ast.Comparison, ast.SpatialComparisonPredicate)):
        operands = [node.lhs, node.rhs]
    elif isinstance(node, ast.Between):
        operands = [node.lhs, node.low, node.high]
    elif isinstance(node, ast.Like):
        operands = [node.lhs, node.pattern]
    elif isinstance(node, ast.In):
        operands = [node.lhs, *node.sub_nodes]
    else:
        return
    found = {k for k in (_kind(o, kinds) for o in operands) if k is not None}
    if isinstance(node, ast.SpatialComparisonPredicate):
        expected = {"geometry"}
    elif isinstance(node, ast.Like):
        expected = {"string"}
    else:
        expected = found if len(found) == 1 and "geometry" not in found else set()
    if not found <= expected:
        names = ", ".join(f"{o.name} ({_ZH[_kind(o, kinds)]})" for o in operands
                          if isinstance(o, ast.Attribute))
        kinds_zh = "、".join(sorted(_ZH.get(k, k) for k in found))
        raise InvalidQuery(f"CQL2 类型不匹配：{names or '运算对象'} 不能与{kinds_zh}"
                           "比较；文本值请加单引号，如 MC = '微山湖'。"
                           f" (Type mismatch in the filter: {', '.join(sorted(found))}; quote text values.)")


_ZH = {"string": "文本", "number": "数值", "geometry": "几何", "boolean": "布尔值", "date": "文本",
       "datetime": "日期时间", "timedelta": "时长"}


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidQuery("过滤条件中有 NUL 字符 (\\0)：请去掉。"
                           " (The filter holds a NUL character: remove it.)")


def _check_geometry(node) -> None:
    shape = node.__geo_interface__ if isinstance(node, values.Geometry) else {
        "type": "Polygon", "coordinates": [[[node.x1, node.y1], [node.x2, node.y1], [node.x2, node.y2],
                                            [node.x1, node.y2], [node.x1, node.y1]]]}
    try:
        GEOSGeometry(json.dumps(shape, allow_nan=False))  # NaN and infinity are not JSON: ValueError
    except (ValueError, TypeError, GEOSException, GDALException):
        raise InvalidQuery("过滤条件中的几何无效或坐标不是有限数：面的环至少 4 个点且首尾相同，例如"
                           " POLYGON((116 35, 117 35, 117 36, 116 35))。 (A geometry in the filter is"
                           " malformed or not finite: a ring needs 4 positions, the last equal to the"
                           " first.)") from None
