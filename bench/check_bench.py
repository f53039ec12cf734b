"""Benchmark compliance checks on the `city` data: in-process, over HTTP, beside a SQL floor.

Usage: .venv/bin/python bench/check_bench.py [--typical N] [--large N] [--reload] [--seed S]

Uses its own database `blueprint_checkbench` (loaded once; `--reload` recreates it). Sites are
drawn deterministically. Results go to the "Compliance check benchmark" part of bench/README.md.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import numpy as np
import psycopg2
import shapely

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
DB = "blueprint_checkbench"
START, END = "<!-- check-results:start -->", "<!-- check-results:end -->"
WARMUP, CONCURRENCY, BAR_RATIO = 10, 4, 1.5
BARS_MS = {"typical": 100, "large": 1000}  # HTTP p95

# One statement, the overlaps a check computes on the same partitions and GiST indexes: ellipsoidal
# areas of the site in the red line, farmland, development boundary, and within 30 m of water.
_OVERLAP = """(SELECT coalesce(sum(ST_Area(ST_Intersection(p.geom, site.g)::geography)), 0)
  FROM layers_overlay_piece p
  WHERE p.version_id = %({})s AND p.geom && site.g AND ST_Intersects(p.geom, site.g))"""
_LAYERS = ("ecological_redline", "basic_farmland", "urban_development_boundary")
_NEAREST_LAYERS = ("ecological_redline", "basic_farmland", "water_body")
FLOOR_SQL = f"""WITH site AS (SELECT ST_GeomFromWKB(%(site)s, 4490) AS g)
SELECT {", ".join(_OVERLAP.format(slug) for slug in _LAYERS)},
 (SELECT coalesce(ST_Area(ST_Intersection(site.g, ST_Union(
           ST_SetSRID(ST_Buffer(p.geom::geography, 30)::geometry, 4490)))::geography), 0)
   FROM layers_overlay_piece p WHERE p.version_id = %(water_body)s
   AND p.geom && ST_Expand(site.g, 30 / 60000.0) AND ST_DWithin(p.geom::geography, site.g::geography, 30))
