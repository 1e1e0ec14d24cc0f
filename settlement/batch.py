"""Fills and batches as `Exchange.settleBatch` takes them, and the skip reason codes it emits."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ._hashing import keccak256
from .abi import contract_abi
from .errors import SettlementError
from .order import SignedOrder


class SkipReason(enum.IntEnum):
    """`IExchange.SkipReason`: why `settleBatch` skipped a fill (first failing check). Values are stable."""

    NONE = 0
    ZERO_AMOUNT = 1
    AMOUNT_TOO_LARGE = 2
    SERIES_MISMATCH = 3
    SAME_SIDE = 4
    SELF_TRADE = 5
    PRICE_NOT_CROSSED = 6
    MAKER_FEE_ABOVE_CAP = 7
    TAKER_FEE_ABOVE_CAP = 8
    MAKER_ORDER_EXPIRED = 9
    TAKER_ORDER_EXPIRED = 10
    UNKNOWN_SERIES = 11
    SERIES_EXPIRED = 12
    MAKER_NONCE_CANCELLED = 13
    TAKER_NONCE_CANCELLED = 14
    MAKER_ORDER_CANCELLED = 15
    TAKER_ORDER_CANCELLED = 16
    MAKER_OVERFILL = 17
    TAKER_OVERFILL = 18
    MAKER_BAD_SIGNATURE = 19
    TAKER_BAD_SIGNATURE = 20
    MAKER_INSUFFICIENT_FUNDS = 21
    TAKER_INSUFFICIENT_FUNDS = 22
    BAD_ORDER_INDEX = 23


def skip_reason(code: int) -> SkipReason | int:
    """The `SkipReason` for `code`, or the bare int for a code this package does not know yet."""
    try:
        return SkipReason(code)
    except ValueError:
        return code


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill: `amount` options (underlying base units) between a resting maker order and a taker
    order at the maker's price; fees are per whole option in quote base units, within each order's cap."""

    maker: SignedOrder
    taker: SignedOrder
    amount: int
    maker_fee: int = 0
    taker_fee: int = 0

    def as_tuple(self, maker_index: int, taker_index: int) -> tuple[int, int, int, int, int]:
        """The ABI tuple of `IExchange.Fill`, its orders at these indices of the batch's `orders`."""
        return (maker_index, taker_index, self.amount, self.maker_fee, self.taker_fee)


@dataclass(frozen=True, slots=True)
class Batch:
    """Batch number `seq` (must be exactly the exchange's lastSeq + 1 when it applies) and its fills."""

    seq: int
    fills: tuple[Fill, ...]

    def __init__(self, seq: int, fills: Sequence[Fill]) -> None:
        if type(seq) is not int or not 0 < seq < 2**64:
            raise SettlementError(f"batch seq must be in 1..2**64-1, got {seq!r}")
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "fills", tuple(fills))

    def orders(self) -> tuple[SignedOrder, ...]:
        """Each distinct signed order of the fills once, in order of first use (maker before taker):
        the `orders` argument of `settleBatch`. Equal orders with different signatures stay distinct."""
        return tuple(dict.fromkeys(o for f in self.fills for o in (f.maker, f.taker)))

    def calldata(self) -> bytes:
        """ABI-encoded `settleBatch(seq, orders, fills)`: the signed orders once each, and fills that
        reference them by index (see `orders`)."""
        orders = self.orders()
        index = {o: i for i, o in enumerate(orders)}
        return contract_abi("Exchange").encode_call(
            "settleBatch",
            self.seq,
            [(o.order.as_tuple(), o.signature) for o in orders],
            [f.as_tuple(index[f.maker], index[f.taker]) for f in self.fills],
        )

    def fingerprint(self) -> bytes:
        """keccak256 of the calldata: identifies this exact batch content."""
        return keccak256(self.calldata())


def batch_to_json(batch: Batch) -> str:
    """Canonical JSON of a batch: signed orders in their canonical form, integers as decimal strings."""
    return json.dumps(
        {
            "seq": str(batch.seq),
            "fills": [
                {
                    "maker": f.maker.to_json_dict(),
                    "taker": f.taker.to_json_dict(),
                    "amount": str(f.amount),
                    "makerFee": str(f.maker_fee),
                    "takerFee": str(f.taker_fee),
                }
                for f in batch.fills
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def batch_from_json(text: str | bytes) -> Batch:
    """Parse `batch_to_json` output; raises `SettlementError` (orders: `OrderJSONError`) when malformed."""
    try:
        obj = json.loads(text)
        fills = [
            Fill(
                SignedOrder.from_json_dict(f["maker"]),
                SignedOrder.from_json_dict(f["taker"]),
                int(f["amount"]),
                int(f["makerFee"]),
                int(f["takerFee"]),
            )
            for f in obj["fills"]
        ]
        return Batch(int(obj["seq"]), fills)
    except SettlementError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise SettlementError(f"malformed batch JSON: {exc!r}") from None
