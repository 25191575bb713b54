"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp dir, pg_ctl on a free loopback port,
stopped (and its files removed) at the end. Debian's `postgresql` package provides the binaries (not always on
PATH: /usr/lib/postgresql/<version>/bin). initdb refuses to run as root, so as root the cluster runs as the
`postgres` system user.

`SHISN_TEST_PG=postgresql://user@host:port/dbname` uses an existing server instead (the tests create and drop
databases in it, so it must be a server for testing)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SUPERUSER = "shisn"


def find_bin(name: str) -> str | None:
    """initdb / pg_ctl: PATH first, then Debian's versioned folders (newest first)."""
    for d in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    ):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return shutil.which(name)


def unavailable_reason() -> str | None:
    """Why no PostgreSQL can be started here (None: it can)."""
    if os.environ.get("SHISN_TEST_PG"):
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -r requirements.txt)"
    if not (find_bin("initdb") and find_bin("pg_ctl")):
        return "PostgreSQL is not installed (Debian: apt-get install postgresql); .ci/run installs it"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run initdb as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running server; `url(db)` for a database in it, `create_database()` for a fresh one."""

    def __init__(self):
        self.dir: str | None = None
        self.port: int | None = None
        self.base_url: str | None = None
        self._as: list[str] = []

    def start(self) -> Cluster:
        existing = os.environ.get("SHISN_TEST_PG")
        if existing:
            self.base_url = existing.rsplit("/", 1)[0]
            return self
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        self.dir = tempfile.mkdtemp(prefix="shisn-pg-")
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.dir, "data")
        subprocess.run(
            [
                *self._as,
                initdb,
                "-D",
                data,
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.port = _free_port()
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [
                *self._as,
                pg_ctl,
                "-D",
                data,
                "-o",
                opts,
                "-l",
                os.path.join(self.dir, "log"),
                "-w",
                "-t",
                "120",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.base_url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}"
        return self

    def url(self, dbname: str) -> str:
        return f"{self.base_url}/{dbname}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.dir is None:
            return
        pg_ctl = find_bin("pg_ctl")
        subprocess.run(
            [*self._as, pg_ctl, "-D", os.path.join(self.dir, "data"), "-m", "immediate", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
