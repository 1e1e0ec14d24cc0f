"""Small helpers for test fixtures that run real local servers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    what: str,
    log: Path | None = None,
) -> None:
    """Poll `ready` until it returns True; fail early if `proc` dies, with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready\n{tail(log)}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f}s\n{tail(log)}")


def tail(log: Path | None, lines: int = 60) -> str:
    """The last `lines` lines of a log file, or an empty string."""
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """Terminate `proc` politely, then kill it; never leaves it running."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
