"""The WebSocket heartbeat ends when the connection handler cancels it, even as a pong arrives.

On Python 3.11 `asyncio.wait_for` returns the result and swallows a cancel of its caller that lands
after the awaited event fired but before the caller resumed; the heartbeat then went on pinging and
the handler's `finally` (which awaits it) hung for another ping interval and pong timeout. A real
server over loopback with a real client; the race is driven by stepping the event loop by hand
(`asyncio.sleep(0)` runs each ready callback once, in order), so it is hit deterministically.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from relayer.api.metrics import ApiMetrics
from relayer.api.ws import StreamHub, WsConfig
from relayer.stream import StreamHub as VenueStream
from relayer.views import BookView, Health
from tests.venue.support import eventually


async def _parked(waitable: object, waiters: str) -> None:
    """Wait until a task waits on `waitable` (its `waiters` deque is not empty)."""
    await eventually(lambda: getattr(waitable, waiters, None))


def _no_book(series: bytes, depth: int) -> BookView:
    raise AssertionError("no book in this test")


async def _unknown(series: bytes) -> bool:
    return False


def _no_health() -> Health:
    raise AssertionError("no health in this test")


@asynccontextmanager
async def _server(config: WsConfig) -> AsyncIterator[tuple[StreamHub, str]]:
    venue = VenueStream()
    hub = StreamHub(venue.subscribe, _no_book, _unknown, config, ApiMetrics(_no_health))
    app = web.Application()
    app.router.add_get("/v1/ws", hub.handle)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hub.start()
    host, port = runner.addresses[0][:2]
    try:
        yield hub, f"http://{host}:{port}/v1/ws"
    finally:
        await hub.close()
        await runner.cleanup()


def _heartbeats() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "StreamHub._heartbeat"}  # type: ignore[union-attr]


async def test_heartbeat_ends_when_cancelled_as_the_pong_arrives() -> None:
    config = WsConfig(ping_interval_s=0.01, pong_timeout_s=60)
    async with _server(config) as (hub, url), aiohttp.ClientSession() as session:
        for steps in range(5):  # 1 and 2 are the window where wait_for swallowed the cancel
            before = _heartbeats()
            async with session.ws_connect(url, autoping=False) as ws:
                msg = await ws.receive(timeout=10)
                assert msg.type == aiohttp.WSMsgType.PING, msg
                (client,) = [c for c in hub._clients if not c.ws.closed]
                (heartbeat,) = _heartbeats() - before
                pong = client.pong
                await _parked(pong, "_waiters")  # parked on the pong
                pong.set()  # as the handler does on a PONG frame
                for _ in range(steps):
                    await asyncio.sleep(0)
                heartbeat.cancel()  # as the handler does when the connection ends
                done, _ = await asyncio.wait({heartbeat}, timeout=10)
                assert heartbeat in done and heartbeat.cancelled(), (
                    f"heartbeat kept running after a cancel {steps} steps in"
                )
