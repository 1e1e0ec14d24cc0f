"""Small builders for engine tests: order specs with unique ids and a settable clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from relayer.engine import OrderSpec

SERIES_A = bytes.fromhex("aa" * 32)
SERIES_B = bytes.fromhex("bb" * 32)
ALICE = bytes.fromhex("a1" * 20)
BOB = bytes.fromhex("b0" * 20)
CAROL = bytes.fromhex("c0" * 20)
MAKERS = (ALICE, BOB, CAROL)

#: A fixed start time (unix ms) and an expiry (unix s) far beyond any test's clock.
T0_MS = 1_700_000_000_000
FAR_EXPIRY = T0_MS // 1000 + 10**9

_ids = itertools.count(1)


def order_id(n: int) -> bytes:
    """A 32-byte id that reads as the number `n`."""
    return n.to_bytes(32, "big")


def spec(
    *,
    buy: bool,
    price: int,
    amount: int,
    maker: bytes = ALICE,
    series: bytes = SERIES_A,
    expiry: int = FAR_EXPIRY,
    oid: bytes | None = None,
) -> OrderSpec:
    """An order spec with a fresh id unless `oid` is given."""
    return OrderSpec(oid if oid is not None else order_id(next(_ids)), maker, series, buy, price, amount, expiry)


@dataclass
class ManualClock:
    """A clock the test moves by hand (unix ms)."""

    now_ms: int = T0_MS

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms
