"""Benchmark panning the 一张蓝图 map page on the `city` data in headless Chromium.

Usage: .venv/bin/python bench/maps_pan_bench.py [--pans N] [--zooms 10-16] [--no-readme]

Serves the bench database of check_bench.py (`blueprint_checkbench`, loaded when missing) with
gunicorn (2 workers), signs a county planner in through /accounts/login/, opens /maps/ and, per zoom,
drags the map half a screen at a time along a fixed loop around a dense farmland area, waiting for
the layers to settle after each drag. Records main-thread long tasks, animation-frame gaps, the
time from release to all layers drawn, what each /maps/data response carried (project sites) and
the vector-tile and PNG map-tile requests of the other layers (count, size, duration, browser-cache
hits), and the tiles and farmland features drawn. Results go to the "Map panning benchmark" part of
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_bench as cb  # noqa: E402  (the bench database, server and machine facts)

CENTRE = (116.95, 35.35)  # lon, lat: dense farmland in 微山县 / 邹城市
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PLANNER = ("pan-bench-planner", "pan-bench-planner-pass-1")
# A loop of half-screen drags (in halves of the map's width and height) that ends where it began.
PATH = [(1, 0), (1, 0), (0, 1), (0, 1), (-1, 0), (-1, 0), (0, -1), (0, -1), (1, 1), (-1, -1)]
DRAG_STEPS, STEP_SECONDS, PAUSE_MS = 20, 0.016, 300
START, END = "<!-- pan-results:start -->", "<!-- pan-results:end -->"
BARS = {"drag_gap_ms": 100, "longtask_ms": 200, "settle_p95_ms": 1000}

# Installed before any page script: long tasks, every animation frame, and the press and release
# of the pointer, all on the page's performance.now() clock.
INSTRUMENT = """
window.__bench = {longtasks: [], frames: [], tiles: [], down: null, up: null, moveend: null};
new PerformanceObserver(list => list.getEntries().forEach(
  e => __bench.longtasks.push([e.startTime, e.duration]))).observe({type: 'longtask', buffered: true});
// Vector and PNG map tiles: a transferSize of 0 is the browser's cache (same origin: sizes exposed).
new PerformanceObserver(list => list.getEntries().forEach(e => e.name.includes('/tiles/WebMercatorQuad/') &&
  __bench.tiles.push([e.startTime, e.name, e.responseEnd - e.startTime, e.transferSize, e.decodedBodySize,
                      e.encodedBodySize]))).observe({type: 'resource', buffered: true});
