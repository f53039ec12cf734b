"""Read a JSON request body strictly, for REST and OGC alike: UTF-8, bounded nesting, no lone
surrogates, and (for requests) a JSON object, each failure a clear 400 (415 for another type).

Python's json module takes a lone surrogate escape ("\\ud800") as a string that cannot be
encoded again (a 500 further on), and raises RecursionError, not ValueError, on deep nesting.
"""

from __future__ import annotations

import json
import re

from django.http import HttpRequest
from rest_framework.parsers import JSONParser

from blueprint.errors import InvalidInput, UnsupportedMediaType

__all__ = ["MAX_DEPTH", "parse_json", "json_object", "StrictJSONParser"]

MAX_DEPTH = 32  # GeoJSON needs about 7 levels (FeatureCollection … position)
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(raw: bytes | str) -> object:
    """The JSON value of `raw`, or InvalidInput saying what is wrong with it."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"请求体不是 UTF-8 编码（第 {exc.start} 字节）：请以 UTF-8 提交，"
                               "GBK 等编码请先转换。"
                               f" (The body is not UTF-8 at byte {exc.start}: send UTF-8; convert GBK"
                               " first.)") from None
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        where = f"第 {exc.lineno} 行第 {exc.colno} 列" if hasattr(exc, "lineno") else ""
        raise InvalidInput(f"请求体不是合法的 JSON（{where}）：{getattr(exc, 'msg', exc)}。"
                           f" (The body is not valid JSON: {exc}.)") from None
    _check_nesting(value)
    return value


def json_object(request: HttpRequest, example: str) -> dict:
    """The request's body as a JSON object (Content-Type application/json)."""
    content_type = request.content_type or ""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"请求体应为 JSON（Content-Type: application/json），收到 {content_type or '无'}。"
            f" (Send JSON with Content-Type: application/json, not {content_type or 'none'}.)")
    if not request.body:
        raise InvalidInput(f"请求体为空：请提交 JSON {example}。 (The body is empty: send JSON {example}.)")
    value = parse_json(request.body)
    if not isinstance(value, dict):
        raise InvalidInput(f"请求体应为 JSON 对象 {example}，收到{_kind(value)}。"
                           f" (The body must be a JSON object {example}, not {_kind(value, 'en')}.)")
    return value


def _kind(value: object, lang: str = "zh") -> str:
    names = {list: ("数组", "an array"), str: ("字符串", "a string"), type(None): ("null", "null"),
             bool: ("布尔值", "a boolean"), int: ("数字", "a number"), float: ("数字", "a number")}
    zh, en = names.get(type(value), ("其他值", "another value"))
    return zh if lang == "zh" else en


def _too_deep() -> InvalidInput:
    return InvalidInput(f"JSON 嵌套超过 {MAX_DEPTH} 层：用地红线不需要这么深的结构。"
                        f" (The JSON nests deeper than {MAX_DEPTH} levels; a site never needs that.)")


def _check_nesting(value: object) -> None:
    """Refuse nesting past MAX_DEPTH and strings holding a lone surrogate (iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidInput("字符串中有孤立的代理字符 (\\ud800–\\udfff)：不是合法的 Unicode 文本。"
                                   " (A string holds a lone surrogate, \\ud800–\\udfff: not valid"
                                   " Unicode text.)")
            continue
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise _too_deep()
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                stack.append((child, depth + 1))
                if isinstance(key, str):
                    stack.append((key, depth))


class StrictJSONParser(JSONParser):
    """DRF's JSON parser through `parse_json` (UTF-8, bounded nesting, no lone surrogates)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_json(stream.read())
