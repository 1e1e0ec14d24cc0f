"""One series' order book: price levels of FIFO queues, best price by a lazy heap.

Per side, `levels` maps price → level and `heap` holds the level prices keyed so that the
best price is on top (asks: price, bids: -price). Removing a level only deletes it from the
dict; its heap key goes stale and is discarded when it surfaces, and the heap is rebuilt when
stale keys outnumber live ones. Inside a level, orders queue in arrival order; a cancelled
order is marked dead and skipped when it reaches the front (the queue is compacted when dead
entries outnumber live ones), so cancel is O(1) amortized.

These are the engine's private structures; `MatchingEngine` mutates them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from heapq import heapify, heappop, heappush

#: Rebuild a heap or queue when it holds more than 2x live entries plus this slack.
_SLACK = 32


class RestingOrderState:
    """A live (or just removed) order in a book. Mutable; owned by the engine."""

    __slots__ = (
        "arrival",
        "book",
        "expires_at_ms",
        "expiry",
        "is_buy",
        "live",
        "maker",
        "order_id",
        "price",
        "remaining",
    )

    def __init__(
        self,
        order_id: bytes,
        maker: bytes,
        book: OrderBook,
        is_buy: bool,
        price: int,
        remaining: int,
        expiry: int,
        expires_at_ms: int,
        arrival: int,
    ) -> None:
        self.order_id = order_id
        self.maker = maker
        self.book = book
        self.is_buy = is_buy
        self.price = price
        self.remaining = remaining
        self.expiry = expiry
        self.expires_at_ms = expires_at_ms
        self.arrival = arrival
        self.live = True


class PriceLevel:
    """All resting orders at one price on one side, in time priority.

    `live` counts live orders in `queue`; `total` sums their remaining amounts (options).
    """

    __slots__ = ("live", "price", "queue", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[RestingOrderState] = deque()
        self.live = 0
        self.total = 0

    def compact_if_sparse(self) -> None:
        """Drop dead entries once they outnumber the live ones (keeps cancel O(1) amortized)."""
        if len(self.queue) > 2 * self.live + _SLACK:
            self.queue = deque(o for o in self.queue if o.live)

    def live_orders(self) -> Iterator[RestingOrderState]:
        """The live orders in time priority."""
        return (o for o in self.queue if o.live)


class BookSide:
    """Bids or asks of one book."""

    __slots__ = ("heap", "is_bid", "levels", "sign")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        #: heap key = sign * price, so the best price has the smallest key.
        self.sign = -1 if is_bid else 1
        self.levels: dict[int, PriceLevel] = {}
        self.heap: list[int] = []

    def best(self) -> PriceLevel | None:
        """The best level, discarding stale heap keys on the way; None if the side is empty."""
        heap, levels, sign = self.heap, self.levels, self.sign
        while heap:
            level = levels.get(heap[0] * sign)
            if level is not None:
                return level
            heappop(heap)
        return None

    def level_for(self, price: int) -> PriceLevel:
        """The level at `price`, created (and its key pushed) if absent."""
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = PriceLevel(price)
            heap = self.heap
            heappush(heap, price * self.sign)
            if len(heap) > 2 * len(self.levels) + _SLACK:
                self.heap = [p * self.sign for p in self.levels]
                heapify(self.heap)
        return level

    def prices_best_first(self) -> list[int]:
        """All level prices, best first (bids descending, asks ascending)."""
        return sorted(self.levels, reverse=self.is_bid)

    def orders_best_first(self) -> Iterator[RestingOrderState]:
        """Every live order in priority order: best price first, then arrival."""
        for price in self.prices_best_first():
            yield from self.levels[price].live_orders()


class OrderBook:
    """The two sides of one series and its change counter `seq`."""

    __slots__ = ("asks", "bids", "seq", "series")

    def __init__(self, series: bytes, seq: int = 0) -> None:
        self.series = series
        self.seq = seq
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)

    def best_bid(self) -> int | None:
        """Highest bid price, or None."""
        level = self.bids.best()
        return None if level is None else level.price

    def best_ask(self) -> int | None:
        """Lowest ask price, or None."""
        level = self.asks.best()
        return None if level is None else level.price

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated top `levels` per side as (price, total amount), best first."""

        def side_depth(side: BookSide) -> list[tuple[int, int]]:
            return [(p, side.levels[p].total) for p in side.prices_best_first()[:levels]]

        return side_depth(self.bids), side_depth(self.asks)
