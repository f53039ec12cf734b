"""Benchmark the statistics dashboard on the `city` data with thousands of generated checks.

Usage: .venv/bin/python bench/statistics_bench.py [--checks N] [--seed-checks N] [--repeat N] [--reload]

Uses its own database `blueprint_statsbench` (the city fixtures loaded once; `--reload` recreates
it). Real checks are run on the city's project sites and on generated preview sites (the seed);
they are then copied in SQL, with their findings, spread over twelve months, until there are N.
Each request is timed in-process (Django's test client: the view, its SQL and its template, no
network), as a city planner (all counties) and as a county planner (one county), and the
province's JSON with a token. Results go to the "Statistics dashboard benchmark" part of
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import ROOT, VENV, admin_sql, bench_url, dotenv, machine  # noqa: E402

DB = "blueprint_statsbench"
START, END = "<!-- statistics-results:start -->", "<!-- statistics-results:end -->"
BAR_MS = 1000  # p95 of the whole dashboard page for the city level
COPY_SQL = """
CREATE TEMP TABLE bench_copy ON COMMIT DROP AS
SELECT c.id AS old, gen_random_uuid() AS new,
       c.created_at - make_interval(days => (g * 37 + abs(hashtext(c.id::text)) %% 29) %% 360) AS at
  FROM compliance_check c, generate_series(1, %(copies)s) g
 WHERE c.created_by = 'stats-bench-seed';
INSERT INTO compliance_check (id, project_id, site_revision_id, category, input_format, source_crs, geom,
       input_hash, site_area_m2, repair, warnings, ruleset_id, ruleset_hash, layer_versions, verdict,
       result_hash, duration_ms, rerun_of_id, created_by, created_at)
SELECT b.new, c.project_id, c.site_revision_id, c.category, c.input_format, c.source_crs, c.geom,
       c.input_hash, c.site_area_m2, c.repair, c.warnings, c.ruleset_id, c.ruleset_hash, c.layer_versions,
       c.verdict, c.result_hash, c.duration_ms, NULL, 'stats-bench-copy', b.at
  FROM bench_copy b JOIN compliance_check c ON c.id = b.old;
INSERT INTO compliance_finding (check_result_id, "order", rule_id, kind, layer, layer_version_id, status,
       severity, message_zh, message_en, measures, features, conflict_geom, rule)
SELECT b.new, f."order", f.rule_id, f.kind, f.layer, f.layer_version_id, f.status, f.severity, f.message_zh,
       f.message_en, f.measures, f.features, f.conflict_geom, f.rule
  FROM bench_copy b JOIN compliance_finding f ON f.check_result_id = b.old;
