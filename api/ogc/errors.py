"""The OGC face of the one error boundary (blueprint/errors.py) and its bridge to pygeoapi.

pygeoapi renders its own errors through `API.get_exception(status, headers, format, code,
description)` and expects providers and processes to raise its `GenericError` classes. Here the
first is answered through `blueprint.errors` (so every OGC exception document is made by one
function, with pygeoapi's English-only descriptions said in Chinese too), and `provider_error` /
`process_error` turn a domain error into the pygeoapi exception carrying its status and code.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from pygeoapi.error import GenericError
from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.provider.base import ProviderGenericError

from blueprint.errors import BlueprintError, echo, error_for_status

__all__ = ["exception_document", "provider_error", "process_error", "describe"]

LOGGER = logging.getLogger(__name__)

_MESSAGES = {
    "missing request data": "请求体为空：请以 JSON 提交 {\"inputs\": {…}}。"
                            " (The request has no body: send JSON {\"inputs\": {…}}.)",
    "invalid request data": "请求体不是合法的 JSON：请提交 {\"inputs\": {…}}。"
                            " (The request body is not valid JSON: send {\"inputs\": {…}}.)",
    "job accepted but not yet running": "任务已排队，尚未开始：请稍后再取结果。"
                                        " (The job is queued, not started yet: fetch the results later.)",
    "job still running": "任务仍在执行：请稍后再取结果。"
                         " (The job is still running: fetch the results later.)",
    "job failed": "任务失败，原因见任务状态中的 message。 (The job failed: its status message says why.)",
    "identifier not found": "没有这个处理过程，可用的见 /ogc/processes。"
                            " (No such process: see /ogc/processes.)",
    "Collection not found": "没有这个图层，或无权查看：可用图层见 /ogc/collections。"
                            " (No such collection, or not yours to see: see /ogc/collections.)",
    "collection does not exist": "没有这个图层，或无权查看：可用图层见 /ogc/collections。"
                                 " (No such collection, or not yours to see: see /ogc/collections.)",
    "Bad CQL text": "filter 不是合法的 CQL2 文本，例如 LX = '湖泊' AND S_INTERSECTS(geometry, "
                    "POINT(116.5 35.4))。 (The filter is not valid CQL2 text.)",
    "Bad CQL JSON": "请求体不是合法的 CQL2 JSON。 (The body is not valid CQL2 JSON.)",
    "Invalid filter language": "filter-lang 应为 cql2-text 或 cql2-json。"
                               " (filter-lang must be cql2-text or cql2-json.)",
    "offset value should be an integer": "offset 应为非负整数。 (offset must be a non-negative integer.)",
    "offset value should be positive or zero": "offset 应为非负整数。"
                                               " (offset must be a non-negative integer.)",
    "bad sortby property": "sortby 只能用 queryables 中的属性。 (sortby takes a queryable property.)",
    "unknown properties specified": "properties 只能列出图层的属性，见 queryables。"
                                    " (properties lists the layer's own properties: see the queryables.)",
    "bbox values must be numbers": "bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度。"
                                   " (bbox takes 4 numbers: minx,miny,maxx,maxy.)",
    "miny should be less than maxy": "bbox 的最小纬度应小于最大纬度。 (bbox: miny must be less than maxy.)",
    "minx is greater than maxx (possibly antimeridian bbox)": "bbox 的最小经度应小于最大经度。"
                                                              " (bbox: minx must be less than maxx.)",
    "Invalid format requested": "不支持此输出格式 f：可用 json、html。"
                                " (Unsupported output format f: use json or html.)",
    "datetime parameter out of range": "datetime 超出图层的时间范围（见图层描述的 extent.temporal）。"
                                       " (datetime is outside the collection's temporal extent.)",
    "bbox-crs specified without bbox parameter": "给了 bbox-crs 却没有 bbox。"
                                                 " (bbox-crs needs a bbox.)",
    "Invalid format: subset should be like axis(\"min\"[:\"max\"])": "subset 应形如 Lat(35.3:35.4)。"
                                                                   " (subset must look like Lat(35.3:35.4).)",
}
_BBOX_COUNT = re.compile(r"^bbox should be either 4 values")


def describe(description: str, status: int, code: str) -> str:
    """A pygeoapi description said in Chinese first, with English after; callers' values cut."""
    text = str(description)
    if text in _MESSAGES:
        return _MESSAGES[text]
    if _BBOX_COUNT.match(text):
        return _MESSAGES["bbox values must be numbers"]
    if status == HTTPStatus.NOT_FOUND and code in ("NoSuchJob", "InvalidParameterValue") and " " not in text:
        return f"没有任务 {echo(text)}。 (No job {echo(text)}.)"  # pygeoapi's job 404s give the bare id
    return echo(text, 2000)


def exception_document(status: int, code: str, description: str) -> BlueprintError:
    """The domain error behind a pygeoapi exception (status, OGC code, description)."""
    if int(status) >= 500 and code in ("InvalidParameterValue", "MissingParameterValue"):
        status = HTTPStatus.BAD_REQUEST  # pygeoapi answers a bad coverage bbox with 500
    if int(status) >= 500:
        LOGGER.error("OGC %s %s: %s", status, code, description)
    return error_for_status(status, describe(description, status, code), ogc_code=code)


def _bridge(error: BlueprintError, kind: type[GenericError]) -> GenericError:
    exc = kind(user_msg=error.detail)
    exc.http_status_code = HTTPStatus(error.status)
    exc.ogc_exception_code = error.ogc_code
    return exc


def provider_error(error: BlueprintError) -> ProviderGenericError:
    """The pygeoapi provider exception answering `error` with its status and OGC code."""
    return _bridge(error, ProviderGenericError)


def process_error(error: BlueprintError) -> ProcessorExecuteError:
    """The pygeoapi process exception answering `error` with its status and OGC code."""
    return _bridge(error, ProcessorExecuteError)
