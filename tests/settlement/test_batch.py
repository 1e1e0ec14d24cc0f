"""The packed `settleBatch(uint64 seq, bytes batch)` format: each signed order once, series in a
table, fills referencing orders by index; `decode_batch` is the exact inverse of the encoder and
refuses every structural fault the exchange reverts on, naming its byte offset."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement._hashing import keccak256
from settlement.abi import contract_abi
from settlement.batch import (
    ECDSA_SIGNATURE_BYTES,
    FILL_BYTES,
    HEADER_BYTES,
    ORDER_FIXED_BYTES,
    Batch,
    DecodedBatchData,
    Fill,
    PackedFill,
    PackedOrder,
    decode_batch,
    decode_settle_call,
    encode_batch,
)
from settlement.errors import MalformedBatchError, SettlementError
from settlement.order import Order, SignedOrder, one_shot_nonce
from tests.settlement.strategies import addresses, uint256

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CAROL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
SERIES_A = bytes(range(32))
SERIES_B = bytes(range(1, 33))


def _signed(maker: str, is_buy: bool, nonce: int, sig_byte: int = 1, series: bytes = SERIES_A) -> SignedOrder:
    order = Order(maker, series, is_buy, 100, 10**18, 5, nonce, 2**40)
    return SignedOrder(order, bytes([sig_byte]) * 65)


# --- the encoder's layout -----------------------------------------------------------------------


def test_a_maker_order_used_by_many_fills_travels_once() -> None:
    maker = _signed(ALICE, False, 1)
    takers = [_signed(BOB, True, 1), _signed(CAROL, True, 1), _signed(BOB, True, 2)]
    batch = Batch(7, [Fill(maker, t, 10**17, 1, 2) for t in takers])

    data = decode_batch(batch.packed())

    assert data.series == (SERIES_A,)
    assert batch.orders() == (maker, *takers)
    assert [SignedOrder(o.order, o.signature) for o in data.orders] == list(batch.orders())
    assert data.fills == tuple(PackedFill(0, i, 10**17, 1, 2) for i in (1, 2, 3))
    assert len(batch.packed()) == HEADER_BYTES + 32 + 4 * (ORDER_FIXED_BYTES + 65) + 3 * FILL_BYTES


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


def test_the_order_record_is_big_endian_without_padding() -> None:
    order = Order(ALICE, SERIES_A, True, 7, 8, 9, one_shot_nonce(10), 11)
    packed = Batch(1, [Fill(SignedOrder(order, b"\xab" * 65), _signed(BOB, False, 1), 3, 4, 5)]).packed()

    assert packed[:6] == bytes.fromhex("000100020001")
    record = packed[HEADER_BYTES + 32 :]
    assert record[:20] == bytes.fromhex(ALICE[2:])
    assert record[20:23] == bytes.fromhex("000001")  # series index 0, flags: isBuy
    assert [int.from_bytes(record[23 + 32 * k : 55 + 32 * k], "big") for k in range(5)] == [
        7,
        8,
        9,
        (1 << 255) | 10,
        11,
    ]
    assert record[ORDER_FIXED_BYTES : ORDER_FIXED_BYTES + 65] == b"\xab" * 65
    fill = packed[-FILL_BYTES:]
    assert fill == bytes.fromhex("00000001") + (3).to_bytes(16, "big") + (4).to_bytes(16, "big") + (5).to_bytes(
        16, "big"
    )


def test_a_signature_other_than_65_bytes_travels_behind_its_length() -> None:
    contract_sig = SignedOrder(Order(ALICE, SERIES_A, False, 1, 1, 0, 1, 1), b"\x01\x02\x03")
    packed = Batch(1, [Fill(contract_sig, _signed(BOB, True, 1), 1)]).packed()

    record = packed[HEADER_BYTES + 32 :]
    assert record[22] == 0x02  # sell, length-prefixed signature
    assert record[ORDER_FIXED_BYTES : ORDER_FIXED_BYTES + 5] == b"\x00\x03\x01\x02\x03"
    assert decode_batch(packed).orders[0].signature == b"\x01\x02\x03"


def test_an_empty_batch_is_just_a_header() -> None:
    assert Batch(1, []).packed() == bytes(6)
    assert decode_batch(bytes(6)) == DecodedBatchData((), (), ())


def test_values_that_do_not_fit_their_field_are_refused_when_encoding() -> None:
    maker, taker = _signed(ALICE, False, 1), _signed(BOB, True, 1)
    with pytest.raises(SettlementError, match=r"amount .* uint128"):
        Batch(1, [Fill(maker, taker, 2**128)]).packed()
    with pytest.raises(SettlementError, match=r"maker fee .* uint128"):
        Batch(1, [Fill(maker, taker, 1, maker_fee=2**128)]).packed()
    with pytest.raises(SettlementError, match="not in the series table"):
        encode_batch(DecodedBatchData((SERIES_B,), (PackedOrder(maker.order, maker.signature),), ()))
    with pytest.raises(SettlementError, match="fill count"):
        Batch(1, [Fill(maker, taker, 1)] * 65_536).packed()


# --- decode is the exact inverse ----------------------------------------------------------------

series_ids = st.binary(min_size=32, max_size=32)
signatures = st.one_of(
    st.binary(min_size=65, max_size=65),
    st.binary(min_size=0, max_size=200),
    st.binary(min_size=1000, max_size=1100),
)


@st.composite
def batch_data(draw: st.DrawFn) -> DecodedBatchData:
    series = tuple(draw(st.lists(series_ids, min_size=1, max_size=4)))
    orders = tuple(
        PackedOrder(
            Order(
                draw(addresses),
                draw(st.sampled_from(series)),
                draw(st.booleans()),
                draw(uint256),
                draw(uint256),
                draw(uint256),
                draw(uint256),
                draw(uint256),
            ),
            draw(signatures),
        )
        for _ in range(draw(st.integers(0, 6)))
    )
    u128 = st.one_of(st.integers(0, 2**128 - 1), st.sampled_from([0, 1, 2**127, 2**128 - 1]))
    index = st.integers(0, len(orders) + 1) | st.just(2**16 - 1)  # indexes past the orders are allowed
    fills = tuple(
        PackedFill(draw(index), draw(index), draw(u128), draw(u128), draw(u128)) for _ in range(draw(st.integers(0, 6)))
    )
    return DecodedBatchData(series, orders, fills)


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
                draw(uint256),
                draw(uint256),
            ),
            draw(st.binary(min_size=1, max_size=100) | st.binary(min_size=65, max_size=65)),
        )
        for _ in range(draw(st.integers(1, 5)))
    ]
    u128 = st.integers(0, 2**128 - 1)
    fills = [
        Fill(draw(st.sampled_from(pool)), draw(st.sampled_from(pool)), draw(u128), draw(u128), draw(u128))
        for _ in range(draw(st.integers(0, 8)))
    ]
    return Batch(draw(st.integers(1, 2**64 - 1)), fills)


@given(batches())
@settings(max_examples=200)
def test_a_batch_survives_packing_fill_for_fill(batch: Batch) -> None:
    assert decode_batch(batch.packed()).to_fills() == batch.fills


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

    # the offset the exchange names: at most the cut, except a cut series table (named at its end)
    assert 0 <= error.offset <= max(cut, HEADER_BYTES + 32 * len(data.series))
    assert f"byte {error.offset}" in str(error) and "truncated" in str(error)


@given(batch_data(), st.binary(min_size=1, max_size=40))
def test_trailing_bytes_are_refused_at_the_start_of_the_fills(data: DecodedBatchData, extra: bytes) -> None:
    packed = encode_batch(data)

    error = _malformed(packed + extra)

    assert error.offset == len(packed) - FILL_BYTES * len(data.fills) and "trailing" in str(error)


def _one_order_batch() -> bytes:
    return Batch(1, [Fill(_signed(ALICE, False, 1), _signed(BOB, True, 1, series=SERIES_A), 1)]).packed()


@pytest.mark.parametrize("index", [1, 2, 0xFFFF])
def test_a_series_index_outside_the_table_is_refused(index: int) -> None:
    packed = bytearray(_one_order_batch())
    second = HEADER_BYTES + 32 + ORDER_FIXED_BYTES + ECDSA_SIGNATURE_BYTES  # the second order record
    packed[second + 20 : second + 22] = index.to_bytes(2, "big")

    error = _malformed(bytes(packed))

    assert error.offset == second and f"series index {index}" in str(error)


@pytest.mark.parametrize("flags", [0x04, 0x08, 0x80, 0xFF, 0x05])
def test_unknown_flag_bits_are_refused(flags: int) -> None:
    packed = bytearray(_one_order_batch())
    packed[HEADER_BYTES + 32 + 22] = flags

    error = _malformed(bytes(packed))

    assert error.offset == HEADER_BYTES + 32 and "flag" in str(error)


def test_a_signature_length_running_past_the_end_is_refused() -> None:
    packed = bytearray(_one_order_batch())
    first = HEADER_BYTES + 32
    packed[first + 22] |= 0x02  # the 65 signature bytes now start with a uint16 length
    packed[first + ORDER_FIXED_BYTES : first + ORDER_FIXED_BYTES + 2] = b"\xff\xff"

    error = _malformed(bytes(packed))
    assert error.offset == first + ORDER_FIXED_BYTES + 2 and "signature" in str(error)


def test_fill_indexes_past_the_orders_decode_but_do_not_resolve() -> None:
    data = DecodedBatchData((), (), (PackedFill(0, 3, 1, 0, 0),))

    decoded = decode_batch(encode_batch(data))

    assert decoded.fill_orders(decoded.fills[0]) is None
    with pytest.raises(SettlementError, match="order index"):
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
        decode_settle_call(calldata[:4] + abi_encode(["uint64", "bytes"], [1, b"\x00"]))  # a 1-byte batch


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
