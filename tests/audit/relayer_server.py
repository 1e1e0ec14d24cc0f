"""A real aiohttp server on loopback that serves the relayer's public fills/batches API (issue 6's
shape, see `settlement.audit.relayer`) from rows the test controls, in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from settlement.batch import DecodedBatchData, decode_settle_call
from settlement.chain import Chain
from settlement.indexer import Event
from settlement.order import Domain
from tests.support.procs import free_port


def _order_digests(chain: Chain, domain: Domain, trade: Event, calls: dict[bytes, DecodedBatchData]) -> list[str]:
    """The 0x-hex digests of the two orders of `trade`: the anonymous event carries none, they are
    fill `index` of the batch in its transaction's settleBatch calldata (as the relayer knows them)."""
    batch = calls.get(trade.tx_hash)
    if batch is None:
        tx = chain.transaction(trade.tx_hash)
        assert tx is not None
        seq, batch = decode_settle_call(bytes.fromhex(tx["input"][2:]))
        assert seq == trade.args["seq"]
        calls[trade.tx_hash] = batch
    orders = batch.fill_orders(batch.fills[trade.args["index"]])
    assert orders is not None
    return ["0x" + o.order.digest(domain).hex() for o in orders]


def rows_from_events(
    events: list[Event], chain: Chain, domain: Domain
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Fill rows and batch rows in the API's JSON shape, built from the indexer's decoded events (and
    the settleBatch calldata of each Trade's transaction, for the order digests)."""
    fills: list[dict[str, Any]] = []
    batches: dict[int, dict[str, Any]] = {}
    calls: dict[bytes, DecodedBatchData] = {}
    for e in events:
        a = e.args
        if e.name == "Trade":
            maker_order, taker_order = _order_digests(chain, domain, e, calls)
            fills.append(
                {
                    "batch": str(a["seq"]),
                    "index": str(a["index"]),
                    "status": "settled",
                    "txHash": "0x" + e.tx_hash.hex(),
                    "series": "0x" + a["series"].hex(),
                    "maker": a["maker"],
                    "taker": a["taker"],
                    "makerOrder": maker_order,
                    "takerOrder": taker_order,
                    "makerIsBuy": a["makerIsBuy"],
                    "amount": str(a["amount"]),
                    "price": str(a["price"]),
                    "premium": str(a["premium"]),
                    "makerFee": str(a["makerFee"]),
                    "takerFee": str(a["takerFee"]),
                }
            )
        elif e.name == "BatchSettled":
            batches[a["seq"]] = {
                "seq": str(a["seq"]),
                "status": "settled",
                "txHash": "0x" + e.tx_hash.hex(),
                "blockNumber": str(e.block_number),
                "filled": str(a["filled"]),
                "skipped": str(a["skipped"]),
            }
    return fills, batches


def _app(fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]], throttle: list[int]) -> web.Application:
    @web.middleware
    async def limit(request: web.Request, handler: Any) -> web.StreamResponse:
        """Answer 429 (Retry-After: 0) while `throttle[0]` > 0, like a relayer over its request limit."""
        if throttle[0] > 0:
            throttle[0] -= 1
            return web.json_response(
                {"code": "rate_limited", "message": "too many requests", "details": {}},
                status=429,
                headers={"Retry-After": "0"},
            )
        response: web.StreamResponse = await handler(request)
        return response

    async def get_fills(request: web.Request) -> web.Response:
        seq = request.query.get("batch")
        rows = [f for f in fills if seq is None or f["batch"] == seq]
        limit = int(request.query.get("limit", "100"))
        start = int(request.query.get("cursor", "0"))
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return web.json_response({"fills": page, "nextCursor": str(start + limit) if more else None})

    async def get_batch(request: web.Request) -> web.Response:
        row = batches.get(int(request.match_info["seq"]))
        if row is None:
            return web.json_response({"error": {"code": "not_found", "message": "no such batch"}}, status=404)
        return web.json_response(row)

    app = web.Application(middlewares=[limit])
    app.router.add_get("/v1/fills", get_fills)
    app.router.add_get("/v1/batches/{seq}", get_batch)
    return app


@contextmanager
def serve_relayer_report(
    fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]], throttle: list[int] | None = None
) -> Iterator[str]:
    """Serve `fills`/`batches` on a free loopback port; yields the base URL. While `throttle[0]` > 0
    each request is refused with 429 instead (and counts it down)."""
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(_app(fills, batches, throttle if throttle is not None else [0]))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the relayer report server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
