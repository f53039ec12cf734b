"""Time the quality report (质量校验) of the generated `city` permanent basic farmland.

Usage: .venv/bin/python bench/quality_bench.py [--runs 3] [--reload] [--data DIR]

Loads the city fixtures into its own database (`blueprint_quality_bench`, never `blueprint`),
then runs the farmland layer's default rules (layers/quality/defaults.yaml) on its active version
`--runs` times, whole (`run_quality`: every rule, the per-county attribution, the tally) and rule by
rule (each kind's SQL alone, rolled back). Prints a Markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench  # noqa: E402
from check_bench import ROOT, bench_url, prepare  # noqa: E402  (the same database helpers)

check_bench.DB = DB = "blueprint_quality_bench"
BAR_SECONDS = 60.0  # the whole report on 326 155 patches, on the shared 2-core machine


def per_rule(version, rules) -> dict[str, float]:
    from django.db import connection, transaction

    from layers.quality.registry import Context, kind

    layer = version.layer
    ctx = Context(version.pk, layer.slug, layer.fields, version.source_crs)
    out = {}
    for rule in rules:
        statements = kind(rule.kind)(**rule.params).statements(ctx)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, args in statements[:-1]:
                cursor.execute(sql, args or None)
            cursor.execute(f"SELECT count(*) FROM ({statements[-1][0]}) q", statements[-1][1])
            found = cursor.fetchone()[0]
            transaction.set_rollback(True)
        out[rule.code] = (time.perf_counter() - started, found)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "city")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = url = bench_url()
    prepare(url, args.data.resolve(), args.reload)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django

    django.setup()
    from layers.models import Layer
    from layers.quality.runner import rules_for, run_quality

    layer = Layer.objects.select_related("active_version").get(slug="basic_farmland")
    version, rules = layer.active_version, rules_for(layer)
    wholes, reports = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        reports.append(run_quality(version, run_by="bench"))
        wholes.append(time.perf_counter() - started)
    rule_times = [per_rule(version, rules) for _ in range(args.runs)]
    report = reports[-1]
    median = statistics.median(wholes)
    print(f"basic_farmland v{version.number}: {version.feature_count:,} patches, {len(rules)} rules, "
          f"load {os.getloadavg()[0]:.2f}")
    print("\n| rule | kind | failures | median s |\n|---|---|---:|---:|")
    for rule in rules:
        times = [r[rule.code][0] for r in rule_times]
        failed = report.counts.get(rule.code, 0)
        print(f"| {rule.code} | {rule.kind} | {failed:,} | {statistics.median(times):.2f} |")
    print(f"| **whole report** (rules + counties + tally) | | {sum(report.counts.values()):,} |"
          f" **{median:.2f}** (min {min(wholes):.2f}, max {max(wholes):.2f}) |")
    print(f"\nbar ≤ {BAR_SECONDS:.0f} s: {'met' if median <= BAR_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