(function frame(t) { __bench.frames.push(t); requestAnimationFrame(frame); })(performance.now());
document.addEventListener('pointerdown', e => { __bench.down = e.timeStamp; }, true);
document.addEventListener('pointerup', e => { __bench.up = e.timeStamp; }, true);
"""
# `__moved` resolves at the drag's moveend (its glide included), `__settled` on the first frame after
# that once no layer request is in flight: the layers of the new view are drawn.
ARM = """() => { window.__moved = new Promise(moved => { window.__settled = new Promise(resolve =>
  BP.map.once('moveend', () => {
    __bench.moveend = performance.now();
    moved(__bench.moveend);
    const check = () => BP.pending === 0 ? requestAnimationFrame(() => resolve(performance.now()))
                                         : requestAnimationFrame(check);
    check(); })); }); }"""
# Farmland features drawn (distinct ids over its loaded tiles) only where the run waited: counting
# them is main-thread work that would otherwise land between the drags.
SETTLED = """async wait => { await window.__moved; const settled = wait ? await window.__settled : null;
  const c = BP.map.getCenter(), farm = BP.layers.basic_farmland;
  const ids = wait && farm && farm.drawn ? new Set(farm.drawn().flatMap(t => t.ids)).size : null;
  return {down: __bench.down, up: __bench.up, moveend: __bench.moveend, settled: settled,
          centre: [c.lng, c.lat], paths: document.querySelectorAll('path.leaflet-interactive').length,
          tiles: document.querySelectorAll('.bp-tiles canvas.leaflet-tile-loaded').length,
          farm_tiles: document.querySelectorAll('.bp-tiles-basic_farmland canvas.leaflet-tile-loaded').length,
          farm_images: document.querySelectorAll('.bp-maptiles-basic_farmland img.leaflet-tile-loaded')
            .length,
          farmland: ids}; }"""


def planner() -> None:
    """Create (or reset) the county planner who sees the internal layers of both demo cities."""
    from django.contrib.auth import get_user_model

    from blueprint.models import AccessProfile, Role

    user, _ = get_user_model().objects.get_or_create(username=PLANNER[0])
    user.set_password(PLANNER[1])
    user.save()
    AccessProfile.objects.update_or_create(user=user, defaults={"role": Role.COUNTY_PLANNER,
                                                                "districts": ["370800", "420600"]})


def data_sizes(manifest: dict) -> list[str]:
    """Features per vector layer in the database, and how many meet a 0.2° × 0.1° box at the centre."""
    lon, lat = CENTRE
    rows = cb.query("SELECT l.slug, l.access_level, v.feature_count, (SELECT count(*) FROM layers_feature f "
                    "WHERE f.version_id = v.id AND f.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490)) "
                    "FROM layers_layer l JOIN layers_layerversion v ON v.id = l.active_version_id "
                    "WHERE l.kind = 'vector' ORDER BY v.feature_count DESC",
                    [lon - 0.1, lat - 0.05, lon + 0.1, lat + 0.05])
    projects = cb.query("SELECT count(*) FROM layers_project")[0][0]
    return [f"- {slug} ({access}): {n:,} features"
            + (f", {manifest[slug]['vertices']:,} vertices" if slug in manifest else "")
            + f"; {near:,} in the 0.2° × 0.1° box around the centre" for slug, access, n, near in rows] + [
        f"- project_site: {projects} projects (their current site revisions)"]


def sign_in(page, base: str) -> None:
    """Sign the planner in through the Chinese login page, landing on the map."""
    page.goto(f"{base}/accounts/login/?next=/maps/")
    page.fill("#id_username", PLANNER[0])
    page.fill("#id_password", PLANNER[1])
    page.click("[type=submit]")
    page.wait_for_url("**/maps/")
    page.wait_for_function("() => window.BP && BP.map && BP.idle()", timeout=60_000)


def drag(page, box: dict, dx: float, dy: float, wait: bool) -> dict:
    """Drag the map by (dx, dy) pixels as a hand would (~0.3 s); the timings of the pan, waiting for
    its glide to end and, if `wait`, for the layers to settle."""
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(ARM)
    page.mouse.move(cx + dx / 2, cy + dy / 2)
    page.mouse.down()
    for i in range(1, DRAG_STEPS + 1):
        page.mouse.move(cx + dx / 2 - dx * i / DRAG_STEPS, cy + dy / 2 - dy * i / DRAG_STEPS)
        time.sleep(STEP_SECONDS)
    page.mouse.up()
    return page.evaluate(SETTLED, wait)


def responses(requests: list) -> list[dict]:
    """What each finished /maps/data request carried: layer, bytes, features, truncated, duration."""
    out = []
    for request in requests:
        response = request.response()
        if response is None or response.status != 200:
            out.append({"layer": urlsplit(request.url).path.rsplit("/", 1)[1], "failed": True})
            continue
        body = response.body()
        data = json.loads(body)
        out.append({"layer": data["layer"], "bytes": len(body), "features": len(data["features"]),
                    "truncated": bool(data["truncated"]), "ms": request.timing["responseEnd"],
                    "zoom": int(parse_qs(urlsplit(request.url).query)["zoom"][0])})
    requests.clear()
    return out


def run_zoom(page, zoom: int, pans: int, wait: bool, finished: list, failed: list) -> dict:
    """Open the centre at `zoom`, then drag along PATH, waiting for the layers after each drag or
    (not `wait`) dragging on while they load; the page's records for those drags."""
    lon, lat = CENTRE
    # Every run starts with an empty browser cache (tiles are cacheable for 5 minutes): what one run
    # fetched is not served to the next from memory. Within a run, the loop's returns may hit it.
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")
    page.evaluate(f"() => {{ BP.map.setView([{lat}, {lon}], {zoom}, {{animate: false}}); }}")
    page.wait_for_timeout(200)
    page.wait_for_function("() => BP.idle()", timeout=60_000)
    page.wait_for_timeout(500)
    responses(finished)
    failed.clear()
    box = page.locator(".folium-map").bounding_box()
    start = page.evaluate("performance.now()")
    pans_done, loads = [], []
    for i in range(pans):
        fx, fy = PATH[i % len(PATH)]
        pans_done.append(drag(page, box, fx * box["width"] / 2, fy * box["height"] / 2, wait))
        if wait:  # else the next drag starts at once and the bodies are read at the end
            page.wait_for_timeout(PAUSE_MS)
            loads += responses(finished)
    page.wait_for_function("() => BP.idle()", timeout=60_000)
    loads += responses(finished)
    end = page.evaluate("performance.now()")
    record = page.evaluate("([a, b]) => ({frames: __bench.frames.filter(t => t >= a && t <= b),"
                           " longtasks: __bench.longtasks.filter(l => l[0] >= a && l[0] <= b),"
                           " tiles: __bench.tiles.filter(l => l[0] >= a && l[0] <= b)})",
                           [start, end])
    tiles = [{"layer": urlsplit(url).path.split("/")[3] + (" PNG" if "/map/tiles/" in url else ""), "ms": ms,
              "cached": transfer == 0, "bytes": body}
             for _, url, ms, transfer, body, _sent in record.pop("tiles")]
    return {"zoom": zoom, "wait": wait, "pans": pans_done, "loads": loads, "aborted": len(failed), **record,
            "tiles": tiles, "seconds": (end - start) / 1000}


