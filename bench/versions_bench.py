"""Benchmark version work on the `city` data: the impact preview over every project, the diff of
two farmland versions, a rollback, and the 多规合一 conflicts recomputation.

Usage: .venv/bin/python bench/versions_bench.py [--reload] [--data DIR] [--seed S]

Uses its own database `blueprint_versionbench` (loaded once with the city fixtures; `--reload`
recreates it). A candidate farmland version is derived deterministically from the fixture file:
1 % of the patches removed, 1 % re-classed (DLMC), 0.5 % reshaped, and 2 000 new patches placed
inside the development boundary and the red line (so that the conflicts are not empty). Results go
to the "Versions benchmark" part of bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import check_bench  # noqa: E402  (its database helpers, pointed at our database)

check_bench.DB = "blueprint_versionbench"
START, END = "<!-- versions-results:start -->", "<!-- versions-results:end -->"
# The bars, set before measuring: what an administrator waits for on the admin page.
BARS_S = {"impact": 10.0, "diff": 30.0, "rollback": 5.0, "conflicts": 120.0}


def candidate(data: Path, out: Path, rng: np.random.Generator, inside: list) -> dict:
    """Write the candidate farmland file; return what was changed, by count."""
    meta, _, wkb, fields = pyogrio.raw.read(str(data / "basic_farmland.gpkg"))
    names = list(meta["fields"])
    geoms = shapely.from_wkb(wkb)
    n = len(geoms)
    order = rng.permutation(n)
    removed, reclassed, reshaped = order[: n // 100], order[n // 100: n // 50], order[n // 50: n // 40]
    keep = np.ones(n, dtype=bool)
    keep[removed] = False
    columns = [np.array(column) for column in fields]  # their own dtypes: numbers stay numbers
    dlmc = names.index("DLMC")
    columns[dlmc][reclassed] = "水田"
    geoms[reshaped] = shapely.buffer(geoms[reshaped], -0.00002)  # ~2 m inwards
    new = []
    for i in range(2000):
        area = inside[i % len(inside)]
        x0, y0, x1, y1 = area.bounds
        while True:
            point = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
            if area.contains(point):
                break
        new.append(shapely.box(point.x, point.y, point.x + 0.001, point.y + 0.0008))
    village = names.index("ZLDWDM")
    extra = [np.full(len(new), np.nan) if c.dtype.kind == "f" else np.zeros(len(new), dtype=c.dtype)
             if c.dtype.kind in "iu" else np.array([None] * len(new), dtype=object) for c in columns]
    extra[village][:] = "999999999999"
    extra[names.index("TBBH")][:] = [f"N{i:05d}" for i in range(len(new))]
    extra[dlmc][:] = "旱地"
    out_geoms = shapely.to_wkb(np.concatenate([geoms[keep], np.array(new, dtype=object)]))
    out_columns = [np.concatenate([c[keep], e]) for c, e in zip(columns, extra, strict=True)]
    pyogrio.raw.write(str(out), out_geoms, out_columns, names, driver="GPKG", crs="EPSG:4490",
                      geometry_type="MultiPolygon", promote_to_multi=True)
    return {"removed": len(removed), "reclassed": len(reclassed), "reshaped": len(reshaped),
            "added": len(new)}


def bar(name: str, seconds: float) -> str:
    return f"≤ {BARS_S[name]:g} {'✓' if seconds <= BARS_S[name] else '✗ (not met)'}"


def timed(label: str, fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s", flush=True)
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "city")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    os.environ["DATABASE_URL"] = url = check_bench.bench_url()
    check_bench.prepare(url, args.data.resolve(), args.reload)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django

    django.setup()
    from compliance import impact
    from compliance.services import check_project
    from layers import conflicts
    from layers.diffs import diff_versions
    from layers.importers import import_layer
    from layers.models import Layer, Project
    from layers.versions import activate_version

    farmland = Layer.objects.select_related("active_version").get(slug="basic_farmland")
    # Back to the fixture's version when an earlier run left the candidate active.
    first = farmland.versions.order_by("number").first()
    if farmland.active_version_id != first.pk:
        activate_version(farmland, first, actor="bench", reason="bench: start from the fixture")
        farmland.refresh_from_db()
    projects = list(Project.objects.order_by("code"))
    _, check_s = timed(f"checks of {len(projects)} projects", lambda: [check_project(p) for p in projects])

    def area_of(slug):
        return [shapely.from_wkb(bytes(f.geom.wkb)) for f in Layer.objects.get(slug=slug).active_version
                .features.all()[:50]]
    inside = area_of("urban_development_boundary") + area_of("ecological_redline")
    path = ROOT / ".data" / "bench_farmland_candidate.gpkg"
    changes = candidate(args.data, path, np.random.default_rng(args.seed), inside)
    staged, import_s = timed("staged import", import_layer, "basic_farmland", path, imported_by="bench",
                             activate=False)
    version = farmland.versions.get(number=staged.version)
    preview, impact_s = timed("impact preview", impact.preview, farmland, version)
    diff, diff_s = timed("diff", diff_versions, farmland, first, version)
    _, activate_s = timed("activate", activate_version, farmland, version, actor="bench")
    rules = conflicts.ensure_default_rules()
    counts, conflicts_s = timed("conflicts", lambda: {r.slug: conflicts.recompute(r) for r in rules})
    table = conflicts.conflict_areas_by_county()
    farmland.refresh_from_db()
    _, rollback_s = timed("rollback", activate_version, farmland, first, actor="bench", reason="bench")
    conflicts_back, _ = timed("conflicts after rollback",
                              lambda: {r.slug: conflicts.recompute(r) for r in rules})

    figures = {"impact": impact_s, "diff": diff_s, "rollback": rollback_s, "conflicts": conflicts_s}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} cores shared, load {load:.1f} at start), city fixtures "
        f"({first.feature_count:,} farmland patches), {len(projects)} projects.",
        "",
        f"Candidate farmland: {changes['removed']:,} removed, {changes['reclassed']:,} re-classed, "
        f"{changes['reshaped']:,} reshaped, {changes['added']:,} added; staged import {import_s:.1f} s "
        f"(not a bar here), {len(projects)} current checks first {check_s:.1f} s.",
        "",
        "| step | result | seconds | bar |",
        "|---|---|---|---|",
        f"| impact preview over every project | {preview.checks_evaluated} checks, "
        f"{len(preview.verdict_changes)} verdicts change, {len(preview.projects)} with changed findings | "
        f"{impact_s:.2f} | {bar('impact', impact_s)} |",
        f"| diff v{first.number} → v{version.number} ({diff.matched_by}) | +{diff.count('added'):,} "
        f"−{diff.count('removed'):,} ~{diff.count('changed'):,}, {len(diff.counties)} counties | "
        f"{diff_s:.2f} | {bar('diff', diff_s)} |",
        f"| activate the candidate | | {activate_s:.2f} | |",
        f"| conflicts recomputation (3 rules) | {', '.join(f'{k}: {v:,}' for k, v in counts.items())} "
        f"patches | {conflicts_s:.2f} | {bar('conflicts', conflicts_s)} |",
        f"| rollback to v{first.number} | | {rollback_s:.2f} | {bar('rollback', rollback_s)} |",
        "",
        f"Conflict area after the candidate: {sum(r.area_m2 for r in table) / 10000:,.1f} 公顷 in "
        f"{len({r.code for r in table})} counties; after the rollback: "
        f"{', '.join(f'{k}: {v:,}' for k, v in conflicts_back.items())} patches.",
        "",
    ]
    results = "\n".join(lines)
    print(results)
    readme = Path(__file__).with_name("README.md")
    text = readme.read_text()
    if START not in text:
        text = f"{text.rstrip()}\n\n# Versions benchmark\n\n{START}\n{END}\n"
    head, tail = text.partition(START)[0], text.partition(END)[2]
    readme.write_text(f"{head}{START}\n{results}{END}{tail}")
    return figures


if __name__ == "__main__":
    main()
