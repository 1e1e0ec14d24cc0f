"""Run `scripts/demo.py` as a user does: a real subprocess in its own session, killed if it hangs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .procs import REPO_ROOT


@dataclass(frozen=True)
class DemoRun:
    """How a demo run ended: its exit code, output, and the session id its processes belonged to."""

    returncode: int
    stdout: bytes
    stderr: bytes
    session: int


def run_demo(cwd: Path, args: list[str], *, timeout: float) -> DemoRun:
    """Run the demo with `args`; stdout and stderr kept apart. Its session leader's pid is the session id,
    so every process it ever started can be looked for afterwards."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "demo.py"), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    return DemoRun(proc.returncode, out, err, proc.pid)
