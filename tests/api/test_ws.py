"""WebSocket /v1/ws with real aiohttp clients: channels, request ids, errors, heartbeats, slow consumers."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from pathlib import Path
from typing import Any

import aiohttp

from relayer.api.ws import CLOSE_PONG_TIMEOUT, CLOSE_SLOW_CONSUMER, WsConfig
from tests.api.support import Rig, api_config, api_rig
from tests.settlement.venue import OPTION, PRICE, USD
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import eventually


async def _next(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def _until(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 20.0) -> dict[str, Any]:
    while True:
        data = await _next(ws, timeout)
        if data["type"] == kind:
            return data


async def _subscribe(ws: aiohttp.ClientWebSocketResponse, channel: str, rid: object = 1) -> dict[str, Any]:
    await ws.send_json({"op": "subscribe", "id": rid, "channel": channel})
    ack = await _next(ws)
    assert ack == {"type": "subscribed", "id": rid, "channel": channel.lower()}, ack
    return ack


async def test_book_channel_sends_a_snapshot_then_deltas_chained_by_seq(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    series = "0x" + rig.chain.series.hex()
    await rig.post_order(alice.order(is_buy=False, price=PRICE, amount=2 * OPTION))
    async with rig.session.ws_connect(rig.ws_url) as ws:
        await _subscribe(ws, f"book:{series}", rid="b1")
        snap = await _next(ws)
        assert snap["type"] == "snapshot" and snap["channel"] == f"book:{series}"
        assert snap["asks"] == [{"price": str(PRICE), "amount": str(2 * OPTION)}]
        last = int(snap["seq"])

        await rig.post_order(bob.order(is_buy=True, price=PRICE - USD))
        await rig.post_order(bob.order(is_buy=True, price=PRICE, amount=OPTION), timeInForce="ioc")
        deltas = [await _until(ws, "delta") for _ in range(2)]
        for d in deltas:
            assert int(d["seq"]) > last
            assert d["prevSeq"] is None or int(d["prevSeq"]) <= last  # no gap
            last = int(d["seq"])
        assert {(d["side"], d["price"], d["amount"]) for d in deltas} == {
            ("bid", str(PRICE - USD), str(OPTION)),
            ("ask", str(PRICE), str(OPTION)),
        }
        # the REST book agrees with snapshot + deltas, at the same seq
        _, book = await rig.get(f"/v1/book/{series}")
        assert int(book["seq"]) == last
        await ws.send_json({"op": "unsubscribe", "id": 7, "channel": f"book:{series}"})
        assert await _until(ws, "unsubscribed") == {"type": "unsubscribed", "id": 7, "channel": f"book:{series}"}


async def test_trades_orders_fills_and_batches_channels(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    series = "0x" + rig.chain.series.hex()
    async with rig.session.ws_connect(rig.ws_url) as ws:
        await _subscribe(ws, f"trades:{series}", 1)
        await _subscribe(ws, f"orders:{alice.signer.address}", 2)
        await _subscribe(ws, f"fills:{bob.signer.address}", 3)
        await _subscribe(ws, "batches", 4)
        _, body = await rig.post_order(alice.order(is_buy=False, amount=OPTION))
        ask_hash = body["results"][0]["hash"]
        await rig.post_order(bob.order(is_buy=True, amount=OPTION), timeInForce="ioc")
        seen: dict[str, list[dict[str, Any]]] = {}

        async def settled() -> bool:
            while not any(b["status"] == "settled" for b in seen.get("batch", [])):
                data = await _next(ws, 20)
                seen.setdefault(data["type"], []).append(data)
            return True

        await asyncio.wait_for(settled(), 30)
        (trade,) = seen["trade"]
        assert trade["price"] == str(PRICE) and trade["amount"] == str(OPTION) and trade["takerIsBuy"] is True
        assert [o["status"] for o in seen["order"]] == ["open", "filled"]
        assert all(o["hash"] == ask_hash for o in seen["order"])
        assert all(f["channel"] == f"fills:{bob.signer.address.lower()}" for f in seen["fill"])
        assert seen["fill"][-1]["status"] == "settled" and seen["fill"][-1]["batch"] == "1"
        assert any(b["status"] == "settled" and b["filled"] == "1" for b in seen["batch"])


async def test_protocol_errors_name_the_request_id(rig: Rig) -> None:
    async with rig.session.ws_connect(rig.ws_url) as ws:
        for request, code in [
            ({"op": "subscribe", "id": 1, "channel": "candles:1m"}, "unknown_channel"),
            ({"op": "dance", "id": 2}, "unknown_op"),
            ({"op": "subscribe", "id": 3, "channel": "book:0x" + "42" * 32}, "unknown_series"),
            ({"op": "subscribe", "id": 4, "channel": f"book:0x{rig.chain.series.hex()}", "depth": 5}, "invalid_depth"),
        ]:
            await ws.send_json(request)
            answer = await _next(ws)
            assert answer["type"] == "error" and answer["code"] == code and answer["id"] == request["id"], answer
        await ws.send_str("[" * 10_000)
        assert (await _next(ws))["code"] == "invalid_json"
        await ws.send_json({"op": "ping", "id": "p"})
        assert await _next(ws) == {"type": "pong", "id": "p"}
        # a message past the size limit ends the connection (1009: message too big)
        await ws.send_str(" " * 20_000)
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1009


async def test_a_client_that_falls_behind_is_dropped_while_others_keep_receiving(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    # the queue holds a burst (one request of 100 orders makes 100 deltas), far less than the whole run
    config = api_config(ws=WsConfig(queue_size=300, send_buffer_bytes=4096))
    async with api_rig(deployed, tmp_path, config) as rig:
        series = "0x" + rig.chain.series.hex()
        channel = f"book:{series}"

        def small_socket(addr_info: Any) -> socket.socket:
            family, type_, proto, _, _ = addr_info
            sock = socket.socket(family=family, type=type_, proto=proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            return sock

        slow_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=small_socket))
        try:
            slow = await slow_session.ws_connect(rig.ws_url, max_msg_size=0)
            fast = await rig.session.ws_connect(rig.ws_url)
            await _subscribe(slow, channel)
            assert (await _next(slow))["type"] == "snapshot"
            for i, maker in enumerate(rig.makers):  # more traffic for the slow one: every order's update
                await _subscribe(slow, f"orders:{maker.signer.address}", i + 2)
            await _subscribe(fast, channel)
            assert (await _next(fast))["type"] == "snapshot"
            # the slow client now stops reading; the fast one reads everything
            n_orders = 3_000
            got: list[dict[str, Any]] = []

            async def read_fast() -> None:
                while len(got) < n_orders:
                    data = await _next(fast, 60)
                    if data["type"] == "delta":
                        got.append(data)

            reader = asyncio.create_task(read_fast())
            makers = rig.makers
            for start in range(0, n_orders, 100):
                batch = [
                    makers[(start + i) % len(makers)].order(is_buy=True, price=1_000 + start + i, amount=10**15)
                    for i in range(100)
                ]
                status, body = await rig.post_orders(batch)
                assert status == 201 and all(r["status"] == "open" for r in body["results"])
            await asyncio.wait_for(reader, 60)
            assert len(got) == n_orders
            assert all(int(b["seq"]) > int(a["seq"]) for a, b in itertools.pairwise(got))

            # the slow client was dropped: reading on, it finds the close with the slow-consumer code
            async def closed() -> int | None:
                while True:
                    msg = await slow.receive(timeout=30)
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        return slow.close_code

            code = await asyncio.wait_for(closed(), 60)
            assert code in (CLOSE_SLOW_CONSUMER, 1006)  # 1006: the server aborted a connection it could not close
            _, text = await rig.get("/metrics")
            assert 'strikebook_ws_dropped_total{reason="slow_consumer"} 1.0' in text
            # the fast client is still subscribed and served
            await fast.send_json({"op": "ping", "id": "still-there"})
            assert await _until(fast, "pong") == {"type": "pong", "id": "still-there"}
            await fast.close()
        finally:
            await slow_session.close()


async def test_a_client_that_misses_pongs_is_dropped_and_one_that_answers_is_kept(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    config = api_config(ws=WsConfig(ping_interval_s=0.2, pong_timeout_s=0.3))
    async with api_rig(deployed, tmp_path, config) as rig:
        silent = await rig.session.ws_connect(rig.ws_url, autoping=False)
        polite = await rig.session.ws_connect(rig.ws_url, autoping=True)
        heard: list[dict[str, Any]] = []

        async def read_polite() -> None:  # receive() answers the server's pings
            async for msg in polite:
                heard.append(json.loads(msg.data))

        polite_reader = asyncio.create_task(read_polite())
        pings = 0
        while True:
            msg = await silent.receive(timeout=10)
            if msg.type == aiohttp.WSMsgType.PING:
                pings += 1  # heard, never answered
                continue
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            break
        assert pings >= 1 and silent.close_code == CLOSE_PONG_TIMEOUT
        await asyncio.sleep(1.0)  # several more ping rounds
        await polite.send_json({"op": "ping", "id": 1})
        await eventually(lambda: {"type": "pong", "id": 1} in heard, timeout=5)
        assert not polite.closed
        await polite.close()
        await polite_reader