def summarise(run: dict) -> dict:
    """The figures of one zoom's run."""
    frames = np.array(run["frames"])
    gaps = np.diff(frames)
    during = np.zeros(len(gaps), bool)
    for p in run["pans"]:  # a frame gap belongs to a drag when it ends between press and moveend (glide)
        during |= (frames[1:] >= p["down"]) & (frames[1:] <= p["moveend"])
    settle = np.array([p["settled"] - p["up"] for p in run["pans"] if p["settled"] is not None] or [np.nan])
    tasks = np.array([d for _, d in run["longtasks"]] or [0.0])
    loads = [x for x in run["loads"] if not x.get("failed")]
    by_layer = {}
    for x in loads:
        by_layer.setdefault(x["layer"], []).append(x)
    return {"zoom": run["zoom"], "wait": run["wait"], "drag_p95": np.percentile(gaps[during], 95),
            "drag_max": gaps[during].max(), "all_p95": np.percentile(gaps, 95), "all_max": gaps.max(),
            "lt_n": len(run["longtasks"]), "lt_total": tasks.sum() if run["longtasks"] else 0.0,
            "lt_max": tasks.max(), "settle_p50": np.percentile(settle, 50),
            "settle_p95": np.percentile(settle, 95),
            "req_p95": np.percentile([x["ms"] for x in loads], 95) if loads else float("nan"),
            "layers": by_layer, "failed": len(run["loads"]) - len(loads), "aborted": run["aborted"],
            "paths": max(p["paths"] for p in run["pans"]),
            "tiles_drawn": max(p["tiles"] for p in run["pans"]),
            "farm_tiles": max(p["farm_tiles"] for p in run["pans"]),
            "farm_images": max(p.get("farm_images", 0) for p in run["pans"]),
            "farmland": max((p["farmland"] for p in run["pans"] if p["farmland"] is not None), default=None),
            "tiles": tile_summary(run["tiles"]), "seconds": run["seconds"]}


def tile_summary(tiles: list[dict]) -> dict:
    """Vector-tile requests per layer: how many, how many from the network, sizes and durations."""
    out = {}
    for tile in tiles:
        out.setdefault(tile["layer"], []).append(tile)
    return {slug: {"n": len(xs), "network": sum(not x["cached"] for x in xs),
                   "empty": sum(x["bytes"] == 0 for x in xs),
                   "kib": np.mean([x["bytes"] for x in xs]) / 1024,
                   "max_kib": max(x["bytes"] for x in xs) / 1024,
                   "p95": np.percentile([x["ms"] for x in xs if not x["cached"]] or [np.nan], 95)}
            for slug, xs in out.items()}


def misses(s: dict) -> list[str]:
    """The criteria a run misses (the settling time only where it waited for the layers)."""
    checks = [(f"drag frame gap {s['drag_max']:.0f} ms", s["drag_max"] <= BARS["drag_gap_ms"]),
              (f"long task {s['lt_max']:.0f} ms", s["lt_max"] <= BARS["longtask_ms"])]
    if s["wait"]:
        checks.append((f"settled p95 {s['settle_p95']:.0f} ms", s["settle_p95"] <= BARS["settle_p95_ms"]))
    return [name for name, ok in checks if not ok]


