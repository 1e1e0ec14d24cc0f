"""Engine inputs as data, so they can be journaled before they are applied and replayed.

Every command carries the time (`now_ms`, unix milliseconds) the shell read from the clock
when it accepted the input; replaying the same commands therefore reproduces the same
expiries, fills and book hash. The byte encoding is canonical JSON, one record per command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from relayer.engine.errors import CommandFormatError
from relayer.engine.events import CancelReason
from relayer.engine.orders import OrderSpec, TimeInForce


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Match `order` under `tif`, then rest, cancel or reject what is left."""

    order: OrderSpec
    tif: TimeInForce
    now_ms: int


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Take a resting order off its book."""

    order_id: bytes
    reason: CancelReason
    now_ms: int


@dataclass(frozen=True, slots=True)
class ExpireOrders:
    """Remove every resting order that no longer matches at `now_ms`."""

    now_ms: int


@dataclass(frozen=True, slots=True)
class RestoreOrder:
    """Put `order.amount` back: a fill of this order was skipped on-chain through no fault of its own.

    If the order still rests, its remaining amount grows in place (it keeps its time priority:
    the amount was on the book before the failed fill took it). Otherwise the amount is placed
    again as GTC (it may match, then rests at the back of its level).
    """

    order: OrderSpec
    now_ms: int


Command = PlaceOrder | CancelOrder | ExpireOrders | RestoreOrder


def _int(value: Any) -> int:
    if type(value) is not int:
        raise CommandFormatError(f"expected an integer, got {value!r}")
    return value


def encode_command(command: Command) -> bytes:
    """Canonical JSON bytes of `command` (hex for bytes, exact integers)."""
    if type(command) is PlaceOrder:
        # the hot path: the same canonical bytes json.dumps(sort_keys=True) gives (hex and
        # enum strings need no escaping; ints and booleans print as JSON does), built directly
        o = command.order
        return (
            f'{{"amount":{o.amount:d},"buy":{"true" if o.is_buy else "false"},"expiry":{o.expiry:d},'
            f'"id":"{o.order_id.hex()}","k":"place","maker":"{o.maker.hex()}","now":{command.now_ms:d},'
            f'"price":{o.price:d},"series":"{o.series.hex()}","tif":"{command.tif.value}"}}'
        ).encode()
    doc: dict[str, Any]
    if isinstance(command, PlaceOrder):
        o = command.order
        doc = {
            "k": "place",
            "now": command.now_ms,
            "tif": command.tif.value,
            "id": o.order_id.hex(),
            "maker": o.maker.hex(),
            "series": o.series.hex(),
            "buy": o.is_buy,
            "price": o.price,
            "amount": o.amount,
            "expiry": o.expiry,
        }
    elif isinstance(command, RestoreOrder):
        o = command.order
        doc = {
            "k": "restore",
            "now": command.now_ms,
            "id": o.order_id.hex(),
            "maker": o.maker.hex(),
            "series": o.series.hex(),
            "buy": o.is_buy,
            "price": o.price,
            "amount": o.amount,
            "expiry": o.expiry,
        }
    elif isinstance(command, CancelOrder):
        doc = {"k": "cancel", "now": command.now_ms, "id": command.order_id.hex(), "reason": command.reason.value}
    else:
        doc = {"k": "expire", "now": command.now_ms}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def decode_command(data: bytes) -> Command:
    """Parse bytes written by `encode_command`; raises `CommandFormatError` on anything else."""
    try:
        doc = json.loads(data)
        kind = doc["k"]
        now_ms = _int(doc["now"])
        if kind in ("place", "restore"):
            if type(doc["buy"]) is not bool:
                raise CommandFormatError("'buy' must be a boolean")
            order = OrderSpec(
                bytes.fromhex(doc["id"]),
                bytes.fromhex(doc["maker"]),
                bytes.fromhex(doc["series"]),
                doc["buy"],
                _int(doc["price"]),
                _int(doc["amount"]),
                _int(doc["expiry"]),
            )
            if kind == "restore":
                return RestoreOrder(order, now_ms)
            return PlaceOrder(order, TimeInForce(doc["tif"]), now_ms)
        if kind == "cancel":
            return CancelOrder(bytes.fromhex(doc["id"]), CancelReason(doc["reason"]), now_ms)
        if kind == "expire":
            return ExpireOrders(now_ms)
        raise CommandFormatError(f"unknown command kind {kind!r}")
    except CommandFormatError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandFormatError(f"malformed engine command: {exc}") from exc
