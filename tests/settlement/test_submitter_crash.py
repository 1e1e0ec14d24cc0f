"""The submitting process is killed between send and receipt, then started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from settlement.batch import Batch, batch_to_json
from settlement.journal import SQLiteSubmitJournal
from tests.settlement.test_submitter_faults import settled_count
from tests.settlement.venue import Venue, setup_venue
from tests.support.chain import ChainNode
from tests.support.procs import REPO_ROOT


def _start(venue: Venue, journal: Path, batch: Batch, tmp_path: Path) -> subprocess.Popen[str]:
    batch_file = tmp_path / f"batch-{batch.seq}.json"
    batch_file.write_text(batch_to_json(batch))
    env = {**os.environ, "STRIKEBOOK_OPERATOR_KEY": venue.node.keys[0]}
    cmd = [
        sys.executable, "-m", "tests.settlement.submit_worker",
        "--rpc", venue.node.rpc_url, "--exchange", venue.manifest.exchange,
        "--journal", str(journal), "--batch", str(batch_file),
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def _wait_until_sent(venue: Venue, journal: Path, seq: int, proc: subprocess.Popen[str]) -> bytes:
    """Block until the worker journaled a tx for `seq` and the node holds it in its pool."""
    deadline = time.monotonic() + 60
    reader = SQLiteSubmitJournal(journal)
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            record = reader.get(seq) if journal.exists() else None
            if record and record.attempts and venue.chain.transaction(record.latest.tx_hash) is not None:
                return record.latest.tx_hash
            time.sleep(0.05)
    finally:
        reader.close()
    raise AssertionError("the worker never sent its transaction")


@pytest.mark.parametrize("while_down", ["mined", "dropped"])
def test_killed_submitter_restarts_without_losing_or_repeating_a_batch(
    anvil: ChainNode, tmp_path: Path, while_down: str
) -> None:
    venue = setup_venue(anvil, n_traders=2)
    journal = tmp_path / "journal.db"
    nonce_before = venue.chain.nonce(venue.operator.address)
    batch = Batch(1, [venue.fill(0, 1)])
    anvil.rpc("evm_setAutomine", False)  # nothing mines: the worker waits for its receipt

    worker = _start(venue, journal, batch, tmp_path)
    sent = _wait_until_sent(venue, journal, 1, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    if while_down == "mined":
        anvil.rpc("evm_mine")  # the tx lands while no submitter runs
        assert venue.last_seq() == 1
    else:
        anvil.rpc("anvil_dropTransaction", "0x" + sent.hex())  # the node forgets it
        assert venue.chain.transaction(sent) is None
    anvil.rpc("evm_setAutomine", True)

    restarted = _finish(_start(venue, journal, batch, tmp_path))
    following = _finish(_start(venue, journal, Batch(2, [venue.fill(1, 0)]), tmp_path))

    assert restarted["resumed"] is True
    assert restarted["txHash"] == sent.hex()
    assert restarted["attempts"] == [sent.hex()]
    assert following["resumed"] is False
    assert venue.last_seq() == 2
    assert settled_count(venue, 1) == 1 and settled_count(venue, 2) == 1
    assert venue.position(venue.traders[0].address) == 0  # bought one, then sold one: once each
    assert venue.position(venue.traders[1].address) == 0
    assert venue.chain.nonce(venue.operator.address) == nonce_before + 2  # no gap, nothing twice
