"""JSON in and out of the API: strict request parsing and the rendering of venue views.

Every integer amount crosses the API as a decimal string (`"1000000"`): JSON numbers lose
precision past 2**53 in most clients. Ids and addresses are 0x-hex (addresses EIP-55).
Parsing refuses, each with its own code, what must never be guessed at: a float
(`amount_not_integer`), a negative number (`amount_negative`), a value outside the field's range
(`amount_out_of_range`), a JSON number where a string belongs (`amount_not_string`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from relayer.api.errors import BadRequest, InvalidJson
from relayer.cancels import CancelAfter, CancelAll, CancelOrders, SignedCancel
from relayer.intake.collateral import MAX_AMOUNT, MAX_PRICE
from relayer.stream import BatchUpdate, BookDelta, FillUpdate, OrderUpdate, TradeUpdate
from relayer.views import BatchView, BookView, FillView, Health, OrderResult, OrderView, SeriesView
from settlement._hashing import checksum_address
from settlement.errors import SettlementError
from settlement.order import SignedOrder

UINT256_MAX = 2**256 - 1
#: Deepest JSON nesting a request body may have (a batch of orders needs 3).
MAX_JSON_DEPTH = 8

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_NEGATIVE = re.compile(r"-[0-9]+")
_FRACTIONAL = re.compile(r"-?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)?|-?[0-9]+[eE][-+]?[0-9]+")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX_BYTES = re.compile(r"0x(?:[0-9a-fA-F]{2})+")

#: Bounds of the order fields given as decimal strings (inclusive).
ORDER_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "price": (1, MAX_PRICE),
    "amount": (1, MAX_AMOUNT),
    "maxFee": (0, MAX_PRICE),
    "nonce": (0, UINT256_MAX),
    "expiry": (0, 2**64 - 1),
}


class AmountError(BadRequest):
    """An integer field that is not a non-negative decimal string within its range."""

    def __init__(self, code: str, field: str, message: str, index: int | None = None) -> None:
        details: dict[str, Any] = {"field": field}
        if index is not None:
            details["index"] = index
        super().__init__(message, details=details)
        self.code = code


def hex0x(raw: bytes) -> str:
    return "0x" + raw.hex()


def address(raw: bytes) -> str:
    return checksum_address(raw)


# ---------------------------------------------------------------------------------- parsing


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def too_deep_json(body: bytes, limit: int) -> bool:
    """True if `body` nests arrays/objects deeper than `limit` (strings skipped; linear time).

    Checked before parsing: the C JSON decoder recurses per level and a deep enough document
    overflows the C stack (a crash, not an exception).
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for ch in brackets:
        if ch == 91 or ch == 123:  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: Bodies with at most this many brackets cannot nest deeper, so they skip the exact scan.
_CHEAP_BRACKETS = 256