def layer_cells(s: dict) -> str:
    """Per layer: responses, mean KiB and max features per response, truncated count."""
    cells = []
    for slug, xs in sorted(s["layers"].items(), key=lambda kv: -max(x["features"] for x in kv[1])):
        trunc = sum(x["truncated"] for x in xs)
        cells.append(f"{slug} {len(xs)}× {np.mean([x['bytes'] for x in xs]) / 1024:,.0f} KiB / "
                     f"≤{max(x['features'] for x in xs):,} f" + (f", **{trunc} truncated**" if trunc else ""))
    return "<br>".join(cells) or "–"


def tile_cells(s: dict) -> str:
    """Per tiled layer: requests (from the network), mean / max KiB, empty tiles, p95 duration."""
    cells = [f"{slug} {t['n']}× ({t['network']} net) {t['kib']:,.1f} / {t['max_kib']:,.0f} KiB, "
             f"{t['empty']} empty, p95 {t['p95']:.0f} ms"
             for slug, t in sorted(s["tiles"].items(), key=lambda kv: -kv[1]["kib"] * kv[1]["n"])]
    return "<br>".join(cells) or "–"


def drawn_cell(s: dict) -> str:
    if s["farm_images"]:  # farmland as PNG map tiles: images, no features in the page
        return f"{s['paths']:,} / {s['tiles_drawn']} / {s['farm_images']} PNG / –"
    farmland = f" / {s['farm_tiles']} / {s['farmland']:,}" if s["farmland"] is not None else \
        (f" / {s['farm_tiles']} / –" if s["farm_tiles"] else "")
    return f"{s['paths']:,} / {s['tiles_drawn']}{farmland}"


def table(summaries: list[dict]) -> list[str]:
    """One markdown table row per zoom."""
    out = ["| zoom | drag frame gap p95 / max (ms) | all frame gaps p95 / max (ms) | long tasks n / total "
           "/ max (ms) | release → settled p50 / p95 (ms) | /maps/data p95 (ms) | /maps/data per response: "
           "layer n× mean size / max features | vector and PNG map tiles: layer requests (from network) "
           "mean / max size, empty, p95 | drawn (max): SVG paths / tile canvases "
           "[/ farmland tiles (canvases or PNG) / farmland features] "
           "| criteria |",
           "|---:|---:|---:|---:|---:|---:|---|---|---:|---|"]
    for s in summaries:
        missed = misses(s)
        settle = f"{s['settle_p50']:.0f} / {s['settle_p95']:.0f}" if s["wait"] else "–"
        out.append(f"| {s['zoom']} | {s['drag_p95']:.0f} / {s['drag_max']:.0f} | {s['all_p95']:.0f} / "
                   f"{s['all_max']:.0f} | {s['lt_n']} / {s['lt_total']:.0f} / {s['lt_max']:.0f} | {settle} | "
                   f"{s['req_p95']:.0f} | {layer_cells(s)} | {tile_cells(s)} | {drawn_cell(s)} | "
                   f"{'met' if not missed else '**NOT met**: ' + '; '.join(missed)} |")
    return out


