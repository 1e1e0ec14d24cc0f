"""The packed `settleBatch(uint64 seq, bytes batch)` format, batch encoding v3: each signed order
once with its integers as compact integers, series and (makerFeeRate, takerFeeRate) pairs in
tables, fills referencing orders and fee pairs by index; `decode_batch` is the exact inverse of the
encoder and refuses every structural fault the exchange reverts on, naming its byte offset."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement._hashing import keccak256
from settlement.abi import contract_abi
from settlement.batch import (
    ECDSA_SIGNATURE_BYTES,
    FEE_BYTES,
    FILL_BYTES,
    HEADER_BYTES,
    ORDER_FIXED_BYTES,
    Batch,
    DecodedBatchData,
    Fill,
    PackedFill,
    PackedOrder,
    SkipReason,
    decode_batch,
    decode_compact,
    decode_settle_call,
    encode_batch,
    encode_compact,
    skip_reason,
)
from settlement.errors import MalformedBatchError, SettlementError
from settlement.order import Order, SignedOrder, one_shot_nonce
from tests.settlement.strategies import addresses, uint256

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CAROL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
SERIES_A = bytes(range(32))
SERIES_B = bytes(range(1, 33))
TOP = 2**255  # the one-shot bit of a nonce


def _signed(maker: str, is_buy: bool, nonce: int, sig_byte: int = 1, series: bytes = SERIES_A) -> SignedOrder:
    order = Order(maker, series, is_buy, 100, 10**18, 5, nonce, 2**40)
    return SignedOrder(order, bytes([sig_byte]) * 65)


#: the record of `_signed(..., nonce=1)`: 23 fixed bytes, then the compact integers price 100 (1 + 1),
#: amount 10**18 (1 + 8), maxFee 5 (1 + 1), nonce 1 (1 + 1), expiry 2**40 (1 + 6), then 65 bytes
COMPACT_AT = {"price": 23, "amount": 25, "maxFee": 34, "nonce": 36, "expiry": 38}
COMPACT_LENGTH = {"price": 1, "amount": 8, "maxFee": 1, "nonce": 1, "expiry": 6}
SIGNATURE_AT = 45
RECORD_BYTES = SIGNATURE_AT + ECDSA_SIGNATURE_BYTES


def test_the_constants_are_the_v3_sizes() -> None:
    assert (HEADER_BYTES, FEE_BYTES, ORDER_FIXED_BYTES, FILL_BYTES) == (8, 32, 23, 22)


def test_skip_reason_26_is_bad_fee_index() -> None:
    assert int(SkipReason.BAD_FEE_INDEX) == 26 and skip_reason(26) is SkipReason.BAD_FEE_INDEX
    assert skip_reason(27) == 27


# --- the encoder's layout -----------------------------------------------------------------------


def test_a_maker_order_used_by_many_fills_travels_once() -> None:
    maker = _signed(ALICE, False, 1)
    takers = [_signed(BOB, True, 1), _signed(CAROL, True, 1), _signed(BOB, True, 2)]
    batch = Batch(7, [Fill(maker, t, 10**17, 1, 2) for t in takers])

    data = decode_batch(batch.packed())

    assert data.series == (SERIES_A,)
    assert data.fees == ((1, 2),)
    assert batch.orders() == (maker, *takers)
    assert [SignedOrder(o.order, o.signature) for o in data.orders] == list(batch.orders())
    assert data.fills == tuple(PackedFill(0, i, 0, 10**17) for i in (1, 2, 3))
    assert len(batch.packed()) == HEADER_BYTES + 32 + FEE_BYTES + 4 * RECORD_BYTES + 3 * FILL_BYTES


def test_the_same_order_with_another_signature_is_a_separate_entry() -> None:
    maker = _signed(ALICE, False, 1)
    resigned = _signed(ALICE, False, 1, sig_byte=2)
    taker = _signed(BOB, True, 1)

    data = Batch(1, [Fill(maker, taker, 1), Fill(resigned, taker, 1)]).layout()

    assert len(data.orders) == 3
    assert [(f.maker_order, f.taker_order) for f in data.fills] == [(0, 1), (2, 1)]


def test_series_are_listed_once_in_order_of_first_use() -> None:
    b_sell, b_buy = _signed(ALICE, False, 1, series=SERIES_B), _signed(BOB, True, 1, series=SERIES_B)
    a_sell, a_buy = _signed(ALICE, False, 2), _signed(CAROL, True, 1)

    data = decode_batch(Batch(1, [Fill(b_sell, b_buy, 1), Fill(a_sell, a_buy, 1), Fill(b_sell, a_buy, 1)]).packed())

    assert data.series == (SERIES_B, SERIES_A)
    assert [o.order.series for o in data.orders] == [SERIES_B, SERIES_B, SERIES_A, SERIES_A]


def test_the_fee_table_lists_each_distinct_pair_once_in_order_of_first_use() -> None:
    maker, taker = _signed(ALICE, False, 1), _signed(BOB, True, 1)
    rates = [(1, 2), (3, 4), (1, 2), (2, 1), (0, 0), (3, 4), (2**128 - 1, 0)]
    batch = Batch(1, [Fill(maker, taker, 1, m, t) for m, t in rates])

    data = batch.layout()
    packed = batch.packed()

    assert batch.fee_table() == data.fees == ((1, 2), (3, 4), (2, 1), (0, 0), (2**128 - 1, 0))
    assert [f.fee_index for f in data.fills] == [0, 1, 0, 2, 3, 1, 4]
    assert packed[6:8] == (5).to_bytes(2, "big")  # nFees
    table = packed[HEADER_BYTES + 32 : HEADER_BYTES + 32 + 5 * FEE_BYTES]
    assert table == b"".join(m.to_bytes(16, "big") + t.to_bytes(16, "big") for m, t in data.fees)
    assert [packed[-FILL_BYTES * k + 4 : -FILL_BYTES * k + 6] for k in range(7, 0, -1)] == [
        i.to_bytes(2, "big") for i in (0, 1, 0, 2, 3, 1, 4)
    ]
    assert decode_batch(packed).to_fills() == batch.fills


def test_a_fee_table_of_65535_pairs_fits_and_one_more_is_refused() -> None:
    full = DecodedBatchData((), tuple((k, 0) for k in range(65_535)), (), ())
    packed = encode_batch(full)
    assert packed[:HEADER_BYTES] == bytes.fromhex("000000000000ffff")
    assert decode_batch(packed) == full

    with pytest.raises(SettlementError, match=r"65536 distinct \(makerFeeRate, takerFeeRate\) pairs.*at most 65535"):
        encode_batch(DecodedBatchData((), tuple((k, 0) for k in range(65_536)), (), ()))
    maker, taker = _signed(ALICE, False, 1), _signed(BOB, True, 1)
    with pytest.raises(SettlementError, match="65536 distinct"):  # the fee table, before the fill count
        Batch(1, [Fill(maker, taker, 1, k, 0) for k in range(65_536)]).packed()


def test_the_order_record_is_big_endian_without_padding() -> None:
    order = Order(ALICE, SERIES_A, True, 7, 8, 9, one_shot_nonce(10), 11)
    packed = Batch(1, [Fill(SignedOrder(order, b"\xab" * 65), _signed(BOB, False, 1), 3, 4, 5)]).packed()

    assert packed[:HEADER_BYTES] == bytes.fromhex("0001 0002 0001 0001")
    assert packed[HEADER_BYTES : HEADER_BYTES + 32] == SERIES_A
    assert packed[HEADER_BYTES + 32 : HEADER_BYTES + 64] == (4).to_bytes(16, "big") + (5).to_bytes(16, "big")
    record = packed[HEADER_BYTES + 64 :]
    assert record[:20] == bytes.fromhex(ALICE[2:])
    assert record[20:23] == bytes.fromhex("000005")  # series index 0, flags: isBuy | one-shot
    assert record[23:33] == bytes.fromhex("0107 0108 0109 010a 010b")  # nonceField = 10
    assert record[33:98] == b"\xab" * 65
    fill = packed[-FILL_BYTES:]
    assert fill == bytes.fromhex("0000 0001 0000") + (3).to_bytes(16, "big")


def test_a_signature_other_than_65_bytes_travels_behind_its_length() -> None:
    contract_sig = SignedOrder(Order(ALICE, SERIES_A, False, 1, 1, 0, 1, 1), b"\x01\x02\x03")
    packed = Batch(1, [Fill(contract_sig, _signed(BOB, True, 1), 1)]).packed()

    record = packed[HEADER_BYTES + 32 + FEE_BYTES :]
    assert record[22] == 0x02  # sell, length-prefixed signature
    assert record[23:32] == bytes.fromhex("0101 0101 00 0101 0101")  # maxFee 0 is one byte
    assert record[32:37] == b"\x00\x03\x01\x02\x03"
    assert decode_batch(packed).orders[0].signature == b"\x01\x02\x03"


def test_an_empty_batch_is_just_a_header() -> None:
    assert Batch(1, []).packed() == bytes(8)
    assert decode_batch(bytes(8)) == DecodedBatchData((), (), (), ())


def test_values_that_do_not_fit_their_field_are_refused_when_encoding() -> None:
    maker, taker = _signed(ALICE, False, 1), _signed(BOB, True, 1)
    with pytest.raises(SettlementError, match=r"amount .* uint128"):
        Batch(1, [Fill(maker, taker, 2**128)]).packed()
    with pytest.raises(SettlementError, match=r"maker fee rate .* uint128"):
        Batch(1, [Fill(maker, taker, 1, maker_fee=2**128)]).packed()
    with pytest.raises(SettlementError, match=r"taker fee rate .* uint128"):
        Batch(1, [Fill(maker, taker, 1, taker_fee=-1)]).packed()
    with pytest.raises(SettlementError, match="fee index"):
        encode_batch(DecodedBatchData((), (), (), (PackedFill(0, 0, 2**16, 1),)))
    with pytest.raises(SettlementError, match="not in the series table"):
        encode_batch(DecodedBatchData((SERIES_B,), (), (PackedOrder(maker.order, maker.signature),), ()))
    with pytest.raises(SettlementError, match="fill count"):
        Batch(1, [Fill(maker, taker, 1)] * 65_536).packed()


# --- compact integers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (1, "0101"),
        (0x7F, "017f"),
        (0xFF, "01ff"),
        (0x100, "020100"),
        (10**18, "080de0b6b3a7640000"),
        (2**248 - 1, "1f" + "ff" * 31),
        (2**248, "20" + "01" + "00" * 31),
        (2**255, "20" + "80" + "00" * 31),
        (2**256 - 1, "20" + "ff" * 32),
    ],
)
def test_compact_integers_use_the_minimal_length(value: int, encoded: str) -> None:
    assert encode_compact(value) == bytes.fromhex(encoded)
    assert decode_compact(bytes.fromhex(encoded) + b"\xee", 0) == (value, len(encoded) // 2)


@pytest.mark.parametrize("value", [-1, 2**256])
def test_a_compact_integer_outside_uint256_is_refused(value: int) -> None:
    with pytest.raises(SettlementError, match="outside uint256"):
        encode_compact(value)


@given(uint256)
def test_compact_integers_round_trip_without_a_leading_zero_byte(value: int) -> None:
    encoded = encode_compact(value)
    assert encoded[0] == len(encoded) - 1 <= 32
    assert value == 0 or encoded[1] != 0
    assert decode_compact(b"\x99" + encoded, 1) == (value, len(encoded) + 1)


def test_a_non_minimal_compact_integer_decodes() -> None:
    assert decode_compact(bytes.fromhex("03000005"), 0) == (5, 4)
    assert decode_compact(bytes.fromhex("20") + bytes(32), 0) == (0, 33)


@pytest.mark.parametrize(
    ("data", "at", "why"),
    [
        (b"", 0, "past the end"),
        (b"\x01\x05", 2, "past the end"),
        (b"\x21" + bytes(33), 0, "33 > 32"),
        (b"\xff" + bytes(300), 0, "255 > 32"),
        (b"\x02\x01", 0, "truncated"),
        (b"\x00\x20" + bytes(31), 1, "truncated"),
    ],
)
def test_a_bad_compact_integer_is_malformed_at_its_length_byte(data: bytes, at: int, why: str) -> None:
    with pytest.raises(MalformedBatchError, match=why) as info:
        decode_compact(data, at)
    assert info.value.offset == at


def _nonce_record(nonce: int) -> bytes:
    """The order record of a sell with every integer 0 but the nonce, its signature 65 x 0x01."""
    order = Order(ALICE, SERIES_A, False, 0, 0, 0, nonce, 0)
    packed = encode_batch(DecodedBatchData((SERIES_A,), (), (PackedOrder(order, b"\x01" * 65),), ()))
    return packed[HEADER_BYTES + 32 :]


@pytest.mark.parametrize(
    ("nonce", "flags", "field"),
    [
        (0, 0x00, "00"),
        (1, 0x00, "0101"),
        (2**255 - 1, 0x00, "20" + "7f" + "ff" * 31),  # the largest ordinary nonce: 32 bytes, bit 2 clear
        (2**255, 0x04, "00"),  # one-shot seq 0: the whole nonce in the flag
        (2**255 + 1, 0x04, "0101"),
        (one_shot_nonce(2**64 - 1), 0x04, "08" + "ff" * 8),
        (2**256 - 1, 0x04, "20" + "7f" + "ff" * 31),
    ],
)
def test_a_nonce_from_2_to_the_255_travels_as_flag_bit_2_and_the_rest(nonce: int, flags: int, field: str) -> None:
    record = _nonce_record(nonce)

    assert record[22] == flags
    assert record[23:26] == b"\x00\x00\x00"  # price, amount, maxFee
    n = len(field) // 2
    assert record[26 : 26 + n] == bytes.fromhex(field)
    assert record[26 + n : 27 + n] == b"\x00"  # expiry
    assert record[27 + n :] == b"\x01" * 65
    assert decode_batch(_with_header(record, n_series=1)).orders[0].order.nonce == nonce


def _with_header(records: bytes, *, n_series: int, n_orders: int = 1) -> bytes:
    return n_series.to_bytes(2, "big") + n_orders.to_bytes(2, "big") + bytes(4) + SERIES_A * n_series + records


def test_the_decoder_ors_the_one_shot_bit_into_any_nonce_field() -> None:
    record = bytearray(_nonce_record(0))  # nonce field: one zero-length compact integer at 26
    assert record[26] == 0
    ordinary_top = record[:26] + bytes.fromhex("20" + "80" + "00" * 30 + "07") + record[27:]
    one_shot_top = bytes(ordinary_top[:22]) + b"\x04" + bytes(ordinary_top[23:])

    assert decode_batch(_with_header(bytes(ordinary_top), n_series=1)).orders[0].order.nonce == 2**255 + 7
    assert decode_batch(_with_header(one_shot_top, n_series=1)).orders[0].order.nonce == 2**255 + 7


# --- decode is the exact inverse ----------------------------------------------------------------

series_ids = st.binary(min_size=32, max_size=32)
signatures = st.one_of(
    st.binary(min_size=65, max_size=65),
    st.binary(min_size=0, max_size=200),
    st.binary(min_size=1000, max_size=1100),
)
u128 = st.one_of(st.integers(0, 2**128 - 1), st.sampled_from([0, 1, 2**127, 2**128 - 1]))
nonces = (
    uint256
    | st.sampled_from([2**255 - 1, 2**255, 2**255 + 1, 2**256 - 1])
    | st.integers(0, 2**64 - 1).map(one_shot_nonce)
)


@st.composite
def batch_data(draw: st.DrawFn) -> DecodedBatchData:
    series = tuple(draw(st.lists(series_ids, min_size=1, max_size=4)))
    fees = tuple(draw(st.lists(st.tuples(u128, u128), max_size=4)))  # duplicates are allowed
    orders = tuple(
        PackedOrder(
            Order(
                draw(addresses),
                draw(st.sampled_from(series)),
                draw(st.booleans()),
                draw(uint256),
                draw(uint256),
                draw(uint256),
                draw(nonces),
                draw(uint256),
            ),
            draw(signatures),
        )
        for _ in range(draw(st.integers(0, 6)))
    )
    index = st.integers(0, len(orders) + 1) | st.just(2**16 - 1)  # indexes past the orders are allowed
    fee_index = st.integers(0, len(fees) + 1) | st.just(2**16 - 1)  # and past the fee table
    fills = tuple(
        PackedFill(draw(index), draw(index), draw(fee_index), draw(u128)) for _ in range(draw(st.integers(0, 6)))
    )
    return DecodedBatchData(series, fees, orders, fills)


@given(batch_data())
@settings(max_examples=300)
def test_decode_inverts_encode(data: DecodedBatchData) -> None:
    assert decode_batch(encode_batch(data)) == data


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    pool = [
        SignedOrder(
            Order(
                draw(addresses),
                draw(st.sampled_from([SERIES_A, SERIES_B])),
                draw(st.booleans()),
                draw(uint256),
                draw(uint256),
                draw(uint256),
                draw(nonces),
                draw(uint256),
            ),
            draw(st.binary(min_size=1, max_size=100) | st.binary(min_size=65, max_size=65)),
        )
        for _ in range(draw(st.integers(1, 5)))
    ]
    rates = st.sampled_from([0, 1, 2**128 - 1]) | st.integers(0, 2**128 - 1)
    fills = [
        Fill(draw(st.sampled_from(pool)), draw(st.sampled_from(pool)), draw(u128), draw(rates), draw(rates))
        for _ in range(draw(st.integers(0, 8)))
    ]
    return Batch(draw(st.integers(1, 2**64 - 1)), fills)


@given(batches())
@settings(max_examples=200)
def test_a_batch_survives_packing_fill_for_fill(batch: Batch) -> None:
    data = decode_batch(batch.packed())
    assert data.to_fills() == batch.fills
    assert len(set(data.fees)) == len(data.fees) == len({(f.maker_fee, f.taker_fee) for f in batch.fills})


# --- malformed input ------------------------------------------------------------------------------


def _malformed(packed: bytes) -> MalformedBatchError:
    with pytest.raises(MalformedBatchError) as info:
        decode_batch(packed)
    return info.value


@given(batch_data(), st.data())
@settings(max_examples=200)
def test_every_truncation_is_refused(data: DecodedBatchData, draw: st.DataObject) -> None:
    packed = encode_batch(data)
    cut = draw.draw(st.integers(0, len(packed) - 1))

    error = _malformed(packed[:cut])

    # the offset the exchange names: at most the cut, except cut tables (named where the orders start)
    tables_end = HEADER_BYTES + 32 * len(data.series) + FEE_BYTES * len(data.fees)
    assert 0 <= error.offset <= max(cut, tables_end)
    assert f"byte {error.offset}" in str(error) and "truncated" in str(error)


@given(batch_data(), st.binary(min_size=1, max_size=40))
def test_trailing_bytes_are_refused_at_the_start_of_the_fills(data: DecodedBatchData, extra: bytes) -> None:
    packed = encode_batch(data)

    error = _malformed(packed + extra)

    assert error.offset == len(packed) - FILL_BYTES * len(data.fills) and "trailing" in str(error)


def _two_order_batch() -> bytes:
    """One fill between two orders of `_signed` shape (records of RECORD_BYTES) at fee pair (0, 0)."""
    return Batch(1, [Fill(_signed(ALICE, False, 1), _signed(BOB, True, 1), 1)]).packed()


FIRST = HEADER_BYTES + 32 + FEE_BYTES  # the first order record of `_two_order_batch`
SECOND = FIRST + RECORD_BYTES
FILLS = SECOND + RECORD_BYTES


def test_the_two_order_batch_has_the_layout_the_offsets_below_assume() -> None:
    packed = _two_order_batch()
    assert len(packed) == FILLS + FILL_BYTES
    for name, at in COMPACT_AT.items():
        assert packed[SECOND + at] == COMPACT_LENGTH[name], name


@pytest.mark.parametrize("length", range(HEADER_BYTES))
def test_a_batch_shorter_than_the_header_is_malformed_at_0(length: int) -> None:
    error = _malformed(_two_order_batch()[:length])
    assert error.offset == 0 and "header" in str(error)


@pytest.mark.parametrize(
    ("n_series", "n_fees", "body"),
    [
        (3, 0, 95),  # the series table is one byte short
        (1, 2, 32 + 63),  # the fee table is one byte short
        (2, 2, 0),  # both tables missing
        (0, 1, 31),
        (65_535, 65_535, 1000),
    ],
)
def test_tables_past_the_end_are_malformed_where_the_orders_would_start(n_series: int, n_fees: int, body: int) -> None:
    header = n_series.to_bytes(2, "big") + b"\x00\x00\x00\x00" + n_fees.to_bytes(2, "big")

    error = _malformed(header + bytes(body))

    assert error.offset == HEADER_BYTES + 32 * n_series + 32 * n_fees and "truncated" in str(error)


def test_tables_that_end_exactly_at_the_end_are_not_a_table_fault() -> None:
    packed = bytes.fromhex("0001 0000 0000 0001") + SERIES_A + bytes(32)
    assert decode_batch(packed) == DecodedBatchData((SERIES_A,), ((0, 0),), (), ())
    error = _malformed(bytes.fromhex("0001 0001 0000 0001") + SERIES_A + bytes(32))  # one order, no bytes
    assert error.offset == HEADER_BYTES + 64 and "order 0" in str(error)


@pytest.mark.parametrize("keep", [0, 1, 20, 22])
def test_an_order_record_whose_fixed_part_runs_past_the_end_is_malformed_at_its_start(keep: int) -> None:
    error = _malformed(_two_order_batch()[: SECOND + keep])
    assert error.offset == SECOND and "order 1 needs 23 bytes" in str(error)


@pytest.mark.parametrize("index", [1, 2, 0xFFFF])
def test_a_series_index_outside_the_table_is_malformed_at_the_record_start(index: int) -> None:
    packed = bytearray(_two_order_batch())
    packed[SECOND + 20 : SECOND + 22] = index.to_bytes(2, "big")

    error = _malformed(bytes(packed))

    assert error.offset == SECOND and f"series index {index}" in str(error)


@pytest.mark.parametrize("flags", [0x08, 0x09, 0x0F, 0x10, 0x80, 0xFF])
def test_flags_above_7_are_malformed_at_the_record_start(flags: int) -> None:
    packed = bytearray(_two_order_batch())
    packed[FIRST + 22] = flags

    error = _malformed(bytes(packed))

    assert error.offset == FIRST and "flag" in str(error)


@pytest.mark.parametrize("flags", range(8))
def test_flags_up_to_7_parse(flags: int) -> None:
    packed = bytearray(_two_order_batch())
    packed[FIRST + 22] = flags
    if flags & 0x02:  # the 65 signature bytes 0x01 now start with a uint16 length 0x0101 = 257: give it room
        packed[FIRST + SIGNATURE_AT : FIRST + SIGNATURE_AT + 2] = (63).to_bytes(2, "big")

    order = decode_batch(bytes(packed)).orders[0]

    assert order.order.is_buy is bool(flags & 1)
    assert order.order.nonce == (2**255 | 1 if flags & 4 else 1)
    assert len(order.signature) == (63 if flags & 2 else 65)


@pytest.mark.parametrize("field", list(COMPACT_AT))
def test_a_compact_length_byte_past_the_end_is_malformed_at_that_byte(field: str) -> None:
    at = SECOND + COMPACT_AT[field]

    error = _malformed(_two_order_batch()[:at])

    assert error.offset == at and f"order 1's {field}" in str(error) and "truncated" in str(error)


@pytest.mark.parametrize("field", list(COMPACT_AT))
@pytest.mark.parametrize("length", [33, 0x80, 0xFF])
def test_a_compact_length_above_32_is_malformed_at_that_byte(field: str, length: int) -> None:
    packed = bytearray(_two_order_batch())
    at = FIRST + COMPACT_AT[field]
    packed[at] = length

    error = _malformed(bytes(packed))

    assert error.offset == at and f"order 0's {field}" in str(error) and f"{length} > 32" in str(error)


@pytest.mark.parametrize("field", list(COMPACT_AT))
@pytest.mark.parametrize("short", [1, 0])  # none of its bytes, all but one
def test_compact_bytes_past_the_end_are_malformed_at_the_length_byte(field: str, short: int) -> None:
    at = SECOND + COMPACT_AT[field]
    keep = 1 if short else COMPACT_LENGTH[field]

    error = _malformed(_two_order_batch()[: at + keep])

    assert error.offset == at and f"order 1's {field}" in str(error) and "truncated" in str(error)


def test_a_compact_length_running_past_the_end_of_the_batch_is_malformed_at_that_byte() -> None:
    packed = bytearray(_two_order_batch())
    at = SECOND + COMPACT_AT["expiry"]
    packed[at] = 32  # 6 + 65 + 22 bytes follow: fewer than expiry's 32 plus a signature, but 32 do fit

    error = _malformed(bytes(packed[: at + 1 + 31]))

    assert error.offset == at and "needs 32 bytes" in str(error)


def test_a_signature_length_prefix_past_the_end_is_malformed_at_the_prefix() -> None:
    packed = bytearray(_two_order_batch())
    packed[SECOND + 22] |= 0x02
    sig = SECOND + SIGNATURE_AT

    for keep in (0, 1):
        error = _malformed(bytes(packed[: sig + keep]))
        assert error.offset == sig and "signature length" in str(error)


def test_signature_bytes_past_the_end_are_malformed_where_they_start() -> None:
    packed = bytearray(_two_order_batch())
    sig = SECOND + SIGNATURE_AT
    for keep in (0, 1, 64):  # a bare 65-byte signature cut short
        error = _malformed(bytes(packed[: sig + keep]))
        assert error.offset == sig and "signature needs 65" in str(error)

    packed[FIRST + 22] |= 0x02  # the first signature now starts with a uint16 length: 0xffff bytes
    packed[FIRST + SIGNATURE_AT : FIRST + SIGNATURE_AT + 2] = b"\xff\xff"
    error = _malformed(bytes(packed))
    assert error.offset == FIRST + SIGNATURE_AT + 2 and "signature needs 65535" in str(error)


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda p: p[:-1], "truncated"),
        (lambda p: p[:FILLS], "truncated"),
        (lambda p: p + b"\x00", "trailing"),
        (lambda p: p + bytes(FILL_BYTES), "trailing"),
        (lambda p: p[:4] + b"\x00\x02" + p[6:], "truncated"),  # one fill more declared than carried
        (lambda p: p[:4] + b"\x00\x00" + p[6:], "trailing"),  # no fills declared, one carried
    ],
)
def test_fills_not_exactly_22_bytes_each_are_malformed_where_the_fills_start(
    edit: Callable[[bytes], bytes], why: str
) -> None:
    error = _malformed(edit(_two_order_batch()))
    assert error.offset == FILLS and why in str(error)


def test_fill_indexes_past_the_orders_decode_but_do_not_resolve() -> None:
    data = DecodedBatchData((), ((1, 2),), (), (PackedFill(0, 3, 0, 1),))

    decoded = decode_batch(encode_batch(data))

    assert decoded.fill_orders(decoded.fills[0]) is None
    assert decoded.fill_fees(decoded.fills[0]) == (1, 2)
    with pytest.raises(SettlementError, match="order index"):
        decoded.to_fills()


@pytest.mark.parametrize(("n_fees", "fee_index"), [(0, 0), (1, 1), (2, 0xFFFF)])
def test_a_fee_index_past_the_fee_table_decodes_but_does_not_resolve(n_fees: int, fee_index: int) -> None:
    maker, taker = _signed(ALICE, False, 1), _signed(BOB, True, 1)
    data = DecodedBatchData(
        (SERIES_A,),
        tuple((k, k + 1) for k in range(n_fees)),
        (PackedOrder(maker.order, maker.signature), PackedOrder(taker.order, taker.signature)),
        (PackedFill(0, 1, fee_index, 1),),
    )

    decoded = decode_batch(encode_batch(data))

    assert decoded == data
    assert decoded.fill_orders(decoded.fills[0]) is not None
    assert decoded.fill_fees(decoded.fills[0]) is None
    with pytest.raises(SettlementError, match=f"fee index {fee_index} is outside"):
        decoded.to_fills()


# --- the calldata (compiled ABI) ----------------------------------------------------------------


def test_the_calldata_is_settle_batch_of_seq_and_the_packed_bytes() -> None:
    maker, taker = _signed(ALICE, False, 1), _signed(BOB, True, one_shot_nonce(5))
    batch = Batch(9, [Fill(maker, taker, 10**17, 1, 2)])

    calldata = batch.calldata()

    assert calldata[:4] == keccak256(b"settleBatch(uint64,bytes)")[:4]
    assert calldata[:4] == contract_abi("Exchange").selector("settleBatch")
    assert tuple(abi_decode(["uint64", "bytes"], calldata[4:])) == (9, batch.packed())
    seq, data = decode_settle_call(calldata)
    assert seq == 9 and data.to_fills() == batch.fills
    assert batch.fingerprint() == keccak256(calldata)


def test_calldata_of_another_function_or_a_broken_wrapper_is_refused() -> None:
    calldata = Batch(1, []).calldata()
    with pytest.raises(SettlementError, match="not settleBatch"):
        decode_settle_call(b"\x00\x00\x00\x00" + calldata[4:])
    with pytest.raises(SettlementError, match="ABI-decode"):
        decode_settle_call(calldata[:40])
    with pytest.raises(MalformedBatchError):
        decode_settle_call(calldata[:4] + abi_encode(["uint64", "bytes"], [1, bytes(7)]))  # a 7-byte batch


@given(st.binary(max_size=400), st.binary(max_size=300))
@settings(max_examples=300)
def test_any_bytes_after_the_selector_decode_or_raise_a_settlement_error(tail: bytes, packed: bytes) -> None:
    selector = contract_abi("Exchange").selector("settleBatch")
    for calldata in (selector + tail, selector + abi_encode(["uint64", "bytes"], [1, packed])):
        try:
            seq, data = decode_settle_call(calldata)
        except SettlementError:
            continue
        assert decode_batch(encode_batch(data)) == data
        assert 0 <= seq < 2**64
