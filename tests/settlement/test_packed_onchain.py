"""The packed batch (encoding v3) and the one-shot window against the real exchange on Anvil: the
decoder names the same offset as `MalformedBatch` for every rule of the spec, fee indexes select the
fee table entry (one past it: BadFeeIndex, after BadOrderIndex), and the Python window model gives
the same `oneShotWindow` and `isOneShotSpent` as the contract after fills and cancels."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from keys.signer import LocalSigner
from settlement.batch import (
    ECDSA_SIGNATURE_BYTES,
    FEE_BYTES,
    FILL_BYTES,
    HEADER_BYTES,
    ORDER_FIXED_BYTES,
    Batch,
    Fill,
    PackedFill,
    SkipReason,
    decode_batch,
    encode_batch,
    encode_compact,
    encode_settle_call,
)
from settlement.chain import CallReverted
from settlement.errors import MalformedBatchError
from settlement.journal import SQLiteSubmitJournal
from settlement.oneshot import OneShotWindow
from settlement.order import ONE_SHOT_FLAG, Order, one_shot_nonce
from settlement.signing import sign_order
from settlement.submitter import Submitter
from tests.settlement.venue import EXCHANGE, OPTION, PRICE, USD, Venue, _key, setup_venue
from tests.support.chain import ChainNode


def _contract_offset(venue: Venue, packed: bytes) -> int:
    """The offset of the exchange's `MalformedBatch` revert for `packed` as batch lastSeq + 1."""
    calldata = encode_settle_call(venue.last_seq() + 1, packed)
    with pytest.raises(CallReverted) as info:
        venue.chain.call(venue.manifest.exchange, calldata, sender=venue.operator.address)
    assert info.value.data is not None
    error = EXCHANGE.decode_error(info.value.data)
    assert error is not None and error.name == "MalformedBatch", error
    return int(error.args["offset"])


def _decoder_offset(packed: bytes) -> int:
    with pytest.raises(MalformedBatchError) as info:
        decode_batch(packed)
    return info.value.offset


def _edit(packed: bytes, at: int, value: bytes) -> bytes:
    return packed[:at] + value + packed[at + len(value) :]


def _compact_offsets(order: Order) -> dict[str, int]:
    """Offsets within `order`'s record of its five compact integers' length bytes and its signature."""
    at, out = ORDER_FIXED_BYTES, {}
    nonce_field = order.nonce - ONE_SHOT_FLAG if order.nonce >= ONE_SHOT_FLAG else order.nonce
    for name, value in zip(
        ("price", "amount", "maxFee", "nonce", "expiry", "signature"),
        (order.price, order.amount, order.max_fee, nonce_field, order.expiry, 0),
        strict=True,
    ):
        out[name] = at
        at += len(encode_compact(value))
    return out


def test_the_decoder_names_the_offset_the_exchange_reverts_with(anvil: ChainNode) -> None:
    """Every MalformedBatch rule of batch encoding v3 (docs/PROTOCOL.md): the offset the spec gives,
    the decoder's and the exchange's, all equal."""
    venue = setup_venue(anvil, n_traders=3)
    batch = Batch(1, [venue.fill(0, 1), venue.fill(1, 2)])
    good = batch.packed()
    layout = batch.layout()
    assert len(layout.series) == 1 and len(layout.fees) == 1 and len(layout.orders) == 4
    assert all(len(o.signature) == ECDSA_SIGNATURE_BYTES for o in layout.orders)
    first = HEADER_BYTES + 32 + FEE_BYTES
    first_sig = first + _compact_offsets(layout.orders[0].order)["signature"]
    second = first_sig + ECDSA_SIGNATURE_BYTES
    at = _compact_offsets(layout.orders[1].order)  # within the second record
    fills = len(good) - 2 * FILL_BYTES
    assert good[fills:] == encode_batch(replace(layout, series=(), orders=()))[HEADER_BYTES + FEE_BYTES :]
    cases: dict[str, tuple[bytes, int]] = {
        "empty": (b"", 0),
        "short header": (good[:7], 0),
        "series table past the end": (bytes.fromhex("0003 0001 0000 0001") + bytes(32), HEADER_BYTES + 128),
        "fee table past the end": (bytes.fromhex("0001 0001 0000 0002") + bytes(32 + 63), HEADER_BYTES + 96),
        "tables fit, no order bytes": (good[:first], first),
        "truncated order fixed part": (good[: second + 22], second),
        "series index >= nSeries": (_edit(good, second + 20, b"\x00\x01"), second),
        "flags 8": (_edit(good, first + 22, b"\x08"), first),
        "flags 0xff": (_edit(good, second + 22, b"\xff"), second),
        "compact length byte past the end": (good[: second + at["price"]], second + at["price"]),
        "compact length 33": (_edit(good, second + at["amount"], b"\x21"), second + at["amount"]),
        "compact length 0xff": (_edit(good, first + at["expiry"], b"\xff"), first + at["expiry"]),
        "compact bytes past the end": (good[: second + at["maxFee"] + 2], second + at["maxFee"]),
        "expiry bytes past the end": (good[: second + at["signature"] - 1], second + at["expiry"]),
        "signature length past the end": (
            _edit(good, second + 22, b"\x02")[: second + at["signature"] + 1],
            second + at["signature"],
        ),
        "signature past the end (prefixed)": (
            _edit(_edit(good, first + 22, b"\x02"), first_sig, b"\xff\xff"),
            first_sig + 2,
        ),
        "signature past the end (65 bytes)": (good[: second + at["signature"] + 10], second + at["signature"]),
        "truncated fills": (good[:-1], fills),
        "trailing byte": (good + b"\x00", fills),
        "one fill too many declared": (_edit(good, 4, b"\x00\x05"), fills),
    }

    wrong = []
    for name, (packed, expected) in cases.items():
        decoder, contract = _decoder_offset(packed), _contract_offset(venue, packed)
        if not decoder == contract == expected:
            wrong.append(f"{name}: spec {expected}, decoder {decoder}, exchange {contract}")
    assert not wrong, wrong


