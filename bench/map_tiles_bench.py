"""Benchmark the PNG map tiles of farmland (z10–12) on the `city` data, beside its vector tiles.

Usage: .venv/bin/python bench/map_tiles_bench.py [--tiles N] [--no-readme]

Per zoom, the N WebMercatorQuad tiles nearest the densest farmland point (ogc_bench.dense_tiles),
each a distinct URL: in-process (layers/map_tiles.py, its SQL and its drawing + PNG encoding timed
apart) and over HTTP from the bench database's gunicorn (check_bench.Server, 2 workers, one client,
no HTTP cache, a token reading farmland), with the vector tile of the same address for comparison.
Results go to the "Map tiles benchmark" part of bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.request import Request, urlopen

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench as cb  # noqa: E402
from ogc_bench import DENSE, LAYER, dense_tiles  # noqa: E402

START, END = "<!-- maptile-results:start -->", "<!-- maptile-results:end -->"
ZOOMS = (10, 11, 12)
MAP_PATH = f"/ogc/collections/{LAYER}/map/tiles/WebMercatorQuad/{{}}/{{}}/{{}}"
MVT_PATH = f"/ogc/collections/{LAYER}/tiles/WebMercatorQuad/{{}}/{{}}/{{}}?f=mvt"


def token() -> str:
    from django.utils import timezone

    from blueprint.tokens import create_token

    return create_token(f"map-tiles-bench-{time.time_ns()}", interfaces=["ogc_read"], layers=[LAYER],
                        rate_limit_per_minute=10**6, expires_at=timezone.now() + timedelta(hours=2))[1]


def in_process(tiles: list[tuple[int, int, int]]) -> dict:
    """SQL (the tile's geometries) and drawing + PNG encoding, timed apart, per tile."""
    import shapely

    from layers import map_tiles
    from layers import tiles as layer_tiles
    from layers.models import Layer
    from layers.styles import layer_style

    layer = Layer.objects.select_related("active_version").get(slug=LAYER)
    version = layer.active_version
    spec = layer_tiles.TileSpec(LAYER, version.id, layer_tiles.tile_fields(layer), True,
                                version.extent.extent)
    style, sql, draw, total, parts = layer_style(LAYER), [], [], [], []
    for z, y, x in tiles:
        tile = layer_tiles.tile_request("WebMercatorQuad", z, y, x)
        t0 = time.perf_counter()
        geoms = layer_tiles.tile_geometries(spec, tile)
        t1 = time.perf_counter()
        map_tiles.render_map_tile(spec, tile, style)
        t2 = time.perf_counter()
        sql.append((t1 - t0) * 1000)
        total.append((t2 - t1) * 1000)
        parts.append(len(shapely.get_parts(shapely.from_wkb(geoms))))
    # render_map_tile runs the statement again: its drawing is its time less the statement's.
    draw = [max(t - s, 0.0) for t, s in zip(total, sql, strict=True)]
    return {"sql": np.percentile(sql, [50, 95]), "draw": np.percentile(draw, [50, 95]),
            "total": np.percentile(total, [50, 95]), "parts": (np.mean(parts), max(parts))}


def over_http(base: str, path: str, tiles: list, headers: dict) -> dict:
    times, sizes = [], []
    for t in tiles:
        start = time.perf_counter()
        with urlopen(Request(base + path.format(*t), headers=headers), timeout=60) as response:
            body = response.read()
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(len(body))
    return {"p": np.percentile(times, [50, 95]), "kib": (np.mean(sizes) / 1024, max(sizes) / 1024)}


def pair(values, digits: int = 0) -> str:
    return f"{values[0]:,.{digits}f} / {values[1]:,.{digits}f}"


def render(info: dict, rows: dict, n: int, load: float) -> str:
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {load:.1f} before, "
           f"{os.getloadavg()[0]:.1f} at the end. The machine is shared with other work.", "",
           "Machine:", "", *[f"- {k}: {v}" for k, v in info.items()], "",
           f"`{LAYER}` (342 582 patches), per zoom the {n} tiles nearest ({DENSE[0]}, {DENSE[1]}); "
           "in-process: the tile statement, then drawing and PNG encoding; HTTP: gunicorn, 2 workers, "
           "one client, each URL once.", "",
           "| zoom | polygon parts per tile mean / max | in-process SQL p50 / p95 (ms) "
           "| in-process drawing + PNG p50 / p95 (ms) | PNG over HTTP p50 / p95 (ms) "
           "| PNG size mean / max (KiB) | vector tile over HTTP p50 / p95 (ms) "
           "| vector tile size mean / max (KiB) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for z, r in rows.items():
        p, m, i = r["png"], r["mvt"], r["in"]
        cells = [f"{i['parts'][0]:,.0f} / {i['parts'][1]:,}", pair(i["sql"]), pair(i["draw"]), pair(p["p"]),
                 pair(p["kib"], 1), pair(m["p"]), pair(m["kib"], 1)]
        out.append(f"| {z} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write_readme(results: str) -> None:
    """Replace the text between the maptile-results markers, with check_bench's writer."""
    cb.START, cb.END = START, END
    cb.write_readme(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=40)
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--data", type=Path, default=cb.ROOT / ".data" / "fixtures" / "city")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    os.environ["DATABASE_URL"] = url = cb.bench_url()
    cb.prepare(url, args.data.resolve(), reload=False)
    sys.path.insert(0, str(cb.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()
    headers = {"Authorization": f"Bearer {token()}"}
    rows = {}
    with cb.Server() as server:
        for z in ZOOMS:
            tiles = dense_tiles(z, args.tiles)
            print(f"z{z}: {len(tiles)} tiles …", flush=True)
            rows[z] = {"in": in_process(tiles), "png": over_http(server.base, MAP_PATH, tiles, headers),
                       "mvt": over_http(server.base, MVT_PATH, tiles, headers)}
    results = render(cb.machine(), rows, args.tiles, load)
    print(results)
    if not args.no_readme:
        write_readme(results)


if __name__ == "__main__":
    main()
