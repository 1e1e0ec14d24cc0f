"""Fills and batches as `Exchange.settleBatch(uint64 seq, bytes batch)` takes them: the packed batch
encoder and its exact inverse (batch encoding v3, docs/PROTOCOL.md "Batch encoding (calldata of
`settleBatch`)"), and the skip reason codes the exchange emits."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from ._hashing import checksum_address, keccak256
from .abi import ContractABI, contract_abi
from .errors import ArtifactError, MalformedBatchError, SettlementError
from .order import ONE_SHOT_FLAG, Order, SignedOrder


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
    BAD_ORDER_INDEX = 23  # a fill's order index is not an order record of the batch (checked first)
    #: a one-shot order filled in an earlier batch, cancelled (`cancelOneShot`), slid out of its
    #: window, or a second record of the same one-shot order in one batch
    MAKER_ORDER_SPENT = 24
    TAKER_ORDER_SPENT = 25
    BAD_FEE_INDEX = 26  # a fill's fee index is not an entry of the batch's fee table (checked right after 23)


def skip_reason(code: int) -> SkipReason | int:
    """The `SkipReason` for `code`, or the bare int for a code this package does not know yet."""
    try:
        return SkipReason(code)
    except ValueError:
        return code


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill: `amount` options (underlying base units) between a resting maker order and a taker
    order at the maker's price; `maker_fee` and `taker_fee` are fee rates per whole option in quote
    base units, each within its order's cap (the packed batch carries them as a fee table entry)."""

    maker: SignedOrder
    taker: SignedOrder
    amount: int
    maker_fee: int = 0
    taker_fee: int = 0

    def as_tuple(self, maker_index: int, taker_index: int) -> tuple[int, int, int, int, int]:
        """(makerOrder, takerOrder, amount, makerFee, takerFee): the fill with its orders at these
        indices of the batch's order records and its fee rates spelled out."""
        return (maker_index, taker_index, self.amount, self.maker_fee, self.taker_fee)


@dataclass(frozen=True, slots=True)
class PackedOrder:
    """One order record of a packed batch: the EIP-712 order and its signature bytes, as carried.

    Unlike `SignedOrder` the signature may be any length the format can carry (0..65535 bytes):
    the decoder must describe whatever the exchange accepted, valid or not."""

    order: Order
    signature: bytes


@dataclass(frozen=True, slots=True)
class PackedFill:
    """One fill record of a packed batch: its orders by index into the batch's order records and its
    (makerFeeRate, takerFeeRate) by index into the batch's fee table."""

    maker_order: int
    taker_order: int
    fee_index: int
    amount: int


