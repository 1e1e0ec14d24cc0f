"""A deliberately naive reference engine for model-based tests.

It keeps every resting order in one list and re-sorts it by priority for every decision,
so its behaviour can be read off line by line; the real engine must produce exactly the
same events (including `seq` numbers) for any input sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.engine import (
    Accepted,
    Cancelled,
    CancelReason,
    EngineConfig,
    Event,
    Expired,
    Fill,
    OrderSpec,
    RejectCode,
    Rejected,
    Rested,
    RestingOrder,
    SelfTradePrevention,
    TimeInForce,
)


@dataclass
class _Order:
    order_id: bytes
    maker: bytes
    series: bytes
    is_buy: bool
    price: int
    remaining: int
    expiry: int
    arrival: int


class ReferenceEngine:
    """Same contract as `MatchingEngine.place/cancel/expire`, written for clarity only."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.resting: list[_Order] = []
        self.seq: dict[bytes, int] = {}
        self.arrival = 0

    def _live(self, o: _Order, now: int) -> bool:
        return now < self.config.expires_at_ms(o.expiry)

    def _queue(self, series: bytes, bids: bool) -> list[_Order]:
        side = [o for o in self.resting if o.series == series and o.is_buy == bids]
        return sorted(side, key=lambda o: (-o.price if bids else o.price, o.arrival))

    def _bump(self, series: bytes) -> int:
        self.seq[series] += 1
        return self.seq[series]

    def place(self, order: OrderSpec, tif: TimeInForce, now: int) -> list[Event]:
        series, oid = order.series, order.order_id
        code = None
        if order.price <= 0:
            code = RejectCode.INVALID_PRICE
        elif order.amount <= 0:
            code = RejectCode.INVALID_AMOUNT
        elif any(o.order_id == oid for o in self.resting):
            code = RejectCode.DUPLICATE_ORDER
        elif now >= self.config.expires_at_ms(order.expiry):
            code = RejectCode.ORDER_EXPIRED
        if code is not None:
            return [Rejected(series, self.seq.get(series, 0), oid, code)]
        self.seq.setdefault(series, 0)
        events: list[Event] = []

        def crosses(price: int) -> bool:
            return price <= order.price if order.is_buy else price >= order.price

        opposite = self._queue(series, bids=not order.is_buy)
        accepted = Accepted(series, 0, oid, order.is_buy, order.price, order.amount, tif)
        if tif is TimeInForce.POST_ONLY:
            for o in opposite:
                if self._live(o, now):
                    if crosses(o.price):
                        events.append(Rejected(series, self.seq[series], oid, RejectCode.POST_ONLY_WOULD_CROSS))
                        return events
                    break
                self.resting.remove(o)
                events.append(Expired(series, self._bump(series), o.order_id, o.remaining))
            accepted.seq = self.seq[series]
            events.append(accepted)
            self._rest(order, order.amount, events)
            return events

        accepted.seq = self.seq[series]
        events.append(accepted)
        cancel_incoming = self.config.stp is SelfTradePrevention.CANCEL_INCOMING
        # IOC and FOK orders make at most `max_fills_per_order` fills; GTC orders are not limited
        limit = self.config.max_fills_per_order if tif is not TimeInForce.GTC else None
        if tif is TimeInForce.FOK:
            available = 0
            counted: list[_Order] = []
            for o in opposite:
                if not crosses(o.price) or not self._live(o, now):
                    continue
                if o.maker == order.maker:
                    if cancel_incoming:
                        break
                    continue
                if available < order.amount:
                    available += o.remaining
                    counted.append(o)
            if available < order.amount or (limit is not None and len(counted) > limit):
                events.append(
                    Cancelled(series, self.seq[series], oid, order.amount, CancelReason.FOK_UNFILLABLE, False)
                )
                return events

        remaining = order.amount
        fills = 0
        for o in opposite:
            if remaining == 0 or not crosses(o.price):
                break
            if fills == limit:
                events.append(Cancelled(series, self.seq[series], oid, remaining, CancelReason.FILL_LIMIT, False))
                return events
            if not self._live(o, now):
                self.resting.remove(o)
                events.append(Expired(series, self._bump(series), o.order_id, o.remaining))
                continue
            if o.maker == order.maker:
                if cancel_incoming:
                    events.append(Cancelled(series, self.seq[series], oid, remaining, CancelReason.SELF_TRADE, False))
                    return events
                self.resting.remove(o)
                events.append(
                    Cancelled(series, self._bump(series), o.order_id, o.remaining, CancelReason.SELF_TRADE, True)
                )
                continue
            amount = min(remaining, o.remaining)
            fills += 1
            o.remaining -= amount
            remaining -= amount
            if o.remaining == 0:
                self.resting.remove(o)
            events.append(
                Fill(
                    series,
                    self._bump(series),
                    o.order_id,
                    oid,
                    o.maker,
                    order.maker,
                    order.is_buy,
                    o.price,
                    amount,
                    o.remaining,
                    remaining,
                )
            )
        if remaining:
            if tif is TimeInForce.GTC:
                self._rest(order, remaining, events)
            else:
                reason = CancelReason.IOC_REMAINDER if tif is TimeInForce.IOC else CancelReason.FOK_UNFILLABLE
                events.append(Cancelled(series, self.seq[series], oid, remaining, reason, False))
        return events

    def _rest(self, order: OrderSpec, remaining: int, events: list[Event]) -> None:
        o = _Order(
            order.order_id, order.maker, order.series, order.is_buy, order.price, remaining, order.expiry, self.arrival
        )
        self.arrival += 1
        self.resting.append(o)
        events.append(
            Rested(order.series, self._bump(order.series), order.order_id, order.is_buy, order.price, remaining)
        )

    def cancel(self, order_id: bytes, reason: CancelReason) -> list[Event]:
        for o in self.resting:
            if o.order_id == order_id:
                self.resting.remove(o)
                return [Cancelled(o.series, self._bump(o.series), order_id, o.remaining, reason, True)]
        return [Rejected(b"", 0, order_id, RejectCode.UNKNOWN_ORDER)]

    def expire(self, now: int) -> list[Event]:
        events: list[Event] = []
        for o in sorted(self.resting, key=lambda o: (o.expiry, o.arrival)):
            if not self._live(o, now):
                self.resting.remove(o)
                events.append(Expired(o.series, self._bump(o.series), o.order_id, o.remaining))
        return events

    def open_orders(self) -> list[RestingOrder]:
        return [
            RestingOrder(o.order_id, o.maker, o.series, o.is_buy, o.price, o.remaining, o.expiry, o.arrival)
            for o in sorted(self.resting, key=lambda o: o.arrival)
        ]
