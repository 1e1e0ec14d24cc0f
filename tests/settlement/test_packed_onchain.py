"""The packed batch and the one-shot window against the real exchange on Anvil: the decoder names
the same offset as `MalformedBatch`, and the Python window model gives the same `oneShotWindow`
and `isOneShotSpent` as the contract after fills and cancels."""

from __future__ import annotations

from pathlib import Path

import pytest

from keys.signer import LocalSigner
from settlement.batch import (
    ECDSA_SIGNATURE_BYTES,
    FILL_BYTES,
    HEADER_BYTES,
    ORDER_FIXED_BYTES,
    Batch,
    Fill,
    SkipReason,
    decode_batch,
    encode_settle_call,
)
from settlement.chain import CallReverted
from settlement.errors import MalformedBatchError
from settlement.journal import SQLiteSubmitJournal
from settlement.oneshot import OneShotWindow
from settlement.order import Order, one_shot_nonce
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


def _edit(packed: bytes, at: int, value: bytes) -> bytes:
    return packed[:at] + value + packed[at + len(value) :]


def test_the_decoder_names_the_offset_the_exchange_reverts_with(anvil: ChainNode) -> None:
    venue = setup_venue(anvil, n_traders=3)
    good = Batch(1, [venue.fill(0, 1), venue.fill(1, 2)]).packed()
    first = HEADER_BYTES + 32
    second = first + ORDER_FIXED_BYTES + ECDSA_SIGNATURE_BYTES
    fills = len(good) - 2 * FILL_BYTES
    cases = {
        "short header": good[:5],
        "series table past the end": bytes.fromhex("000300010000") + bytes(32),
        "truncated order": good[: second + 100],
        "truncated signature": good[: second + ORDER_FIXED_BYTES + 10],
        "series index >= nSeries": _edit(good, second + 20, b"\x00\x01"),
        "unknown flag bit": _edit(good, first + 22, b"\x04"),
        "signature length past the end": _edit(
            _edit(good, first + 22, b"\x02"), first + ORDER_FIXED_BYTES, b"\xff\xff"
        ),
        "truncated fills": good[:-1],
        "trailing byte": good + b"\x00",
        "one fill too many declared": _edit(good, 4, b"\x00\x05"),
    }

    for name, packed in cases.items():
        with pytest.raises(MalformedBatchError) as info:
            decode_batch(packed)
        assert info.value.offset == _contract_offset(venue, packed), name
    assert _contract_offset(venue, cases["trailing byte"]) == fills


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
