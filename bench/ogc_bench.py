"""Benchmark OGC API items and vector tiles on the `city` data: ours, tipg, stock pygeoapi, the SQL floor.

Usage: .venv/bin/python bench/ogc_bench.py [--requests N] [--tiles N] [--reload] [--seed S]
       [--only items|tiles] [--zooms 12,14] [--peers tipg,stock]

Uses its own database `blueprint_ogcbench` (loaded once with bench/check_bench.py's prepare()).
Our service runs under gunicorn (2 workers, blueprint.wsgi); stock pygeoapi 0.24 runs beside it
under gunicorn (2 workers, pygeoapi.flask_app) with a generated configuration: its PostgreSQL
provider and MVT-postgresql provider over one view per layer on the same partitions; tipg 1.6.1
(installed from PyPI into `.venv/tipg` on the first run) runs under uvicorn (2 workers) over the
same views. Results go to the "OGC API benchmark" part of bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import numpy as np
import psycopg2
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench  # noqa: E402  (prepare(), bench_url(), machine() of the check benchmark)

ROOT = check_bench.ROOT
VENV = ROOT / ".venv" / "bin"
DB = "blueprint_ogcbench"
LAYER = "basic_farmland"  # the dense layer: 342 582 patches
DENSE = (116.95, 35.35)  # the densest 0.1° cell of farmland (about 5 000 patches)
ZOOMS = range(10, 17)
CONCURRENCY, WARMUP = 4, 5
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
START, END = "<!-- ogc-results:start -->", "<!-- ogc-results:end -->"
BARS = {"items_floor": 3.0, "z14_p95_ms": 50}
TILE_PATH = f"/collections/{LAYER}/tiles/WebMercatorQuad/{{}}/{{}}/{{}}?f=mvt"


TIPG_VENV = ROOT / ".venv" / "tipg"
TIPG = "tipg==1.6.1"


class Gunicorn:
    """A gunicorn (or, with `uvicorn`, a uvicorn from tipg's venv) with 2 workers on a free loopback
    port; `ready` is a path that answers 200."""

    def __init__(self, name: str, app: str, env: dict, ready: str, uvicorn: bool = False) -> None:
        self.name, self.app, self.env, self.ready, self.uvicorn = name, app, env, ready, uvicorn

    def __enter__(self) -> Gunicorn:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            self.base = f"http://127.0.0.1:{port}"
        self.log = open(ROOT / ".data" / f"ogc_bench_{self.name}.log", "w")  # noqa: SIM115
        cmd = [VENV / "gunicorn", self.app, "--bind", self.base[7:], "--workers=2", "--timeout=120"]
        if self.uvicorn:
            cmd = [TIPG_VENV / "bin" / "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(port),
                   "--workers", "2", "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(120):
            try:
                return urlopen(self.base + self.ready, timeout=10).close() or self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        sys.exit(f"{self.name} did not start: see .data/ogc_bench_{self.name}.log")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: do not lose the figures over it
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()


def get(url: str, headers: dict) -> bytes:
    """GET a URL; fail on anything but 200/204 (a 4xx/5xx raises HTTPError)."""
    with urlopen(Request(url, headers=headers), timeout=90) as response:
        return response.read()


def _attempt(fn, item) -> float | None:
    """Milliseconds of one call, None when it failed (HTTPError, timeout, dropped connection)."""
    start = time.perf_counter()
    try:
        fn(item)
    except OSError:
        return None
    return 1000 * (time.perf_counter() - start)


def timed(fns: dict, items: list, budget_s: float = 60.0) -> dict[str, dict]:
    """Latency (one client) and throughput (CONCURRENCY clients) of each of `fns` over items.

    Latency is measured interleaved: each item is asked of every target in turn (the order rotating),
    so that a change of load on the shared machine falls on all of them alike. A target stops once
    its calls have taken `budget_s` (--budget) (stock pygeoapi spends tens of seconds on one dense
    low-zoom tile): what was measured is reported with how many requests it covers; failed requests
    (timeouts, 5xx) are counted, not timed. Throughput passes follow, one target after another.
    """
    keys = list(fns)
    latencies, spent = {k: [] for k in keys}, dict.fromkeys(keys, 0.0)
    for n, item in enumerate(items[:WARMUP] + items):
        for key in keys[n % len(keys):] + keys[:n % len(keys)]:
            if spent[key] <= budget_s * 1000:
                took = _attempt(fns[key], item)
                spent[key] += took or 0.0
                latencies[key].append(took)
    results = {}
    for key in keys:
        measured = latencies[key][WARMUP:]
        failures, timed_ok = sum(t is None for t in measured), [t for t in measured if t is not None]
        if len(measured) == len(items):
            start = time.perf_counter()
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                failures += sum(t is None for t in pool.map(functools.partial(_attempt, fns[key]), items))
            rps = len(items) / (time.perf_counter() - start)
        else:  # over budget: one client's rate
            rps = len(timed_ok) / max(sum(timed_ok) / 1000, 1e-9)
        p50, p95 = np.percentile(timed_ok, [50, 95]) if timed_ok else (float("nan"),) * 2
        results[key] = {"p50": p50, "p95": p95, "rps": rps, "done": len(measured), "of": len(items),
                        "failed": failures}
    return results


def mercator_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def dense_tiles(z: int, count: int) -> list[tuple[int, int, int]]:
    """`count` distinct tiles (z, y, x) nearest the dense point, spiralling out from it."""
    cx, cy = mercator_tile(*DENSE, z)
    ring = sorted(((dx, dy) for dx in range(-8, 9) for dy in range(-8, 9)),
                  key=lambda d: (max(map(abs, d)), d))
    return [(z, cy + dy, cx + dx) for dx, dy in ring[:count]]


def dense_bboxes(rng: np.random.Generator, n: int) -> list[tuple[float, ...]]:
    """Boxes of 0.02° (~2 km) around random points within 0.05° of the dense point: ~100–200 patches."""
    centres = rng.uniform(-0.05, 0.05, (n, 2)) + DENSE
    return [(float(x) - 0.01, float(y) - 0.01, float(x) + 0.01, float(y) + 0.01) for x, y in centres]


def stock_views(version_id: int, fields: dict, tile_fields: dict) -> None:
    """One view per purpose over the active partition, geometry declared as lon/lat (SRID 4326).

    pygeoapi's SQL provider builds its bbox envelope in the storage CRS; declaring the storage as
    EPSG:4490 sends it a latitude-first box (its issue #2102), so the views present SRID 4326 with
    an expression index for it on the partition: the same rows and an index stock pygeoapi can use.
    """
    def columns(names):
        return ", ".join(f"f.properties->>'{n}' AS \"{n}\"" for n in names)
    partition = f"layers_feature_v{version_id}"
    statements = [
        f"CREATE INDEX IF NOT EXISTS {partition}_geom4326 ON {partition} USING gist (ST_SetSRID(geom, 4326))",
        f"CREATE OR REPLACE VIEW ogcbench_{LAYER} AS SELECT f.fid, {columns(fields)}, "
        f"ST_SetSRID(f.geom, 4326) AS geom FROM layers_feature f WHERE f.version_id = {version_id}",
        f"CREATE OR REPLACE VIEW ogcbench_{LAYER}_tiles AS SELECT f.fid, {columns(tile_fields)}, "
        f"ST_SetSRID(f.geom, 4326) AS geom FROM layers_feature f WHERE f.version_id = {version_id}",
        f"ANALYZE {partition}",
    ]
    for statement in statements:
        check_bench.admin_sql(os.environ["DATABASE_URL"], statement, DB)


def stock_config(folder: Path, url: str, base: str) -> dict[str, str]:
    """Write stock pygeoapi's configuration and OpenAPI document; return its environment."""
    p = urlsplit(url)
    data = {"host": p.hostname, "port": p.port or 5432, "dbname": DB, "user": p.username,
            "password": p.password or "", "search_path": ["public"]}
    provider = {"data": data, "id_field": "fid", "geom_field": "geom", "storage_crs": CRS84}
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": 0}, "url": base, "mimetype": "application/json",
                   "encoding": "utf-8", "languages": ["en-US"], "map": {"url": "", "attribution": ""},
                   "limits": {"default_items": 10, "max_items": 1000}},
        "logging": {"level": "ERROR"},
        "metadata": {"identification": {"title": "stock", "description": "stock", "keywords": [],
                                        "terms_of_service": "", "url": base},
                     "license": {"name": "", "url": base}, "provider": {"name": "", "url": base},
                     "contact": {"name": ""}},
        "resources": {LAYER: {
            "type": "collection", "title": LAYER, "description": LAYER, "keywords": [], "links": [],
            "extents": {"spatial": {"bbox": [115.8, 34.4, 117.6, 36.0], "crs": CRS84}},
            "providers": [
                {"type": "feature", "name": "PostgreSQL", "table": f"ogcbench_{LAYER}", **provider,
                 "crs": [CRS84, EPSG4490]},
                {"type": "tile", "name": "MVT-postgresql", "table": f"ogcbench_{LAYER}_tiles", **provider,
                 "options": {"zoom": {"min": 0, "max": 22}},
                 "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"}},
            ]}},
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    env = {"PYGEOAPI_CONFIG": str(folder / "config.yml"), "PYGEOAPI_OPENAPI": str(folder / "openapi.yml")}
    subprocess.run([VENV / "pygeoapi", "openapi", "generate", str(folder / "config.yml"), "--output-file",
                    str(folder / "openapi.yml")], check=True, env={**os.environ, **env}, capture_output=True)
    return env


