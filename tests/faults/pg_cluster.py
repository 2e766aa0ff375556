"""A PostgreSQL server of the test's own, so a test can take it away mid-run: initdb into a
temporary directory, served on a free port by the `postgres` OS user (CI runs as root, and
PostgreSQL refuses to run as root). Never the machine's shared server."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("HEALTHBOT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """initdb'd on creation; `start`, `stop` (immediate: a crash, not a shutdown), `remove`."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail(
                f"{PG_BIN / 'initdb'} is missing: the PostgreSQL outage scenario needs the"
                " server binaries (apt-get install postgresql-15), or $HEALTHBOT_TEST_PG_BIN"
                " pointing at them",
                pytrace=False,
            )
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="healthbot-pg-"))
        if self.as_root:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs a `postgres` OS user to run the server")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data, self.port = self.root / "data", free_port()
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync")
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: object) -> None:
        argv = [str(PG_BIN / program), *map(str, args)]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"{shlex.join(argv)} failed:\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        self.running = False

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        try:
            if self.running:
                self.stop("fast")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
