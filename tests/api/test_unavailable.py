"""503 answers: the store's commit fails, or the chain cannot be reached. Faults are injected behind
the real interfaces (a real SQLite error inside the venue's commit; a TCP path to Anvil cut), the
API answers 503 with its code and Retry-After, nothing changes, and the venue recovers once the
fault clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from relayer.cancels import CancelOrders
from tests.api.support import Rig, api_rig, now_ms, signed_cancel
from tests.settlement.venue import USD
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import config_for

FAULT = "CREATE TRIGGER injected_fault BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'injected disk fault'); END"


def _sql(db: Path, statement: str) -> None:
    """Run one statement through a second connection to the relayer's SQLite file."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


async def test_a_failing_store_commit_answers_503_store_unavailable_changes_nothing_and_recovers(rig: Rig) -> None:
    alice = rig.makers[0]
    status, body = await rig.post_order(alice.order(is_buy=True, price=USD))
    assert status == 201
    resting = body["results"][0]["hash"]
    before = rig.snapshot()

    _sql(rig.db_path, FAULT)  # every journal insert now fails inside the venue's commit
    status, body, headers = await rig.request(
        "POST", "/v1/orders", json={"order": alice.order(is_buy=True, price=2 * USD).to_json_dict()}
    )
    assert (status, body["code"]) == (503, "store_unavailable"), body
    assert headers["Retry-After"] == "1"
    msg = CancelOrders(alice.raw, (bytes.fromhex(resting[2:]),), now_ms())
    sc = signed_cancel(alice, msg)
    cancel = {"maker": alice.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{resting}", json=cancel)
    assert (status, body["code"]) == (503, "store_unavailable"), body
    # nothing was stored or applied: the venue rebuilt its memory from the store
    assert rig.snapshot() == before
    assert (await rig.get(f"/v1/orders/{resting}"))[1]["status"] == "open"

    _sql(rig.db_path, "DROP TRIGGER injected_fault")
    status, body = await rig.post_order(alice.order(is_buy=True, price=2 * USD))
    assert status == 201 and body["results"][0]["status"] == "open"
    msg = CancelOrders(alice.raw, (bytes.fromhex(resting[2:]),), now_ms())
    sc = signed_cancel(alice, msg)
    cancel = {"maker": alice.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{resting}", json=cancel)
    assert status == 200 and body["status"] == "cancelled"


class CuttableLink:
    """A TCP relay to the node that the test can cut (closing every connection, refusing new ones) and restore."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_an_unreachable_chain_answers_503_chain_unavailable_changes_nothing_and_recovers(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    link = CuttableLink(int(deployed.node.rpc_url.rsplit(":", 1)[1]))
    await link.up()
    config = config_for(deployed, tmp_path, rpc_url=link.url)
    try:
        async with api_rig(deployed, tmp_path, venue_config=config) as rig:
            carol = rig.makers[2]  # never seen by this venue: her balances must be read from the chain
            await link.cut()
            before = rig.snapshot()
            order = carol.order(is_buy=True, price=USD)
            status, body, headers = await rig.request("POST", "/v1/orders", json={"order": order.to_json_dict()})
            assert (status, body["code"]) == (503, "chain_unavailable"), body
            assert headers["Retry-After"] == "1"
            assert rig.snapshot() == before

            await link.up()
            status, body = await rig.post_order(order)
            assert status == 201 and body["results"][0]["status"] == "open" and not body["results"][0]["duplicate"]
    finally:
        await link.cut()
