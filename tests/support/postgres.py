"""A throwaway PostgreSQL cluster for tests, from the server binaries on the machine.

`initdb` refuses to run as root, so when the tests run as root (as CI does) the cluster
is created and started as the `postgres` system user that Debian's package installs.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .procs import free_port, tail, wait_until


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    data_dir: Path
    log_path: Path

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"


def postgres_bindir() -> Path:
    """Directory of initdb/pg_ctl: `pg_config --bindir`, else the newest Debian install."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql")


def _as_user(user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--"] if user else []


@contextmanager
def run_postgres() -> Iterator[PostgresServer]:
    """initdb a cluster in a temp directory, start it on a free loopback port, stop and remove it."""
    bindir = postgres_bindir()
    run_as = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="strikebook-pg-"))
    data_dir, sock_dir, log_path = base / "data", base / "sock", base / "server.log"
    sock_dir.mkdir()
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (base, sock_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    subprocess.run(
        [
            *_as_user(run_as),
            str(bindir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    started = subprocess.run(
        [
            *_as_user(run_as),
            str(bindir / "pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(log_path),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{tail(log_path)}")
    server = PostgresServer("127.0.0.1", port, "postgres", data_dir, log_path)
    try:
        wait_until(
            lambda: (
                subprocess.run(
                    [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
                ).returncode
                == 0
            ),
            timeout=30,
            what="postgres",
            log=log_path,
        )
        yield server
    finally:
        subprocess.run(
            [*_as_user(run_as), str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)
