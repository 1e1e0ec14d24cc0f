"""Start `keys.remote_server` as a real subprocess on a free loopback port, for tests."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.procs import REPO_ROOT, stop, tail


@dataclass(frozen=True)
class RemoteSignerProcess:
    url: str
    address: str
    log_path: Path


@contextmanager
def run_remote_signer(
    keystore_dir: Path, key: str, password: str, log_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[RemoteSignerProcess]:
    """Run the signer server with the key unlocked from `keystore_dir`; yield where it listens."""
    log_path = log_dir / f"remote-signer-{key}.log"
    child_env = {**os.environ, "SB_SIGNER_PASSWORD": password, **(env or {})}
    cmd = [
        sys.executable, "-m", "keys.remote_server",
        "--keystore-dir", str(keystore_dir), "--key", key, "--password-env", "SB_SIGNER_PASSWORD", *extra,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=child_env, stdout=subprocess.PIPE, stderr=log)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        if not line.startswith(b"READY "):
            raise RuntimeError(f"remote signer did not start: {line!r}\n{tail(log_path)}")
        _, url, address = line.decode().split()
        yield RemoteSignerProcess(url=url, address=address, log_path=log_path)
    finally:
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()
