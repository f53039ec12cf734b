"""HTTP caching helpers every face uses: one way to make an entity tag, one way to answer
If-None-Match (tiles, map tiles and imagery alike)."""

from __future__ import annotations

import hashlib

from django.http import HttpRequest

__all__ = ["etag", "not_modified"]


def etag(*parts: object) -> str:
    """A strong ETag naming what a response was made from (a revision, layer, version, address …)."""
    return '"' + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32] + '"'


def not_modified(request: HttpRequest, tag: str) -> bool:
    """Whether the request's If-None-Match names `tag` (or `*`): the answer is then a 304.

    Weak comparison, as RFC 9110 asks for If-None-Match: W/"x" matches "x".
    """
    header = request.headers.get("If-None-Match", "")
    tags = {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
    return "*" in tags or tag in tags