@dataclass(frozen=True, slots=True)
class DecodedBatchData:
    """The content of a packed `settleBatch` batch (docs/PROTOCOL.md, "Batch encoding"): the series
    table, the fee table of (makerFeeRate, takerFeeRate) pairs, the order records (each order's
    series is in the series table) and the fills. `encode` and `decode_batch` are exact inverses
    on it."""

    series: tuple[bytes, ...]
    fees: tuple[tuple[int, int], ...]
    orders: tuple[PackedOrder, ...]
    fills: tuple[PackedFill, ...]

    def encode(self) -> bytes:
        """The packed bytes (the `batch` argument of `settleBatch`); raises `SettlementError` when a
        count, index, amount, fee rate or signature length does not fit its field, or an order's
        series is not in the series table."""
        return encode_batch(self)

    def fill_orders(self, fill: PackedFill) -> tuple[PackedOrder, PackedOrder] | None:
        """(maker, taker) order records of `fill`, or None when an index is not an order record
        (the exchange skips that fill, reason BadOrderIndex)."""
        n = len(self.orders)
        if fill.maker_order >= n or fill.taker_order >= n:
            return None
        return self.orders[fill.maker_order], self.orders[fill.taker_order]

    def fill_fees(self, fill: PackedFill) -> tuple[int, int] | None:
        """(makerFeeRate, takerFeeRate) of `fill`, or None when its fee index is not an entry of the
        fee table (the exchange skips that fill, reason BadFeeIndex)."""
        if fill.fee_index >= len(self.fees):
            return None
        return self.fees[fill.fee_index]

    def to_fills(self) -> tuple[Fill, ...]:
        """The fills with their signed orders and fee rates resolved; raises `SettlementError` for an
        order index outside the order records or a fee index outside the fee table, and
        `OrderError` for a signature `SignedOrder` does not admit."""
        out = []
        for i, f in enumerate(self.fills):
            pair = self.fill_orders(f)
            if pair is None:
                raise SettlementError(f"fill {i} references an order index outside the batch's {len(self.orders)}")
            rates = self.fill_fees(f)
            if rates is None:
                raise SettlementError(
                    f"fill {i}'s fee index {f.fee_index} is outside the batch's fee table of {len(self.fees)}"
                )
            mk, tk = (SignedOrder(p.order, p.signature) for p in pair)
            out.append(Fill(mk, tk, f.amount, *rates))
        return tuple(out)


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
        the batch's order records. Equal orders with different signatures stay distinct."""
        return tuple(dict.fromkeys(o for f in self.fills for o in (f.maker, f.taker)))

    def fee_table(self) -> tuple[tuple[int, int], ...]:
        """Each distinct (makerFeeRate, takerFeeRate) pair of the fills once, in order of first use:
        the batch's fee table."""
        return tuple(dict.fromkeys((f.maker_fee, f.taker_fee) for f in self.fills))

    def layout(self) -> DecodedBatchData:
        """The packed content: series table, fee table and order records in order of first use,
        fills by index into them."""
        orders = self.orders()
        index = {o: i for i, o in enumerate(orders)}
        fees = self.fee_table()
        fee_index = {pair: i for i, pair in enumerate(fees)}
        return DecodedBatchData(
            tuple(dict.fromkeys(o.order.series for o in orders)),
            fees,
            tuple(PackedOrder(o.order, o.signature) for o in orders),
            tuple(
                PackedFill(index[f.maker], index[f.taker], fee_index[(f.maker_fee, f.taker_fee)], f.amount)
                for f in self.fills
            ),
        )

    def packed(self) -> bytes:
        """The `batch` argument of `settleBatch`: `layout()` packed (see `encode_batch`)."""
        return encode_batch(self.layout())

    def calldata(self) -> bytes:
        """`settleBatch(uint64 seq, bytes batch)` calldata, selector from the compiled ABI."""
        return encode_settle_call(self.seq, self.packed())

    def fingerprint(self) -> bytes:
        """keccak256 of the calldata: identifies this exact batch content."""
        return keccak256(self.calldata())


# --- the packed format (batch encoding v3) ------------------------------------------------------

#: Order record flag bit 0: the order buys.
FLAG_BUY = 0x01
#: Order record flag bit 1: the signature is uint16 length ‖ bytes (else exactly 65 bytes r ‖ s ‖ v).
FLAG_SIGNATURE_LENGTH = 0x02
#: Order record flag bit 2: one-shot, the order's nonce is nonceField | 2**255.
FLAG_ONE_SHOT = 0x04
_KNOWN_FLAGS = FLAG_BUY | FLAG_SIGNATURE_LENGTH | FLAG_ONE_SHOT
ECDSA_SIGNATURE_BYTES = 65
#: nSeries | nOrders | nFills | nFees (uint16 each)
HEADER_BYTES = 8
#: one fee table entry: makerFeeRate (16) | takerFeeRate (16)
FEE_BYTES = 16 + 16
#: the fixed part of an order record: maker (20) | seriesIndex (2) | flags (1); then the five compact
#: integers (price, amount, maxFee, nonceField, expiry) and the signature
ORDER_FIXED_BYTES = 20 + 2 + 1
#: makerOrder (2) | takerOrder (2) | feeIndex (2) | amount (16)
FILL_BYTES = 2 + 2 + 2 + 16
#: the longest compact integer body (a uint256)
COMPACT_MAX_BYTES = 32
UINT16_MAX = 2**16 - 1
UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1
_ORDER_INTEGERS = ("price", "amount", "maxFee", "nonce", "expiry")
_SETTLE_ABI_TYPES = ("uint64", "bytes")


