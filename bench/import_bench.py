"""Benchmark the import of the `city` farmland GeoPackage: our importer beside `ogr2ogr`.

Usage: .venv/bin/python bench/import_bench.py [--data DIR] [--runs N] [--no-profile]

Works in its own database `blueprint_bench` (recreated; never `blueprint`). Each run starts
from an empty layer and a vacuumed, checkpointed database; the tools alternate which goes first. Wall
time and peak RSS come from `/usr/bin/time -v`; the results go to bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pyogrio

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BENCH_DB, SLUG, OGR_TABLE = "blueprint_bench", "basic_farmland", "ogr_farmland"
START, END = "<!-- results:start -->", "<!-- results:end -->"
BAR_RATIO, BAR_RSS_MIB = 1.5, 1024

RESET_SQL = f"""
DO $$ DECLARE part regclass; BEGIN FOR part IN SELECT inhrelid::regclass FROM pg_inherits  -- partitions
  WHERE inhparent::regclass::text IN ('layers_feature', 'layers_featurepart')  -- (only farmland here)
  LOOP EXECUTE format('DROP TABLE %s CASCADE', part); END LOOP; END $$;
UPDATE layers_layer SET active_version_id = NULL WHERE slug = '{SLUG}';
CREATE TEMP TABLE gone AS SELECT v.id FROM layers_layerversion v JOIN layers_layer l ON l.id = v.layer_id
  WHERE l.slug = '{SLUG}';
DELETE FROM layers_featurepart WHERE version_id IN (SELECT id FROM gone);
DELETE FROM layers_feature WHERE version_id IN (SELECT id FROM gone);
DELETE FROM layers_layerversion WHERE id IN (SELECT id FROM gone);
DROP TABLE IF EXISTS {OGR_TABLE};
"""


@dataclass
class Run:
    """One timed command: wall seconds and peak RSS."""
    wall: float
    rss_mib: float
    inner: float | None = None  # our command's own "…s" figure: import_layer() without start-up


def bench_url() -> str:
    """The project's database URL (environment, then .data/env) with the database renamed: the
    owner role's where there is one (DATABASE_OWNER_URL: it may create the bench database)."""
    env_file = ROOT / ".data" / "env"
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    saved = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    env = {**saved, **os.environ}
    url = env.get("DATABASE_OWNER_URL") or env.get("DATABASE_URL")
    if not url:
        sys.exit("No DATABASE_URL: run `make setup` first.")
    return urlsplit(url)._replace(path=f"/{BENCH_DB}").geturl()


def sql(url: str, statements: str, dbname: str | None = None) -> list[tuple]:
    """Run statements in autocommit mode; return the rows of the last one (if any)."""
    parts = urlsplit(url)
    with closing(psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                                  password=parts.password, dbname=dbname or parts.path.lstrip("/"))) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statements)
            return cursor.fetchall() if cursor.description else []