def ensure_tipg() -> None:
    """tipg in its own venv (its FastAPI/pydantic pins are not ours), installed once from PyPI."""
    if (TIPG_VENV / "bin" / "uvicorn").exists():
        return
    print(f"installing {TIPG} into {TIPG_VENV} …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", TIPG_VENV], check=True)
    subprocess.run([TIPG_VENV / "bin" / "pip", "install", "-q", TIPG, "uvicorn"], check=True)


def tipg_env(url: str) -> dict[str, str]:
    """tipg over the two benchmark views (it serves views as collections `public.<view>`)."""
    p = urlsplit(url)
    dsn = f"postgresql://{p.username}:{p.password}@{p.hostname}:{p.port or 5432}/{DB}"
    tables = json.dumps([f"public.ogcbench_{LAYER}", f"public.ogcbench_{LAYER}_tiles"])
    return {"DATABASE_URL": dsn, "TIPG_DB_TABLES": tables, "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_MAX_FEATURES_PER_QUERY": "10000", "TIPG_DEBUG": "FALSE"}


def staff_cookie() -> str:
    """A session cookie of a county planner (basic_farmland is an internal layer)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from blueprint.models import AccessProfile, Role

    user, _ = User.objects.get_or_create(username="ogcbench", defaults={"is_staff": True})
    AccessProfile.objects.update_or_create(user=user, defaults={"role": Role.COUNTY_PLANNER,
                                                                "districts": ["370800"]})
    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), HASH_SESSION_KEY: user.get_session_auth_hash(),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"})
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


# The floor: the same page of features as GeoJSON, and the tile, from one statement each.
ITEMS_FLOOR = """SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', t.fid, 'properties', t.properties,
                    'geometry', ST_AsGeoJSON({geom})::json)), '[]'))::text
