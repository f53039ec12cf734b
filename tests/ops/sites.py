"""Clusters of their own for the operations tests, driven by the project's scripts.

A `Site` is a data directory like `.data` (its cluster under pg/, pg.port, pg.secrets, env) with a
copy of the test cluster in it: `scripts/backup.sh` and `scripts/replica.sh` run on it with
BLUEPRINT_DATA_DIR, as an operator runs them on `.data`, and the test run's own cluster is never
restarted or archived.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection

__all__ = ["Site", "as_owner", "free_port", "snapshot"]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _owner_prefix() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []


def as_owner(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL binary as the clusters' owner (postgres when we are root)."""
    return subprocess.run([*_owner_prefix(), *command], check=True, capture_output=True, text=True, **kwargs)


def pg_bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return str(versions[-1] / name) if versions else shutil.which(name)


def _secrets() -> dict[str, str]:
    path = settings.BLUEPRINT["DATA_DIR"] / "pg.secrets"
    return dict(line.split("=", 1) for line in path.read_text().split())


@dataclass
class Site:
    """A data directory with a cluster of its own (a copy of the test cluster)."""

    data_dir: Path
    database: str

    @property
    def port(self) -> int:
        return int((self.data_dir / "pg.port").read_text())

    @classmethod
    def copy_of_test_cluster(cls, name: str) -> Site:
        """pg_basebackup of the test run's cluster (its committed state) into a new site, started."""
        data_dir = settings.BLUEPRINT["DATA_DIR"] / "ops-tests" / name
        site = cls(data_dir, connection.settings_dict["NAME"])
        site.remove()
        data_dir.mkdir(parents=True)
        shutil.copy(settings.BLUEPRINT["DATA_DIR"] / "pg.secrets", data_dir / "pg.secrets")
        (data_dir / "pg.port").write_text(str(free_port()))
        site.script("pg.sh", "prepare")  # the pg/ directory the cluster's owner can reach
        as_owner(pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(connection.settings_dict["PORT"]),
                 "-U", "postgres", "-D", str(data_dir / "pg"), "-X", "stream", "-c", "fast",
                 env={**os.environ, "PGPASSWORD": _secrets()["postgres"]})
        # The copy must not archive into (or wait for a standby of) the original's set-up.
        auto = data_dir / "pg" / "postgresql.auto.conf"
        kept = [line for line in as_owner("cat", str(auto)).stdout.splitlines()
                if not line.startswith(("archive_", "synchronous_standby_names"))]
        as_owner("tee", str(auto), input="\n".join(kept) + "\n")
        site.script("pg.sh", "start")
        return site

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of the project's scripts and commands on this site (nothing of the test
        run's)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_", "BACKUP_", "REPLICA_", "IMAGERY_", "PG", "BLUEPRINT_"))}
        # The scripts' manage.py (record_backups) writes to this site's copy of the test database.
        return {**env, "BLUEPRINT_DATA_DIR": str(self.data_dir), "DATABASE_URL": self.app_url(), **extra}

    def script(self, name: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
        result = subprocess.run(["bash", str(ROOT / "scripts" / name), *args], env=self.env(**extra),
                                capture_output=True, text=True)
        if result.returncode:
            raise AssertionError(f"scripts/{name} {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def superuser(self, port: int | None = None, database: str | None = None):
        return psycopg.connect(host="127.0.0.1", port=port or self.port, user="postgres",
                               password=_secrets()["postgres"], dbname=database or self.database,
                               autocommit=True)

    def query(self, sql: str, params=(), port: int | None = None) -> list[tuple]:
        with contextlib.closing(self.superuser(port)) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def app_url(self, port: int | None = None) -> str:
        """DATABASE_URL of the app role on this site's copy of the test database (or on `port`)."""
        app = settings.DATABASE_APP
        return f"postgis://{app['USER']}:{app['PASSWORD']}@127.0.0.1:{port or self.port}/{self.database}"

    def stop_cluster(self, directory: Path, mode: str = "fast") -> None:
        running = subprocess.run([*_owner_prefix(), pg_bin("pg_ctl"), "-D", str(directory), "status"],
                                 capture_output=True).returncode == 0
        if running:
            as_owner(pg_bin("pg_ctl"), "-D", str(directory), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop every cluster of the site and delete it."""
        if not self.data_dir.exists():
            return
        for version in self.data_dir.glob("*/PG_VERSION"):
            self.stop_cluster(version.parent, "immediate")
        for link in self.data_dir.iterdir():
            if link.is_symlink():
                shutil.rmtree(link.resolve(), ignore_errors=True)
        shutil.rmtree(self.data_dir)


# --- what must survive a restore ------------------------------------------------------------------
_SNAPSHOT = {
    "checks": "SELECT count(*), md5(string_agg(id::text || result_hash || input_hash || verdict, ','"
              " ORDER BY id)) FROM compliance_check",
    "findings": "SELECT count(*), md5(string_agg(f::text, ',' ORDER BY f.id)) FROM compliance_finding f",
    "audit": "SELECT count(*), md5(string_agg(a::text, ',' ORDER BY a.id)) FROM blueprint_auditentry a",
    "versions": "SELECT count(*), md5(string_agg(v::text, ',' ORDER BY v.id)) FROM layers_layerversion v",
    "active": "SELECT string_agg(slug || '=' || coalesce(active_version_id::text, '-'), ',' ORDER BY slug)"
              " FROM layers_layer",
    "features": "SELECT version_id, count(*), md5(string_agg(md5(ST_AsBinary(geom)::text"
                " || properties::text), ',' ORDER BY id)) FROM layers_feature GROUP BY version_id ORDER BY 1",
}


def snapshot(site: Site, port: int | None = None) -> dict[str, list[tuple]]:
    """Counts and hashes of the checks, their findings, the audit log and every layer version's features."""
    return {name: site.query(sql, port=port) for name, sql in _SNAPSHOT.items()}


def digest(values) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()
