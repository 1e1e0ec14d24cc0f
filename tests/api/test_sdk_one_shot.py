"""The SDK signs IOC/FOK orders one-shot, and the real server refuses a one-shot order that could rest."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from relayer.client import AsyncClient, ClientError, OneShotRejected
from relayer.sdk.client import DEFAULT_EXPIRY_S, ONE_SHOT_EXPIRY_S
from settlement.order import ONE_SHOT_FLAG, ONE_SHOT_SEQ_MASK, one_shot_nonce
from settlement.signing import sign_order
from tests.api.support import Rig
from tests.settlement.venue import OPTION, PRICE, USD


def _client(rig: Rig, index: int, **kwargs: Any) -> AsyncClient:
    return AsyncClient(rig.base, rig.makers[index].signer, rpc_url=rig.chain.node.rpc_url, **kwargs)


def _ms() -> int:
    return time.time_ns() // 1_000_000


async def test_ioc_and_fok_orders_get_a_fresh_one_shot_nonce_and_a_short_expiry(rig: Rig) -> None:
    series = rig.chain.series
    async with _client(rig, 0) as alice:
        before, now_s = _ms(), int(time.time())
        ioc = alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION, tif="ioc")
        fok = alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION, tif="fok")
        after = _ms()
        assert ioc.is_one_shot and fok.is_one_shot
        assert ioc.nonce & ~(ONE_SHOT_FLAG | ONE_SHOT_SEQ_MASK) == 0
        assert ioc.one_shot_seq is not None and fok.one_shot_seq is not None
        assert before <= ioc.one_shot_seq < fok.one_shot_seq <= after + 1
        assert now_s + ONE_SHOT_EXPIRY_S <= ioc.expiry <= int(time.time()) + ONE_SHOT_EXPIRY_S
        # many in one millisecond still get distinct, increasing numbers
        seqs = [alice.next_one_shot_seq() for _ in range(200)]
        assert seqs == sorted(set(seqs)) and seqs[0] > fok.one_shot_seq
        # resting kinds, an opt-out and explicit values keep ordinary nonces / the caller's expiry
        gtc = alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION, tif="gtc")
        plain_ioc = alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION, tif="ioc", one_shot=False)
        untagged = alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION)
        assert not gtc.is_one_shot and not plain_ioc.is_one_shot and not untagged.is_one_shot
        assert gtc.expiry >= now_s + DEFAULT_EXPIRY_S and plain_ioc.expiry >= now_s + DEFAULT_EXPIRY_S
        chosen = alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION, tif="ioc", expiry=now_s + 5)
        assert chosen.is_one_shot and chosen.expiry == now_s + 5
        with pytest.raises(ClientError) as refused:
            alice.build_order(series, is_buy=True, price=PRICE, amount=OPTION, tif="post_only", one_shot=True)
        assert refused.value.code == "one_shot_must_be_immediate"


async def test_the_server_refuses_a_one_shot_order_that_could_rest(rig: Rig) -> None:
    series = rig.chain.series
    alice = rig.makers[0]
    one_shot = alice.order(is_buy=True, nonce=one_shot_nonce(_ms()))
    for tif in ("gtc", "post_only"):
        status, body = await rig.post_order(one_shot, timeInForce=tif)
        assert status == 422 and body["code"] == "one_shot_must_be_immediate", body
    status, body = await rig.post_order(alice.order(is_buy=True, nonce=ONE_SHOT_FLAG | 1 << 100), timeInForce="ioc")
    assert status == 422 and body["code"] == "bad_one_shot_nonce"
    async with _client(rig, 0) as client:
        with pytest.raises(OneShotRejected) as typed:
            await client.submit(one_shot)  # default time in force: gtc
        assert typed.value.code == "one_shot_must_be_immediate" and typed.value.status == 422
    _, book = await rig.get(f"/v1/book/0x{series.hex()}")
    assert book["bids"] == [] and book["asks"] == []
    _, doc = await rig.get("/v1/openapi.json")
    described = doc["components"]["schemas"]["OrderResult"]["properties"]["code"]["description"]
    assert all(code in described for code in ("one_shot_must_be_immediate", "bad_one_shot_nonce", "one_shot_spent"))


async def test_a_placed_ioc_order_settles_in_one_batch_and_is_spent_on_chain(rig: Rig) -> None:
    series = rig.chain.series
    async with _client(rig, 0) as alice, _client(rig, 1) as bob:
        ask = await alice.place(series, is_buy=False, price=PRICE, amount=3 * OPTION, max_fee=USD)
        assert ask.status == "open"
        take = await bob.place(series, is_buy=True, price=PRICE, amount=OPTION, max_fee=USD, tif="ioc")
        assert take.status == "filled" and take.hash is not None
        stored = await bob.order(take.hash)
        seq = int(stored["nonce"]) & ONE_SHOT_SEQ_MASK
        assert int(stored["nonce"]) == one_shot_nonce(seq) and stored["timeInForce"] == "ioc"

        async def settled() -> bool:
            fills = (await bob.fills(maker=bob.maker_address)).items
            return len(fills) == 1 and fills[0]["status"] == "settled"

        for _ in range(200):
            if await settled():
                break
            await asyncio.sleep(0.1)
        assert await settled()
        assert await bob.is_one_shot_spent(series, seq)
        assert not await bob.is_one_shot_spent(series, seq + 1)

        # a hard cancel by sequence number: the relayer refuses the number once it sees the event
        spare = bob.next_one_shot_seq()
        await bob.cancel_one_shot(series, [spare])
        assert await bob.is_one_shot_spent(series, spare)
        for attempt in range(1, 100):
            order = bob.build_order(
                series, is_buy=True, price=PRICE, amount=OPTION + attempt, nonce=one_shot_nonce(spare)
            )
            signed = sign_order(order, rig.chain.manifest.domain, rig.makers[1].key)
            try:
                ack = await bob.submit(signed, tif="ioc")
            except OneShotRejected as exc:
                assert exc.code == "one_shot_spent"
                break
            assert ack.status in ("filled", "cancelled")  # not seen yet: matched (skipped on-chain as spent)
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the cancelled sequence number was never refused")