def _u16(what: str, value: int) -> bytes:
    if not 0 <= value <= UINT16_MAX:
        raise SettlementError(f"{what} {value} does not fit the packed batch's uint16")
    return value.to_bytes(2, "big")


def _u128(what: str, value: int) -> bytes:
    if not 0 <= value <= UINT128_MAX:
        raise SettlementError(f"{what} {value} does not fit the packed batch's uint128")
    return value.to_bytes(16, "big")


def encode_compact(value: int) -> bytes:
    """A compact integer: one length byte L then `value` in L bytes big-endian, L minimal (0 for 0,
    no leading zero byte); raises `SettlementError` outside uint256."""
    if type(value) is not int or not 0 <= value <= UINT256_MAX:
        raise SettlementError(f"compact integer {value!r} is outside uint256")
    n = (value.bit_length() + 7) // 8
    return bytes((n,)) + value.to_bytes(n, "big")


def decode_compact(data: bytes, pos: int) -> tuple[int, int]:
    """(value, the offset after it) of the compact integer whose length byte is at `pos`. Raises
    `MalformedBatchError` at `pos` when the length byte is past the end, L > 32, or the L bytes run
    past the end. A non-minimal L (leading zero bytes) decodes: the format admits it."""
    return _compact_at(bytes(data), pos, "a compact integer")


def _compact_at(data: bytes, pos: int, what: str) -> tuple[int, int]:
    end = len(data)
    if pos >= end:
        raise MalformedBatchError(f"truncated: {what}'s length byte is past the end", offset=pos)
    n = data[pos]
    if n > COMPACT_MAX_BYTES:
        raise MalformedBatchError(f"{what} has compact length {n} > {COMPACT_MAX_BYTES}", offset=pos)
    if pos + 1 + n > end:
        raise MalformedBatchError(
            f"truncated: {what} needs {n} bytes after its length byte, {end - pos - 1} left", offset=pos
        )
    return int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), pos + 1 + n


def encode_batch(data: DecodedBatchData) -> bytes:
    """Pack `data` as `settleBatch`'s `batch` argument (batch encoding v3: big-endian, no padding):

    header (nSeries, nOrders, nFills, nFees: uint16 each), the series table (bytes32 each), the fee
    table (makerFeeRate, takerFeeRate: uint128 each), the order records (maker | seriesIndex |
    flags | price | amount | maxFee | nonceField | expiry as compact integers | signature) and the
    fill records (makerOrder, takerOrder, feeIndex: uint16; amount: uint128). A 65-byte signature
    travels bare, any other length behind a uint16 length and flag bit 1; a nonce >= 2**255
    (one-shot) sets flag bit 2 and travels as nonce - 2**255. Order and fee indexes of the fills
    are not checked against the tables (the exchange skips such a fill: reasons 23 and 26)."""
    series_index: dict[bytes, int] = {}
    for i, s in enumerate(data.series):
        if len(s) != 32:
            raise SettlementError(f"series table entry {i} is {len(s)} bytes, not 32")
        series_index.setdefault(s, i)
    if len(data.fees) > UINT16_MAX:
        raise SettlementError(
            f"the fee table has {len(data.fees)} distinct (makerFeeRate, takerFeeRate) pairs; the packed batch "
            f"holds at most {UINT16_MAX} (nFees is a uint16): split the fills over more batches"
        )
    parts = [
        _u16("series count", len(data.series)),
        _u16("order count", len(data.orders)),
        _u16("fill count", len(data.fills)),
        _u16("fee table size", len(data.fees)),
        *data.series,
    ]
    for k, (maker_rate, taker_rate) in enumerate(data.fees):
        parts.append(
            _u128(f"fee table entry {k}'s maker fee rate", maker_rate)
            + _u128(f"fee table entry {k}'s taker fee rate", taker_rate)
        )
    for i, po in enumerate(data.orders):
        o, sig = po.order, po.signature
        index = series_index.get(o.series)
        if index is None:
            raise SettlementError(f"order {i}'s series 0x{o.series.hex()} is not in the series table")
        flags = FLAG_BUY if o.is_buy else 0
        nonce_field = o.nonce
        if nonce_field >= ONE_SHOT_FLAG:
            flags |= FLAG_ONE_SHOT
            nonce_field -= ONE_SHOT_FLAG
        if len(sig) == ECDSA_SIGNATURE_BYTES:
            tail = sig
        else:
            flags |= FLAG_SIGNATURE_LENGTH
            tail = _u16(f"order {i}'s signature length", len(sig)) + sig
        parts.append(
            bytes.fromhex(o.maker[2:])
            + index.to_bytes(2, "big")
            + bytes((flags,))
            + encode_compact(o.price)
            + encode_compact(o.amount)
            + encode_compact(o.max_fee)
            + encode_compact(nonce_field)
            + encode_compact(o.expiry)
            + tail
        )
    for i, f in enumerate(data.fills):
        parts.append(
            _u16(f"fill {i}'s maker order index", f.maker_order)
            + _u16(f"fill {i}'s taker order index", f.taker_order)
            + _u16(f"fill {i}'s fee index", f.fee_index)
            + _u128(f"fill {i}'s amount", f.amount)
        )
    return b"".join(parts)


