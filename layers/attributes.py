"""Map a source file's attributes onto a layer's schema, checking their types."""

from __future__ import annotations

import datetime as dt
import json
import math

from blueprint.errors import InvalidInput

__all__ = ["AttributeMapper"]


def _to_string(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a patch number stored as 12.0 by a Shapefile is "12"
    return str(value)


def _to_number(value):
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _to_integer(value):
    number = _to_number(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def _to_date(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return dt.date.fromisoformat(str(value)[:10]).isoformat()


_CONVERTERS = {"string": _to_string, "number": _to_number, "integer": _to_integer, "date": _to_date}
_TYPE_NAMES = {"string": "文本 text", "number": "数值 number", "integer": "整数 integer",
               "date": "日期 date (YYYY-MM-DD)"}


class AttributeMapper:
    """Match source fields to schema fields by name (case-insensitive) and convert values."""

    def __init__(self, schema: dict[str, str], source_fields: list[str]) -> None:
        unknown = {name: kind for name, kind in schema.items() if kind not in _CONVERTERS}
        if unknown:
            raise InvalidInput(f"图层属性定义中有未知类型 {unknown}。 (Unknown field types {unknown}.)")
        by_lower = {name.lower(): name for name in source_fields}
        self.schema = schema
        self.sources = {name: by_lower.get(name.lower()) for name in schema}
        matched = {source for source in self.sources.values() if source}
        self.missing = sorted(name for name, source in self.sources.items() if source is None)
        # A layer without a schema keeps every attribute as it comes.
        self.dropped = sorted(set(source_fields) - matched) if schema else []
        self.keep_all = not schema

    def rows(self, fids: list, columns: dict[str, list]) -> list[str]:
        """Return one JSON object per feature, with converted values."""
        if self.keep_all:
            converted = columns
        else:
            converted = {name: self._column(name, columns[source], fids)
                         for name, source in self.sources.items() if source is not None}
        names = list(converted)
        if not names:
            return ["{}"] * len(fids)
        return [json.dumps(dict(zip(names, values, strict=True)), ensure_ascii=False, default=str)
                for values in zip(*converted.values(), strict=True)]

    def _column(self, name: str, values: list, fids: list) -> list:
        kind = self.schema[name]
        convert = _CONVERTERS[kind]
        out = []
        for fid, value in zip(fids, values, strict=True):
            if value is None or value == "":
                out.append(None)
                continue
            try:
                out.append(convert(value))
            except (ValueError, TypeError, OverflowError) as exc:
                raise InvalidInput(
                    f"要素 {fid} 的字段 {name} 值为 “{str(value)[:40]}”，"
                    f"应为{_TYPE_NAMES[kind]}。请修正后重新导入。"
                    f" (Feature {fid}: field {name} holds '{str(value)[:40]}', expected {kind}.)",
                    fid=fid, field=name,
                ) from exc
        return out
