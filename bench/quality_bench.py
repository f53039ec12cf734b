"""Time the quality report (质量校验) of the generated `city` permanent basic farmland.

Usage: .venv/bin/python bench/quality_bench.py [--runs 3] [--data DIR]

Creates its own database (`blueprint_quality_bench`, never `blueprint`), imports the city's
districts and farmland (the farmland's rules switched off during that import, so that the import
is not what is timed), then runs the farmland layer's default rules (layers/quality/defaults.yaml)
on its active version `--runs` times: whole (`run_quality`: every rule, the per-county attribution,
the tally, stored) and rule by rule (each kind's SQL alone, counted, rolled back). Each figure is
wall time and the CPU time of the database backend that did the work (read from /proc: on a shared
machine the wall time mostly measures the other processes). Prints Markdown for bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench  # noqa: E402  (the same database helpers)

check_bench.DB = DB = "blueprint_quality_bench"
ROOT = check_bench.ROOT
BAR_CPU_SECONDS = 60.0  # the whole report on 326 155 patches: backend CPU time


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a PostgreSQL backend (same machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(pid: int, fn) -> tuple[float, float, object]:
    cpu, wall = backend_cpu(pid), time.perf_counter()
    result = fn()
    return time.perf_counter() - wall, backend_cpu(pid) - cpu, result


def prepare(url: str, data: Path) -> None:
    check_bench.admin_sql(url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres")
    check_bench.admin_sql(url, f"CREATE DATABASE {DB}", "postgres")
    check_bench.admin_sql(url, "CREATE EXTENSION IF NOT EXISTS postgis", DB)
    import subprocess

    subprocess.run([check_bench.VENV / "python", "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from layers.importers import import_layer
    from layers.models import Layer
    from layers.services import ensure_seed_layers

    ensure_seed_layers()
    import_layer("admin_district", data / "admin_district.gpkg", imported_by="bench")
    farmland = Layer.objects.get(slug="basic_farmland")
    farmland.quality_rules.update(enabled=False)
    import_layer("basic_farmland", data / "basic_farmland.gpkg", imported_by="bench")
    farmland.quality_rules.update(enabled=True)
    check_bench.admin_sql(url, "VACUUM ANALYZE", DB)


def per_rule(version, rules) -> dict[str, tuple[float, float, int]]:
    from django.db import connection, transaction

    from layers.quality.registry import Context, kind

    layer = version.layer
    ctx = Context(version.pk, layer.slug, layer.fields, version.source_crs)
    pid = _pid()
    out = {}
    for rule in rules:
        statements = kind(rule.kind)(**rule.params).statements(ctx)

        def run(statements=statements):
            with transaction.atomic(), connection.cursor() as cursor:
                # As in run_quality's INSERT … SELECT, which PostgreSQL 15 runs without parallel
                # workers (whose CPU time the backend's /proc entry would not show).
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                for sql, args in statements[:-1]:
                    cursor.execute(sql, args or None)
                cursor.execute(f"SELECT count(*) FROM ({statements[-1][0]}) q", statements[-1][1])
                transaction.set_rollback(True)
                return cursor.fetchone()[0]

        out[rule.code] = timed(pid, run)
        print(f"  {rule.code}: wall {out[rule.code][0]:.1f} s, backend CPU {out[rule.code][1]:.1f} s,"
              f" {out[rule.code][2]} failures", flush=True)
    return out


def _pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "city")
    parser.add_argument("--skip-prepare", action="store_true", help="reuse the loaded bench database")
    parser.add_argument("--rules-only", action="store_true", help="time the rules one by one, not the whole")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = url = check_bench.bench_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    sys.path.insert(0, str(ROOT))
    if args.skip_prepare:
        import django

        django.setup()
    else:
        prepare(url, args.data.resolve())
    from layers.models import Layer
    from layers.quality.runner import rules_for, run_quality

    layer = Layer.objects.select_related("active_version").get(slug="basic_farmland")
    version, rules = layer.active_version, rules_for(layer)
    pid = _pid()
    singles = [per_rule(version, rules) for _ in range(args.runs)]
    wholes = [] if args.rules_only else [timed(pid, lambda: run_quality(version, run_by="bench"))
                                         for _ in range(args.runs)]
    counts = {r.code: singles[-1][r.code][2] for r in rules}
    print(f"basic_farmland v{version.number}: {version.feature_count:,} patches, {len(rules)} rules;"
          f" load average {os.getloadavg()[0]:.1f} at the end")
    print("\n| rule | kind | failures | wall s (median) | backend CPU s (median) |\n|---|---|---:|---:|---:|")
    for rule in rules:
        wall = statistics.median(s[rule.code][0] for s in singles)
        cpu = statistics.median(s[rule.code][1] for s in singles)
        print(f"| {rule.code} | {rule.kind} | {counts[rule.code]:,} | {wall:.2f} | {cpu:.2f} |")
    if wholes:
        wall, cpu = statistics.median(w[0] for w in wholes), statistics.median(w[1] for w in wholes)
        failed = sum(wholes[-1][2].counts.values())
        print(f"| **whole report** (stored, with counties) | | {failed:,} | **{wall:.2f}** | **{cpu:.2f}** |")
    else:
        cpu = sum(statistics.median(s[r.code][1] for s in singles) for r in rules)
        print(f"| **sum of the rules** (the whole report not run) | | | | **{cpu:.2f}** |")
    print(f"\nbar: backend CPU ≤ {BAR_CPU_SECONDS:.0f} s — {'met' if cpu <= BAR_CPU_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
