"""Collateral reservations: what a maker's resting orders and unsettled fills may still take.

Each resting order reserves `worst_case` of its remaining amount; each fill, from the match until
the chain's verdict (settled or skipped), reserves `worst_case` of its amount for both parties
(the free balance on-chain only reflects a fill once it settles). So a reservation is released
on cancel and expiry at once, and on fill when that fill is final. Totals per (maker, asset) are
kept incrementally so the intake check is O(1).
"""

from __future__ import annotations

from collections import defaultdict

from relayer.chainstate import SeriesTerms
from relayer.intake.collateral import worst_case

#: ((maker, asset), amount) pairs one order or fill holds.
Holding = tuple[tuple[tuple[bytes, bytes], int], ...]


def holding(maker: bytes, terms: SeriesTerms, is_buy: bool, price: int, amount: int, max_fee: int) -> Holding:
    quote, underlying = worst_case(terms, is_buy, price, amount, max_fee)
    out: list[tuple[tuple[bytes, bytes], int]] = []
    if quote:
        out.append(((maker, terms.quote), quote))
    if underlying:
        out.append(((maker, terms.underlying), underlying))
    return tuple(out)


class Reservations:
    """Per-order and per-fill holdings and their totals per (maker, asset)."""

    def __init__(self) -> None:
        self._orders: dict[bytes, Holding] = {}
        self._fills: dict[tuple[bytes, int], Holding] = {}
        self._totals: defaultdict[tuple[bytes, bytes], int] = defaultdict(int)

    def _add(self, h: Holding, sign: int) -> None:
        totals = self._totals
        for key, amount in h:
            totals[key] += sign * amount
            if not totals[key]:
                del totals[key]

    def set_order(self, order_id: bytes, h: Holding) -> None:
        """The order now holds `h` (empty: nothing, e.g. it left the book)."""
        old = self._orders.pop(order_id, None)
        if old:
            self._add(old, -1)
        if h:
            self._orders[order_id] = h
            self._add(h, 1)

    def release_order(self, order_id: bytes) -> None:
        self.set_order(order_id, ())

    def hold_fill(self, key: tuple[bytes, int], h: Holding) -> None:
        """Fill `key` = (series, book seq) holds `h` (both parties) until `release_fill`."""
        if key in self._fills:
            return
        self._fills[key] = h
        self._add(h, 1)

    def release_fill(self, key: tuple[bytes, int]) -> None:
        h = self._fills.pop(key, None)
        if h:
            self._add(h, -1)

    def reserved(self, maker: bytes, asset: bytes) -> int:
        return self._totals.get((maker, asset), 0)

    def order_holding(self, order_id: bytes) -> Holding:
        return self._orders.get(order_id, ())

    @property
    def fills_held(self) -> int:
        return len(self._fills)

    def totals(self) -> dict[tuple[bytes, bytes], int]:
        return dict(self._totals)
