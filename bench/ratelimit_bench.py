"""What the people's rate limit costs a request: `blueprint.ratelimits.count` (one UPSERT).

    .venv/bin/python bench/ratelimit_bench.py            # --calls N (default 2000), --clients K (default 20)

Uses the project's own database (`.data/env`; `make setup` migrates it). Each call
counts one tile request of one of K anonymous client addresses against a limit it never reaches,
as map panning does; the counters expire a minute later. Prints the mean, median and p95 per call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory, override_settings

    from blueprint import ratelimits

    factory = RequestFactory()
    route = ("ogc/collections/<str:collection_id>/tiles/<str:tileMatrixSetId>/<str:tileMatrix>/<str:tileRow>"
             "/<str:tileCol>")
    rates = {"checks": "off", "items": "off", "coverages": "off", "tiles": "1000000/m"}

    durations = []
    with override_settings(BLUEPRINT={**settings.BLUEPRINT, "RATE_LIMITS": rates}):
        for i in range(args.calls):
            request = factory.get("/ogc/collections/water_body/tiles/WebMercatorQuad/0/0/0",
                                  REMOTE_ADDR=f"198.51.100.{i % args.clients}")
            request.user = AnonymousUser()
            started = time.perf_counter()
            assert ratelimits.count(request, route) is None
            durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    mean, median = statistics.mean(durations), statistics.median(durations)
    p95 = durations[int(len(durations) * 0.95)]
    print(f"ratelimits.count, {args.calls} calls, {args.clients} clients:"
          f" mean {mean:.2f} ms, median {median:.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
