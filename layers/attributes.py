"""Map a source file's attributes onto a layer's schema, checking and converting whole columns.

Conversion is vectorised with pyarrow; only when a column fails does a per-value pass run, to
name the feature and the value that broke it.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pyarrow as pa
import pyarrow.compute as pc

from blueprint.errors import InvalidInput

__all__ = ["AttributeMapper", "SQL_TYPES"]

SQL_TYPES = {"string": "text", "number": "double precision", "integer": "bigint", "date": "date"}
_ARROW_TYPES = {"string": pa.string(), "number": pa.float64(), "integer": pa.int64(), "date": pa.date32()}
_TYPE_NAMES = {"string": "文本 text", "number": "数值 number", "integer": "整数 integer",
               "date": "日期 date (YYYY-MM-DD)"}


def _inferred(dtype: str) -> str:
    """The schema type of a source column, for layers registered without a schema."""
    if dtype.startswith("float"):
        return "number"
    if dtype.startswith(("int", "uint")):
        return "integer"
    if dtype.startswith("datetime"):
        return "date"
    return "string"


class AttributeMapper:
    """Match source fields to schema fields by name (case-insensitive) and convert columns."""

    def __init__(self, schema: dict[str, str], source_fields: list[str], source_dtypes: list[str]) -> None:
        unknown = {name: kind for name, kind in schema.items() if kind not in SQL_TYPES}
        if unknown:
            raise InvalidInput(f"图层属性定义中有未知类型 {unknown}。 (Unknown field types {unknown}.)")
        if not schema:  # a layer without a schema keeps every attribute, typed as it comes
            schema = {name: _inferred(str(dtype)) for name, dtype in zip(source_fields, source_dtypes,
                                                                          strict=True)}
        by_lower = {name.lower(): name for name in source_fields}
        sources = {name: by_lower.get(name.lower()) for name in schema}
        self.missing = sorted(name for name, source in sources.items() if source is None)
        self.fields = {name: source for name, source in sources.items() if source is not None}
        self.kinds = {name: schema[name] for name in self.fields}
        self.dropped = sorted(set(source_fields) - set(self.fields.values()))

    def columns(self, fids: list, batch: dict[str, pa.Array]) -> list[pa.Array]:
        """Return the converted columns, in the order of `self.fields`."""
        return [self._convert(name, batch[source], fids) for name, source in self.fields.items()]

    def json_texts(self, fids: list, batch: dict[str, pa.Array]) -> pa.Array:
        """Return each feature's attributes as a JSON object text, built column-wise."""
        pieces = []
        for i, (name, column) in enumerate(zip(self.fields, self.columns(fids, batch), strict=True)):
            key = json.dumps(name, ensure_ascii=False)
            prefix = pa.scalar(("{" if i == 0 else ",") + key + ":")
            pieces += [prefix, _json_values(column, self.kinds[name])]
        if not pieces:
            return pa.array(["{}"] * len(fids), pa.string())
        return pc.binary_join_element_wise(*pieces, "}", "")

    def _convert(self, name: str, column: pa.Array, fids: list) -> pa.Array:
        kind = self.kinds[name]
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
        try:
            if kind == "string" and pa.types.is_floating(column.type):
                return _integral_floats_as_text(column)
            converted = pc.cast(column, _ARROW_TYPES[kind])
            if kind != "number" or not pc.any(pc.invert(pc.is_finite(converted))).as_py():
                return converted
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # find the value that broke it, below
        self._find_culprit(name, column.to_pylist(), fids)
        raise InvalidInput(f"字段 {name} 无法转换为{_TYPE_NAMES[kind]}。"
                           f" (Field {name} cannot be read as {kind}.)", field=name)

    def _find_culprit(self, name: str, values: list, fids: list) -> None:
        convert = _CONVERTERS[self.kinds[name]]
        for fid, value in zip(fids, values, strict=True):
            if value is None:
                continue
            try:
                convert(value)
            except (ValueError, TypeError, OverflowError) as exc:
                raise InvalidInput(
                    f"要素 {fid} 的字段 {name} 值为 “{str(value)[:40]}”，"
                    f"应为{_TYPE_NAMES[self.kinds[name]]}。请修正后重新导入。"
                    f" (Feature {fid}: field {name} holds '{str(value)[:40]}', expected {self.kinds[name]}.)",
                    fid=fid, field=name,
                ) from exc


def _json_values(column: pa.Array, kind: str) -> pa.Array:
    """JSON literals for one converted column (nulls become null)."""
    if kind in ("number", "integer"):
        return pc.fill_null(pc.cast(column, pa.string()), "null")
    text = pc.cast(column, pa.string())
    if pc.any(pc.invert(pc.utf8_is_printable(text))).as_py():
        # Rare: control characters need \u escapes, which json.dumps writes.
        quoted = pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                           for v in text.to_pylist()], pa.string())
        return pc.fill_null(quoted, "null")
    if pc.any(pc.match_substring(text, "\\")).as_py():
        text = pc.replace_substring(text, "\\", "\\\\")
    if pc.any(pc.match_substring(text, '"')).as_py():
        text = pc.replace_substring(text, '"', '\\"')
    return pc.fill_null(pc.binary_join_element_wise(pa.scalar('"'), text, pa.scalar('"'), ""), "null")


def _integral_floats_as_text(column: pa.Array) -> pa.Array:
    # A Shapefile stores a patch number like 12 as 12.0: keep it "12", not "12.0".
    integral = pc.all(pc.equal(pc.floor(column), column)).as_py() is not False
    return pc.cast(pc.cast(column, pa.int64()) if integral else column, pa.string())


def _to_number(value):
    number = float(value)
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(value)
    return number


def _to_integer(value):
    number = _to_number(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def _to_date(value):
    if isinstance(value, dt.datetime | dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


_CONVERTERS = {"string": str, "number": _to_number, "integer": _to_integer, "date": _to_date}
