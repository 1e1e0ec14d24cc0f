"""Crash test: a real relayer process under steady order load (crossing GTC pairs and one-shot IOC
takers), SIGKILLed at random points 20 times.

After every restart: no acknowledged order is lost, no fill settles twice, the live book hash
equals a replay of the stored journal, and the chain's fills equal the store's settled fills
(filled amounts per ordinary order, the spend bit per one-shot order).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from relayer.engine import MatchingEngine
from relayer.store import connect, journal, sqlite_url
from relayer.store.models import FillRow, FillStatus, OrderRow
from settlement.abi import contract_abi
from settlement.order import ONE_SHOT_FLAG, ONE_SHOT_SEQ_MASK, one_shot_nonce
from tests.settlement.venue import OPTION, PRICE
from tests.settlement.venue import Venue as ChainVenue
from tests.support.procs import REPO_ROOT, tail, wait_until
from tests.venue.support import Maker

EXCHANGE = contract_abi("Exchange")
KILLS = 20
#: one-shot sequence numbers, increasing across every load thread and restart (as the SDK's are)
_ONE_SHOT_SEQS = itertools.count(time.time_ns() // 1_000_000)


class Control:
    """A client of the relayer's JSON-lines control socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rwb")

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        self.file.write(json.dumps(request).encode() + b"\n")
        self.file.flush()
        line = self.file.readline()
        if not line:
            raise ConnectionError("relayer closed the control socket")
        response: dict[str, Any] = json.loads(line)
        return response

    def close(self) -> None:
        self.sock.close()


class Relayer:
    def __init__(self, chain: ChainVenue, tmp: Path) -> None:
        self.tmp = tmp
        self.manifest = tmp / "manifest.json"
        chain.manifest.save(self.manifest)
        self.db_url = sqlite_url(tmp / "relayer.sqlite")
        self.sock = tmp / "control.sock"
        self.log = tmp / "relayer.log"
        self.rpc = chain.node.rpc_url
        self.env = {**os.environ, "OPKEY": chain.node.keys[0]}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            str(REPO_ROOT / ".venv" / "bin" / "python"),
            "-m", "relayer.relayer_cli",
            "start",
            "--manifest", str(self.manifest),
            "--rpc", self.rpc,
            "--db", self.db_url,
            "--data-dir", str(self.tmp / "data"),
            "--operator", "env:OPKEY",
            "--batch-size", "32",
            "--batch-ms", "30",
            "--workers", "0",
            "--control", str(self.sock),
            "--no-api",  # the control socket drives it; no TCP port to collide with parallel runs
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        wait_until(self._ready, timeout=60, proc=self.proc, what="relayer", log=self.log)

    def _ready(self) -> bool:
        try:
            c = Control(self.sock)
        except OSError:
            return False
        try:
            return "journal_seq" in c.call({"op": "health"})
        finally:
            c.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class Load(threading.Thread):
    """Submits crossing pairs from distinct makers until stopped; records acknowledged order ids."""

    def __init__(self, relayer: Relayer, makers: list[Maker], seed: int) -> None:
        super().__init__(daemon=True)
        self.relayer, self.makers, self.rng = relayer, makers, random.Random(seed)
        self.acked: set[bytes] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            c = Control(self.relayer.sock)
        except OSError:
            return
        try:
            while not self.stop.is_set():
                orders = []
                for _ in range(4):
                    seller, buyer = self.rng.sample(self.makers, 2)
                    amount = OPTION // 100 * self.rng.randint(1, 3)
                    price = PRICE + self.rng.randint(-2, 2) * 10**4
                    orders.append(seller.order(is_buy=False, price=price, amount=amount).to_json_dict())
                    orders.append(buyer.order(is_buy=True, price=price, amount=amount).to_json_dict())
                response = c.call({"op": "submit", "orders": orders})
                # and a one-shot IOC taker across the book: its fills must land in one batch, crash or not
                taker = self.rng.choice(self.makers)
                is_buy = self.rng.random() < 0.5
                sweep = taker.order(
                    is_buy=is_buy,
                    price=PRICE + (1 if is_buy else -1) * 2 * 10**4,
                    amount=OPTION // 100 * self.rng.randint(2, 6),
                    nonce=one_shot_nonce(next(_ONE_SHOT_SEQS)),
                )
                swept = c.call({"op": "submit", "orders": [sweep.to_json_dict()], "tif": "ioc"})
                for r in response["results"] + swept["results"]:
                    if r["status"] != "rejected":
                        self.acked.add(bytes.fromhex(r["order_id"][2:]))
                    else:
                        assert r["error_code"] in ("store_unavailable", "intake_paused"), r
        except (OSError, ConnectionError, ValueError):
            return  # the relayer died under us: whatever was acknowledged is recorded
        finally:
            c.close()


