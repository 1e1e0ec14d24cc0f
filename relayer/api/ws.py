"""WebSocket `/v1/ws`: channels fed from the venue's update stream, never blocking it.

Protocol (JSON text frames):

    → {"op": "subscribe",   "id": 1, "channel": "book:0x<series>", "depth": "50"}
    ← {"type": "subscribed", "id": 1, "channel": "book:0x…"}
    ← {"type": "snapshot", "channel": "book:0x…", "seq": "41", "bids": [...], "asks": [...]}
    ← {"type": "delta", "channel": "book:0x…", "seq": "44", "prevSeq": "41", "side": "bid", "price": "…", "amount": "…"}
    → {"op": "unsubscribe", "id": 2, "channel": "book:0x…"}    ← {"type": "unsubscribed", "id": 2, ...}
    → {"op": "ping", "id": 3}                                   ← {"type": "pong", "id": 3}
    ← {"type": "error", "id": 1, "code": "unknown_channel", "message": "…"}

Channels: `book:{series}`, `trades:{series}`, `orders:{address}`, `fills:{address}`, `batches`.
Book deltas carry the level's new total (0: gone) and `prevSeq`, the seq of the previous delta
of that series the server sent (null when the server has seen none since it subscribed, which
the snapshot then covers). A client keeps `last` (the snapshot's seq, then each applied delta's):
it ignores deltas with seq <= last, and a delta whose prevSeq > last means it missed one: it
re-subscribes for a fresh snapshot. The server pings every `ping_interval_s` and drops a client
that has not answered with a pong within `pong_timeout_s`. Each client has a bounded queue; a
client that falls `queue_size` messages behind is dropped (close code 4008): the fan-out only ever
enqueues, so no client can slow the venue down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from relayer.api import codec
from relayer.api.metrics import ApiMetrics
from relayer.stream import BatchUpdate, BookDelta, FillUpdate, OrderUpdate, Subscription, TradeUpdate, Update
from relayer.views import BookView

log = logging.getLogger(__name__)

#: Close code sent to a client dropped for falling behind (4000-4999: application codes).
CLOSE_SLOW_CONSUMER = 4008
#: Close code sent to a client that missed its pong.
CLOSE_PONG_TIMEOUT = 4009

_CHANNEL = re.compile(r"(book|trades):(0x[0-9a-fA-F]{64})|(orders|fills):(0x[0-9a-fA-F]{40})|batches")


@dataclass(frozen=True)
class WsConfig:
    ping_interval_s: float = 30.0
    pong_timeout_s: float = 10.0
    queue_size: int = 1_000
    max_subscriptions: int = 100
    max_message_bytes: int = 16 * 1024
    snapshot_depth: int = 100
    max_snapshot_depth: int = 1_000
    #: kernel send buffer per client socket (None: the OS default); smaller detects slow clients sooner.
    send_buffer_bytes: int | None = None
    #: the venue subscription's queue (the fan-out re-subscribes and re-snapshots if it is ever dropped).
    venue_queue_size: int = 100_000


class _Client:
    def __init__(self, ws: web.WebSocketResponse, queue_size: int, remote: str) -> None:
        self.ws = ws
        self.remote = remote
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(queue_size)
        self.channels: set[str] = set()
        #: per book series: the snapshot seq (deltas at or below it are already in the snapshot)
        self.book_floor: dict[bytes, int] = {}
        self.pong = asyncio.Event()
        self.dropped: str | None = None

    def offer(self, text: str) -> bool:
        if self.dropped is not None:
            return True
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True


def channel_key(channel: str) -> str | None:
    """The canonical channel name (hex lowercased), or None if it is not a channel."""
    if not _CHANNEL.fullmatch(channel):
        return None
    return channel.lower()


class StreamHub:
    """Routes venue updates to WebSocket clients by channel."""

    def __init__(
        self,
        subscribe: Callable[[int], Subscription],
        book: Callable[[bytes, int], BookView],
        series_known: Callable[[bytes], Awaitable[bool]],
        config: WsConfig,
        metrics: ApiMetrics,
    ) -> None:
        self._subscribe = subscribe
        self._book = book
        self._series_known = series_known
        self.config = config
        self._metrics = metrics
        self._channels: dict[str, set[_Client]] = {}
        self._clients: set[_Client] = set()
        self._prev: dict[bytes, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._sub = self._subscribe(self.config.venue_queue_size)
        self._task = asyncio.get_running_loop().create_task(self._pump(), name="ws-fanout")

    async def close(self) -> None:
        self._closing = True
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in list(self._clients):
            await self._drop(client, "server_shutdown", 1001)

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def _pump(self) -> None:
        while not self._closing:
            sub = self._sub
            assert sub is not None
            async for update in sub:
                self._dispatch(update)
            if self._closing:
                return
            # the venue dropped us (we fell behind): nothing we send is trustworthy any more
            log.warning("venue stream dropped the WebSocket fan-out; re-subscribing and re-snapshotting")
            self._metrics.ws_dropped.labels("fanout_resubscribe").inc()
            self._sub = self._subscribe(self.config.venue_queue_size)
            self._prev.clear()
            for client in list(self._clients):
                for ch in list(client.channels):
                    if ch.startswith("book:"):
                        self._send_snapshot(client, bytes.fromhex(ch[7:]), self.config.snapshot_depth)

    # ------------------------------------------------------------------ fan-out (sync: never awaits a client)

    def _publish(
        self, channel: str, render: Callable[[], dict[str, Any]], series: bytes | None = None, seq: int = 0
    ) -> None:
        clients = self._channels.get(channel)
        if not clients:
            return  # nobody listens: do not even render the message
        text = json.dumps(render(), separators=(",", ":"))
        for client in list(clients):
            if series is not None and client.book_floor.get(series, -1) >= seq:
                continue
            if client.offer(text):
                self._metrics.ws_messages.inc()
            else:
                self._schedule_drop(client, "slow_consumer", CLOSE_SLOW_CONSUMER)

    def _dispatch(self, update: Update) -> None:
        if isinstance(update, BookDelta):
            prev = self._prev.get(update.series)
            self._prev[update.series] = update.seq
            channel = "book:0x" + update.series.hex()
            self._publish(channel, lambda: codec.book_delta(update, prev), update.series, update.seq)
        elif isinstance(update, TradeUpdate):
            self._publish("trades:0x" + update.series.hex(), lambda: codec.trade_update(update))
        elif isinstance(update, OrderUpdate):
            self._publish("orders:0x" + update.maker.hex(), lambda: codec.order_update(update))
        elif isinstance(update, FillUpdate):
            self._publish("fills:0x" + update.maker.hex(), lambda: codec.fill_update(update))
        elif isinstance(update, BatchUpdate):
            self._publish("batches", lambda: codec.batch_update(update))

    def _send_snapshot(self, client: _Client, series: bytes, depth: int) -> None:
        view = self._book(series, depth)
        client.book_floor[series] = view.seq
        message = codec.book_view(view)
        message = {"type": "snapshot", "channel": "book:" + codec.hex0x(series), **message}
        if not client.offer(json.dumps(message, separators=(",", ":"))):
            self._schedule_drop(client, "slow_consumer", CLOSE_SLOW_CONSUMER)

    def _schedule_drop(self, client: _Client, reason: str, code: int) -> None:
        if client.dropped is None:
            client.dropped = reason
            self._detach(client)
            asyncio.get_running_loop().create_task(self._drop(client, reason, code))

    def _detach(self, client: _Client) -> None:
        for ch in client.channels:
            members = self._channels.get(ch)
            if members is not None:
                members.discard(client)
                if not members:
                    del self._channels[ch]
        self._clients.discard(client)
        self._metrics.ws_clients.set(len(self._clients))

    async def _drop(self, client: _Client, reason: str, code: int) -> None:
        client.dropped = client.dropped or reason
        self._detach(client)
        self._metrics.ws_dropped.labels(reason).inc()
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(None)
        try:
            await asyncio.wait_for(client.ws.close(code=code, message=reason.encode()), 2.0)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        finally:
            transport = client.ws._req.transport if client.ws._req is not None else None
            if transport is not None and not client.ws.closed:
                transport.abort()

    # ------------------------------------------------------------------ one connection

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False, max_msg_size=self.config.max_message_bytes)
        await ws.prepare(request)
        if self.config.send_buffer_bytes is not None and request.transport is not None:
            sock = request.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.send_buffer_bytes)
                request.transport.set_write_buffer_limits(high=self.config.send_buffer_bytes)
        client = _Client(ws, self.config.queue_size, request.remote or "")
        self._clients.add(client)
        self._metrics.ws_clients.set(len(self._clients))
        loop = asyncio.get_running_loop()
        writer = loop.create_task(self._write_loop(client))
        heartbeat = loop.create_task(self._heartbeat(client))
        try:
            while True:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    self._handle_text(client, msg.data)
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    client.pong.set()
                elif msg.type == WSMsgType.BINARY:
                    self._reply(
                        client,
                        {
                            "type": "error",
                            "id": None,
                            "code": "binary_not_supported",
                            "message": "send JSON text frames",
                        },
                    )
                else:  # CLOSE, CLOSING, CLOSED, ERROR
                    break
        finally:
            if client.dropped is None:
                client.dropped = "closed"
                self._detach(client)
            heartbeat.cancel()
            writer.cancel()
            for task in (heartbeat, writer):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 1.0)
        return ws

    async def _write_loop(self, client: _Client) -> None:
        while True:
            text = await client.queue.get()
            if text is None:
                return
            try:
                await client.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def _heartbeat(self, client: _Client) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval_s)
            client.pong.clear()
            # not asyncio.wait_for: on 3.11 it swallows the handler's cancel that arrives as the pong
            # does, and the handler then waits out another ping interval for this task to end
            try:
                async with asyncio.timeout(self.config.pong_timeout_s):
                    await client.ws.ping()
                async with asyncio.timeout(self.config.pong_timeout_s):
                    await client.pong.wait()
            except (TimeoutError, ConnectionError, RuntimeError):
                self._schedule_drop(client, "pong_timeout", CLOSE_PONG_TIMEOUT)
                return

    def _reply(self, client: _Client, message: dict[str, Any]) -> None:
        if not client.offer(json.dumps(message, separators=(",", ":"))):
            self._schedule_drop(client, "slow_consumer", CLOSE_SLOW_CONSUMER)

    def _error(self, client: _Client, rid: object, code: str, message: str) -> None:
        self._reply(client, {"type": "error", "id": rid, "code": code, "message": message})

    def _handle_text(self, client: _Client, text: str) -> None:
        try:
            if codec.too_deep_json(text.encode(), codec.MAX_JSON_DEPTH):
                raise ValueError("too deep")
            req = json.loads(text)
        except ValueError:
            self._error(client, None, "invalid_json", "messages must be JSON objects")
            return
        if not isinstance(req, dict):
            self._error(client, None, "invalid_request", "messages must be JSON objects")
            return
        rid = req.get("id")
        if (rid is not None and not isinstance(rid, str | int)) or isinstance(rid, bool):
            self._error(client, None, "invalid_request", "id must be a string or an integer")
            return
        op = req.get("op")
        if op == "ping":
            self._reply(client, {"type": "pong", "id": rid})
            return
        if op not in ("subscribe", "unsubscribe"):
            self._error(client, rid, "unknown_op", "op must be subscribe, unsubscribe or ping")
            return
        raw = req.get("channel")
        channel = channel_key(raw) if isinstance(raw, str) else None
        if channel is None:
            self._error(
                client,
                rid,
                "unknown_channel",
                "channel must be book:{series}, trades:{series}, orders:{address}, fills:{address} or batches",
            )
            return
        if op == "unsubscribe":
            if channel in client.channels:
                client.channels.discard(channel)
                members = self._channels.get(channel)
                if members is not None:
                    members.discard(client)
                if channel.startswith("book:"):
                    client.book_floor.pop(bytes.fromhex(channel[7:]), None)
            self._reply(client, {"type": "unsubscribed", "id": rid, "channel": channel})
            return
        depth = self.config.snapshot_depth
        if "depth" in req:
            d = req["depth"]
            if not isinstance(d, str) or not d.isdigit() or not 1 <= int(d) <= self.config.max_snapshot_depth:
                self._error(client, rid, "invalid_depth", f'depth must be "1".."{self.config.max_snapshot_depth}"')
                return
            depth = int(d)
        if channel not in client.channels and len(client.channels) >= self.config.max_subscriptions:
            self._error(client, rid, "too_many_subscriptions", f"at most {self.config.max_subscriptions} channels")
            return
        if channel.startswith(("book:", "trades:")):
            series = bytes.fromhex(channel.split(":", 1)[1][2:])
            asyncio.get_running_loop().create_task(self._subscribe_series(client, rid, channel, series, depth))
            return
        self._join(client, channel)
        self._reply(client, {"type": "subscribed", "id": rid, "channel": channel})

    def _join(self, client: _Client, channel: str) -> None:
        client.channels.add(channel)
        self._channels.setdefault(channel, set()).add(client)

    async def _subscribe_series(self, client: _Client, rid: object, channel: str, series: bytes, depth: int) -> None:
        try:
            known = await self._series_known(series)
        except Exception as exc:  # chain unreachable: say so rather than hang
            self._error(client, rid, "chain_unavailable", f"cannot check the series: {exc}")
            return
        if client.dropped is not None:
            return
        if not known:
            self._error(client, rid, "unknown_series", "series is not listed")
            return
        # joined and snapshotted in one synchronous step: no delta can slip in between
        self._join(client, channel)
        self._reply(client, {"type": "subscribed", "id": rid, "channel": channel})
        if channel.startswith("book:"):
            self._send_snapshot(client, series, depth)