def decode_batch(packed: bytes) -> DecodedBatchData:
    """The inverse of `encode_batch`. Raises `MalformedBatchError` exactly where the exchange
    reverts `MalformedBatch(offset)`, with the same offset into `packed` (`Exchange._parse`):

    - shorter than the 8-byte header: 0;
    - the series and fee tables run past the end: 8 + 32 * nSeries + 32 * nFees (where the orders
      would start);
    - an order record's first 23 bytes run past the end, its series index is >= nSeries, or its
      flags are > 7: the record's start;
    - a compact integer whose length byte is past the end, whose length is > 32, or whose bytes
      run past the end: its length byte;
    - a signature length prefix (flag bit 1) past the end: the prefix; signature bytes past the
      end: where the signature bytes start;
    - not exactly 22 * nFills bytes after the orders (truncated or trailing bytes): the start of
      the fills.

    Fill order and fee indexes are not checked here (the exchange skips such a fill with
    BadOrderIndex or BadFeeIndex); nor is the minimality of compact integers or the distinctness
    of fee table entries. With flag bit 2 the nonce is nonceField | 2**255."""
    data = bytes(packed)
    end = len(data)
    if end < HEADER_BYTES:
        raise MalformedBatchError(f"truncated: the header needs {HEADER_BYTES} bytes, {end} given", offset=0)
    n_series, n_orders, n_fills, n_fees = (int.from_bytes(data[2 * k : 2 * k + 2], "big") for k in range(4))
    fee_start = HEADER_BYTES + 32 * n_series
    pos = fee_start + FEE_BYTES * n_fees  # the exchange checks both tables at once, where the orders start
    if pos > end:
        raise MalformedBatchError(
            f"truncated: the series table of {n_series} and the fee table of {n_fees} end past byte {end}",
            offset=pos,
        )
    series = tuple(data[HEADER_BYTES + 32 * i : HEADER_BYTES + 32 * (i + 1)] for i in range(n_series))
    fees = tuple(
        (
            int.from_bytes(data[a : a + 16], "big"),
            int.from_bytes(data[a + 16 : a + 32], "big"),
        )
        for a in range(fee_start, pos, FEE_BYTES)
    )
    orders: list[PackedOrder] = []
    for i in range(n_orders):
        start = pos
        if pos + ORDER_FIXED_BYTES > end:
            raise MalformedBatchError(
                f"truncated: order {i} needs {ORDER_FIXED_BYTES} bytes, {end - pos} left", offset=start
            )
        index = int.from_bytes(data[pos + 20 : pos + 22], "big")
        if index >= n_series:
            raise MalformedBatchError(f"order {i}'s series index {index} >= nSeries {n_series}", offset=start)
        flags = data[pos + 22]
        if flags & ~_KNOWN_FLAGS:
            raise MalformedBatchError(f"order {i} has unknown flag bits 0x{flags:02x}", offset=start)
        pos += ORDER_FIXED_BYTES
        values: list[int] = []
        for name in _ORDER_INTEGERS:
            value, pos = _compact_at(data, pos, f"order {i}'s {name}")
            values.append(value)
        price, amount, max_fee, nonce_field, expiry = values
        if flags & FLAG_SIGNATURE_LENGTH:
            if pos + 2 > end:
                raise MalformedBatchError(
                    f"truncated: order {i}'s signature length needs 2 bytes, {end - pos} left", offset=pos
                )
            sig_len = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        else:
            sig_len = ECDSA_SIGNATURE_BYTES
        if pos + sig_len > end:
            raise MalformedBatchError(
                f"truncated: order {i}'s signature needs {sig_len} bytes, {end - pos} left", offset=pos
            )
        signature = data[pos : pos + sig_len]
        pos += sig_len
        order = Order(
            checksum_address(data[start : start + 20]),
            series[index],
            bool(flags & FLAG_BUY),
            price,
            amount,
            max_fee,
            nonce_field | ONE_SHOT_FLAG if flags & FLAG_ONE_SHOT else nonce_field,
            expiry,
        )
        orders.append(PackedOrder(order, signature))
    if end - pos != FILL_BYTES * n_fills:
        what = "truncated" if end - pos < FILL_BYTES * n_fills else "trailing bytes"
        raise MalformedBatchError(
            f"{what}: {n_fills} fills take {FILL_BYTES * n_fills} bytes, {end - pos} follow the orders", offset=pos
        )
    fills = []
    for _ in range(n_fills):
        fills.append(
            PackedFill(
                int.from_bytes(data[pos : pos + 2], "big"),
                int.from_bytes(data[pos + 2 : pos + 4], "big"),
                int.from_bytes(data[pos + 4 : pos + 6], "big"),
                int.from_bytes(data[pos + 6 : pos + 22], "big"),
            )
        )
        pos += FILL_BYTES
    return DecodedBatchData(series, fees, tuple(orders), tuple(fills))