FROM (SELECT fid, properties, geom FROM layers_feature WHERE version_id = %(v)s
      AND geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4490) ORDER BY fid LIMIT 100) t"""


def floor_runner(url: str):
    """A function running one floor statement on its thread's own psycopg2 connection."""
    p, local = urlsplit(url), threading.local()

    def run(statement: str, params: dict) -> None:
        if not hasattr(local, "cursor"):
            local.conn = psycopg2.connect(host=p.hostname, port=p.port or 5432, user=p.username,
                                          password=p.password, dbname=DB)
            local.conn.autocommit = True
            local.cursor = local.conn.cursor()
        local.cursor.execute(statement, params)
        local.cursor.fetchall()
    return run


def items_url(base: str, bbox: tuple, crs: str | None, collection: str = LAYER) -> str:
    params = {"f": "json", "limit": 100, "bbox": ",".join(f"{v:.6f}" for v in bbox)}
    if crs:
        params["crs"] = crs
    return f"{base}/collections/{collection}/items?{urlencode(params)}"


def tipg_items_url(base: str, bbox: tuple, crs: str | None) -> str:
    url = items_url(base, bbox, None, f"public.ogcbench_{LAYER}").replace("f=json", "f=geojson")
    # tipg names output CRSs by EPSG URI too, but answers them lon/lat (it has no axis-order rule).
    return url + (f"&{urlencode({'crs': crs})}" if crs else "")


def tipg_tile_url(base: str, t: tuple[int, int, int]) -> str:
    z, y, x = t  # tipg's path is z/x/y
    return f"{base}/collections/public.ogcbench_{LAYER}_tiles/tiles/WebMercatorQuad/{z}/{x}/{y}"


def same_features(ours: bytes, stock: bytes) -> str:
    """How many features each answered for the same request (a sanity check of the comparison)."""
    a, b = json.loads(ours), json.loads(stock)
    return f"{len(a['features'])} / {len(b['features'])}"