def _settled_everything(db: Engine) -> bool:
    with Session(db) as session:
        open_fills = session.scalars(
            select(FillRow.id).where(FillRow.status.in_((FillStatus.PENDING.value, FillStatus.BATCHED.value)))
        ).first()
    return open_fills is None


def _replay_hash(db: Engine, upto: int) -> bytes:
    with Session(db) as session:
        engine = MatchingEngine(lambda: 0)
        for seq, command in journal.entries(session):
            if seq > upto:
                break
            engine.apply(command)
    return engine.state_hash()


def _check_chain_matches_store(chain: ChainVenue, db: Engine) -> int:
    with Session(db) as session:
        settled = session.execute(
            select(FillRow.maker_order_id, FillRow.taker_order_id, FillRow.amount).where(
                FillRow.status == FillStatus.SETTLED.value
            )
        ).all()
        makers = {
            oid: (maker, series, nonce)
            for oid, maker, series, nonce in session.execute(
                select(OrderRow.order_id, OrderRow.maker, OrderRow.series, OrderRow.nonce)
            ).all()
        }
    per_order: dict[bytes, int] = defaultdict(int)
    for m, t, amount in settled:
        per_order[m] += amount
        per_order[t] += amount
    # a Trade is anonymous (no topics): no topic filter selects it, so read every exchange log
    logs = chain.chain.logs(chain.manifest.deployment_block, chain.chain.block_number(), [chain.manifest.exchange])
    trades = [
        log
        for log in logs
        if not log.topics and (decoded := EXCHANGE.decode_log([], log.data)) is not None and decoded[0] == "Trade"
    ]
    assert len(trades) == len(settled), "a fill settled twice, or a settled fill is missing on-chain"
    for order_id, amount in per_order.items():
        raw, series, nonce = makers[order_id]
        maker = "0x" + raw.hex()
        if nonce >= ONE_SHOT_FLAG:  # a one-shot order has no filled amount on-chain, only its spend bit
            (spent,) = chain.call(
                "Exchange", chain.manifest.exchange, "isOneShotSpent", maker, series, nonce & ONE_SHOT_SEQ_MASK
            )
            assert spent
            continue
        (filled, _cancelled) = chain.call("Exchange", chain.manifest.exchange, "orderState", maker, order_id)
        assert filled == amount
    return len(settled)


@pytest.mark.slow
def test_sigkilled_relayer_loses_no_ack_settles_nothing_twice_and_replays_to_its_book(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    relayer = Relayer(deployed, tmp_path)
    rng = random.Random(5)
    acked: set[bytes] = set()
    relayer.start()
    db = connect(relayer.db_url)
    try:
        for round_ in range(KILLS):
            load = Load(relayer, makers, seed=round_)
            load.start()
            time.sleep(rng.uniform(0.15, 0.8))
            relayer.kill()
            load.stop.set()
            load.join(timeout=30)
            acked |= load.acked
            t0 = time.monotonic()
            relayer.start()
            t1 = time.monotonic()
            wait_until(lambda: _settled_everything(db), timeout=60, what="batches to settle", log=relayer.log)
            print(f"round {round_}: restart {t1 - t0:.2f}s, settle {time.monotonic() - t1:.2f}s, acked {len(acked)}")

            c = Control(relayer.sock)
            try:
                state = c.call({"op": "state"})
            finally:
                c.close()
            with Session(db) as session:
                stored = set(session.scalars(select(OrderRow.order_id)).all())
            assert acked <= stored, f"round {round_}: {len(acked - stored)} acknowledged orders lost"
            assert _replay_hash(db, state["journal_seq"]).hex() == state["state_hash"][2:]
            _check_chain_matches_store(deployed, db)
        assert len(acked) > 100
    except BaseException:
        print(tail(relayer.log, 80))
        raise
    finally:
        relayer.terminate()
        db.dispose()