def prepare(url: str, data: Path) -> Path:
    """Make sure of /usr/bin/time, the fixtures and a migrated, seeded bench database."""
    if not Path("/usr/bin/time").exists():
        subprocess.run(["apt-get", "install", "-y", "time"], check=True)
    gpkg = data / f"{SLUG}.gpkg"
    if not gpkg.exists():
        print(f"building city fixtures into {data} …", flush=True)
        subprocess.run([PYTHON, "-m", "fixtures.build", "--size", "city", "--out", str(data)],
                       cwd=ROOT, check=True)
    # Recreated each time: a scratch database, and migrations may have been rewritten since.
    sql(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", dbname="postgres")
    sql(url, f"CREATE DATABASE {BENCH_DB}", dbname="postgres")
    sql(url, "CREATE EXTENSION IF NOT EXISTS postgis")
    code = ("from django.core.management import call_command; call_command('migrate', verbosity=0); "
            "from layers.services import ensure_seed_layers; ensure_seed_layers()")
    subprocess.run([PYTHON, "manage.py", "shell", "-v", "0", "-c", code], cwd=ROOT, check=True)
    return gpkg


def superuser_url(url: str) -> str:
    """`url` as the cluster's superuser when this is the project's own cluster (.data/pg.secrets):
    CHECKPOINT needs a superuser or pg_checkpoint, which the service's roles are not given."""
    secrets = ROOT / ".data" / "pg.secrets"
    lines = secrets.read_text().splitlines() if secrets.exists() else []
    password = next((line.split("=", 1)[1] for line in lines if line.startswith("postgres=")), None)
    if password is None:
        return url
    parts = urlsplit(url)
    return parts._replace(netloc=f"postgres:{password}@{parts.hostname}:{parts.port or 5432}").geturl()


def reset(url: str) -> None:
    """Empty the farmland layer and the ogr2ogr table, then vacuum and checkpoint."""
    for statement in (RESET_SQL, "VACUUM ANALYZE"):  # VACUUM: not in a transaction
        sql(url, statement)
    sql(superuser_url(url), "CHECKPOINT")


def timed(cmd: list[str]) -> Run:
    """Run `cmd` under /usr/bin/time -v; fail loudly if it fails."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = int(clock[1] or 0) * 3600 + int(clock[2]) * 60 + float(clock[3])
    inner = re.search(r", ([\d.]+)s\s*$", proc.stdout, re.M)
    return Run(wall=wall, rss_mib=int(rss[1]) / 1024, inner=float(inner[1]) if inner else None)


def run_ours(url: str, gpkg: Path) -> Run:
    """Our importer, as an operator runs it."""
    run = timed([PYTHON, "manage.py", "import_layer", SLUG, str(gpkg), "--no-progress"])
    if run.inner is None:
        sys.exit("the import printed no summary: a no-op? (the reset did not remove the version)")
    return run


def run_ogr(url: str, gpkg: Path) -> Run:
    """ogr2ogr with its defaults (COPY into a new table, a transaction per 100 000 rows)."""
    p = urlsplit(url)
    target = (f"PG:host={p.hostname} port={p.port or 5432} dbname={BENCH_DB} user={p.username}"
              + (f" password={p.password}" if p.password else ""))
    return timed(["ogr2ogr", "-f", "PostgreSQL", target, str(gpkg), "-nln", OGR_TABLE, "-overwrite",
                  "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST"])


def profile_child(gpkg: str) -> None:
    """(Subprocess) import once, timing the reader, reprojection, COPY, each SQL statement and the commit.

    Generic hooks only, so that it keeps up with the importer as it changes."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django
    django.setup()
    from django.db import connection
    from django.db.backends.utils import CursorWrapper

    from layers import copystream, importers

    spent: dict[str, float] = defaultdict(float)
    overlapped = "python: prepare rows (in a thread, overlapping COPY)"

    def timer(label: str, original):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            result = original(*args, **kwargs)
            spent[label] += time.perf_counter() - start
            return result
        return timed_call

    def timed_rows(self, rows=copystream.Rows.__iter__):
        iterator, start = rows(self), time.perf_counter()
        for chunk in iterator:
            spent[overlapped] += time.perf_counter() - start
            yield chunk
            start = time.perf_counter()
        spent[overlapped] += time.perf_counter() - start

    def each_statement(execute, sql, params, many, context):
        pieces = [sql] if many else [p for p in re.split(r";\s*\n", sql) if p.strip()]
        for piece in pieces:
            start = time.perf_counter()
            result = execute(piece, params, many, context)
            took = time.perf_counter() - start
            label = " ".join(piece.split())[:70] if took >= 0.05 else "statements under 0.05 s"
            spent["sql: " + label] += took
        return result

    copystream.Rows.__iter__ = timed_rows
    importers.file_hash = timer("file hash (sha256)", importers.file_hash)
    CursorWrapper.copy_expert = lambda self, *a, **k: timer("COPY (waits for the rows)",
                                                          self.cursor.copy_expert)(*a, **k)
    connection.commit = timer("commit", connection.commit)
    start = time.perf_counter()
    with connection.execute_wrapper(each_statement):
        summary = importers.import_layer(SLUG, gpkg)
    total = time.perf_counter() - start
    spent["other (file metadata, ORM, Python)"] = total - sum(v for k, v in spent.items() if k != overlapped)
    spent["import_layer() total"] = total
    rank = ("file", "python", "COPY", "sql", "commit", "other", "import_layer")
    steps = sorted(spent.items(), key=lambda item: [item[0].startswith(r) for r in rank].index(True))
    print(json.dumps({"features": summary.features, "steps": dict(steps)}))


def profile(url: str, gpkg: Path) -> dict:
    """One extra import from an empty layer, with its steps timed (see profile_child)."""
    reset(url)
    proc = subprocess.run([PYTHON, __file__, "--profile-child", str(gpkg)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["parts"] = sql(url, "SELECT count(*) FROM layers_featurepart")[0][0]
    return result


def machine(url: str) -> dict[str, str]:
    """CPU, RAM and the versions and settings that matter here."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    pg = sql(url, "SELECT current_setting('server_version'), postgis_lib_version(), postgis_geos_version(),"
                  " current_setting('shared_buffers'), current_setting('work_mem'),"
                  " current_setting('maintenance_work_mem'), current_setting('synchronous_commit')")[0]
    ogr = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip()
    git = [subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True).stdout.strip()
           for cmd in (["describe", "--always", "--dirty"], ["status", "--porcelain", "layers"])]
    return {"CPU": f"{cpu}, {os.cpu_count()} cores (nproc)", "RAM": f"{mem_kib / 1024 ** 2:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}",
            "PostgreSQL": f"{pg[0]} (shared_buffers {pg[3]}, work_mem {pg[4]}, maintenance_work_mem "
                          f"{pg[5]}, synchronous_commit {pg[6]}; same machine, over TCP 127.0.0.1)",
            "PostGIS": f"{pg[1]} (GEOS {pg[2].split('-')[0]})",
            "GDAL": f"ogr2ogr {ogr.split(',')[0]} (Debian gdal-bin); importer: pyogrio "
                    f"{pyogrio.__version__} with its bundled GDAL {pyogrio.__gdal_version_string__}",
            "IMPORT_BATCH_SIZE": os.environ.get("IMPORT_BATCH_SIZE", "20000 (default)"),
            "code": f"git {git[0]}, layers/ {'with uncommitted changes' if git[1] else 'as committed'}"}


def data_sizes(data: Path, gpkg: Path) -> dict[str, str]:
    """Features and vertices from the fixtures' manifest.json, and the file's size."""
    manifest = data / "manifest.json"
    entry = json.loads(manifest.read_text())["layers"][SLUG] if manifest.exists() else {}
    return {"file": f"{gpkg.name}, {gpkg.stat().st_size / 2 ** 20:.1f} MiB (GeoPackage, EPSG:4490)",
            **{key: f"{entry[key]:,}" for key in ("features", "vertices", "max_vertices") if key in entry}}


def render(runs: dict[str, list[Run]], info: dict, sizes: dict, steps: dict | None) -> str:
    """The results section of bench/README.md, in markdown."""
    med = {tool: (statistics.median(r.wall for r in rs), max(r.rss_mib for r in rs))
           for tool, rs in runs.items()}
    base = med["ogr2ogr"][0]
    lines = ["| tool | median wall (s) | runs (s) | of which import_layer() (s) | peak RSS (MiB, max) "
             "| time ÷ ogr2ogr |", "|---|---:|---|---:|---:|---:|"]
    for tool, (wall, rss) in med.items():
        each = ", ".join(f"{r.wall:.1f}" for r in runs[tool])
        inner = statistics.median(r.inner for r in runs[tool]) if runs[tool][0].inner else None
        lines.append(f"| {tool} | {wall:.1f} | {each} | {f'{inner:.1f}' if inner else '–'} | {rss:.0f} "
                     f"| {wall / base:.2f}× |")
    ratio, rss = med["import_layer"][0] / base, med["import_layer"][1]
    met = {True: "met", False: "NOT met"}
    verdict = (f"- time: {ratio:.2f}× ogr2ogr (bar ≤ {BAR_RATIO}×) — **{met[ratio <= BAR_RATIO]}**",
               f"- peak memory: {rss:.0f} MiB (bar < {BAR_RSS_MIB} MiB) — **{met[rss < BAR_RSS_MIB]}**")
    out = [f"Measured {time.strftime('%Y-%m-%d')}, {len(runs['ogr2ogr'])} runs each, order alternating; load"
           f" average at the end {os.getloadavg()[0]:.1f} (other work on the machine adds noise).", "",
           "Machine:", "", *[f"- {k}: {v}" for k, v in info.items()], "",
           "Data (`python -m fixtures.build --size city`):", "", *[f"- {k}: {v}" for k, v in sizes.items()],
           "", *lines, "", "Bar:", "", *verdict, ""]
    if steps:
        out += [f"Where our import's time goes (one extra profiled run, {steps['features']:,} features, "
                f"{steps['parts']:,} subdivided parts):", "", "| step | s |", "|---|---:|",
                *[f"| {k} | {v:.2f} |" for k, v in steps["steps"].items()], ""]
    return "\n".join(out)


def write_readme(results: str) -> None:
    """Replace the text between the results markers of bench/README.md (create it if missing)."""
    readme = Path(__file__).with_name("README.md")
    text = readme.read_text() if readme.exists() else f"# Import benchmark\n\n{START}\n{END}\n"
    head, tail = text.partition(START)[0], text.partition(END)[2]
    readme.write_text(f"{head}{START}\n{results}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".data" / "fixtures" / "city")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled extra import")
    parser.add_argument("--profile-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_child:
        return profile_child(args.profile_child)
    os.environ["DATABASE_URL"] = url = bench_url()  # manage.py and the profiled import use the bench DB
    gpkg = prepare(url, args.data.resolve())
    tools, runs = {"import_layer": run_ours, "ogr2ogr": run_ogr}, {"import_layer": [], "ogr2ogr": []}
    for i in range(args.runs):
        for tool in (list(tools) if i % 2 == 0 else list(tools)[::-1]):
            reset(url)
            runs[tool].append(run := tools[tool](url, gpkg))
            print(f"run {i + 1} {tool}: {run.wall:.1f} s, {run.rss_mib:.0f} MiB", flush=True)
    steps = None if args.no_profile else profile(url, gpkg)
    results = render(runs, machine(url), data_sizes(args.data, gpkg), steps)
    print(results)
    write_readme(results)


if __name__ == "__main__":
    main()