def run(args, rows: dict, notes: dict) -> None:
    """Fill `rows` and `notes` scenario by scenario (what was measured survives a failure)."""
    from api.ogc.tiles import tile_provider  # noqa: F401  (imports pygeoapi as the workers do)
    from layers import tiles as layer_tiles
    from layers.models import Layer

    measure = functools.partial(timed, budget_s=args.budget)
    layer = Layer.objects.select_related("active_version").get(slug=LAYER)
    version = layer.active_version
    fields = layer_tiles.tile_fields(layer)
    stock_views(version.id, layer.fields, fields)
    spec = layer_tiles.TileSpec(LAYER, version.id, fields, True, version.extent.extent)
    rng = np.random.default_rng(args.seed)
    boxes = dense_bboxes(rng, args.requests)
    floor = floor_runner(os.environ["DATABASE_URL"])
    headers = {"Cookie": staff_cookie()}
    url = os.environ["DATABASE_URL"]
    if "tipg" in args.peers:
        ensure_tipg()
    with contextlib.ExitStack() as servers, tempfile.TemporaryDirectory() as tmp:
        ours = servers.enter_context(Gunicorn("ours", "blueprint.wsgi", {"DATABASE_URL": url}, "/healthz"))
        # Per server: (items URL of a bbox and CRS, tile URL of (z, y, x), request headers).
        targets = {"ours": (lambda b, crs: items_url(ours.base + "/ogc", b, crs),
                            lambda t: ours.base + "/ogc" + TILE_PATH.format(*t), headers)}
        if "tipg" in args.peers:
            tipg = servers.enter_context(Gunicorn("tipg", "tipg.main:app", tipg_env(url), "/conformance",
                                                  uvicorn=True))
            targets["tipg"] = (functools.partial(tipg_items_url, tipg.base),
                               functools.partial(tipg_tile_url, tipg.base), {})
        if "stock" in args.peers:  # its links name a placeholder host: only the timing matters here
            stock = servers.enter_context(Gunicorn("stock", "pygeoapi.flask_app:APP", stock_config(
                Path(tmp), url, "http://127.0.0.1"), "/conformance?f=json"))
            targets["stock"] = (lambda b, crs: items_url(stock.base, b, crs),
                                lambda t: stock.base + TILE_PATH.format(*t), {})
        if args.only in (None, "items"):
            for name, crs in (("items, CRS84", None), ("items, EPSG:4490", EPSG4490)):
                print(f"{name}: {len(boxes)} bboxes …", flush=True)
                fns = {key: (lambda b, i=i, h=h, crs=crs: get(i(b, crs), h))
                       for key, (i, _t, h) in targets.items()}
                fns["floor"] = lambda b, crs=crs: floor(ITEMS_FLOOR.format(
                    geom="ST_FlipCoordinates(geom)" if crs else "geom"),
                    {"v": version.id, **dict(zip("wsen", b, strict=True))})
                rows[name] = measure(fns, boxes)
                notes[name] = " / ".join(str(len(json.loads(get(i(boxes[0], crs), h))["features"]))
                                         for i, _t, h in targets.values())
        if args.only in (None, "tiles"):
            for z in args.zooms:
                tiles = dense_tiles(z, args.tiles)
                print(f"tiles z{z}: {len(tiles)} tiles …", flush=True)
                fns = {key: (lambda t, u=u, h=h: get(u(t), h)) for key, (_i, u, h) in targets.items()}
                fns["floor"] = lambda t: floor(*layer_tiles._statement(
                    spec, layer_tiles.tile_request("WebMercatorQuad", *t), layer_tiles._MVT_OUTPUT))
                rows[f"tiles z{z}"] = measure(fns, tiles)
                sizes = [len(get(targets["ours"][1](t), headers)) for t in tiles[:5]]
                notes[f"tiles z{z}"] = f"{np.mean(sizes) / 1024:.0f} KiB"


