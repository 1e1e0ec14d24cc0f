"""The venue's update stream: typed updates fanned out to bounded per-subscriber queues.

Every update is published after the commit that made it durable, in commit order. A
subscriber that falls `maxsize` updates behind is dropped (its iterator ends and
`Subscription.dropped` is True): a slow consumer never blocks the engine. The API should then
tell its client to resubscribe and fetch a fresh snapshot (`Venue.book`), which carries the
book `seq` the deltas continue from.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from relayer.views import BatchState, FillState, OrderState


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Level `price` on one side of `series` now holds `amount` in total (0: the level is gone).

    `seq` is the book sequence number after the change; deltas of one series arrive with
    strictly increasing `seq` (one engine event may skip numbers when several changes touched
    the book at once — apply in order, compare with a snapshot's `seq`).
    """

    series: bytes
    seq: int
    is_bid: bool
    price: int
    amount: int


@dataclass(frozen=True, slots=True)
class TradeUpdate:
    """A match in `series`: `amount` at `price` (the maker's); public, no addresses."""

    series: bytes
    seq: int
    price: int
    amount: int
    taker_is_buy: bool
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order of `maker` changed state (for per-maker streams)."""

    maker: bytes
    order_id: bytes
    series: bytes
    status: OrderState
    remaining: int
    reason: str | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class FillUpdate:
    """A fill involving `maker` (its own order on either side) was created or changed state."""

    maker: bytes
    fill_id: int
    order_id: bytes
    series: bytes
    is_buy: bool
    price: int
    amount: int
    status: FillState
    batch_seq: int | None
    skip_reason: str | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class BatchUpdate:
    """Batch `seq` changed state."""

    seq: int
    status: BatchState
    tx_hash: bytes | None
    filled: int
    skipped: int
    ts_ms: int


Update = BookDelta | TradeUpdate | OrderUpdate | FillUpdate | BatchUpdate


class Subscription:
    """One consumer's bounded queue of updates; iterate with `async for update in sub`."""

    def __init__(self, hub: StreamHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue(maxsize + 1)
        self._maxsize = maxsize
        self.dropped = False
        self.closed = False

    def _offer(self, update: Update) -> bool:
        """Queue `update`; False (and the subscriber is ended) if it is `maxsize` behind."""
        if self._queue.qsize() >= self._maxsize:
            self.dropped = True
            self._end()
            return False
        self._queue.put_nowait(update)
        return True

    def _end(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    def close(self) -> None:
        """Stop receiving updates; the iterator ends after what is already queued."""
        self._hub._remove(self)
        self._end()

    def __aiter__(self) -> AsyncIterator[Update]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Update]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    async def get(self, timeout: float | None = None) -> Update | None:
        """The next update, or None once the subscription ended (or after `timeout` seconds)."""
        # not asyncio.wait_for: on 3.11 it returns the update and swallows a cancel of the caller that
        # arrives as the update does, so a consumer loop being stopped keeps running
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if item is None:
            self._queue.put_nowait(None)
        return item


class StreamHub:
    """Fans updates out to subscribers without ever waiting on one."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        sub = Subscription(self, maxsize)
        self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, updates: list[Update]) -> None:
        """Deliver `updates` in order to every subscriber; drop those that fall behind."""
        if not self._subs or not updates:
            return
        for sub in list(self._subs):
            for update in updates:
                if not sub._offer(update):
                    self._remove(sub)
                    break

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