def render(info: dict, sizes: list[str], runs: dict[bool, list[dict]], pans: int, load: float,
           basemap: str = "offline") -> str:
    """The results, in markdown."""
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {load:.1f} before, "
           f"{os.getloadavg()[0]:.1f} at the end (with the bench's own: Chromium, gunicorn, PostgreSQL on 2 "
           "cores). The machine is shared with other work.", "",
           "Machine:", "", *[f"- {k}: {v}" for k, v in info.items()],
           f"- browser: {CHROMIUM} headless ({' '.join(CHROMIUM_ARGS)}), viewport "
           f"{VIEWPORT['width']}×{VIEWPORT['height']}; registered layers from vector tiles on canvas "
           "(Leaflet.VectorGrid), farmland below z13 from PNG map tiles (L.tileLayer), project sites by "
           "bbox as SVG; basemap: " + ("the offline basemap (/maps/basemap/, PNG drawn by the server; "
                                       "its tiles count in “settled”)" if basemap == "offline"
                                       else "none (plain)"),
           "",
           "Data (`city` fixtures in `blueprint_checkbench`; the county planner sees all but the red line):",
           "",
           *sizes, "",
           f"Path: {pans} drags per zoom from ({CENTRE[0]}, {CENTRE[1]}), half the map's width or height "
           f"each, {DRAG_STEPS} mouse moves over ~{DRAG_STEPS * STEP_SECONDS * 1000:.0f} ms, "
           f"then (waiting for the layers) {PAUSE_MS} ms.",
           "",
           "Waiting for the layers after each drag:", "", *table(runs[True]), "",
           "Dragging on while the layers load (the next drag starts as soon as the glide ends):", "",
           *table(runs[False]), "", "Per zoom (both runs):", ""]
    for waited, moving in zip(runs[True], runs[False], strict=True):
        missed = misses(waited) + [f"{m} (dragging on)" for m in misses(moving)]
        said = "responsive" if not missed else "**not responsive**: " + "; ".join(missed)
        out.append(f"- z{waited['zoom']}: {said}")
    failures = [f"z{s['zoom']} {'waiting' if s['wait'] else 'dragging on'}: {s['failed']} failed, "
                f"{s['aborted']} aborted" for s in runs[True] + runs[False] if s["failed"] or s["aborted"]]
    out += ["", "Layer requests failed or aborted (a drag cancels a layer's or a tile's request in flight): "
            f"{', '.join(failures) or 'none'}.", ""]
    return "\n".join(out)


def write_readme(results: str) -> None:
    """Replace the text between the pan-results markers (the section and markers must exist)."""
    readme = Path(__file__).with_name("README.md")
    text = readme.read_text()
    if START not in text:
        sys.exit(f"bench/README.md has no {START} marker: add the 'Map panning benchmark' section first")
    head, tail = text.partition(START)[0], text.partition(END)[2]
    readme.write_text(f"{head}{START}\n{results}{END}{tail}")


def measure(base: str, zooms: list[int], pans: int, basemap: str = "offline") -> dict[bool, list[dict]]:
    """Sign in, open the map and pan at each zoom, waiting for the layers and not; the summaries.

    `basemap`: the page's default, the offline basemap drawn by the server (counted in "settled"),
    or `plain` (no basemap tiles), to tell the basemap's share apart on the same machine."""
    import playwright.sync_api as playwright_sync

    runs = {True: [], False: []}
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
        context.add_init_script(INSTRUMENT)
        page = context.new_page()
        finished, failed, errors = [], [], []
        page.on("requestfinished", lambda r: "/maps/data/" in r.url and finished.append(r))
        page.on("requestfailed", lambda r: any(k in r.url for k in ("/maps/data/", "/tiles/"))
                and failed.append(r.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, base)
        page.wait_for_function("() => window.BP && BP.map && BP.idle()", timeout=60_000)
        page.check(f'input[name="bp-basemap"][value="{basemap}"]')
        for zoom in zooms:
            for wait in (True, False):
                print(f"zoom {zoom}: {pans} drags, {'waiting' if wait else 'dragging on'} …", flush=True)
                runs[wait].append(summarise(run_zoom(page, zoom, pans, wait, finished, failed)))
                print(json.dumps({k: v for k, v in runs[wait][-1].items() if k != "layers"}, default=float),
                      flush=True)
        browser.close()
    if errors:
        sys.exit(f"the page raised: {errors[:3]}")
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pans", type=int, default=10)
    parser.add_argument("--zooms", default="10-16", help="first-last, e.g. 12-13")
    parser.add_argument("--no-readme", action="store_true", help="print the results only")
    parser.add_argument("--basemap", choices=["offline", "plain"], default="offline",
                        help="the offline basemap on (the page's default) or a plain background")
    parser.add_argument("--data", type=Path, default=cb.ROOT / ".data" / "fixtures" / "city")
    args = parser.parse_args()
    first, _, last = args.zooms.partition("-")
    zooms = list(range(int(first), int(last or first) + 1))
    load = os.getloadavg()[0]
    os.environ["DATABASE_URL"] = url = cb.bench_url()  # before Django reads its settings
    manifest = cb.prepare(url, args.data.resolve(), reload=False)
    sys.path.insert(0, str(cb.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()
    planner()
    sizes = data_sizes(manifest)
    with cb.Server() as server:
        runs = measure(server.base, zooms, args.pans, args.basemap)
    results = render(cb.machine(), sizes, runs, args.pans, load, args.basemap)
    print(results)
    if not args.no_readme:
        write_readme(results)


if __name__ == "__main__":
    main()