def render(info: dict, rows: dict, notes: dict, args, load: float) -> str:
    met = {True: "met", False: "**NOT met**"}
    peers = [name for name in ("tipg", "stock") if any(name in r for r in rows.values())]
    columns = ["ours", *peers, "floor"]
    titles = {"ours": "ours", "tipg": "tipg 1.6.1", "stock": "stock pygeoapi 0.24", "floor": "SQL floor"}
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {load:.1f} before, "
           f"{os.getloadavg()[0]:.1f} at the end. The machine (2 cores) was shared with other work: the "
           "figures carry that noise; compare within a row, where every column ran minutes apart.", "",
           "Machine:", "", *[f"- {k}: {v}" for k, v in info.items()], "",
           f"Requests: items — {args.requests} bboxes of 0.02° × 0.02° within 0.05° of {DENSE} "
           f"(seed {args.seed}), `limit=100`, on `{LAYER}` (326 155 patches); tiles — per zoom the "
           f"{args.tiles} WebMercatorQuad tiles nearest that point, each a distinct URL, no HTTP cache. "
           f"p50/p95: one client; req/s: {CONCURRENCY} clients. Floor: one SQL statement per request "
           "(items: the same page as GeoJSON; tiles: our tile statement) on one connection, no HTTP. "
           "tipg and stock pygeoapi read views over the same partition.", "",
           "| scenario | " + " | ".join(f"{titles[k]} req/s, p50 / p95 (ms)" for k in columns)
           + " | ours ÷ floor (p50; req/s) | note |",
           "|---|" + "---:|" * (len(peers) + 3) + "---|"]
    for name, r in rows.items():
        cells = [f"{r[k]['rps']:.1f}{_partial(r[k])}, {r[k]['p50']:.1f} / {r[k]['p95']:.1f}"
                 for k in columns if k in r]
        o, f = r["ours"], r["floor"]
        out.append(f"| {name} | " + " | ".join(cells) + f" | {o['p50'] / f['p50']:.1f}×; "
                   f"{f['rps'] / o['rps']:.1f}× | {notes.get(name, '')} |")
    verdict = []
    for name, r in rows.items():
        o, f = r["ours"], r["floor"]
        if name.startswith("items"):
            ok = o["p50"] <= BARS["items_floor"] * f["p50"] and o["rps"] * BARS["items_floor"] >= f["rps"]
            ratios = f"p50 {o['p50'] / f['p50']:.1f}× the floor's, req/s {f['rps'] / o['rps']:.1f}× fewer"
            verdict.append(f"- {name}: {ratios} (bar ≤ {BARS['items_floor']}× both) — {met[ok]}")
        elif "tipg" in r and name in ("tiles z12", "tiles z14"):
            t = r["tipg"]
            ok = o["p50"] <= t["p50"] and o["p95"] <= t["p95"]
            verdict.append(f"- {name}: p50/p95 {o['p50']:.1f}/{o['p95']:.1f} ms against tipg's "
                           f"{t['p50']:.1f}/{t['p95']:.1f} ms (bar: at least as fast) — {met[ok]}")
    if "tiles z14" in rows:
        z14 = rows["tiles z14"]["ours"]["p95"]
        verdict.append(f"- tiles z14: p95 {z14:.0f} ms uncached (bar ≤ {BARS['z14_p95_ms']} ms) — "
                       f"{met[z14 <= BARS['z14_p95_ms']]}")
    return "\n".join([*out, "", "Items note: features returned for the first bbox (ours / peers).",
                      "Tiles note: mean size of our first five tiles.", "", "Bars:", "", *verdict, ""])


def _partial(r: dict) -> str:
    """A mark when a pass ran out of time or had failures."""
    marks = []
    if r["done"] < r["of"]:
        marks.append(f"{r['done']} of {r['of']} in the time budget, 1 client")
    if r["failed"]:
        marks.append(f"{r['failed']} failed")
    return f" ({'; '.join(marks)})" if marks else ""


def write_readme(results: str) -> None:
    """Replace the text between the ogc-results markers, with check_bench's writer."""
    check_bench.START, check_bench.END = START, END
    check_bench.write_readme(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="bboxes per items scenario")
    parser.add_argument("--tiles", type=int, default=40, help="tiles per zoom level")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--reload", action="store_true", help="recreate and reload the bench database")
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "city")
    parser.add_argument("--no-readme", action="store_true", help="print the results only")
    parser.add_argument("--render-only", action="store_true", help="render the last run's saved figures")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per measuring pass")
    parser.add_argument("--only", choices=("items", "tiles"), help="one half of the benchmark")
    parser.add_argument("--zooms", type=lambda v: [int(z) for z in v.split(",")], default=list(ZOOMS),
                        help="tile zoom levels, comma-separated (default 10–16)")
    parser.add_argument("--peers", type=lambda v: [p for p in v.split(",") if p], default=["tipg", "stock"],
                        help="peers to run beside ours: tipg,stock (default both; '' for none)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    check_bench.DB = DB  # prepare() and bench_url() work on this benchmark's own database
    os.environ["DATABASE_URL"] = url = check_bench.bench_url()  # before Django reads its settings
    check_bench.prepare(url, args.data.resolve(), args.reload)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()
    saved = ROOT / ".data" / "ogc_bench_rows.json"
    if args.render_only:
        rows, notes = json.loads(saved.read_text())
    else:
        rows, notes = {}, {}
        try:
            run(args, rows, notes)
        finally:
            saved.write_text(json.dumps([rows, notes]))
    results = render(check_bench.machine(), rows, notes, args, load)
    print(results)
    if not args.no_readme:
        write_readme(results)


if __name__ == "__main__":
    main()
