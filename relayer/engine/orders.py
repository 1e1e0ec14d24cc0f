"""What the engine needs to know of a signed order, and how long it may rest.

The engine never sees signatures, fees or nonces: intake has checked them. It sees the
fields that decide matching. Money is integer: `price` is the premium per whole option in
quote base units, `amount` is options in underlying base units, `expiry` is unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TimeInForce(StrEnum):
    """How long the unfilled part of an incoming order lives."""

    #: Rests until filled, cancelled or the order's own `expiry`.
    GTC = "gtc"
    #: Immediate or cancel: fills what it can now, the remainder is cancelled.
    IOC = "ioc"
    #: Fill or kill: fills entirely now or not at all.
    FOK = "fok"
    #: Add liquidity only (Hyperliquid's Alo): rejected if it would match on arrival.
    POST_ONLY = "post_only"


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """The matching-relevant fields of one signed order.

    `order_id` is the 32-byte EIP-712 digest; `maker` the 20-byte address; `series` the
    32-byte series id. `amount` is what is left to match (the full signed amount for a new
    order, the remaining amount when an order is put back after recovery).
    """

    order_id: bytes
    maker: bytes
    series: bytes
    is_buy: bool
    price: int
    amount: int
    expiry: int
