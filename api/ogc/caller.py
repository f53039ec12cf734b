"""Who is calling the OGC API, for code pygeoapi calls without the request (processes, jobs)."""

from __future__ import annotations

from contextvars import ContextVar

from blueprint.access import ANONYMOUS, Principal

__all__ = ["CALLER", "current"]

CALLER: ContextVar[Principal | None] = ContextVar("ogc_caller", default=None)


def current() -> Principal:
    """The principal of the OGC request being served (anonymous outside one)."""
    return CALLER.get() or ANONYMOUS