def _depth_ok(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        children = item.values() if isinstance(item, dict) else item
        stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
    return True


def loads(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a request body; `invalid_json` for anything but strict JSON, `json_too_deep` past `max_depth`.

    A body with few brackets cannot nest dangerously deep: it is parsed, then its depth checked
    on the parsed value. Any other body gets the exact linear scan first.
    """
    cheap = body.count(b"[") + body.count(b"{") <= _CHEAP_BRACKETS
    if not cheap and too_deep_json(body, max_depth):
        raise _too_deep(max_depth)
    try:
        value = json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"request body is not JSON: {exc}") from None
    if cheap and isinstance(value, dict | list) and not _depth_ok(value, max_depth):
        raise _too_deep(max_depth)
    return value


def _too_deep(limit: int) -> BadRequest:
    err = BadRequest(f"JSON nested deeper than {limit} levels", details={"max_depth": limit})
    err.code = "json_too_deep"
    return err


def parse_uint(value: object, field: str, lo: int = 0, hi: int = UINT256_MAX, index: int | None = None) -> int:
    """A decimal-string integer in [lo, hi]; each way of being wrong has its own code."""
    where = field if index is None else f"orders[{index}].{field}"
    if isinstance(value, bool):
        raise AmountError("amount_not_string", field, f"{where} must be a decimal string, got a boolean", index)
    if isinstance(value, float):
        code = "amount_negative" if value < 0 else "amount_not_integer"
        raise AmountError(code, field, f"{where} must be a whole number as a decimal string, got {value!r}", index)
    if isinstance(value, int):
        if value < 0:
            raise AmountError("amount_negative", field, f"{where} must not be negative", index)
        raise AmountError("amount_not_string", field, f'{where} must be a decimal string like "{value}"', index)
    if not isinstance(value, str):
        raise AmountError("amount_not_string", field, f"{where} must be a decimal string", index)
    if _DECIMAL.fullmatch(value):
        number = int(value) if len(value) <= 80 else UINT256_MAX + 1
        if not lo <= number <= hi:
            raise AmountError("amount_out_of_range", field, f"{where} must be in {lo}..{hi}", index)
        return number
    if _NEGATIVE.fullmatch(value):
        raise AmountError("amount_negative", field, f"{where} must not be negative", index)
    if _FRACTIONAL.fullmatch(value):
        raise AmountError("amount_not_integer", field, f"{where} must be a whole number, got {value!r}", index)
    raise AmountError(
        "amount_malformed", field, f"{where} must be a decimal string without sign or leading zeros", index
    )


def _schema_error(message: str, **details: Any) -> BadRequest:
    err = BadRequest(message, details=details)
    err.code = "invalid_schema"
    return err


def parse_bytes32(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise _schema_error(f"{field} must be 0x followed by 64 hex digits", field=field)
    return bytes.fromhex(value[2:])


def parse_address(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise _schema_error(f"{field} must be a 0x-prefixed 20-byte address", field=field)
    return bytes.fromhex(value[2:])


def parse_signature(value: object, field: str = "signature") -> bytes:
    if not isinstance(value, str) or not _HEX_BYTES.fullmatch(value) or len(value) > 2 + 2 * 4096:
        raise _schema_error(f"{field} must be 0x-hex bytes (at most 4096)", field=field)
    return bytes.fromhex(value[2:])


def check_order_amounts(order: object, index: int | None) -> None:
    """Refuse bad integer fields of a signed order before intake sees it (intake re-parses the rest)."""
    if not isinstance(order, dict):
        raise _schema_error("an order must be a JSON object", index=index)
    for field, (lo, hi) in ORDER_INT_BOUNDS.items():
        if field in order:
            parse_uint(order[field], field, lo, hi, index)


def parse_signed_order(order: object, index: int | None) -> SignedOrder:
    """A signed order from its canonical JSON; the integer fields' errors get their own codes.

    The fast path is the settlement parser; only a refused order is re-examined to say which
    field is wrong and how (`amount_*` codes), else `invalid_schema` with the parser's reason.
    """
    try:
        signed = SignedOrder.from_json_dict(order)
    except (SettlementError, TypeError, ValueError) as exc:
        check_order_amounts(order, index)
        raise _schema_error(f"not a signed order: {exc}", index=index) from None
    o = signed.order
    if not (0 < o.amount <= MAX_AMOUNT and 0 < o.price <= MAX_PRICE and o.max_fee <= MAX_PRICE and o.expiry < 2**64):
        check_order_amounts(order, index)
    return signed


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _schema_error(f"{what} must be a JSON object")
    return value


def _only(obj: Mapping[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    if missing := required - obj.keys():
        raise _schema_error(f"{what}: missing {sorted(missing)}", missing=sorted(missing))
    if unknown := obj.keys() - allowed:
        raise _schema_error(f"{what}: unknown {sorted(unknown)}", unknown=sorted(unknown))


def parse_cancel_orders(body: object, order_hash: bytes) -> SignedCancel:
    """`DELETE /v1/orders/{hash}` body: `{maker, timestamp, signature}` signing CancelOrders(maker, [hash], ts)."""
    obj = _object(body, "the cancel")
    _only(obj, {"maker", "timestamp", "signature"}, {"maker", "timestamp", "signature"}, "cancel")
    msg = CancelOrders(
        parse_address(obj["maker"], "maker"), (order_hash,), parse_uint(obj["timestamp"], "timestamp", 0, 2**63)
    )
    return SignedCancel(msg, parse_signature(obj["signature"]))


def parse_cancel_all(body: object) -> SignedCancel:
    """`{maker, series?, timestamp, signature}`; without `series` every series (0x00…00)."""
    obj = _object(body, "the cancel")
    _only(obj, {"maker", "series", "timestamp", "signature"}, {"maker", "timestamp", "signature"}, "cancel_all")
    series = parse_bytes32(obj["series"], "series") if "series" in obj else bytes(32)
    msg = CancelAll(parse_address(obj["maker"], "maker"), series, parse_uint(obj["timestamp"], "timestamp", 0, 2**63))
    return SignedCancel(msg, parse_signature(obj["signature"]))


def parse_cancel_after(body: object) -> SignedCancel:
    """`{maker, timeoutMs, timestamp, signature}`; timeoutMs "0" switches the dead-man's switch off."""
    obj = _object(body, "the cancel")
    keys = {"maker", "timeoutMs", "timestamp", "signature"}
    _only(obj, keys, keys, "cancel_after")
    msg = CancelAfter(
        parse_address(obj["maker"], "maker"),
        parse_uint(obj["timeoutMs"], "timeoutMs", 0, 7 * 86_400_000),
        parse_uint(obj["timestamp"], "timestamp", 0, 2**63),
    )
    return SignedCancel(msg, parse_signature(obj["signature"]))


# ---------------------------------------------------------------------------------- rendering


def order_result(r: OrderResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "hash": None if r.order_id is None else hex0x(r.order_id),
        "status": r.status.value,
        "remaining": str(r.remaining),
        "duplicate": r.duplicate,
    }
    if r.error_code is not None:
        out["code"] = r.error_code
    if r.message:
        out["message"] = r.message
    if r.client_id is not None:
        out["clientId"] = r.client_id
    return out


def order_view(o: OrderView) -> dict[str, Any]:
    return {
        "hash": hex0x(o.order_id),
        "maker": address(o.maker),
        "series": hex0x(o.series),
        "isBuy": o.is_buy,
        "price": str(o.price),
        "amount": str(o.amount),
        "maxFee": str(o.max_fee),
        "nonce": str(o.nonce),
        "expiry": str(o.expiry),
        "signature": hex0x(o.signature),
        "timeInForce": o.tif.value,
        "status": o.status.value,
        "remaining": str(o.remaining),
        "cancelReason": o.cancel_reason,
        "clientId": o.client_id,
        "createdSeq": str(o.created_seq),
        "updatedSeq": str(o.updated_seq),
    }


def book_view(b: BookView) -> dict[str, Any]:
    return {
        "series": hex0x(b.series),
        "seq": str(b.seq),
        "bids": [{"price": str(level.price), "amount": str(level.amount)} for level in b.bids],
        "asks": [{"price": str(level.price), "amount": str(level.amount)} for level in b.asks],
    }


def series_view(s: SeriesView) -> dict[str, Any]:
    return {
        "id": hex0x(s.series),
        "underlying": address(s.underlying),
        "quote": address(s.quote),
        "strike": str(s.strike),
        "expiry": str(s.expiry),
        "isCall": s.is_call,
        "underlyingUnit": str(s.underlying_unit),
    }


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def fill_view(f: FillView, batch: BatchView | None, unit: int | None) -> dict[str, Any]:
    """A fill in the shape the auditor reads (`settlement/audit/relayer.py`).

    `index` is the fill's position in its `settleBatch` call; `premium` and the fees are the
    amounts charged (quote base units, the contract's rounding), known once the series' unit is.
    """
    index = None
    if batch is not None and f.id in batch.fill_ids:
        index = batch.fill_ids.index(f.id)
    maker_is_buy = not f.taker_is_buy
    premium = fee_m = fee_t = None
    if unit:
        gross = f.price * f.amount
        # the taker buys: premium rounds up (favours the maker); the taker sells: down
        premium = _ceil_div(gross, unit) if f.taker_is_buy else gross // unit
        fee_m = f.maker_fee * f.amount // unit
        fee_t = f.taker_fee * f.amount // unit
    return {
        "id": str(f.id),
        "batch": None if f.batch_seq is None else str(f.batch_seq),
        "index": None if index is None else str(index),
        "status": f.status.value,
        "skipReason": f.skip_reason,
        "txHash": None if batch is None or batch.tx_hash is None else hex0x(batch.tx_hash),
        "series": hex0x(f.series),
        "bookSeq": str(f.book_seq),
        "maker": address(f.maker),
        "taker": address(f.taker),
        "makerOrder": hex0x(f.maker_order_id),
        "takerOrder": hex0x(f.taker_order_id),
        "makerIsBuy": maker_is_buy,
        "amount": str(f.amount),
        "price": str(f.price),
        "premium": None if premium is None else str(premium),
        "makerFee": None if fee_m is None else str(fee_m),
        "takerFee": None if fee_t is None else str(fee_t),
        "makerFeeRate": str(f.maker_fee),
        "takerFeeRate": str(f.taker_fee),
    }


def batch_view(b: BatchView, filled: int, skipped: int) -> dict[str, Any]:
    return {
        "seq": str(b.seq),
        "status": b.status.value,
        "txHash": None if b.tx_hash is None else hex0x(b.tx_hash),
        "blockNumber": None if b.settled_block is None else str(b.settled_block),
        "filled": str(filled),
        "skipped": str(skipped),
        "fills": [str(i) for i in b.fill_ids],
        "createdMs": str(b.created_ms),
        "submittedMs": None if b.submitted_ms is None else str(b.submitted_ms),
    }


def health_view(h: Health) -> dict[str, Any]:
    return {
        "ok": h.ok,
        "intakePaused": h.intake_paused,
        "pauseReason": h.pause_reason,
        "journalSeq": str(h.journal_seq),
        "openOrders": str(h.open_orders),
        "pendingFills": str(h.pending_fills),
        "lastBatchSeq": str(h.last_batch_seq),
        "chainHead": str(h.chain_head),
        "indexedBlock": str(h.indexed_block),
        "subscribers": str(h.subscribers),
        "detail": h.detail,
    }


# ---------------------------------------------------------------------------------- stream


def book_delta(d: BookDelta, prev_seq: int | None) -> dict[str, Any]:
    return {
        "type": "delta",
        "channel": "book:" + hex0x(d.series),
        "seq": str(d.seq),
        "prevSeq": None if prev_seq is None else str(prev_seq),
        "side": "bid" if d.is_bid else "ask",
        "price": str(d.price),
        "amount": str(d.amount),
    }


def trade_update(t: TradeUpdate) -> dict[str, Any]:
    return {
        "type": "trade",
        "channel": "trades:" + hex0x(t.series),
        "seq": str(t.seq),
        "price": str(t.price),
        "amount": str(t.amount),
        "takerIsBuy": t.taker_is_buy,
        "ts": str(t.ts_ms),
    }


def order_update(o: OrderUpdate) -> dict[str, Any]:
    return {
        "type": "order",
        "channel": "orders:" + address(o.maker).lower(),
        "hash": hex0x(o.order_id),
        "series": hex0x(o.series),
        "status": o.status.value,
        "remaining": str(o.remaining),
        "reason": o.reason,
        "ts": str(o.ts_ms),
    }


def fill_update(f: FillUpdate) -> dict[str, Any]:
    return {
        "type": "fill",
        "channel": "fills:" + address(f.maker).lower(),
        "id": str(f.fill_id),
        "order": hex0x(f.order_id),
        "series": hex0x(f.series),
        "isBuy": f.is_buy,
        "price": str(f.price),
        "amount": str(f.amount),
        "status": f.status.value,
        "batch": None if f.batch_seq is None else str(f.batch_seq),
        "skipReason": f.skip_reason,
        "ts": str(f.ts_ms),
    }


def batch_update(b: BatchUpdate) -> dict[str, Any]:
    return {
        "type": "batch",
        "channel": "batches",
        "seq": str(b.seq),
        "status": b.status.value,
        "txHash": None if b.tx_hash is None else hex0x(b.tx_hash),
        "filled": str(b.filled),
        "skipped": str(b.skipped),
        "ts": str(b.ts_ms),
    }