FROM site"""


# The floor proper: one hand-written statement computing what a check computes, all of it in
# PostGIS — coverage of the site by each version; per rule layer the features met, each with the
# ellipsoidal area of its part of the site, and the union of those parts with its area; the
# special-use-zone part of the development boundary; per water feature within 30 m its distance
# and the site's part within 30 m; and the nearest feature's distance where nothing is met.
_FEATURES = """
  SELECT '{layer}' AS layer, f.fid, f.properties, ST_Union(x.g) AS g, {d} AS d
  FROM ({pieces}) x JOIN layers_feature f ON f.version_id = %({layer})s AND f.id = x.feature_id
  GROUP BY f.id, f.fid, f.properties"""
_PIECES = """SELECT p.feature_id, ST_Intersection(p.geom, site.g) AS g FROM layers_overlay_piece p, site
    WHERE p.version_id = %({layer})s AND p.geom && site.g AND ST_Intersects(p.geom, site.g)"""
# The nearest feature, geodesic as the check measures it (compliance/queries.py): a bound from
# the 8 + 8 bounding-box-nearest pieces in degrees with longitude scaled by k, every piece within
# it (widened by 2 % + 5 % per degree), each the geodesic length of its scaled shortest line.
_GEODESIC = ("ST_Length(ST_Scale(ST_ShortestLine(ST_Scale(p.geom, %(k)s, 1), ST_Scale(site.g, %(k)s, 1)),"
             " 1 / %(k)s, 1)::geography)")
_WATER = """SELECT near.feature_id, near.d,
      ST_Intersection(site.g, ST_SetSRID(ST_Buffer(near.geom::geography, 30)::geometry, 4490)) AS g
    FROM site, (SELECT p.feature_id, p.geom, {geodesic} AS d FROM layers_overlay_piece p, site
      WHERE p.version_id = %(water_body)s AND p.geom && ST_Expand(site.g, 30 / 60000.0)
      AND ST_DWithin(ST_Scale(p.geom, %(k)s, 1), ST_Scale(site.g, %(k)s, 1), 30 / 100000.0)) near
    WHERE near.d <= 30"""
_REACH = """reach_{layer} AS MATERIALIZED (SELECT s, ST_Expand(site.g, s / %(k)s, s) AS box
  FROM site, (SELECT s * (1.02 + 0.05 * s) + 1e-9 AS s
    FROM (SELECT min(ST_Distance(ST_Scale(c.geom, %(k)s, 1), ST_Scale(site.g, %(k)s, 1))) AS s
    FROM site, ((SELECT geom FROM layers_featurepart WHERE version_id = %({layer})s
           ORDER BY geom <#> ST_GeomFromWKB(%(site)s, 4490) LIMIT 8)
          UNION ALL (SELECT geom FROM layers_feature WHERE version_id = %({layer})s AND NOT subdivided
           ORDER BY geom <#> ST_GeomFromWKB(%(site)s, 4490) LIMIT 8)) c) nearest) reach)"""
_NEAREST = f"""
  SELECT 'nearest {{layer}}', NULL::json, min({_GEODESIC}), NULL::bytea, NULL::float8
  FROM site, layers_overlay_piece p
  WHERE p.version_id = %({{layer}})s AND p.geom && (SELECT box FROM reach_{{layer}})
    AND ST_DWithin(ST_Scale(p.geom, %(k)s, 1), ST_Scale(site.g, %(k)s, 1), (SELECT s FROM reach_{{layer}}))
    AND NOT EXISTS (SELECT FROM hits WHERE layer = '{{layer}}')"""
FULL_FLOOR_SQL = f"""WITH site AS NOT MATERIALIZED (SELECT ST_GeomFromWKB(%(site)s, 4490) AS g),
hits AS ({" UNION ALL".join([*(_FEATURES.format(layer=slug, d="NULL::float8",
                                                pieces=_PIECES.format(layer=slug)) for slug in _LAYERS),
                             _FEATURES.format(layer="water_body", d="min(x.d)",
                                              pieces=_WATER.format(geodesic=_GEODESIC))])}),
{", ".join(_REACH.format(layer=slug) for slug in _NEAREST_LAYERS)},
measured AS (SELECT *, ST_Area(g::geography) AS area FROM hits)
SELECT layer, json_agg(json_build_object('fid', fid, 'properties', properties, 'area', area, 'd', d)),
       ST_Area(ST_Union(g)::geography), ST_AsBinary(ST_Union(g)),
       ST_Area(ST_Union(g) FILTER (WHERE properties->>'GHFQMC' = '特别用途区')::geography)
FROM measured GROUP BY layer
UNION ALL{" UNION ALL".join(_NEAREST.format(layer=slug) for slug in _NEAREST_LAYERS)}
UNION ALL
SELECT 'site', NULL, ST_Area(site.g::geography), NULL,
       (SELECT bool_and(ST_CoveredBy(site.g, v.coverage))::int FROM layers_layerversion v
        WHERE v.id IN (%(ecological_redline)s, %(basic_farmland)s, %(urban_development_boundary)s,
                       %(water_body)s))
FROM site"""


def dotenv() -> dict[str, str]:
    """The variables of .data/env (written by scripts/setup.sh)."""
    env_file = ROOT / ".data" / "env"
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def bench_url() -> str:
    """The project's database URL (environment, then .data/env) with the database renamed: the
    owner role's where there is one (DATABASE_OWNER_URL: it may create the bench database)."""
    env = {**dotenv(), **os.environ}
    url = env.get("DATABASE_OWNER_URL") or env.get("DATABASE_URL")
    if not url:
        sys.exit("No DATABASE_URL: run `make setup` first.")
    return urlsplit(url)._replace(path=f"/{DB}").geturl()


def admin_sql(url: str, statement: str, dbname: str) -> list[tuple]:
    """Run one statement in autocommit mode on `dbname` (CREATE/DROP DATABASE, VACUUM)."""
    p = urlsplit(url)
    with closing(psycopg2.connect(host=p.hostname, port=p.port or 5432, user=p.username,
                                  password=p.password, dbname=dbname)) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []


def prepare(url: str, data: Path, reload: bool) -> dict:
    """Create, migrate and load the bench database unless it holds these fixtures; their layers."""
    manifest = json.loads((data / "manifest.json").read_text())
    if reload or not admin_sql(url, f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres"):
        admin_sql(url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres")
        admin_sql(url, f"CREATE DATABASE {DB}", "postgres")
        admin_sql(url, "CREATE EXTENSION IF NOT EXISTS postgis", DB)
    subprocess.run([VENV / "python", "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    active = dict(admin_sql(url, "SELECT l.slug, v.content_hash FROM layers_layer l "
                                 "JOIN layers_layerversion v ON v.id = l.active_version_id", DB))
    if any(active.get(slug) != hashlib.sha256((data / entry["file"]).read_bytes()).hexdigest()
           for slug, entry in manifest["layers"].items() if slug != "project_sites"):  # as the importer
        print(f"loading {data} into {DB} …", flush=True)
        subprocess.run([VENV / "python", "manage.py", "load_demo", "--data", str(data)], cwd=ROOT, check=True)
        admin_sql(url, "VACUUM ANALYZE", DB)
    return manifest["layers"]


def query(statement: str, params: dict | None = None) -> list[tuple]:
    """Rows of one statement on Django's connection (the bench database)."""
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def prepared_floor(versions: dict[str, int]) -> Callable[[shapely.Geometry], list]:
    """The full floor as the check runs its own read: the version ids written into the text (so
    partitions are chosen when it is planned), prepared once, each site only executed."""
    from django.db import connection
    sql = re.sub(r"%\((\w+)\)s", lambda m: {"site": "$1", "k": "$2"}.get(m[1]) or str(int(versions[m[1]])),
                 FULL_FLOOR_SQL)
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE bench_floor(bytea, float8) AS {sql}")
    return lambda site: query("EXECUTE bench_floor(%(site)s, %(k)s)", site_params(site))


def site_params(site: shapely.Geometry) -> dict:
    """The site's parameters of the floor statements: its WKB and the longitude scale at it."""
    from layers.crs import local_scale
    return {"site": shapely.to_wkb(site), "k": local_scale(shapely.centroid(site).y)}


@functools.cache
def bench_token() -> str:
    """A token of the bench database for the `checks` interface (the approval system's way in),
    with a rate limit no benchmark reaches; issued once per run."""
    from datetime import timedelta

    from django.utils import timezone

    from blueprint.tokens import create_token

    return create_token(f"check-bench-{time.time_ns()}", interfaces=["checks"], rate_limit_per_minute=10**6,
                        expires_at=timezone.now() + timedelta(hours=6))[1]


def polygon(lon: float, lat: float, area_m2: float, radii: np.ndarray, angles: np.ndarray) -> shapely.Polygon:
    """A star-shaped (hence simple) polygon of about `area_m2` around (lon, lat)."""
    x, y = radii * np.cos(angles), radii * np.sin(angles)
    scale = np.sqrt(area_m2 / (0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))))  # metres
    return shapely.Polygon(np.c_[lon + scale * x / 111320 / np.cos(np.radians(lat)), lat + scale * y / 1.1e5])


def make_sites(rng: np.random.Generator, coverage: shapely.Geometry, n: int, large: bool) -> list:
    """`n` polygons wholly inside the coverage: irregular 4–8-gons of 1–50 ha, or ~5 km² squares."""
    (x0, y0, x1, y1), sites = coverage.bounds, []
    while len(sites) < n:
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if large:
            corners = rng.uniform(0, np.pi / 2) + np.pi / 4 * np.array([1, 3, 5, 7])
            site = polygon(lon, lat, rng.uniform(4.5e6, 5.5e6), np.ones(4), corners)
        else:
            k = int(rng.integers(4, 9))
            angles = (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * 2 * np.pi / k + rng.uniform(0, np.pi)
            area = float(np.exp(rng.uniform(np.log(1e4), np.log(5e5))))  # log-uniform 1–50 ha
            site = polygon(lon, lat, area, rng.uniform(0.6, 1.0, k), angles)
        if coverage.covers(site):
            sites.append(site)
    return sites


def dense_large_sites(rng: np.random.Generator, coverage, n: int, farmland: int) -> tuple[list, list[int]]:
    """The `n` of 8n random large sites that cross the most farmland patches, with their counts."""
    candidates = make_sites(rng, coverage, 8 * n, large=True)
    counts = [query("SELECT count(*) FROM layers_overlay_piece WHERE version_id = %(v)s AND geom && "
                    "ST_GeomFromWKB(%(g)s, 4490) AND ST_Intersects(geom, ST_GeomFromWKB(%(g)s, 4490))",
                    {"v": farmland, "g": shapely.to_wkb(s)})[0][0] for s in candidates]
    best = sorted(range(len(candidates)), key=lambda i: -counts[i])[:n]
    return [candidates[i] for i in best], [counts[i] for i in best]


def timed(fn: Callable, items: list) -> tuple[float, float, float]:
    """p50, p95 and mean milliseconds of `fn(item)` over `items`, after WARMUP untimed calls."""
    for item in items[:WARMUP]:
        fn(item)
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(1000 * (time.perf_counter() - start))
    return (*np.percentile(times, [50, 95]), float(np.mean(times)))


class Server:
    """gunicorn with 2 workers on a free loopback port, serving the bench database."""

    def __enter__(self) -> Server:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.base = f"http://127.0.0.1:{s.getsockname()[1]}"
        env = {**os.environ, **dotenv(), "DATABASE_URL": os.environ["DATABASE_URL"]}
        self.log = open(ROOT / ".data" / "check_bench_gunicorn.log", "w")  # noqa: SIM115
        cmd = [VENV / "gunicorn", "blueprint.wsgi", "--bind", self.base[7:], "--workers=2"]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(120):
            try:
                return urlopen(f"{self.base}/healthz", timeout=5).close() or self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        sys.exit("gunicorn did not start: see .data/check_bench_gunicorn.log")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()

    def check(self, site: shapely.Geometry) -> None:
        """POST /api/checks with the site as GeoJSON; fail unless a check was created."""
        body = json.dumps({"site": shapely.geometry.mapping(site)}).encode()
        request = Request(f"{self.base}/api/checks", body, {"Content-Type": "application/json",
                                                             "Authorization": f"Bearer {bench_token()}"})
        with urlopen(request, timeout=120) as response:  # raises HTTPError for 4xx/5xx
            if response.status != 201:  # 202: queued as a background job
                raise RuntimeError(f"POST /api/checks answered {response.status}, not 201")

    def throughput(self, sites: list) -> float:
        """Checks per second with CONCURRENCY clients, each site once."""
        start = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(self.check, sites))
        return len(sites) / (time.perf_counter() - start)


def machine() -> dict[str, str]:
    """CPU, RAM and the versions that matter here."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1]) / 1024 ** 2
    pg = query("SELECT current_setting('server_version'), postgis_lib_version(), postgis_geos_version(), "
               "current_setting('shared_buffers'), current_setting('work_mem')")[0]
    git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return {"CPU": f"{cpu}, {os.cpu_count()} cores", "RAM": f"{mem:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
            "PostgreSQL": f"{pg[0]} (shared_buffers {pg[3]}, work_mem {pg[4]}; same machine, TCP 127.0.0.1)",
            "PostGIS": f"{pg[1]} (GEOS {pg[2].split('-')[0]})", "code": f"git {git.stdout.strip()}"}


def describe(sites: list, floor_rows: list[tuple]) -> str:
    """Site count, sizes and what they meet (from the floor's overlap areas)."""
    from layers.crs import ellipsoidal_area_m2
    f, ha = np.array(floor_rows, dtype=float), np.array([ellipsoidal_area_m2(s) for s in sites]) / 1e4
    hit = [f"{np.mean(h):.0%}" for h in (f[:, 1] > 0, f[:, 0] > 0, f[:, 2] >= 0.9999e4 * ha, f[:, 3] > 0)]
    return (f"{len(sites)} sites of {ha.min():.1f}–{ha.max():.1f} ha (median {np.median(ha):.1f}); "
            f"overlapping farmland {hit[0]}, red line {hit[1]}; wholly inside the development boundary "
            f"{hit[2]}; within 30 m of water {hit[3]}")


def render(info: dict, sizes: list[str], sites: dict, rows: dict, load: float) -> str:
    """The results, in markdown."""
    met = {True: "met", False: "**NOT met**"}
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {load:.1f} before, "
           f"{os.getloadavg()[0]:.1f} at the end (with the bench's own).",
           "", "Machine:", "", *[f"- {k}: {v}" for k, v in info.items()], "",
           "Data (`city` fixtures; features in the database, vertices from manifest.json):", "", *sizes, "",
           "Sites:", "", *[f"- {k}: {v}" for k, v in sites.items()], "",
           "| scenario | in-process p50 / p95 / mean (ms) | HTTP p50 / p95 (ms) | HTTP req/s (4 clients) "
           "| SQL floor p50 / p95 (ms) | in-process ÷ floor (p50 / p95) | floor prepared p50 / p95 (ms) "
           "| in-process ÷ floor prepared (p50 / p95) | sums-only query p50 / p95 (ms) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    verdict = []
    for name, r in rows.items():
        (i50, i95, mean), (h50, h95, _), (f50, f95, _) = r["inproc"], r["http"], r["floor"]
        (s50, s95, _), (p50, p95, _) = r["sums"], r["prepared"]
        ratio = (i50 / f50, i95 / f95)
        out.append(f"| {name} | {i50:.1f} / {i95:.1f} / {mean:.1f} | {h50:.0f} / {h95:.0f} | {r['rps']:.1f} "
                   f"| {f50:.1f} / {f95:.1f} | {ratio[0]:.2f}× / {ratio[1]:.2f}× | {p50:.1f} / {p95:.1f} "
                   f"| {i50 / p50:.2f}× / {i95 / p95:.2f}× | {s50:.1f} / {s95:.1f} |")
        bar = BARS_MS[name]
        verdict.append(f"- {name}: HTTP p95 {h95:.0f} ms (bar ≤ {bar} ms) — {met[h95 <= bar]};"
                       f" in-process {ratio[0]:.2f}× / {ratio[1]:.2f}× the floor at p50 / p95 (bar ≤ "
                       f"{BAR_RATIO}×) — {met[max(ratio) <= BAR_RATIO]}")
    return "\n".join([*out, "", "Bars:", "", *verdict, ""])


def write_readme(results: str) -> None:
    """Replace the text between the check-results markers (append the section if missing)."""
    readme = Path(__file__).with_name("README.md")
    text = readme.read_text()
    if START not in text:
        text = f"{text.rstrip()}\n\n# Compliance check benchmark\n\n{START}\n{END}\n"
    head, tail = text.partition(START)[0], text.partition(END)[2]
    readme.write_text(f"{head}{START}\n{results}{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typical", type=int, default=200)
    parser.add_argument("--large", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--reload", action="store_true", help="recreate and reload the bench database")
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "city")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    os.environ["DATABASE_URL"] = url = bench_url()  # before Django reads its settings
    fixture = prepare(url, args.data.resolve(), args.reload)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()
    from compliance.services import run_check

    layers = query("SELECT l.slug, v.id, v.feature_count, (SELECT count(*) FROM layers_featurepart p "
                   "WHERE p.version_id = v.id), ST_AsBinary(v.coverage) FROM layers_layer l "
                   "JOIN layers_layerversion v ON v.id = l.active_version_id ORDER BY l.slug")
    versions = {slug: vid for slug, vid, *_ in layers}
    sizes = [f"- {slug}: {n:,} features, {m['vertices']:,} vertices (largest {m['max_vertices']:,}), "
             f"{parts:,} subdivided pieces" for slug, _, n, parts, _ in layers if (m := fixture.get(slug))]
    coverage = shapely.from_wkb(bytes(next(c for slug, *_, c in layers if slug == "basic_farmland")))
    shapely.prepare(coverage)
    rng = np.random.default_rng(args.seed)
    scenarios = {"typical": make_sites(rng, coverage, args.typical, large=False)}
    scenarios["large"], crossed = dense_large_sites(rng, coverage, args.large, versions["basic_farmland"])

    def floor(site: shapely.Geometry) -> tuple:
        return query(FLOOR_SQL, {"site": shapely.to_wkb(site), **versions})[0]

    def full_floor(site: shapely.Geometry) -> list:
        return query(FULL_FLOOR_SQL, {**site_params(site), **versions})

    floor_prepared = prepared_floor(versions)
    rows, site_info = {}, {"seed": f"{args.seed} (numpy default_rng)"}
    for name, sites in scenarios.items():
        print(f"{name}: in-process and SQL floor, {len(sites)} sites …", flush=True)
        rows[name] = {"inproc": timed(run_check, sites), "floor": timed(full_floor, sites),
                      "prepared": timed(floor_prepared, sites), "sums": timed(floor, sites)}
        site_info[name] = describe(sites, list(map(floor, sites)))
    with Server() as server:
        for name, sites in scenarios.items():
            print(f"{name}: HTTP, {len(sites)} sites one by one, then {CONCURRENCY} clients …", flush=True)
            rows[name]["http"] = timed(server.check, sites)
            rows[name]["rps"] = server.throughput(sites)
    site_info["large"] += (f"; farmland patches crossed: median {np.median(crossed):.0f} (range "
                           f"{min(crossed)}–{max(crossed)}), the densest {len(crossed)} of 8× as many drawn")
    results = render(machine(), sizes, site_info, rows, load)
    print(results)
    write_readme(results)


if __name__ == "__main__":
    main()
