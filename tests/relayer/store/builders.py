"""Signed-order records and engine commands for store tests."""

from __future__ import annotations

import random

from relayer.engine import CancelOrder, CancelReason, Command, ExpireOrders, OrderSpec, PlaceOrder, TimeInForce
from relayer.store import SignedOrder

SERIES = bytes.fromhex("5e" * 32)
T0_MS = 1_700_000_000_000


def signed(
    spec: OrderSpec, tif: TimeInForce = TimeInForce.GTC, *, nonce: int = 0, delegate_key: bytes | None = None
) -> SignedOrder:
    """The store record of `spec`, with a placeholder 65-byte signature (by `delegate_key` if given)."""
    return SignedOrder(
        spec.order_id,
        spec.maker,
        spec.series,
        spec.is_buy,
        spec.price,
        spec.amount,
        max_fee=spec.price // 100,
        nonce=nonce,
        expiry=spec.expiry,
        signature=b"\x1b" * 65,
        tif=tif,
        delegate_key=delegate_key,
    )


def random_commands(n: int, seed: int) -> list[Command]:
    """A seeded mix of places (every TIF), cancels of earlier orders and expiry sweeps."""
    rng = random.Random(seed)
    now = T0_MS
    ids: list[bytes] = []
    out: list[Command] = []
    for i in range(n):
        now += rng.randint(0, 400)
        r = rng.random()
        if r < 0.2 and ids:
            out.append(CancelOrder(rng.choice(ids), CancelReason.REQUESTED, now))
        elif r < 0.25:
            out.append(ExpireOrders(now))
        else:
            oid = (i + 1).to_bytes(32, "big")
            ids.append(oid)
            buy = rng.random() < 0.5
            spec = OrderSpec(
                oid,
                rng.randrange(4).to_bytes(20, "big"),
                SERIES if rng.random() < 0.8 else bytes(32),
                buy,
                rng.randint(95, 105),
                rng.randint(1, 10**18),
                now // 1000 + rng.randint(0, 20),
            )
            tif = rng.choice(
                [TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.POST_ONLY]
            )
            out.append(PlaceOrder(spec, tif, now))
    return out
