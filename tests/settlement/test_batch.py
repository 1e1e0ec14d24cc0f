"""`Batch.calldata()`: each signed order once, fills referencing orders by index (settleBatch layout)."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode

from settlement.audit.replay import _SETTLE_TYPES
from settlement.batch import Batch, Fill
from settlement.order import Order, SignedOrder


def _signed(maker: str, is_buy: bool, nonce: int, sig_byte: int = 1) -> SignedOrder:
    order = Order(maker, bytes(range(32)), is_buy, 100, 10**18, 5, nonce, 2**40)
    return SignedOrder(order, bytes([sig_byte]) * 65)


ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CAROL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def _decode(batch: Batch) -> tuple[Any, ...]:
    data = batch.calldata()
    return tuple(abi_decode(_SETTLE_TYPES, data[4:]))


def test_a_maker_order_used_by_many_fills_travels_once() -> None:
    maker = _signed(ALICE, False, 1)
    takers = [_signed(BOB, True, 1), _signed(CAROL, True, 1), _signed(BOB, True, 2)]
    batch = Batch(7, [Fill(maker, t, 10**17, 1, 2) for t in takers])

    seq, orders, fills = _decode(batch)

    assert seq == 7
    assert batch.orders() == (maker, *takers)
    assert [SignedOrder(Order(*o[0]), o[1]) for o in orders] == list(batch.orders())
    assert [tuple(f) for f in fills] == [(0, 1, 10**17, 1, 2), (0, 2, 10**17, 1, 2), (0, 3, 10**17, 1, 2)]


def test_the_same_order_with_another_signature_is_a_separate_entry() -> None:
    maker = _signed(ALICE, False, 1)
    resigned = _signed(ALICE, False, 1, sig_byte=2)
    taker = _signed(BOB, True, 1)
    batch = Batch(1, [Fill(maker, taker, 1), Fill(resigned, taker, 1)])

    _, orders, fills = _decode(batch)

    assert len(orders) == 3
    assert [tuple(f)[:2] for f in fills] == [(0, 1), (2, 1)]


def test_an_empty_batch_has_no_orders() -> None:
    _, orders, fills = _decode(Batch(1, []))
    assert orders == () and fills == ()
