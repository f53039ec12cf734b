"""Time to a usable map: from navigation to every default layer of /maps/ drawn, in headless Chromium.

Usage: .venv/bin/python bench/maps_ready_bench.py [--data .data/fixtures/small] [--runs 5]

Serves the bench database of check_bench.py with the given fixtures (the `small` data by default,
as the figure in the README) through gunicorn (2 workers), warms both workers, then loads /maps/
anonymously `--runs` times and prints the median and the runs of `BP.readyAt` (the page's clock when
no layer request is left in flight and every default layer is drawn). The figure moved here from
tests/maps/test_browser.py, which only checks that every default layer is drawn: a time measured on
a shared machine is not a test verdict.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench as cb  # noqa: E402  (the bench database, server and machine facts)
from maps_pan_bench import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402

IDLE = "() => window.BP && BP.map && BP.idle()"


def measure(base: str, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(base_url=base, locale="zh-CN", viewport=VIEWPORT).new_page()
        times = []
        for i in range(runs + 2):  # the first two warm both workers' imports
            page.goto("/maps/", timeout=120_000)  # a shared machine under load can be slow to answer
            page.wait_for_function(IDLE, timeout=120_000)
            if i >= 2:
                times.append(page.evaluate("BP.readyAt"))
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=cb.ROOT / ".data" / "fixtures" / "small")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    os.environ["DATABASE_URL"] = url = cb.bench_url()  # before Django reads its settings
    cb.prepare(url, args.data.resolve(), reload=False)
    sys.path.insert(0, str(cb.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()  # cb.machine() reads the database's versions through Django
    with cb.Server() as server:
        times = measure(server.base, args.runs)
    median = sorted(times)[len(times) // 2]
    print(f"time to a usable map ({args.data.name} data, anonymous): median {median:.0f} ms,"
          f" runs {[round(t) for t in times]} ms; load average {load:.1f}; {cb.machine()}")


if __name__ == "__main__":
    main()
