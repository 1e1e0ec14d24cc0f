"""Maker delegate (hot) keys end to end: SDK registration on-chain, delegate-signed orders through the
real server, revocation refusing the next order at once, expiry, and the fate of resting orders.

The venue here polls the chain only every 30 s, so nothing below can pass on the poller's news:
the relayer learns of a revocation by re-reading `delegateExpiry` for every delegate-signed order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from keys.signer import LocalSigner
from relayer.client import AsyncClient, ClientError, InvalidSignature
from settlement.order import Order
from tests.api.support import Rig, api_rig, now_ms
from tests.settlement.venue import OPTION, PRICE, USD
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import config_for, eventually

#: a node account that is neither the operator nor a funded trader: the hot key
HOT_KEY_INDEX = 7


def _hot(deployed: ChainVenue) -> LocalSigner:
    return LocalSigner(deployed.node.keys[HOT_KEY_INDEX])


def _head_time(deployed: ChainVenue) -> int:
    head = deployed.chain.block("latest")
    assert head is not None
    return head.timestamp


def _rig(deployed: ChainVenue, tmp: Path, clock: Callable[[], int] | None = None) -> AbstractAsyncContextManager[Rig]:
    if clock is None:
        config = config_for(deployed, tmp, chain_poll_s=30.0)
    else:
        config = config_for(deployed, tmp, chain_poll_s=30.0, clock_ms=clock)
    return api_rig(deployed, tmp, venue_config=config)


def _clients(rig: Rig, hot: LocalSigner) -> tuple[AsyncClient, AsyncClient]:
    alice = rig.makers[0].signer
    rpc = rig.chain.node.rpc_url
    owner = AsyncClient(rig.base, alice, rpc_url=rpc)
    delegate = AsyncClient(rig.base, hot, maker=alice.address, rpc_url=rpc)
    return owner, delegate


def _sell(client: AsyncClient, rig: Rig, amount: int = OPTION, price: int = PRICE) -> Order:
    return client.build_order(
        rig.chain.series, is_buy=False, price=price, amount=amount, max_fee=USD, expiry=rig.chain.series_expiry - 1
    )


async def _settled(rig: Rig, maker: str) -> list[dict[str, object]]:
    fills: list[dict[str, object]] = []

    async def done() -> bool:
        nonlocal fills
        _, page = await rig.get(f"/v1/fills?maker={maker}")
        fills = page["fills"]
        return bool(fills) and all(f["status"] in ("settled", "skipped") for f in fills)

    await eventually(done)
    return fills


async def test_delegate_orders_are_accepted_and_settle_then_refused_at_once_after_revocation(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    hot = _hot(deployed)
    async with _rig(deployed, tmp_path) as rig:
        owner, delegate = _clients(rig, hot)
        async with owner, delegate:
            alice = owner.maker_address
            assert delegate.is_delegate and delegate.maker_address == alice
            # not registered yet: refused
            with pytest.raises(InvalidSignature) as refused:
                await delegate.submit(_sell(delegate, rig))
            assert refused.value.code == "unauthorized_signer"
            # a delegate client cannot move money or manage delegates
            with pytest.raises(ClientError) as denied:
                await delegate.register_delegate(hot.address, _head_time(deployed) + 3600)
            assert denied.value.code == "delegate_not_allowed"

            expiry = _head_time(deployed) + 3600
            await owner.register_delegate(hot, expiry)
            assert await owner.delegate_expiry(hot) == expiry
            assert await delegate.delegate_expiry(hot) == expiry

            # orders signed by the hot key for alice: accepted, cancellable by the hot key, and they settle
            resting = await delegate.submit(_sell(delegate, rig, amount=2 * OPTION))
            spare = await delegate.submit(_sell(delegate, rig, price=2 * PRICE))
            assert resting.status == "open" and spare.status == "open"
            assert resting.hash is not None and spare.hash is not None
            view = await owner.order(resting.hash)
            assert view["maker"] == alice
            assert (await delegate.cancel(spare.hash))["status"] == "cancelled"
            bob = rig.makers[1]
            status, body = await rig.post_order(bob.order(is_buy=True, amount=OPTION), timeInForce="ioc")
            assert status == 201 and body["results"][0]["status"] == "filled"
            (fill,) = await _settled(rig, alice)
            assert fill["status"] == "settled"  # the exchange accepted the delegate's signature
            assert deployed.position(alice) == -OPTION

            # revoke: mined before revoke_delegate returns; the resting remainder is cancelled by alice
            cancelled = await owner.revoke_delegate(hot)
            assert cancelled == [resting.hash]
            assert (await owner.order(resting.hash))["status"] == "cancelled"
            assert await owner.delegate_expiry(hot) == 0
            # the very next delegate-signed order is refused, and nothing changes
            before = rig.snapshot()
            with pytest.raises(InvalidSignature) as refused:
                await delegate.submit(_sell(delegate, rig))
            assert refused.value.code == "unauthorized_signer"
            assert rig.snapshot() == before
            # ... and so is a cancel signed by the revoked key
            own = await owner.submit(_sell(owner, rig, price=3 * PRICE))
            assert own.hash is not None
            with pytest.raises(ClientError) as cancel_refused:
                await delegate.cancel(own.hash)
            assert cancel_refused.value.code == "cancel_unauthorized"
            assert (await owner.order(own.hash))["status"] == "open"
            await owner.cancel(own.hash)

            # the backstop: registered again, then revoked straight on-chain with no SDK clean-up.
            # The relayer (polling every 30 s) still rests the order; a taker matches it; the
            # exchange skips the fill and the relayer cancels the order when it reconciles the batch.
            await owner.register_delegate(hot, _head_time(deployed) + 3600)
            orphan = await delegate.submit(_sell(delegate, rig))
            assert orphan.hash is not None and orphan.status == "open"
            assert await owner.revoke_delegate(hot, cancel_resting=False) == []
            status, body = await rig.post_order(bob.order(is_buy=True, amount=OPTION), timeInForce="ioc")
            assert status == 201 and body["results"][0]["status"] == "filled"
            fills = await _settled(rig, alice)
            assert [(f["status"], f["skipReason"]) for f in fills] == [
                ("skipped", "maker_bad_signature"),
                ("settled", None),
            ]
            view = await owner.order(orphan.hash)
            assert view["status"] == "cancelled" and view["cancelReason"] == "settlement_failed"
            assert deployed.position(alice) == -OPTION


async def test_an_expired_delegate_is_refused_by_the_relayer_and_the_exchange(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    """Runs last in this module: it moves the chain's clock forward."""
    hot = _hot(deployed)
    offset_ms = [0]
    async with _rig(deployed, tmp_path, lambda: now_ms() + offset_ms[0]) as rig:
        owner, delegate = _clients(rig, hot)
        async with owner, delegate:
            lifetime = 600
            expiry = _head_time(deployed) + lifetime
            await owner.register_delegate(hot, expiry)
            live = await delegate.sign(_sell(delegate, rig))
            assert (await delegate.submit(live)).status == "open"
            assert rig.venue.state.is_valid_signature_onchain(live.order.as_tuple(), live.signature)

            # the relayer's clock passes the expiry: the resting order is cancelled, a new one refused
            offset_ms[0] = (expiry + 1) * 1000 - now_ms()
            live_hash = live.digest(rig.chain.manifest.domain)

            async def live_cancelled() -> bool:
                view = await owner.order(live_hash)
                return bool(view["status"] == "cancelled" and view["cancelReason"] == "delegate_expired")

            await eventually(live_cancelled)
            late = await delegate.sign(_sell(delegate, rig, price=2 * PRICE))
            before = rig.snapshot()
            with pytest.raises(InvalidSignature) as refused:
                await delegate.submit(late)
            assert refused.value.code == "unauthorized_signer"
            assert rig.snapshot() == before
            # the exchange agrees once its clock passes it too
            deployed.node.rpc("evm_setNextBlockTimestamp", max(expiry + 1, int(time.time()) + 1))
            deployed.node.rpc("evm_mine")
            assert not rig.venue.state.is_valid_signature_onchain(late.order.as_tuple(), late.signature)
