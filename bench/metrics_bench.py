"""What monitoring adds to a request: `RequestMonitorMiddleware` (the /metrics histogram and the
access-log row), and what writing the rows costs the flushing thread.

    .venv/bin/python bench/metrics_bench.py            # --calls N (default 10000)

Runs as gunicorn's workers do: prometheus-client in multiprocess mode (a temporary
PROMETHEUS_MULTIPROC_DIR, so each observation goes to a memory-mapped file). Each call passes
one resolved request (a route, a principal) through the middleware around a view that answers at
once, with the access log off (metrics only) and buffered (metrics + a row in the buffer); the
same calls without the middleware are the floor. Then the buffered rows are written as the thread
does, in batches of one flush, on the project's own database (`.data/env`). Prints µs per call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bp-metrics-bench-")


def _request(factory, principal, i: int):
    from django.urls import resolve

    request = factory.get(f"/maps/checks/{i}", REMOTE_ADDR="198.51.100.7")
    request.resolver_match = resolve(f"/maps/checks/{i}")
    request._principal = principal
    return request


def _per_call(handler, requests) -> list[float]:
    out = []
    for request in requests:
        started = time.perf_counter()
        handler(request)
        out.append((time.perf_counter() - started) * 1e6)
    return out


def _summary(name: str, micros: list[float]) -> str:
    micros = sorted(micros)
    return (f"{name}: mean {statistics.mean(micros):.1f} µs, median {statistics.median(micros):.1f} µs,"
            f" p95 {micros[int(len(micros) * 0.95)]:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)  # ≤ the buffer's MAX_PENDING
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import RequestFactory

    from blueprint.access import principal_for_user
    from blueprint.models import ServiceLogEntry
    from blueprint.ops import requestlog

    factory = RequestFactory()
    who = principal_for_user(None)
    requests = [_request(factory, who, i) for i in range(args.calls)]

    def view(request):
        return HttpResponse(b"ok")

    middleware = requestlog.RequestMonitorMiddleware(view)
    results = {"no middleware (floor)": _per_call(view, requests)}
    for mode in ("off", "buffered"):
        settings.MONITORING["REQUEST_LOG"] = mode
        settings.MONITORING["REQUEST_LOG_FLUSH_SECONDS"] = 3600.0  # the bench flushes itself, below
        results[f"middleware, access log {mode}"] = _per_call(middleware, requests)
    floor = statistics.median(results["no middleware (floor)"])
    for name, micros in results.items():
        print(_summary(name, micros) + (f"  (+{statistics.median(micros) - floor:.1f} µs)" if floor else ""))

    rows = requestlog._BUFFER.take()
    batch = 1000  # about a busy second of one worker
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        requestlog._write(rows[i:i + batch])
    took = time.perf_counter() - started
    print(f"writing {len(rows)} rows in batches of {batch}: {took * 1e6 / len(rows):.1f} µs per row"
          " (on the flushing thread, not the request)")
    ServiceLogEntry.objects.filter(route="maps/checks/<str:check_id>", ip="198.51.100.7").delete()


if __name__ == "__main__":
    main()
