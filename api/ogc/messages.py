"""Chinese-first wording for the few English-only exceptions pygeoapi raises on process and job paths."""

from __future__ import annotations

import json

__all__ = ["bilingual_exception"]

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
}


def bilingual_exception(status: int, content, path: str):
    """Return `content` with a known English-only OGC exception description said in Chinese too."""
    if status < 400 or not isinstance(content, (str, bytes)) or not path.startswith(("/ogc/jobs",
                                                                                     "/ogc/processes")):
        return content
    try:
        body = json.loads(content)
    except ValueError:
        return content
    if not isinstance(body, dict) or "description" not in body:
        return content
    described = _describe(str(body["description"]), status, path)
    if described is None:
        return content
    return json.dumps({**body, "description": described}, ensure_ascii=False)


def _describe(description: str, status: int, path: str) -> str | None:
    if description in _MESSAGES:
        return _MESSAGES[description]
    if status == 404 and path.startswith("/ogc/jobs/"):
        job_id = path.removeprefix("/ogc/jobs/").split("/")[0]
        return f"没有任务 {job_id}。 (No job {job_id}.)"
    return None
