"""CQL2 as pygeofilter 0.3 parses it, with the one literal its text grammar misses.

CQL2 text writes a box literal `BBOX(minx, miny, maxx, maxy)` (basic-spatial-functions:
`S_INTERSECTS(geometry, BBOX(…))`); pygeofilter's grammar knows only the older predicate
`BBOX(property, …)` and reads the literal as a call of an unknown function, which no backend can
evaluate. `parse_filter` turns such a call back into the envelope it is. In CQL2 JSON, pygeofilter
reads `{"bbox": [minx, miny, maxx, maxy]}` as Envelope(x1=minx, x2=miny, …), a different box:
it gets the same box as a polygon instead.
"""

from __future__ import annotations

import dataclasses
import json
from contextvars import ContextVar

from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

__all__ = ["FILTER_LANG", "parse_filter"]

# The request's `filter-lang`, set around pygeoapi's items function (api/ogc/views.py).
FILTER_LANG: ContextVar[str | None] = ContextVar("filter_lang", default=None)


def parse_filter(text: str):
    """Parse `filter` as the request's `filter-lang` says (pygeoapi parses every one as CQL2 text)."""
    if FILTER_LANG.get() == "cql2-json":
        return parse_cql2_json(_json_boxes(json.loads(text)))
    return _envelopes(parse_cql2_text(text))


def _json_boxes(node):
    if isinstance(node, dict):
        box = node.get("bbox")
        if len(node) == 1 and isinstance(box, list) and _numbers(box):
            half = len(box) // 2
            west, south, east, north = box[0], box[1], box[half], box[half + 1]
            return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                        [west, north], [west, south]]]}
        return {key: _json_boxes(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_json_boxes(item) for item in node]
    return node


def _envelopes(node):
    if isinstance(node, ast.Function) and node.name.lower() == "bbox" and _numbers(node.arguments):
        numbers = [float(value) for value in node.arguments]
        half = len(numbers) // 2  # 4 numbers, or 6 with heights (dropped: the layers are 2D)
        return values.Envelope(x1=numbers[0], x2=numbers[half], y1=numbers[1], y2=numbers[half + 1])
    if isinstance(node, list):
        return [_envelopes(item) for item in node]
    if dataclasses.is_dataclass(node) and isinstance(node, ast.Node):
        changes = {field.name: _envelopes(getattr(node, field.name)) for field in dataclasses.fields(node)}
        return dataclasses.replace(node, **changes)
    return node


def _numbers(arguments) -> bool:
    return len(arguments) in (4, 6) and all(isinstance(value, (int, float)) and not isinstance(value, bool)
                                            for value in arguments)
