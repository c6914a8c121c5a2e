"""PostgreSQL 16 from the pgserver wheel, run as a plain local server."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from . import _proc
from .profiles import SERVICES, Profile


def pg_bindir() -> Path:
    """initdb/pg_ctl/postgres/pgbench/psql: MOTCUA_PG_BINDIR, else the ones bundled in pgserver."""
    if env := os.environ.get("MOTCUA_PG_BINDIR"):
        return Path(env)
    spec = importlib.util.find_spec("pgserver")  # locate only: importing pgserver has side effects
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed; run `uv sync` or set MOTCUA_PG_BINDIR")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class Postgres:
    host = "127.0.0.1"
    # A local-only stack: trust auth on 127.0.0.1 (set by initdb --auth=trust), so the password
    # is recorded but never checked. Do not copy this setup anywhere reachable from a network.
    user = "motcua"
    password = "motcua"
    databases = tuple(f"motcua_{s}" for s in SERVICES)

    def __init__(self, profile: Profile):
        self.profile = profile
        self.port = profile.pg_port
        self.data_dir = profile.root / "postgres"
        self.log_path = self.data_dir / "postgres.log"
        self.bindir = pg_bindir()

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    @property
    def pid(self) -> int | None:
        return _proc.read_pid(self.data_dir / "postmaster.pid", str(self.data_dir))

    def is_running(self) -> bool:
        return self.pid is not None

    def start(self, fresh: bool | None = None) -> Postgres:
        """Start if needed and ensure the per-service databases exist.

        fresh=None wipes the data of an ephemeral profile when this process is the first to start
        it (a server already running is reused as is); True always wipes; False never does.
        """
        with _proc.locked(self.profile.root / ".postgres.lock"):
            first = _proc.claim_first_start(self.data_dir)
            if fresh or (fresh is None and self.profile.ephemeral and first and not self.is_running()):
                self._stop()
                _proc.wipe(self.data_dir)
            if not self.is_running():
                if not (self.data_dir / "PG_VERSION").exists():
                    self._initdb()
                self._reclaim()
                self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path),
                          "-w", "-t", "60", "-o", self._server_options())
            for db in self.databases:  # inside the lock: concurrent CREATE DATABASE fails
                self.create_database(db)
        return self

    def stop(self, timeout: float = 60) -> None:
        with _proc.locked(self.profile.root / ".postgres.lock"):
            self._stop(timeout)

    def _stop(self, timeout: float = 60) -> None:
        if pid := self.pid:
            _proc.stop_pid(pid, timeout, signal.SIGINT)  # SIGINT = "fast" shutdown

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # created concurrently by another process

    def _server_options(self) -> str:
        # Given on the command line at every start, so the code is the single source of truth.
        opts = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "''",  # TCP only: no socket files outside the data dir
            "max_connections": "200",
        }
        if self.profile.ephemeral:  # test data is thrown away: skip durability for speed
            opts |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return " ".join(f"-c {k}={v}" for k, v in opts.items())

    def _initdb(self) -> None:
        _proc.wipe(self.data_dir)  # leftovers of an interrupted initdb
        self.data_dir.mkdir(parents=True, mode=0o700)
        with tempfile.TemporaryDirectory() as tmp:  # private to whoever runs initdb
            pwfile = Path(tmp) / "pw"
            pwfile.write_text(self.password + "\n")
            # C.UTF-8: byte-order collation like C, but lower()/upper()/ILIKE know Vietnamese
            # letters (with the plain C locale, lower('NGUYỄN') is 'nguyỄn').
            self._run("initdb", "-D", str(self.data_dir), "-U", self.user, f"--pwfile={pwfile}",
                      "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")

    def _reclaim(self) -> None:
        """Data written by earlier versions, which ran PostgreSQL as the real `nobody`, goes back
        to root, whose files the server reaches from its user namespace (_proc.unprivileged)."""
        if not _proc.unprivileged() or self.data_dir.stat().st_uid == 0:
            return
        for folder, folders, files in os.walk(self.data_dir):
            for name in (folder, *(os.path.join(folder, n) for n in folders + files)):
                os.chown(name, 0, 0, follow_symlinks=False)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if prefix := _proc.unprivileged():
            cmd = prefix + cmd
        # Own session: the postmaster pg_ctl leaves behind must outlive the caller's terminal.
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=self.data_dir, start_new_session=True)
        if res.returncode != 0:
            hint = ""
            if _proc.unprivileged():
                hint = "\n(run in a user namespace of its own, `unshare --user`, because we are root)"
            raise RuntimeError(
                f"{tool} failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}{res.stderr}"
                f"\n--- {self.log_path} ---\n{_proc.tail(self.log_path)}{hint}"
            )
