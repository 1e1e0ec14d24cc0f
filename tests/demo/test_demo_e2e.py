"""`scripts/demo.py` end to end, as a user runs it: a real subprocess with a short trading window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _session_members(sid: int) -> list[str]:
    """Processes still alive in session `sid` (field 6 of /proc/PID/stat), as 'pid command' lines."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # the command is in parentheses and may contain spaces: split after the last ')'
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(f"{stat.parent.name} {text[text.index('(') + 1 : text.rindex(')')]}")
    return alive


@pytest.mark.slow
def test_the_demo_trades_settles_expires_and_passes_the_audit_leaving_nothing_running(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "demo.py"),
        "--duration",
        "8",
        "--makers",
        "2",
        "--takers",
        "2",
        "--taker-rate",
        "3",
        "--seed",
        "11",
        "--summary-json",
        str(summary_path),
        "--run-dir",
        str(tmp_path / "run"),
    ]
    # its own session, so every process it ever started can be found afterwards
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        out, _ = proc.communicate(timeout=170)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-4000:]
    summary = json.loads(summary_path.read_text())
    assert summary["ok"] is True and summary["auditPassed"] is True, summary
    assert summary["auditFailedChecks"] == []
    assert summary["fills"] > 0 and summary["batches"] > 0
    assert summary["auditSummary"]["trades"] == summary["fills"]
    assert summary["gasPerFill"] > 0
    assert summary["ackLatencyMs"]["n"] > 0 and summary["orderToSettlementMs"]["n"] > 0
    assert summary["settledAccounts"] > 0 and len(summary["settlementPrices"]) == 2
    # every account's PnL, and the money is conserved: traders' PnL plus the venue's fees is zero
    assert len(summary["pnl"]) == 4
    assert abs(sum(row["pnl"] for row in summary["pnl"]) + summary["feesAccrued"] / 10**6) < 0.05
    assert "audit: PASSED" in text
    # nothing left running: not Anvil, not the relayer, not its signature workers
    assert len(summary["childPids"]) == 2
    assert _session_members(proc.pid) == []
