"""A real PostgreSQL server for the test run, and a fresh migrated database per test.

The server is started once per session from Debian's PostgreSQL binaries (scripts/system-deps
installs them) in a temporary folder, and stopped at the end. PostgreSQL refuses to run as root;
CI runs as root, so there the folder belongs to the `postgres` user and every server command runs
through `runuser -u postgres`. Other users run the commands as themselves.

Migrating a database costs far more than copying one, so the schema is migrated once into a
template database and each test gets `CREATE DATABASE ... TEMPLATE` of it, dropped afterwards.
Trust authentication serves the superuser; one extra role, PASSWORD_USER, must give a password
(scram-sha-256), so tests can see a refused login.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

SUPERUSER = "crewboard"
PASSWORD_USER = "ana"
PASSWORD = "right-password"
TEMPLATE = "crewboard_template"
SERVER_USER = "postgres"  # who runs the server when the tests run as root
PORT_TRIES = 5


def binaries() -> Path | None:
    """The folder of the newest installed PostgreSQL server programs, or None."""
    override = os.environ.get("CREWBOARD_PG_BIN")
    if override:
        return Path(override)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def scratch_folder() -> str | None:
    """Where the server's files go: memory (/dev/shm) when there is one, else the temporary folder.

    CREATE DATABASE copies the template's files and checkpoints; on this project's disks that
    takes about a second, in memory a few hundredths, and there is one per test.
    """
    override = os.environ.get("CREWBOARD_PG_TMP")
    if override:
        return override
    memory = Path("/dev/shm")
    return str(memory) if memory.is_dir() and os.access(memory, os.W_OK | os.X_OK) else None


def real_clock_env() -> dict[str, str]:
    """This environment without libfaketime (scripts/test-dates): the server keeps the real clock.

    The dates under test are the application's; a server whose own clock is moved stops honouring
    its timeouts (lock_timeout never fires under a faked absolute start), and Crewboard never asks
    the server for the time: every instant it stores comes from its own injected clock.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAKETIME")}
    preload = [item for item in env.get("LD_PRELOAD", "").split(":") if item and "faketime" not in item]
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    else:
        env.pop("LD_PRELOAD", None)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: URLs for its databases, and an administrator connection."""

    bin: Path
    folder: Path
    port: int
    as_user: str | None  # runuser target when the tests run as root

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def sockets(self) -> Path:
        return self.folder / "sockets"

    def url(self, database: str, user: str = SUPERUSER, password: str | None = None) -> str:
        login = user if password is None else f"{user}:{password}"
        return f"postgresql+psycopg://{login}@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / program), *args]
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=self.folder, env=real_clock_env()
        )

    def admin(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit superuser connection (CREATE/DROP DATABASE run outside transactions)."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        )

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self.as_user is not None:
            owner = pwd.getpwnam(self.as_user)
            for path in (self.folder, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.folder.chmod(0o700)
        self._check(
            self.run(
                "initdb", "-D", str(self.data), "--auth=trust", f"--username={SUPERUSER}",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
            ),
            "initdb",
        )  # fmt: skip
        hba = self.data / "pg_hba.conf"
        rules = hba.read_text("utf-8")
        # First match wins: the password role must log in with its password, everyone else is trusted.
        hba.write_text(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n{rules}", "utf-8")
        for _ in range(PORT_TRIES):
            started = self._launch()
            # free_port() cannot reserve its port: another program may bind it before the server
            # does. Only that failure is met with another port; any other is reported as it is.
            if started.returncode == 0 or "could not bind" not in self.log_tail():
                break
            self.port = free_port()
        self._check(started, "pg_ctl start")
        self._check(self.run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "60"), "pg_isready")
        with self.admin() as connection:
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(PASSWORD_USER), sql.Literal(PASSWORD)
                )
            )

    def _launch(self) -> subprocess.CompletedProcess[str]:
        options = (
            f"-k {self.sockets} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        return self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                        "-o", options, "-w", "-t", "120", "start")  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server as a restart does: every connection cut, committed work kept (fast mode
        writes it out; this server runs without fsync, so an immediate stop could lose it)."""
        self._check(self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"), "pg_ctl stop")

    def resume(self) -> None:
        """Start a halted server again on the same port: what clients see as the server coming back."""
        self._check(self._launch(), "pg_ctl start")
        self._check(self.run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "60"), "pg_isready")

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "server.log").read_text("utf-8", errors="replace")[-3000:]
        return ""

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{self.log_tail()}"
            )


def start_server() -> PostgresServer:
    bin_folder = binaries()
    if bin_folder is None or not (bin_folder / "initdb").exists():
        pytest.fail(
            "PostgreSQL's server programs are not installed; run scripts/system-deps "
            "(Debian's postgresql package), or point CREWBOARD_PG_BIN at them.",
            pytrace=False,
        )
    as_user = SERVER_USER if os.geteuid() == 0 else None
    # Not under pytest's own temporary folder: as root that one is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="crewboard-pg-", dir=scratch_folder()))
    server = PostgresServer(bin_folder, folder, free_port(), as_user)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


def migrate_template(server: PostgresServer) -> None:
    """Create the template database at the schema's head, with nobody left connected to it."""
    from storage.database import open_database

    with server.admin() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    open_database(server.url(TEMPLATE)).dispose()


_numbers = itertools.count(1)


@contextlib.contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A new database copied from the migrated template; its URL. Dropped (connections and all) after."""
    name = f"crewboard_test_{os.getpid()}_{next(_numbers)}"
    with server.admin() as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    try:
        yield server.url(name)
    finally:
        with server.admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def own_pg_server() -> Iterator[PostgresServer]:
    """A server of this test's own, for tests that halt and resume it (the shared one stays up)."""
    server = start_server()
    try:
        with stopped_if_we_die(server):
            migrate_template(server)
            yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, with a migrated template database."""
    server = start_server()
    try:
        with stopped_if_we_die(server):
            migrate_template(server)
            yield server
    finally:
        server.stop()


# Run by a small guard process: wait for end of file on stdin, then stop the server and remove its files.
_GUARD = """
import shutil, subprocess, sys
sys.stdin.buffer.read()
command, folder = sys.argv[1:-1], sys.argv[-1]
subprocess.run(command, capture_output=True, check=False)
shutil.rmtree(folder, ignore_errors=True)
"""


@contextlib.contextmanager
def stopped_if_we_die(server: PostgresServer) -> Iterator[None]:
    """Stop the server even when this test run is killed (a CI timeout, ^C twice, SIGKILL).

    A guard process holds the read end of a pipe whose write end only this process has; the
    kernel closes it however we end, and the guard then stops the server and deletes its folder
    (in memory, where a forgotten one would hold RAM until reboot). Nothing polls.
    """
    read_end, write_end = os.pipe()  # not inherited by anything else we start
    stop = [str(server.bin / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "-w", "stop"]
    if server.as_user is not None:
        stop = ["runuser", "-u", server.as_user, "--", *stop]
    guard = subprocess.Popen(
        [sys.executable, "-c", _GUARD, *stop, str(server.folder)],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=real_clock_env(),
        start_new_session=True,  # a ^C to the test run's process group does not reach it first
    )
    os.close(read_end)
    try:
        yield
    finally:
        os.close(write_end)
        guard.wait()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """The URL of a migrated database of this test's own."""
    with fresh_database(pg_server) as url:
        yield url