"""


def prepare(url: str, data: Path, reload: bool) -> None:
    """Create, migrate and load the bench database unless it exists."""
    if reload or not admin_sql(url, f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres"):
        admin_sql(url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres")
        admin_sql(url, f"CREATE DATABASE {DB}", "postgres")
        admin_sql(url, "CREATE EXTENSION IF NOT EXISTS postgis", DB)
        env = {**os.environ, "DATABASE_URL": url, "DATABASE_AS_OWNER": "true"}
        import subprocess

        subprocess.run([VENV / "python", "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        print(f"loading {data} into {DB} …", flush=True)
        subprocess.run(
            [VENV / "python", "manage.py", "load_demo", "--data", str(data)], cwd=ROOT, env=env, check=True
        )
        admin_sql(url, "VACUUM ANALYZE", DB)


def seed(n_previews: int, rng: np.random.Generator) -> float:
    """Real checks: every project site (the projects' own checks and gate answers), and preview sites
    drawn inside the counties. Returns the seconds they took."""
    import shapely
    from shapely import affinity

    from compliance import services
    from compliance.models import Check
    from layers.models import District, Project

    if Check.objects.filter(created_by="stats-bench-seed").exists():
        return 0.0
    started = time.perf_counter()
    for project in Project.objects.order_by("code"):
        check = services.check_project(project, created_by="stats-bench-seed")
        services.gate(project.code, "1", caller="stats-bench")
        if check.verdict == "fail":
            services.rerun_check(check, created_by="stats-bench-seed")
    counties = [shapely.from_wkb(bytes(d.geom.wkb)) for d in District.objects.filter(level="county")]
    sites = [s for p in Project.objects.all() if (s := p.current_site)]
    for i in range(n_previews):
        county = counties[i % len(counties)]
        west, south, east, north = county.bounds
        base = shapely.from_wkb(bytes(sites[i % len(sites)].geom.wkb))
        for _ in range(50):
            point = shapely.Point(rng.uniform(west, east), rng.uniform(south, north))
            if county.contains(point):
                break
        c = base.centroid
        site = affinity.translate(base, point.x - c.x, point.y - c.y)
        services.run_check(site, created_by="stats-bench-seed")
    return time.perf_counter() - started


def multiply(target: int) -> int:
    from django.db import connection, transaction

    from compliance.models import Check

    have = Check.objects.count()
    seeds = Check.objects.filter(created_by="stats-bench-seed").count()
    copies = max(0, (target - have) // max(seeds, 1))
    if copies:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(COPY_SQL, {"copies": copies})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE compliance_check; ANALYZE compliance_finding")
    return Check.objects.count()


def timed(fn, repeat: int) -> dict[str, float]:
    fn()  # warm-up (first query plans, template loading)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return {"p50": float(p50), "p95": float(p95), "mean": float(np.mean(times))}


def requests(repeat: int) -> dict[str, dict]:
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from blueprint.models import AccessProfile, Role
    from blueprint.tokens import create_token

    def person(name: str, role: str, districts=()) -> Client:
        user, _ = User.objects.get_or_create(username=name)
        AccessProfile.objects.update_or_create(
            user=user, defaults={"role": role, "districts": list(districts)}
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        return client

    city = person("stats-bench-city", Role.CITY_PLANNER)
    county = person("stats-bench-county", Role.COUNTY_PLANNER, ["370811"])
    raw = create_token(
        f"stats-bench-{time.time_ns()}",
        interfaces=["statistics"],
        rate_limit_per_minute=10**6,
        expires_at=timezone.now() + timedelta(hours=2),
    )[1]
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(client: Client, path: str):
        def run():
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")

        return run

    cases = {
        "page, city planner (all counties)": get(city, "/maps/statistics/"),
        "page, city planner, one quarter": get(city, "/maps/statistics/?from=2026-07-01&to=2026-09-30"),
        "page, county planner (1 county)": get(county, "/maps/statistics/"),
        "JSON /api/statistics, token": get(api, "/api/statistics"),
        "Excel export, city planner": get(city, "/maps/statistics/export.xlsx"),
        "drill-down list (checks, failed)": get(city, "/maps/statistics/checks?verdict=fail"),
    }
    return {name: timed(fn, repeat) for name, fn in cases.items()}


def render(info: dict, counts: dict, results: dict, seed_s: float) -> str:
    lines = [
        START,
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        "",
        f"Data: the `city` fixtures ({counts['farmland']:,} farmland patches, {counts['counties']} counties, "
        f"{counts['projects']} projects); {counts['checks']:,} checks with {counts['findings']:,} findings "
        f"({counts['seeds']} real checks{f' in {seed_s:.0f} s' if seed_s else ''}, copied in SQL over twelve "
        "months), "
        f"{counts['gate']} gate answers, {counts['outbox']:,} sharing rows.",
        "",
        f"Bar: the city planner's whole dashboard page p95 < {BAR_MS} ms.",
        "",
        "| request | p50 ms | p95 ms | mean ms |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {r['p50']:.0f} | {r['p95']:.0f} | {r['mean']:.0f} |" for name, r in results.items()
    ]
    page = results["page, city planner (all counties)"]["p95"]
    lines += ["", f"Bar {'met' if page < BAR_MS else 'NOT met'}: {page:.0f} ms against {BAR_MS} ms.", "", END]
    return "\n".join(lines)


def write_readme(results: str) -> None:
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START in text:
        head, rest = text.split(START, 1)
        text = head + results + rest.split(END, 1)[1]
    else:
        text += "\n## Statistics dashboard benchmark (`bench/statistics_bench.py`)\n\n" + results + "\n"
    readme.write_text(text, encoding="utf-8")


def counts() -> dict:
    from compliance.models import Check, Finding, GateDecision
    from exchange.models import OutboxRow
    from layers.models import District, Layer, Project

    farmland = Layer.objects.get(slug="basic_farmland").active_version.feature_count
    return {
        "farmland": farmland,
        "counties": District.objects.filter(level="county").count(),
        "projects": Project.objects.count(),
        "checks": Check.objects.count(),
        "findings": Finding.objects.count(),
        "gate": GateDecision.objects.count(),
        "seeds": Check.objects.filter(created_by="stats-bench-seed").count(),
        "outbox": OutboxRow.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--seed-checks", type=int, default=150, help="real preview checks before copying")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    url = bench_url().rsplit("/", 1)[0] + f"/{DB}"
    data = ROOT / ".data" / "fixtures" / "city"
    if not (data / "manifest.json").exists():
        sys.exit(f"No city fixtures in {data}: `python -m fixtures.build --size city` (or copy them).")
    prepare(url, data, args.reload)
    if args.prepare_only:
        return
    os.environ.update({**dotenv(), "DATABASE_URL": url, "DATABASE_AS_OWNER": "true"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    seed_s = seed(args.seed_checks, np.random.default_rng(17))
    multiply(args.checks)
    results = requests(args.repeat)
    text = render(machine(), counts(), results, seed_s)
    print(json.dumps(results, indent=1, ensure_ascii=False))
    write_readme(text)
    print(text)


if __name__ == "__main__":
    main()
