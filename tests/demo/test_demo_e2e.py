"""`scripts/demo.py` end to end, as a user runs it: a real subprocess with a short trading window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.demo import run_demo


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
    args = [
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
    run = run_demo(tmp_path, args, timeout=170)
    text = (run.stdout + run.stderr).decode(errors="replace")
    assert run.returncode == 0, text[-4000:]
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
    assert _session_members(run.session) == []
