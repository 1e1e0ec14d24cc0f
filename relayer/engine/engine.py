"""The matching engine: one price-time book per series, pure and deterministic.

No I/O. Time comes from the injected clock (unix milliseconds) or from the command being
replayed; every input returns the list of events it caused. Fills execute at the resting
order's price. The same sequence of commands always yields the same events, the same book
`seq` numbers and the same book hash, which is what lets the relayer rebuild its state by
replaying its journal (LMAX/exchange-core style).

Expiry is both lazy (an expired order met while matching is removed) and swept by
`expire(now)`, which removes orders in (expiry, arrival) order. An order with `expiry`
(unix seconds) matches while `now_ms < config.expires_at_ms(expiry)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush

from relayer.engine.book import BookSide, OrderBook, PriceLevel, RestingOrderState
from relayer.engine.book_hash import hash_book, hash_books
from relayer.engine.commands import CancelOrder, Command, PlaceOrder, RestoreOrder
from relayer.engine.errors import SnapshotFormatError
from relayer.engine.events import (
    Accepted,
    Cancelled,
    CancelReason,
    Event,
    Expired,
    Fill,
    RejectCode,
    Rejected,
    Rested,
)
from relayer.engine.orders import OrderSpec, TimeInForce
from relayer.engine.policy import EngineConfig, SelfTradePrevention
from relayer.engine.snapshot import BookSnapshot, EngineSnapshot, RestingOrder

#: A clock returns the current unix time in integer milliseconds.
Clock = Callable[[], int]

_GTC = TimeInForce.GTC
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_POST_ONLY = TimeInForce.POST_ONLY
_SELF_TRADE = CancelReason.SELF_TRADE
_FILL_LIMIT = CancelReason.FILL_LIMIT


class MatchingEngine:
    """Every series' book, the order index and the expiry schedule.

    Not thread-safe: one writer (the relayer's engine task) owns it.
    """

    def __init__(self, clock: Clock, config: EngineConfig | None = None) -> None:
        self._clock = clock
        self._config = config if config is not None else EngineConfig()
        self._cancel_incoming = self._config.stp is SelfTradePrevention.CANCEL_INCOMING
        self._margin_ms = self._config.expiry_margin_ms
        #: fills allowed per IOC/FOK order; 0 = no limit (`_match` counts down and stops at 0)
        self._fill_limit = self._config.max_fills_per_order or 0
        self._books: dict[bytes, OrderBook] = {}
        self._orders: dict[bytes, RestingOrderState] = {}
        #: expiry (unix s) -> its resting orders in arrival order; keys also in a lazy min-heap.
        self._buckets: dict[int, dict[bytes, RestingOrderState]] = {}
        self._bucket_heap: list[int] = []
        self._arrival = 0

    @property
    def config(self) -> EngineConfig:
        """The matching policy this engine was built with."""
        return self._config

    def now(self) -> int:
        """The injected clock's reading, unix ms (what the shell stamps on a command)."""
        return self._clock()

    # ------------------------------------------------------------------ inputs

    def apply(self, command: Command) -> list[Event]:
        """Apply one (journaled) command at the time it carries."""
        if isinstance(command, PlaceOrder):
            return self.place(command.order, command.tif, now_ms=command.now_ms)
        if isinstance(command, CancelOrder):
            return self.cancel(command.order_id, command.reason)
        if isinstance(command, RestoreOrder):
            return self.put_back(command.order, now_ms=command.now_ms)
        return self.expire(command.now_ms)

    def place(self, order: OrderSpec, tif: TimeInForce = _GTC, *, now_ms: int | None = None) -> list[Event]:
        """Match `order` against its series' book, then rest, cancel or reject the remainder.

        Events: `Rejected` alone if the order is invalid, a duplicate of a resting order,
        already expired, or a post-only order that would cross; otherwise `Accepted`, any
        `Expired`/self-trade `Cancelled` of resting orders met on the way, the `Fill`s, and
        finally `Rested` (GTC, post-only) or `Cancelled` of the remainder (IOC, FOK, STP).

        An IOC or FOK order makes at most `config.max_fills_per_order` fills: an IOC stops at
        the limit (remainder `Cancelled` with `fill_limit`), an FOK that would need more fills
        is `Cancelled` whole as `fok_unfillable` before anything fills.
        """
        now = self._clock() if now_ms is None else now_ms
        series = order.series
        order_id = order.order_id
        book = self._books.get(series)
        code: RejectCode | None = None
        if order.price <= 0:
            code = RejectCode.INVALID_PRICE
        elif order.amount <= 0:
            code = RejectCode.INVALID_AMOUNT
        elif order_id in self._orders:
            code = RejectCode.DUPLICATE_ORDER
        elif (order.expiry + 1) * 1000 - self._margin_ms <= now:
            code = RejectCode.ORDER_EXPIRED
        if code is not None:
            return [Rejected(series, 0 if book is None else book.seq, order_id, code)]
        if book is None:
            book = self._books[series] = OrderBook(series)

        is_buy = order.is_buy
        price = order.price
        opposite = book.asks if is_buy else book.bids
        events: list[Event] = []
        if tif is _POST_ONLY:
            best = self._best_live(book, opposite, now, events)
            if best is not None and (best.price <= price if is_buy else best.price >= price):
                events.append(Rejected(series, book.seq, order_id, RejectCode.POST_ONLY_WOULD_CROSS))
                return events
            events.append(Accepted(series, book.seq, order_id, is_buy, price, order.amount, tif))
            self._rest(book, order, order.amount, events)
            return events

        events.append(Accepted(series, book.seq, order_id, is_buy, price, order.amount, tif))
        if tif is _FOK and not self._fillable(opposite, order, now):
            events.append(Cancelled(series, book.seq, order_id, order.amount, CancelReason.FOK_UNFILLABLE, False))
            return events
        remaining, stop = self._match(book, opposite, order, now, events, 0 if tif is _GTC else self._fill_limit)
        if remaining:
            if stop is _SELF_TRADE:
                events.append(Cancelled(series, book.seq, order_id, remaining, _SELF_TRADE, False))
            elif tif is _GTC:
                self._rest(book, order, remaining, events)
            else:
                # `stop` is `fill_limit` or None here; an FOK never reaches the limit (`_fillable` counts fills)
                if stop is not None:
                    reason = stop
                elif tif is _IOC:
                    reason = CancelReason.IOC_REMAINDER
                else:
                    reason = CancelReason.FOK_UNFILLABLE
                events.append(Cancelled(series, book.seq, order_id, remaining, reason, False))
        return events

    def put_back(self, order: OrderSpec, *, now_ms: int | None = None) -> list[Event]:
        """Give back `order.amount` of an order whose fill failed to settle (see `RestoreOrder`).

        A resting order grows in place and keeps its priority: `Rested` with its new remaining.
        Otherwise the amount is placed as GTC (`place`'s events; `Rejected` if it has expired).
        """
        o = self._orders.get(order.order_id)
        if o is None:
            return self.place(order, _GTC, now_ms=now_ms)
        if order.amount <= 0:
            return [Rejected(o.book.series, o.book.seq, order.order_id, RejectCode.INVALID_AMOUNT)]
        book = o.book
        side = book.bids if o.is_buy else book.asks
        o.remaining += order.amount
        side.levels[o.price].total += order.amount
        book.seq += 1
        return [Rested(book.series, book.seq, o.order_id, o.is_buy, o.price, o.remaining)]

    def cancel(self, order_id: bytes, reason: CancelReason = CancelReason.REQUESTED) -> list[Event]:
        """Take a resting order off its book: `Cancelled`, or `Rejected(unknown_order)`."""
        o = self._orders.get(order_id)
        if o is None:
            return [Rejected(b"", 0, order_id, RejectCode.UNKNOWN_ORDER)]
        book = o.book
        side = book.bids if o.is_buy else book.asks
        level = side.levels[o.price]
        self._remove(o, level, side)
        if level.live:
            level.compact_if_sparse()
        book.seq += 1
        return [Cancelled(book.series, book.seq, order_id, o.remaining, reason, True)]

    def expire(self, now_ms: int | None = None) -> list[Event]:
        """Remove every resting order that no longer matches at `now_ms`, in (expiry, arrival) order."""
        now = self._clock() if now_ms is None else now_ms
        events: list[Event] = []
        heap, buckets, margin = self._bucket_heap, self._buckets, self._margin_ms
        while heap and (heap[0] + 1) * 1000 - margin <= now:
            bucket = buckets.pop(heappop(heap), None)
            if bucket is None:
                continue
            for o in bucket.values():
                book = o.book
                side = book.bids if o.is_buy else book.asks
                level = side.levels[o.price]
                o.live = False
                level.live -= 1
                level.total -= o.remaining
                if level.live:
                    level.compact_if_sparse()
                else:
                    del side.levels[o.price]
                del self._orders[o.order_id]
                book.seq += 1
                events.append(Expired(book.series, book.seq, o.order_id, o.remaining))
        return events

    # ------------------------------------------------------------------ matching

    def _match(
        self, book: OrderBook, opposite: BookSide, taker: OrderSpec, now: int, events: list[Event], fills_left: int
    ) -> tuple[int, CancelReason | None]:
        """Fill `taker` against `opposite` while prices cross, at most `fills_left` fills (0: no limit).

        Returns (remaining, why matching stopped early: `self_trade` (STP cancel-incoming),
        `fill_limit` (`fills_left` fills made and the book's next order, live or not yet
        expired lazily, still crosses), or None).
        """
        remaining = taker.amount
        limit = taker.price
        is_buy = taker.is_buy
        taker_addr = taker.maker
        taker_id = taker.order_id
        series = book.series
        levels, heap, sign = opposite.levels, opposite.heap, opposite.sign
        append = events.append
        while remaining:
            level: PriceLevel | None = None
            while heap:
                level = levels.get(heap[0] * sign)
                if level is not None:
                    break
                heappop(heap)
            if level is None:
                break
            price = level.price
            if (price > limit) if is_buy else (price < limit):
                break
            queue = level.queue
            while remaining and level.live:
                o = queue[0]
                if not o.live:
                    queue.popleft()
                    continue
                if o.expires_at_ms <= now:
                    queue.popleft()
                    self._remove(o, level, opposite)
                    book.seq += 1
                    append(Expired(series, book.seq, o.order_id, o.remaining))
                    continue
                if o.maker == taker_addr:
                    if self._cancel_incoming:
                        return remaining, _SELF_TRADE
                    queue.popleft()
                    self._remove(o, level, opposite)
                    book.seq += 1
                    append(Cancelled(series, book.seq, o.order_id, o.remaining, CancelReason.SELF_TRADE, True))
                    continue
                available = o.remaining
                if available <= remaining:
                    remaining -= available
                    level.total -= available
                    o.remaining = 0
                    queue.popleft()
                    self._remove(o, level, opposite)
                    book.seq += 1
                    append(
                        Fill(
                            series,
                            book.seq,
                            o.order_id,
                            taker_id,
                            o.maker,
                            taker_addr,
                            is_buy,
                            price,
                            available,
                            0,
                            remaining,
                        )
                    )
                    # the only fill that leaves the taker something; 0 - 1 never reaches 0: no limit
                    fills_left -= 1
                    if not fills_left:
                        # `fill_limit` only if the limit stopped it: the next order in the book still crosses
                        best = opposite.best()
                        if best is not None and ((best.price <= limit) if is_buy else (best.price >= limit)):
                            return remaining, _FILL_LIMIT
                        return remaining, None
                else:
                    o.remaining = available - remaining
                    level.total -= remaining
                    book.seq += 1
                    append(
                        Fill(
                            series,
                            book.seq,
                            o.order_id,
                            taker_id,
                            o.maker,
                            taker_addr,
                            is_buy,
                            price,
                            remaining,
                            o.remaining,
                            0,
                        )
                    )
                    remaining = 0
        return remaining, None

    def _fillable(self, opposite: BookSide, taker: OrderSpec, now: int) -> bool:
        """Whether `taker` would fill completely now (the FOK test); changes nothing.

        Counts live, unexpired orders at crossing prices in priority order; a same-maker
        order is skipped under cancel-resting and ends the count under cancel-incoming. Each
        counted order is one fill: more than `max_fills_per_order` of them is not fillable.
        """
        needed = taker.amount
        fills_left = self._fill_limit
        prices = [p for p in opposite.levels if (p <= taker.price if taker.is_buy else p >= taker.price)]
        prices.sort(reverse=not taker.is_buy)
        for price in prices:
            for o in opposite.levels[price].live_orders():
                if o.expires_at_ms <= now:
                    continue
                if o.maker == taker.maker:
                    if self._cancel_incoming:
                        return False
                    continue
                needed -= o.remaining
                if needed <= 0:
                    return True
                fills_left -= 1
                if not fills_left:
                    return False
        return False

    def _best_live(self, book: OrderBook, side: BookSide, now: int, events: list[Event]) -> PriceLevel | None:
        """The best level whose first order is live, expiring stale front orders on the way."""
        while True:
            level = side.best()
            if level is None:
                return None
            queue = level.queue
            while level.live:
                o = queue[0]
                if not o.live:
                    queue.popleft()
                elif o.expires_at_ms <= now:
                    queue.popleft()
                    self._remove(o, level, side)
                    book.seq += 1
                    events.append(Expired(book.series, book.seq, o.order_id, o.remaining))
                else:
                    return level

    def _rest(self, book: OrderBook, order: OrderSpec, remaining: int, events: list[Event]) -> None:
        """Append `remaining` of `order` to the back of its price level (inlined: hot path)."""
        is_buy = order.is_buy
        price = order.price
        side = book.bids if is_buy else book.asks
        level = side.levels.get(price)
        if level is None:
            level = side.level_for(price)
        o = RestingOrderState(
            order.order_id,
            order.maker,
            book,
            is_buy,
            price,
            remaining,
            order.expiry,
            (order.expiry + 1) * 1000 - self._margin_ms,
            self._arrival,
        )
        self._arrival += 1
        self._link(o, level)
        book.seq += 1
        events.append(Rested(book.series, book.seq, order.order_id, is_buy, price, remaining))

    def _link(self, o: RestingOrderState, level: PriceLevel) -> None:
        """Index a new resting order: its level queue, the id map and its expiry bucket."""
        level.queue.append(o)
        level.live += 1
        level.total += o.remaining
        self._orders[o.order_id] = o
        bucket = self._buckets.get(o.expiry)
        if bucket is None:
            bucket = self._new_bucket(o.expiry)
        bucket[o.order_id] = o

    def _new_bucket(self, expiry: int) -> dict[bytes, RestingOrderState]:
        """An empty expiry bucket, its key pushed on the (periodically compacted) heap."""
        bucket: dict[bytes, RestingOrderState] = {}
        self._buckets[expiry] = bucket
        heap = self._bucket_heap
        heappush(heap, expiry)
        if len(heap) > 2 * len(self._buckets) + 32:
            self._bucket_heap = list(self._buckets)
            heapify(self._bucket_heap)
        return bucket

    def _remove(self, o: RestingOrderState, level: PriceLevel, side: BookSide) -> None:
        """Unindex a resting order (the caller pops it from the queue or leaves it dead there)."""
        o.live = False
        level.live -= 1
        level.total -= o.remaining
        if not level.live:
            del side.levels[level.price]
        del self._orders[o.order_id]
        bucket = self._buckets[o.expiry]
        del bucket[o.order_id]
        if not bucket:
            del self._buckets[o.expiry]

    # ------------------------------------------------------------------ views

    def series(self) -> list[bytes]:
        """Every series the engine has a book for, sorted."""
        return sorted(self._books)

    def order(self, order_id: bytes) -> RestingOrder | None:
        """The resting order with `order_id`, or None if it is not (or no longer) in a book."""
        o = self._orders.get(order_id)
        return None if o is None else _view(o)

    def open_orders(self, series: bytes | None = None) -> Iterator[RestingOrder]:
        """Resting orders in arrival order, of one series or of all."""
        for o in sorted(self._orders.values(), key=lambda x: x.arrival):
            if series is None or o.book.series == series:
                yield _view(o)

    def next_expiry_ms(self) -> int | None:
        """The first unix ms at which some resting order stops matching (None: no resting order)."""
        heap, buckets = self._bucket_heap, self._buckets
        while heap and heap[0] not in buckets:
            heappop(heap)
        return None if not heap else (heap[0] + 1) * 1000 - self._margin_ms

    def level_total(self, series: bytes, is_bid: bool, price: int) -> int:
        """Total remaining amount resting at `price` on one side of `series` (0 if no such level)."""
        book = self._books.get(series)
        if book is None:
            return 0
        level = (book.bids if is_bid else book.asks).levels.get(price)
        return 0 if level is None else level.total

    def resting_count(self) -> int:
        """How many orders rest in all books."""
        return len(self._orders)

    def book_seq(self, series: bytes) -> int:
        """The series' book sequence number (0 for a book never touched)."""
        book = self._books.get(series)
        return 0 if book is None else book.seq

    def best_bid(self, series: bytes) -> int | None:
        """Highest resting bid price of `series` (quote base units), or None."""
        book = self._books.get(series)
        return None if book is None else book.best_bid()

    def best_ask(self, series: bytes) -> int | None:
        """Lowest resting ask price of `series` (quote base units), or None."""
        book = self._books.get(series)
        return None if book is None else book.best_ask()

    def depth(self, series: bytes, levels: int = 10) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Top `levels` (price, total amount) per side of `series`, best first."""
        book = self._books.get(series)
        return ([], []) if book is None else book.depth(levels)

    def book_snapshot(self, series: bytes) -> BookSnapshot:
        """One book as immutable data (an empty book if the series was never seen)."""
        book = self._books.get(series)
        if book is None:
            return BookSnapshot(series, 0, (), ())
        return BookSnapshot(
            series,
            book.seq,
            tuple(_view(o) for o in book.bids.orders_best_first()),
            tuple(_view(o) for o in book.asks.orders_best_first()),
        )

    def book_hash(self, series: bytes) -> bytes:
        """Canonical 32-byte hash of one book (see `book_hash.hash_book`)."""
        return hash_book(self.book_snapshot(series))

    def state_hash(self) -> bytes:
        """Canonical 32-byte hash of every non-empty book."""
        return hash_books(self.book_snapshot(s) for s in self.series())

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> EngineSnapshot:
        """The whole engine state as immutable data."""
        return EngineSnapshot(self._arrival, tuple(self.book_snapshot(s) for s in self.series()))

    @classmethod
    def restore(cls, snapshot: EngineSnapshot, clock: Clock, config: EngineConfig | None = None) -> MatchingEngine:
        """An engine in exactly the state `snapshot` describes.

        Orders are re-queued by `arrival`, so time priority survives whatever order the
        snapshot lists them in (a snapshot may be built from stored open orders).
        """
        engine = cls(clock, config)
        pending: list[tuple[RestingOrder, OrderBook]] = []
        for b in snapshot.books:
            if b.series in engine._books:
                raise SnapshotFormatError(f"series {b.series.hex()} appears twice")
            book = engine._books[b.series] = OrderBook(b.series, b.seq)
            if not all(r.is_buy for r in b.bids) or any(r.is_buy for r in b.asks):
                raise SnapshotFormatError(f"book {b.series.hex()} lists an order on the wrong side")
            pending.extend((r, book) for r in (*b.bids, *b.asks))
        pending.sort(key=lambda item: item[0].arrival)
        for r, book in pending:
            if r.order_id in engine._orders:
                raise SnapshotFormatError(f"order {r.order_id.hex()} appears twice")
            if r.remaining <= 0 or r.price <= 0 or r.arrival >= snapshot.next_arrival:
                raise SnapshotFormatError(f"order {r.order_id.hex()} has an invalid amount, price or arrival")
            side = book.bids if r.is_buy else book.asks
            state = RestingOrderState(
                r.order_id,
                r.maker,
                book,
                r.is_buy,
                r.price,
                r.remaining,
                r.expiry,
                (r.expiry + 1) * 1000 - engine._margin_ms,
                r.arrival,
            )
            engine._link(state, side.level_for(r.price))
        engine._arrival = snapshot.next_arrival
        return engine


def _view(o: RestingOrderState) -> RestingOrder:
    return RestingOrder(o.order_id, o.maker, o.book.series, o.is_buy, o.price, o.remaining, o.expiry, o.arrival)
