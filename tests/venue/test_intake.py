"""Each intake rejection code, duplicates, and reservations released on cancel, expiry and fill."""

from __future__ import annotations

import time
from pathlib import Path

from relayer.cancels import CancelOrders, sign_cancel
from relayer.engine import TimeInForce
from relayer.intake import RejectCode
from relayer.venue import OrderSubmission
from relayer.views import FillState, OrderState
from settlement.order import SignedOrder
from tests.settlement.venue import EXCHANGE, OPTION, PRICE, STRIKE
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import Maker, config_for, eventually, running, submit


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def test_every_pipeline_step_rejects_with_its_own_code(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob = makers[0], makers[1]
    deployed.send(bob.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelAllBelow", 1_000_000))
    good = alice.order(is_buy=True)
    bad_v = SignedOrder(good.order, good.signature[:64] + bytes([29]))
    wrong_key = SignedOrder(alice.order(is_buy=True).order, bob.order(is_buy=True).signature)
    async with running(config_for(deployed, tmp_path)) as venue:
        cancelled = alice.order(is_buy=True)
        digest = cancelled.digest(deployed.manifest.domain)
        await venue.cancel(
            sign_cancel(CancelOrders(alice.raw, (digest,), _now_ms()), deployed.manifest.domain, alice.key)
        )
        cases = {
            RejectCode.INVALID_SCHEMA: OrderSubmission({"maker": alice.signer.address}),
            RejectCode.WRONG_DOMAIN: OrderSubmission(good, chain_id=1),
            RejectCode.INVALID_SIGNATURE: OrderSubmission(bad_v),
            RejectCode.UNAUTHORIZED_SIGNER: OrderSubmission(wrong_key),
            RejectCode.UNKNOWN_SERIES: OrderSubmission(alice.order(is_buy=True, series=b"\x01" * 32)),
            RejectCode.ORDER_EXPIRED: OrderSubmission(alice.order(is_buy=True, expiry=_now_ms() // 1000 - 10)),
            RejectCode.ORDER_CANCELLED: OrderSubmission(cancelled),
            RejectCode.NONCE_CANCELLED: OrderSubmission(bob.order(is_buy=True, nonce=5)),
            RejectCode.PRICE_OUT_OF_BOUNDS: OrderSubmission(alice.order(is_buy=True, price=STRIKE + 1)),
            RejectCode.INSUFFICIENT_COLLATERAL: OrderSubmission(alice.order(is_buy=False, amount=10**6 * OPTION)),
        }
        results = await venue.submit_orders(list(cases.values()))
        assert [r.error_code for r in results] == [c.value for c in cases]
        assert all(r.status is OrderState.REJECTED for r in results)

        (zero,) = await submit(venue, alice.order(is_buy=True, price=0))
        assert zero.error_code == RejectCode.PRICE_OUT_OF_BOUNDS.value
        await submit(venue, alice.order(is_buy=False, price=PRICE))
        (cross,) = await submit(venue, makers[2].order(is_buy=True, price=PRICE), tif=TimeInForce.POST_ONLY)
        assert cross.error_code == RejectCode.POST_ONLY_WOULD_CROSS.value
        await venue.pause_intake("maintenance")
        (paused,) = await submit(venue, alice.order(is_buy=True))
        assert paused.error_code == RejectCode.INTAKE_PAUSED.value
        await venue.resume_intake()
        assert venue.book(deployed.series).bids == ()


async def test_series_expired_is_refused_before_the_order_itself(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    later = (deployed.series_expiry + 10) * 1000
    async with running(config_for(deployed, tmp_path, clock_ms=lambda: later)) as venue:
        (r,) = await submit(venue, makers[0].order(is_buy=True))
    assert r.error_code == RejectCode.SERIES_EXPIRED.value


async def test_a_duplicate_returns_the_existing_order(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    order = makers[0].order(is_buy=True)
    async with running(config_for(deployed, tmp_path)) as venue:
        (first,) = await submit(venue, order)
        (again,) = await submit(venue, order)
    assert first.status is OrderState.OPEN and not first.duplicate
    assert again.duplicate and again.order_id == first.order_id and again.status is OrderState.OPEN


async def test_reservations_are_released_on_cancel_and_on_expiry(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice = makers[0]
    quote = bytes.fromhex(deployed.manifest.tokens["quote"].address[2:])
    async with running(config_for(deployed, tmp_path)) as venue:
        (resting,) = await submit(venue, alice.order(is_buy=False, amount=OPTION))
        assert venue.reserved(alice.raw, quote) == STRIKE  # a short put locks the strike per option
        assert resting.order_id is not None
        msg = CancelOrders(alice.raw, (resting.order_id,), _now_ms())
        (cancelled,) = await venue.cancel(sign_cancel(msg, deployed.manifest.domain, alice.key))
        assert cancelled.status is OrderState.CANCELLED
        assert venue.reserved(alice.raw, quote) == 0

        (short_lived,) = await submit(venue, alice.order(is_buy=True, expiry=_now_ms() // 1000 + 1))
        assert venue.reserved(alice.raw, quote) > 0
        await eventually(lambda: venue.reserved(alice.raw, quote) == 0, timeout=10)
        order_id = short_lived.order_id
        assert order_id is not None

        # the expiry releases the reservation when it is applied; the stored status follows once
        # its journal entry commits
        async def expired() -> bool:
            view = await venue.get_order(order_id)
            return view is not None and view.status is OrderState.EXPIRED

        await eventually(expired, timeout=10)


async def test_a_fill_skipped_for_an_onchain_cancel_restores_the_innocent_order(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob = makers[0], makers[1]
    ask = alice.order(is_buy=False, amount=2 * OPTION)
    async with running(config_for(deployed, tmp_path, batch_ms=1500)) as venue:
        await submit(venue, ask)
        (bid,) = await submit(venue, bob.order(is_buy=True, amount=OPTION))
        assert bid.status is OrderState.FILLED
        # alice cancels on-chain before the batch is cut: her fill is skipped, bob's amount comes back
        digest = ask.digest(deployed.manifest.domain)
        deployed.send(alice.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelOrders", [digest]))

        async def skipped() -> bool:
            page = await venue.list_fills(maker=bob.raw)
            return bool(page.items) and page.items[0].status is FillState.SKIPPED

        await eventually(skipped)
        (fill,) = (await venue.list_fills(maker=bob.raw)).items
        assert fill.skip_reason == "maker_order_cancelled"
        assert bid.order_id is not None
        view = await venue.get_order(bid.order_id)
        assert view is not None and view.status is OrderState.OPEN and view.remaining == OPTION
        assert [lvl.amount for lvl in venue.book(deployed.series).bids] == [OPTION]
        assert venue.book(deployed.series).asks == ()
        assert deployed.position(bob.signer.address) == 0


async def test_a_restarted_venue_rebuilds_the_same_books_and_reservations(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    config = config_for(deployed, tmp_path)
    quote = bytes.fromhex(deployed.manifest.tokens["quote"].address[2:])
    async with running(config) as venue:
        for i, m in enumerate(makers):
            await submit(venue, m.order(is_buy=i % 2 == 0, price=PRICE + (1 if i % 2 else -1) * 10**5))
        before = venue.state_hash(), [venue.reserved(m.raw, quote) for m in makers]
    async with running(config) as venue:
        after = venue.state_hash(), [venue.reserved(m.raw, quote) for m in makers]
    assert after == before


async def test_the_venue_runs_on_postgresql(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path, postgres_url: str
) -> None:
    async with running(config_for(deployed, tmp_path, db_url=postgres_url)) as venue:
        await submit(venue, makers[0].order(is_buy=False))
        (taker,) = await submit(venue, makers[1].order(is_buy=True), tif=TimeInForce.IOC)
        assert taker.status is OrderState.FILLED

        async def settled() -> bool:
            page = await venue.list_fills(series=deployed.series)
            return bool(page.items) and page.items[0].status is FillState.SETTLED

        await eventually(settled)
    assert deployed.position(makers[1].signer.address) == OPTION
