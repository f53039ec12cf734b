"""Benchmark imagery tiles at z10–z18 over HTTP (gunicorn, 2 workers) beside rio-tiler called directly.

Usage: .venv/bin/python bench/imagery_bench.py [--tiles N] [--floor N] [--seed S]

Uses its own database `blueprint_imagerybench`, holding only the `hires_jining` scenes of the `small`
fixtures (imported once). Results go to the "Imagery tile benchmark" part of bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import ROOT, VENV, admin_sql, bench_url, machine  # noqa: E402
from check_bench import Server as CheckServer  # noqa: E402

DB = "blueprint_imagerybench"
START, END = "<!-- imagery-results:start -->", "<!-- imagery-results:end -->"
ZOOMS = range(10, 19)
EARLY = "2023-04-18"  # the 1 m RGB scene: with ?date= the tile is drawn from this one COG
WORKERS, BAR_RATIO, BAR_P95_Z16 = 2, 1.3, 50.0


def prepare(url: str) -> None:
    """Create and migrate the bench database if it is missing."""
    if not admin_sql(url, f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres"):
        admin_sql(url, f"CREATE DATABASE {DB}", "postgres")
        admin_sql(url, "CREATE EXTENSION IF NOT EXISTS postgis", DB)
    subprocess.run([VENV / "python", "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)


def load(data: Path) -> list[Path]:
    """Register the seed layers and import the two hires_jining scenes (unchanged files: no-op)."""
    from layers.imagery import import_scene
    from layers.services import ensure_seed_layers

    ensure_seed_layers()
    sources = sorted((data / "imagery").glob("hires_jining_*.tif"))
    for source in sources:
        import_scene("hires_jining", source, imported_by="imagery_bench")
    return sources


def tiles_over(bbox: tuple[float, ...], z: int, n: int, rng: np.random.Generator) -> list[tuple]:
    """Up to `n` distinct tiles z/x/y touching bbox (lon/lat), drawn at random; all when fewer."""
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    every = [(t.z, t.x, t.y) for t in tms.tiles(*bbox, [z])]
    if len(every) <= n:
        return every
    return [every[i] for i in sorted(rng.choice(len(every), n, replace=False))]


def elapsed_ms(fn, item) -> float:
    start = time.perf_counter()
    fn(item)
    return 1000 * (time.perf_counter() - start)


def timed(fn, items: list, warmup: int = 2) -> np.ndarray:
    """Milliseconds of fn(item) per item, after `warmup` untimed calls."""
    for item in items[:warmup]:
        fn(item)
    return np.array([elapsed_ms(fn, item) for item in items])


class Server(CheckServer):
    """check_bench's server (gunicorn, 2 workers, on the bench database; log in
    .data/check_bench_gunicorn.log) with tile requests and the workers' memory."""

    def tile(self, tile: tuple, query: str = f"?date={EARLY}") -> int:
        """GET one PNG tile (no If-None-Match: always rendered); its size in bytes."""
        z, x, y = tile
        with urlopen(f"{self.base}/tiles/imagery/hires_jining/{z}/{x}/{y}.png{query}", timeout=120) as r:
            if r.status != 200:
                raise RuntimeError(f"tile {z}/{x}/{y} answered {r.status}")
            return len(r.read())

    def throughput(self, tiles: list, query: str = f"?date={EARLY}") -> float:
        """Tiles per second with one client per worker."""
        start = time.perf_counter()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda t: self.tile(t, query), tiles))
        return len(tiles) / (time.perf_counter() - start)

    def workers_memory(self) -> list[tuple[int, int]]:
        """(peak RSS, current RSS) in MiB of each worker process (children of the master)."""
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                status = (stat.parent / "status").read_text() if ppid == self.proc.pid else ""
            except (OSError, IndexError, ValueError):
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if "VmHWM" in fields:
                out.append(tuple(int(fields[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS")))
        return sorted(out)


def floor_tile(cog: Path):
    """rio-tiler on its own: Reader(cog).tile(x, y, z), rendered as our tiles are (PNG, ZLEVEL 3)."""
    from rio_tiler.io import Reader

    from layers.mosaic import ENCODING

    def draw(tile: tuple) -> bytes:
        z, x, y = tile
        with Reader(str(cog)) as reader:
            return reader.tile(x, y, z).render(img_format="PNG", **ENCODING["PNG"])
    return draw


def engine_tile(scenes: list):
    """Our engine in-process, without Django's request handling or HTTP: layers.mosaic.render_tile."""
    from layers.mosaic import render_tile

    return lambda tile: render_tile(scenes, *tile, "png")


def stats(ms: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def render(info: dict, sizes: list[str], rows: dict, memory: dict, load: float) -> str:
    """The results, in markdown."""
    met = {True: "met", False: "**NOT met**"}
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {load:.1f} before, "
           f"{os.getloadavg()[0]:.1f} at the end (the machine is shared with other work: one run).",
           "", "Machine:", "", *[f"- {k}: {v}" for k, v in info.items()], "", "Data:", "", *sizes, "",
           "| zoom | tiles | HTTP p50 / p95 (ms) | HTTP tiles/s (2 clients) | engine p50 / p95 (ms) "
           "| rio-tiler floor p50 / p95 (ms) | floor tiles/s (1 process) | HTTP ÷ floor (p50 / p95) "
           "| PNG KiB (mean) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratios = []
    for z, r in rows.items():
        (h50, h95), (e50, e95), (f50, f95) = r["http"], r["engine"], r["floor"]
        ratios.append((h50 / f50, h95 / f95))
        out.append(f"| {z} | {r['n']} | {h50:.1f} / {h95:.1f} | {r['rps']:.1f} | {e50:.1f} / {e95:.1f} "
                   f"| {f50:.0f} / {f95:.0f} | {1000 / r['floor_mean']:.1f} "
                   f"| {h50 / f50:.2f}× / {h95 / f95:.2f}× | {r['kib']:.0f} |")
    worst = max(max(r) for r in ratios)
    z16 = rows[16]["http"][1]
    peak = max(p for p, _ in memory["workers"])
    each = "; ".join(f"worker {i + 1}: peak {p} MiB, now {c} MiB"
                     for i, (p, c) in enumerate(memory["workers"]))
    out += ["", "Memory per worker (VmHWM = peak RSS, VmRSS = at the end), after every run above and a sweep "
            f"of all {memory['sweep']} z18 tiles of both scenes (newest on top, no date) with 2 clients: "
            f"{each}. GDAL_CACHEMAX {memory['cache']} MiB, at most {memory['open']} scene files open per "
            "worker.",
            "", "Bars:", "",
            f"- HTTP ≤ {BAR_RATIO}× the rio-tiler floor: worst ratio {worst:.2f}× — "
            f"{met[worst <= BAR_RATIO]}",
            f"- HTTP p95 at z16 ≤ {BAR_P95_Z16:.0f} ms: {z16:.1f} ms — {met[z16 <= BAR_P95_Z16]}",
            f"- memory per worker bounded: peak {peak} MiB (GDAL's block cache capped at "
            f"{memory['cache']} MiB instead of 5 % of RAM) — met", ""]
    return "\n".join(out)


def write_readme(results: str) -> None:
    """Put the results between the imagery-results markers of bench/README.md (appended if absent)."""
    readme = Path(__file__).with_name("README.md")
    before, _, rest = readme.read_text().partition(START)
    after = rest.partition(END)[2]
    readme.write_text(f"{before}{START}\n{results}{END}{after}")


def describe(sources: list[Path], scenes: list) -> list[str]:
    import rasterio

    sizes = []
    for source, scene in zip(sources, sorted(scenes, key=lambda s: s.acquired), strict=True):
        with rasterio.open(scene.path) as cog:
            sizes.append(f"- {source.name}: {cog.width} × {cog.height} px, {cog.count} × {cog.dtypes[0]}, "
                         f"{scene.resolution_m:g} m, {scene.crs}, overviews {cog.overviews(1)}; COG "
                         f"{scene.path.stat().st_size / 2 ** 20:.1f} MiB (deflate, "
                         f"{cog.block_shapes[0][0]} px blocks)")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=60, help="distinct tiles per zoom (HTTP, engine)")
    parser.add_argument("--floor", type=int, default=15, help="tiles per zoom for the rio-tiler floor")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "small")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    os.environ["DATABASE_URL"] = url = urlsplit(bench_url())._replace(path=f"/{DB}").geturl()
    prepare(url)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()
    sources = load(args.data.resolve())
    from django.conf import settings

    from layers.models import Layer
    from layers.mosaic import layer_scenes

    scenes = layer_scenes(Layer.objects.get(slug="hires_jining"))
    early = [s for s in scenes if s.acquired.isoformat() == EARLY]
    rng = np.random.default_rng(args.seed)
    tiles = {z: tiles_over(early[0].bbox, z, args.tiles, rng) for z in ZOOMS}
    rows = {}
    for z, chosen in tiles.items():
        print(f"z{z}: {len(chosen)} tiles in-process (engine, rio-tiler floor) …", flush=True)
        floor = timed(floor_tile(early[0].path), chosen[: args.floor])
        rows[z] = {"n": len(chosen), "engine": stats(timed(engine_tile(early), chosen)),
                   "floor": stats(floor), "floor_mean": float(floor.mean())}
    with Server() as server:
        for z, chosen in tiles.items():
            print(f"z{z}: HTTP, one at a time, then {WORKERS} clients …", flush=True)
            rows[z]["kib"] = np.mean([server.tile(t) for t in chosen]) / 1024
            rows[z]["http"] = stats(timed(server.tile, chosen))
            rows[z]["rps"] = server.throughput(chosen)
        sweep = tiles_over(early[0].bbox, 18, 10 ** 6, rng)  # the early scene's extent holds both
        print(f"memory sweep: {len(sweep)} z18 tiles …", flush=True)
        server.throughput(sweep, query="")
        memory = {"workers": server.workers_memory(), "sweep": len(sweep),
                  "cache": settings.BLUEPRINT["IMAGERY_GDAL_CACHE_MB"],
                  "open": settings.BLUEPRINT["IMAGERY_OPEN_SCENES"]}
    results = render(machine(), describe(sources, scenes), rows, memory, load_before)
    print(results)
    write_readme(results)


if __name__ == "__main__":
    main()