def test_a_non_minimal_compact_integer_parses_and_signs_the_same_order(anvil: ChainNode) -> None:
    """The encoder writes minimal lengths; a longer one (leading zero bytes) is still the same order."""
    venue = setup_venue(anvil, n_traders=3)
    batch = Batch(1, [venue.fill(0, 1)])
    good = batch.packed()
    first = HEADER_BYTES + 32 + FEE_BYTES
    price = first + _compact_offsets(batch.layout().orders[0].order)["price"]
    n = good[price]
    padded = good[:price] + bytes((32,)) + bytes(32 - n) + good[price + 1 :]  # price as 32 bytes
    assert decode_batch(padded) == decode_batch(good) and padded != good

    receipt = venue.send(venue.operator, venue.manifest.exchange, encode_settle_call(1, padded))

    names = [d[0] for d in (EXCHANGE.decode_log(list(log.topics), log.data) for log in receipt.logs) if d]
    assert names.count("Trade") == 1 and "FillSkipped" not in names


def test_fee_indexes_select_the_fee_table_entry_and_one_past_it_is_skipped_bad_fee_index(anvil: ChainNode) -> None:
    venue = setup_venue(anvil, n_traders=3)
    layout = Batch(1, [venue.fill(0, 1), venue.fill(1, 2)]).layout()  # orders: maker, taker, maker, taker
    fees = ((USD // 10, USD // 5), (USD // 20, USD // 50))
    fills = (
        PackedFill(0, 1, 1, OPTION),  # filled at fee entry 1
        PackedFill(2, 3, 2, OPTION),  # fee index == nFees: 26
        PackedFill(2, 9, 2, OPTION),  # bad order index and bad fee index: 23 first
        PackedFill(2, 3, 0xFFFF, 0),  # bad fee index and zero amount: 26 first
        PackedFill(2, 3, 0, 0),  # a good fee index, zero amount: 1
        PackedFill(2, 3, 0, OPTION),  # filled at fee entry 0
    )
    data = replace(layout, fees=fees, fills=fills)

    receipt = venue.send(venue.operator, venue.manifest.exchange, encode_settle_call(1, data.encode()))

    skipped: dict[int, int] = {}
    trades: dict[int, dict[str, Any]] = {}
    for log in receipt.logs:
        decoded = EXCHANGE.decode_log(list(log.topics), log.data)
        if decoded is not None and decoded[0] == "FillSkipped":
            skipped[int(decoded[1]["index"])] = int(decoded[1]["reason"])
        elif decoded is not None and decoded[0] == "Trade":
            trades[int(decoded[1]["index"])] = decoded[1]
    assert skipped == {
        1: SkipReason.BAD_FEE_INDEX,
        2: SkipReason.BAD_ORDER_INDEX,
        3: SkipReason.BAD_FEE_INDEX,
        4: SkipReason.ZERO_AMOUNT,
    }
    assert sorted(trades) == [0, 5]
    for index, (maker_fee, taker_fee) in ((0, fees[1]), (5, fees[0])):
        trade = trades[index]
        assert trade["seq"] == 1 and trade["amount"] == OPTION and trade["price"] == PRICE
        assert trade["premium"] == PRICE and trade["makerIsBuy"] is True
        assert (trade["makerFee"], trade["takerFee"]) == (maker_fee, taker_fee)  # one whole option: fee = rate


def _one_shot(venue: Venue, trader: int, seq: int, *, is_buy: bool, amount: int) -> Order:
    t = venue.traders[trader]
    return Order(t.address, venue.series, is_buy, PRICE, amount, USD, one_shot_nonce(seq), venue.series_expiry - 1)


def _window(venue: Venue, account: str) -> OneShotWindow:
    base, bits = venue.call("Exchange", venue.manifest.exchange, "oneShotWindow", account, venue.series)
    return OneShotWindow(int(base), int(bits))


def _spent(venue: Venue, account: str, seq: int) -> bool:
    (spent,) = venue.call("Exchange", venue.manifest.exchange, "isOneShotSpent", account, venue.series, seq)
    return bool(spent)


def test_a_one_shot_order_fills_within_one_batch_and_the_window_matches_the_model(
    anvil: ChainNode, tmp_path: Path
) -> None:
    venue = setup_venue(anvil, n_traders=3)
    submitter = Submitter(venue.chain, venue.operator, venue.manifest.exchange, SQLiteSubmitJournal(tmp_path / "j"))
    taker = venue.traders[2]
    domain = venue.manifest.domain
    one_shot = sign_order(_one_shot(venue, 2, 1_000, is_buy=True, amount=3 * OPTION), domain, _key(taker))
    sellers = [
        sign_order(venue.order(venue.traders[i], is_buy=False, amount=5 * OPTION), domain, _key(venue.traders[i]))
        for i in (0, 1)
    ]

    first = submitter.submit(
        Batch(
            1,
            [
                Fill(sellers[0], one_shot, OPTION),
                Fill(sellers[1], one_shot, 2 * OPTION),
                Fill(sellers[0], one_shot, 1),  # 3 options + 1 unit: over the one-shot amount
            ],
        )
    )
    again = submitter.submit(Batch(2, [Fill(sellers[1], one_shot, 1)]))

    assert first.filled == (0, 1) and first.skipped == {2: SkipReason.TAKER_OVERFILL}
    assert again.skipped == {0: SkipReason.TAKER_ORDER_SPENT}
    assert venue.position(taker.address) == 3 * OPTION
    model = OneShotWindow().spend(1_000)
    assert _window(venue, taker.address) == model == OneShotWindow(0, 0).spend(1_000)
    assert _window(venue, venue.traders[0].address) == OneShotWindow()  # ordinary orders leave it alone

    # cancels, by the trader and by a delegate: spent numbers, a slide by less and by more than 64
    delegate = LocalSigner(venue.node.keys[9])
    venue.send(taker, venue.manifest.exchange, EXCHANGE.encode_call("setDelegate", delegate.address, 2**40))
    steps: list[tuple[LocalSigner, list[int]]] = [
        (taker, [1_001, 1_010, 999]),
        (delegate, [1_070, 1_000]),
        (taker, [5_000, 4_990, 4_900]),
        (delegate, [2**64 - 1]),
    ]
    for sender, seqs in steps:
        call = (
            EXCHANGE.encode_call("cancelOneShot", venue.series, seqs)
            if sender is taker
            else EXCHANGE.encode_call("cancelOneShotFor", taker.address, venue.series, seqs)
        )
        venue.send(sender, venue.manifest.exchange, call)
        for seq in seqs:
            model = model.spend(seq)
        assert _window(venue, taker.address) == model, seqs
        for probe in (0, 998, 999, 1_000, 1_006, 1_007, 1_069, 1_071, 4_936, 4_937, 4_990, 4_991, 5_000, 5_001):
            assert _spent(venue, taker.address, probe) == model.is_spent(probe), (seqs, probe)

    late = sign_order(_one_shot(venue, 2, 5_001, is_buy=True, amount=OPTION), domain, _key(taker))
    assert submitter.submit(Batch(3, [Fill(sellers[0], late, OPTION)])).skipped == {0: SkipReason.TAKER_ORDER_SPENT}