def _settle_abi() -> ContractABI:
    """The exchange ABI, checked to carry the packed `settleBatch(uint64,bytes)`."""
    abi = contract_abi("Exchange")
    inputs = abi.input_types("settleBatch")
    if inputs != _SETTLE_ABI_TYPES:
        raise ArtifactError(
            f"the compiled Exchange has settleBatch({','.join(inputs)}), not settleBatch(uint64,bytes): "
            "run `make build`"
        )
    return abi


def encode_settle_call(seq: int, packed: bytes) -> bytes:
    """`settleBatch(seq, packed)` calldata."""
    return _settle_abi().encode_call("settleBatch", seq, packed)


def decode_settle_call(calldata: bytes) -> tuple[int, DecodedBatchData]:
    """(seq, batch content) of `settleBatch` calldata. Raises `SettlementError` when the selector
    is another function's or the ABI wrapper does not decode, `MalformedBatchError` (offset into
    the packed batch) when the batch itself is malformed."""
    abi = _settle_abi()
    if bytes(calldata[:4]) != abi.selector("settleBatch"):
        raise SettlementError(f"calldata selector 0x{bytes(calldata[:4]).hex()} is not settleBatch")
    try:
        seq, packed = abi_decode(list(_SETTLE_ABI_TYPES), bytes(calldata[4:]))
    except (DecodingError, ValueError, OverflowError) as exc:
        raise SettlementError(f"settleBatch calldata does not ABI-decode: {exc}") from None
    return int(seq), decode_batch(packed)


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
