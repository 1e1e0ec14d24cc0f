"""Resting orders signed by a maker's delegate key die with the key: revoked on-chain (`DelegateRevoked`)
or expired (`delegateExpiry` reached on the venue's clock). They leave the book with reason
`delegate_revoked` / `delegate_expired`, journaled and published, never match again, stay cancelled
across a restart and when the key is registered again; orders signed by the maker's own key or by
another delegate are untouched. Real Anvil, real venue; time moves only through the venue's clock.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from keys.signer import LocalSigner
from relayer.engine import TimeInForce
from relayer.stream import BatchUpdate, OrderUpdate, Subscription, Update
from relayer.views import BatchState, FillState, OrderState
from settlement.order import Order, SignedOrder
from settlement.signing import sign_order
from tests.settlement.venue import EXCHANGE, OPTION, PRICE, USD
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import Maker, asks, bids, config_for, eventually, order_id, order_status, running, submit

#: node accounts that are neither the operator (0) nor a funded trader (1..4): the delegate keys
HOT_INDEX, OTHER_INDEX = 7, 8

_nonces = itertools.count(1_000_000)


@dataclass(frozen=True)
class Key:
    """A delegate key: its address and raw private key."""

    address: str
    secret: bytes

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.address[2:])


def _key(deployed: ChainVenue, index: int) -> Key:
    hex_key = deployed.node.keys[index]
    return Key(LocalSigner(hex_key).address, bytes.fromhex(hex_key[2:]))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _head_time(deployed: ChainVenue) -> int:
    head = deployed.chain.block("latest")
    assert head is not None
    return head.timestamp


def _set_delegate(deployed: ChainVenue, maker: Maker, key: Key, expiry: int) -> None:
    deployed.send(maker.signer, deployed.manifest.exchange, EXCHANGE.encode_call("setDelegate", key.address, expiry))


def _revoke(deployed: ChainVenue, maker: Maker, key: Key) -> None:
    deployed.send(maker.signer, deployed.manifest.exchange, EXCHANGE.encode_call("revokeDelegate", key.address))


def _signed_by(maker: Maker, key: Key, *, is_buy: bool, price: int = PRICE, amount: int = OPTION) -> SignedOrder:
    """An order of `maker` signed by the delegate `key`."""
    order = Order(
        maker=maker.signer.address,
        series=maker.chain.series,
        is_buy=is_buy,
        price=price,
        amount=amount,
        max_fee=USD,
        nonce=next(_nonces),
        expiry=maker.chain.series_expiry - 1,
    )
    return sign_order(order, maker.chain.manifest.domain, key.secret)


async def _closed(sub: Subscription, ids: Iterable[bytes]) -> dict[bytes, OrderUpdate]:
    """The first update of each of `ids` that takes it out of the open state (waits for all of them)."""
    wanted = set(ids)
    out: dict[bytes, OrderUpdate] = {}
    while wanted - out.keys():
        update = await sub.get(timeout=30)
        assert update is not None, f"no close update for {[i.hex() for i in wanted - out.keys()]}"
        if isinstance(update, OrderUpdate) and update.order_id in wanted and update.status is not OrderState.OPEN:
            out.setdefault(update.order_id, update)
    return out


async def test_revoking_a_delegate_on_chain_cancels_its_resting_orders_for_good(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob = makers[0], makers[1]
    hot, other = _key(deployed, HOT_INDEX), _key(deployed, OTHER_INDEX)
    expiry = _head_time(deployed) + 3600
    _set_delegate(deployed, alice, hot, expiry)
    _set_delegate(deployed, alice, other, expiry)
    doomed_ask = _signed_by(alice, hot, is_buy=False, price=PRICE)
    doomed_bid = _signed_by(alice, hot, is_buy=True, price=PRICE // 2)
    own_ask = alice.order(is_buy=False, price=PRICE + USD)  # the maker's own key
    other_ask = _signed_by(alice, other, is_buy=False, price=PRICE + 2 * USD)  # another delegate
    doomed = {order_id(deployed, doomed_ask): OPTION, order_id(deployed, doomed_bid): OPTION}
    untouched = [order_id(deployed, own_ask), order_id(deployed, other_ask)]
    config = config_for(deployed, tmp_path)

    async with running(config) as venue:
        results = await submit(venue, doomed_ask, doomed_bid, own_ask, other_ask)
        assert [r.status for r in results] == [OrderState.OPEN] * 4
        sub = venue.subscribe()

        _revoke(deployed, alice, hot)  # straight on-chain: the venue learns it from the event

        closed = await _closed(sub, doomed)
        assert {oid: (u.status, u.reason, u.remaining) for oid, u in closed.items()} == {
            oid: (OrderState.CANCELLED, "delegate_revoked", amount) for oid, amount in doomed.items()
        }
        for oid, amount in doomed.items():
            assert await order_status(venue, oid) == (OrderState.CANCELLED, "delegate_revoked", amount)
        for oid in untouched:
            assert await order_status(venue, oid) == (OrderState.OPEN, None, OPTION)
        assert asks(venue, deployed) == [(PRICE + USD, OPTION), (PRICE + 2 * USD, OPTION)]
        assert bids(venue, deployed) == []

        # takers that crossed only the revoked key's orders find nothing
        (buy,) = await submit(venue, bob.order(is_buy=True, price=PRICE), tif=TimeInForce.IOC)
        (sell,) = await submit(venue, bob.order(is_buy=False, price=PRICE // 2), tif=TimeInForce.IOC)
        assert (buy.status, buy.remaining) == (OrderState.CANCELLED, OPTION)
        assert (sell.status, sell.remaining) == (OrderState.CANCELLED, OPTION)
        assert (await venue.list_fills(maker=alice.raw)).items == ()

        # registering the key again does not bring its cancelled orders back
        _set_delegate(deployed, alice, hot, expiry + 3600)
        await eventually(lambda: venue.state.delegates.get((alice.raw, hot.raw)) == expiry + 3600)
        (again,) = await submit(venue, doomed_ask)
        assert again.duplicate and again.status is OrderState.CANCELLED
        fresh = _signed_by(alice, hot, is_buy=False, price=PRICE + 3 * USD)
        (fresh_result,) = await submit(venue, fresh)
        assert fresh_result.status is OrderState.OPEN  # the key signs again, for new orders
        assert asks(venue, deployed) == [(PRICE + USD, OPTION), (PRICE + 2 * USD, OPTION), (PRICE + 3 * USD, OPTION)]

    async with running(config) as venue:  # a new process: books rebuilt from the store
        for oid, amount in doomed.items():
            assert await order_status(venue, oid) == (OrderState.CANCELLED, "delegate_revoked", amount)
        for oid in [*untouched, order_id(deployed, fresh)]:
            assert await order_status(venue, oid) == (OrderState.OPEN, None, OPTION)
        assert asks(venue, deployed) == [(PRICE + USD, OPTION), (PRICE + 2 * USD, OPTION), (PRICE + 3 * USD, OPTION)]
        assert bids(venue, deployed) == []
        (buy,) = await submit(venue, bob.order(is_buy=True, price=PRICE), tif=TimeInForce.IOC)
        assert (buy.status, buy.remaining) == (OrderState.CANCELLED, OPTION)
        (again,) = await submit(venue, doomed_ask)
        assert again.duplicate and again.status is OrderState.CANCELLED
        assert (await venue.list_fills(maker=alice.raw)).items == ()


async def test_a_delegate_expiry_cancels_its_resting_orders_when_the_venue_clock_passes_it(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob = makers[0], makers[1]
    hot, other = _key(deployed, HOT_INDEX), _key(deployed, OTHER_INDEX)
    expiry = _head_time(deployed) + 3600
    _set_delegate(deployed, alice, hot, expiry)
    _set_delegate(deployed, alice, other, expiry + 3600)  # outlives `hot`
    ask = _signed_by(alice, hot, is_buy=False, price=PRICE, amount=2 * OPTION)
    own_ask = alice.order(is_buy=False, price=PRICE + USD)
    other_ask = _signed_by(alice, other, is_buy=False, price=PRICE + 2 * USD)
    ask_id = order_id(deployed, ask)
    now = [_now_ms()]
    async with running(config_for(deployed, tmp_path, clock_ms=lambda: now[0])) as venue:
        results = await submit(venue, ask, own_ask, other_ask)
        assert [r.status for r in results] == [OrderState.OPEN] * 3

        # the last millisecond of the key (the exchange takes it while block.timestamp <= expiry - 1): it matches
        now[0] = expiry * 1000 - 1
        (first,) = await submit(venue, bob.order(is_buy=True, price=PRICE), tif=TimeInForce.IOC)
        assert first.status is OrderState.FILLED

        async def settled() -> bool:
            page = await venue.list_fills(maker=alice.raw)
            return bool(page.items) and all(f.status is FillState.SETTLED for f in page.items)

        await eventually(settled)  # the exchange accepted the delegate's signature
        sub = venue.subscribe()

        # the key's expiry: the timer takes the rest off the book, with no order arriving to trigger it
        now[0] = expiry * 1000
        update = (await _closed(sub, [ask_id]))[ask_id]
        assert (update.status, update.reason, update.remaining) == (OrderState.CANCELLED, "delegate_expired", OPTION)
        assert await order_status(venue, ask_id) == (OrderState.CANCELLED, "delegate_expired", OPTION)
        for other_id in (order_id(deployed, own_ask), order_id(deployed, other_ask)):
            assert await order_status(venue, other_id) == (OrderState.OPEN, None, OPTION)
        assert asks(venue, deployed) == [(PRICE + USD, OPTION), (PRICE + 2 * USD, OPTION)]

        (second,) = await submit(venue, bob.order(is_buy=True, price=PRICE), tif=TimeInForce.IOC)
        assert (second.status, second.remaining) == (OrderState.CANCELLED, OPTION)
        assert len((await venue.list_fills(maker=alice.raw)).items) == 1

        # extending the key does not bring the cancelled order back
        _set_delegate(deployed, alice, hot, expiry + 7200)
        await eventually(lambda: venue.state.delegates.get((alice.raw, hot.raw)) == expiry + 7200)
        (again,) = await submit(venue, ask)
        assert again.duplicate and again.status is OrderState.CANCELLED
        (fresh,) = await submit(venue, _signed_by(alice, hot, is_buy=False, price=PRICE + 3 * USD))
        assert fresh.status is OrderState.OPEN
        assert await order_status(venue, ask_id) == (OrderState.CANCELLED, "delegate_expired", OPTION)
        assert asks(venue, deployed) == [(PRICE + USD, OPTION), (PRICE + 2 * USD, OPTION), (PRICE + 3 * USD, OPTION)]


#: what the test's own task adds to the wall clock; the venue's background tasks, started earlier,
#: keep their copy of the context and so never see it
_SKEW_MS: ContextVar[int] = ContextVar("skew_ms", default=0)


async def test_an_expired_delegates_order_never_matches_even_before_the_timer_sweeps_it(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    """Only intake sees the expiry pass (the timer task never does), so only intake can stop the match."""
    alice, bob = makers[0], makers[1]
    hot = _key(deployed, HOT_INDEX)
    expiry = _head_time(deployed) + 3600
    _set_delegate(deployed, alice, hot, expiry)
    ask = _signed_by(alice, hot, is_buy=False, price=PRICE)
    ask_id = order_id(deployed, ask)
    config = config_for(deployed, tmp_path, clock_ms=lambda: _now_ms() + _SKEW_MS.get())
    async with running(config) as venue:
        (rested,) = await submit(venue, ask)
        assert rested.status is OrderState.OPEN
        sub = venue.subscribe()

        _SKEW_MS.set(expiry * 1000 - _now_ms())
        (taker,) = await submit(venue, bob.order(is_buy=True, price=PRICE), tif=TimeInForce.IOC)

        assert (taker.status, taker.remaining) == (OrderState.CANCELLED, OPTION)
        update = (await _closed(sub, [ask_id]))[ask_id]
        assert (update.status, update.reason) == (OrderState.CANCELLED, "delegate_expired")
        assert await order_status(venue, ask_id) == (OrderState.CANCELLED, "delegate_expired", OPTION)
        assert asks(venue, deployed) == []
        assert (await venue.list_fills(maker=alice.raw)).items == ()


async def test_a_fill_skipped_after_the_revocation_does_not_put_the_delegates_order_back(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    """The delegate's order is the innocent side of a skipped fill, which would normally restore it."""
    alice, bob = makers[0], makers[1]
    hot = _key(deployed, HOT_INDEX)
    _set_delegate(deployed, alice, hot, _head_time(deployed) + 3600)
    ask = _signed_by(alice, hot, is_buy=False, price=PRICE)
    bid = bob.order(is_buy=True, price=PRICE)
    ask_id = order_id(deployed, ask)
    async with running(config_for(deployed, tmp_path, batch_ms=3000)) as venue:
        await submit(venue, ask)
        (taker,) = await submit(venue, bid)
        assert taker.status is OrderState.FILLED
        sub = venue.subscribe()
        # before the batch is cut: bob cancels his order on-chain (the fill's fault is his), and
        # alice revokes the key that signed hers
        deployed.send(
            bob.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelOrders", [order_id(deployed, bid)])
        )
        _revoke(deployed, alice, hot)
        await eventually(lambda: venue.state.delegates.get((alice.raw, hot.raw)) == 0)

        seen: list[Update] = []
        while not any(isinstance(u, BatchUpdate) and u.status is BatchState.SETTLED for u in seen):
            update = await sub.get(timeout=30)
            assert update is not None, "the batch never settled"
            seen.append(update)
        (fill,) = (await venue.list_fills(maker=alice.raw)).items
        assert (fill.status, fill.skip_reason) == (FillState.SKIPPED, "taker_order_cancelled")
        assert not [u for u in seen if isinstance(u, OrderUpdate) and u.order_id == ask_id]  # never back
        assert await order_status(venue, ask_id) == (OrderState.CANCELLED, "delegate_revoked", OPTION)
        assert asks(venue, deployed) == []
        assert deployed.position(alice.signer.address) == 0
