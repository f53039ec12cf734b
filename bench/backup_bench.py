"""Backup, restore and WAL archiving on the `city` data: RPO and RTO (bench/README.md).

    .venv/bin/python bench/backup_bench.py [--checks 200]

A cluster of its own in .data/bench-backup (scripts/pg.sh with BLUEPRINT_DATA_DIR), the city
fixtures loaded into it, then through scripts/backup.sh exactly as an operator: a full backup,
checks over HTTP, an incremental backup, the time a commit waits to be archived (RPO), and a
restore of the latest state into a fresh cluster until the service answers (RTO). Removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data" / "bench-backup"
CITY = ROOT / ".data" / "fixtures" / "city"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "BACKUP_", "REPLICA_", "IMAGERY_", "PG", "BLUEPRINT_"))}
    return {**env, "BLUEPRINT_DATA_DIR": str(DATA)}


def site_env() -> dict[str, str]:
    values = dict(line.split("=", 1) for line in (DATA / "env").read_text().split() if "=" in line)
    return {**base_env(), **values}


def script(name: str, *args: str, **extra: str) -> float:
    started = time.monotonic()
    subprocess.run(["bash", str(ROOT / "scripts" / name), *args], env={**site_env(), **extra}
                   if (DATA / "env").exists() else {**base_env(), **extra}, check=True, capture_output=True)
    return time.monotonic() - started


def manage(*args: str, owner: bool = False) -> None:
    env = site_env()
    if owner:
        env["DATABASE_AS_OWNER"] = "true"
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def psql(sql: str, port: int | None = None) -> str:
    secrets = dict(line.split("=", 1) for line in (DATA / "pg.secrets").read_text().split())
    port = port or int((DATA / "pg.port").read_text())
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "blueprint",
                          "-Atqc", sql], env={**os.environ, "PGPASSWORD": secrets["postgres"]},
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()[0])


class Service:
    """gunicorn on a cluster of the bench (2 workers), as `make run` serves."""

    def __init__(self, port: int | None = None):
        env = site_env()
        if port:
            env["DATABASE_URL"] = re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", env["DATABASE_URL"])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "gunicorn", "-c", "python:blueprint.gunicorn_conf", "blueprint.wsgi",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", "2"]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def ready(self) -> float:
        started = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return time.monotonic() - started
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def submit_checks(service: Service, token: str, count: int) -> None:
    site = json.loads((CITY / "project_sites.geojson").read_text())["features"]
    for i in range(count):
        body = json.dumps({"site": site[i % len(site)]["geometry"]}).encode()
        request = urllib.request.Request(f"{service.url}/api/checks", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        urllib.request.urlopen(request, timeout=120).read()


def time_to_archive() -> float:
    """A commit on a quiet database until its WAL segment is in the repository."""
    psql("CREATE TABLE IF NOT EXISTS bench_rpo (at timestamptz)")
    psql("SELECT pg_switch_wal()")
    time.sleep(2)
    psql("INSERT INTO bench_rpo VALUES (now())")
    # After the commit (a RETURNING is evaluated before it, on the segment boundary of the switch).
    return until_archived(psql("SELECT pg_walfile_name(pg_current_wal_lsn())"))


def switched_segment_archived() -> float:
    """A closed segment (pg_switch_wal) until pgBackRest has pushed it: the archiving cost itself."""
    return until_archived(psql("SELECT pg_walfile_name(pg_switch_wal())"))


def until_archived(wal: str) -> float:
    """Seconds until pg_stat_archiver reports `wal` (or a later segment) archived."""
    started = time.monotonic()
    while psql(f"SELECT coalesce(last_archived_wal, '') >= '{wal}' FROM pg_stat_archiver") != "t":
        time.sleep(0.02)
    return time.monotonic() - started


def print_rpo() -> None:
    quiet = [time_to_archive() for _ in range(3)]
    pushed = [switched_segment_archived() for _ in range(5)]
    print(f"RPO: a commit on a quiet database archived after {', '.join(f'{q:.1f}' for q in quiet)} s"
          f" (archive_timeout {psql('show archive_timeout')}); a closed segment pushed in"
          f" {min(pushed):.2f}–{max(pushed):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--rpo-only", action="store_true",
                        help="only the archiving figures, on the project's own cluster (.data)")
    args = parser.parse_args()
    if args.rpo_only:
        global DATA
        DATA = ROOT / ".data"
        return print_rpo()
    if DATA.exists():
        subprocess.run(["bash", "-c", f"for d in {DATA}/*/; do [ -f $d/PG_VERSION ] && runuser -u postgres --"
                        f" /usr/lib/postgresql/15/bin/pg_ctl -D $d -m immediate stop; done"], check=False)
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    (DATA / "pg.port").write_text(str(free_port()))
    script("pg.sh", "start")
    manage("migrate", "--noinput", "-v", "0", owner=True)
    started = time.monotonic()
    manage("load_demo", "--data", str(CITY), owner=True)
    print(f"city data loaded in {time.monotonic() - started:.0f} s; database"
          f" {int(psql('SELECT pg_database_size(current_database())')) / 2**20:.0f} MiB")
    script("backup.sh", "configure")
    full = script("backup.sh", "backup", "full")
    full_size = du(DATA / "backup")
    print(f"full backup {full:.1f} s, repository {full_size / 2**20:.0f} MiB"
          f" (imagery {du(DATA / 'backup' / 'imagery') / 2**20:.0f} MiB)")
    token = subprocess.run([sys.executable, "-c", (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'blueprint.settings');"
        "django.setup();"
        "from blueprint import tokens; from blueprint.models import Interface;"
        "from django.utils import timezone; import datetime as dt;"
        "print(tokens.create_token('bench', interfaces=list(Interface.values), layers=[], districts=[],"
        " rate_limit_per_minute=100000, expires_at=timezone.now() + dt.timedelta(days=1))[1])")],
        cwd=ROOT, env=site_env(), check=True, capture_output=True, text=True).stdout.split()[-1]
    service = Service()
    service.ready()
    started = time.monotonic()
    submit_checks(service, token, args.checks)
    print(f"{args.checks} checks in {time.monotonic() - started:.0f} s")
    service.stop()
    incr = script("backup.sh", "backup", "incr")
    print(f"incremental backup {incr:.1f} s, {(du(DATA / 'backup') - full_size) / 2**20:.1f} MiB more")
    print_rpo()
    port = free_port()
    restored = script("backup.sh", "restore", RESTORE_DIR=str(DATA / "restored"), RESTORE_PORT=str(port),
                      RESTORE_IMAGERY_DIR=str(DATA / "imagery-restored"))
    service = Service(port)
    ready = service.ready()
    service.stop()
    checks = psql("SELECT count(*) FROM compliance_check", port=port)
    print(f"RTO: restore of the latest state {restored:.1f} s (pgBackRest restore, WAL replay, promotion),"
          f" service answering {ready:.1f} s later: {restored + ready:.1f} s; {checks} checks restored")
    if not args.keep:
        subprocess.run(["bash", "-c", f"for d in {DATA}/*/; do [ -f $d/PG_VERSION ] && runuser -u postgres --"
                        f" /usr/lib/postgresql/15/bin/pg_ctl -D $d -m fast stop; done"], check=False)
        shutil.rmtree(DATA)


if __name__ == "__main__":
    main()
