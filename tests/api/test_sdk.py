"""The maker SDK against the real server: orders, cancels, queries, typed errors, streams, deposits, sync wrapper."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from keys.keystore import INSECURE_TEST_SCRYPT_N, KeyRole, Keystore
from keys.passwords import StaticPassword
from relayer.api.ratelimit import Limit
from relayer.api.ws import WsConfig
from relayer.client import (
    AmountError,
    AsyncClient,
    BookState,
    Client,
    FillEvent,
    InsufficientCollateral,
    InvalidSignature,
    NotFound,
    OrderExpired,
    RateLimited,
    UnknownSeries,
)
from settlement.order import Domain
from settlement.signing import sign_order
from tests.api.support import Rig, api_config, api_rig
from tests.settlement.venue import OPTION, PRICE, USD
from tests.settlement.venue import Venue as ChainVenue


def _client(rig: Rig, index: int, **kwargs: Any) -> AsyncClient:
    return AsyncClient(rig.base, rig.makers[index].signer, rpc_url=rig.chain.node.rpc_url, **kwargs)


async def test_a_maker_builds_signs_submits_queries_and_cancels(rig: Rig) -> None:
    series = rig.chain.series
    async with _client(rig, 0) as alice:
        assert await alice.domain() == rig.chain.manifest.domain
        order = alice.build_order(series, is_buy=False, price=PRICE, amount=OPTION, max_fee=USD)
        signed = await alice.sign(order)
        # typed-data signing through the Signer gives the same signature as the fast path
        assert signed.signature == sign_order(order, rig.chain.manifest.domain, rig.makers[0].key).signature
        ack = await alice.submit(signed, client_id="q1")
        assert ack.accepted and ack.status == "open" and ack.client_id == "q1"
        assert ack.hash == order.digest(rig.chain.manifest.domain)
        assert (await alice.submit(signed)).duplicate

        acks = await alice.submit_many(
            [alice.build_order(series, is_buy=True, price=(i + 1) * USD // 100, amount=OPTION) for i in range(150)]
        )
        assert len(acks) == 150 and all(a.status == "open" for a in acks)
        book = await alice.book(series, depth=3)
        assert book.asks == ((PRICE, OPTION),) and book.bids[0] == (150 * USD // 100, OPTION) and len(book.bids) == 3

        page = await alice.orders(maker=rig.makers[0].signer.address, status="open", limit=100)
        assert len(page.items) == 100 and page.next_cursor is not None
        assert ack.hash is not None
        assert (await alice.order(ack.hash))["clientId"] == "q1"

        cancelled = await alice.cancel(ack.hash)
        assert cancelled["status"] == "cancelled"
        gone = await alice.cancel_all(series)
        assert len(gone) == 150
        assert (await alice.book(series)).bids == ()
        deadline = await alice.cancel_after(60_000)
        assert deadline is not None
        assert await alice.cancel_after(0) is None
        health = await alice.health()
        assert health["ok"] is True


async def test_api_errors_arrive_as_typed_exceptions(rig: Rig) -> None:
    series = rig.chain.series
    async with _client(rig, 1) as bob:
        with pytest.raises(OrderExpired) as expired:
            await bob.submit(bob.build_order(series, is_buy=True, price=USD, amount=OPTION, expiry=5))
        assert expired.value.code == "order_expired" and expired.value.status == 422
        with pytest.raises(InsufficientCollateral):
            await bob.submit(bob.build_order(series, is_buy=True, price=PRICE, amount=10**9 * OPTION))
        with pytest.raises(UnknownSeries):
            await bob.submit(bob.build_order(b"\x07" * 32, is_buy=True, price=USD, amount=OPTION))
        foreign = sign_order(
            bob.build_order(series, is_buy=True, price=USD, amount=OPTION),
            Domain(1, rig.chain.manifest.exchange),
            rig.makers[1].key,
        )
        with pytest.raises(InvalidSignature) as bad:
            await bob.submit(foreign)
        assert bad.value.code == "unauthorized_signer"
        with pytest.raises(NotFound):
            await bob.order(b"\x00" * 32)
        with pytest.raises(AmountError) as amount:
            await bob._request("GET", "/v1/fills", params={"batch": "1.5"})
        assert amount.value.code == "amount_not_integer"


async def test_rate_limits_surface_with_their_retry_after(deployed: ChainVenue, tmp_path: Path) -> None:
    config = api_config(ip_limit=Limit(rate=0.2, burst=2))
    async with api_rig(deployed, tmp_path, config) as rig, _client(rig, 0) as alice:
        alice.rate_limit_retries = 0  # surface the first 429 instead of waiting it out
        await alice.series()
        await alice.series()
        with pytest.raises(RateLimited) as limited:
            await alice.series()
        assert limited.value.retry_after >= 1


async def test_queries_wait_out_a_rate_limit_but_orders_are_never_retried(deployed: ChainVenue, tmp_path: Path) -> None:
    config = api_config(ip_limit=Limit(rate=4.0, burst=2), maker_limit=Limit(rate=0.001, burst=1))
    async with api_rig(deployed, tmp_path, config) as rig, _client(rig, 0) as alice:
        for _ in range(6):  # beyond the burst: each over-limit GET waits for its Retry-After and succeeds
            assert isinstance(await alice.series(), list)
        first = alice.build_order(rig.chain.series, is_buy=True, price=PRICE, amount=OPTION)
        second = alice.build_order(rig.chain.series, is_buy=True, price=PRICE, amount=OPTION)
        await asyncio.sleep(1.0)  # let the per-IP bucket refill (rate 4/s, burst 2): the maker limit is under test
        assert (await alice.submit(first)).accepted  # spends the maker's only order token
        with pytest.raises(RateLimited):  # a POST is never retried behind the caller's back
            await alice.submit(second)
        mine = await rig.venue.list_orders(maker=bytes.fromhex(alice.maker_address[2:]))
        assert [o.order_id for o in mine.items] == [first.digest(rig.chain.manifest.domain)]


async def test_a_keystore_key_signs_for_the_sdk(rig: Rig, tmp_path: Path) -> None:
    store = Keystore(tmp_path / "keys", scrypt_n=INSECURE_TEST_SCRYPT_N)
    store.import_key("alice", KeyRole.MAKER, rig.makers[0].key, "correct horse")
    client = AsyncClient.from_keystore(
        rig.base, "alice", StaticPassword("correct horse"), keystore_dir=tmp_path / "keys"
    )
    async with client:
        assert client.signer is not None and client.signer.address == rig.makers[0].signer.address
        ack = await client.submit(client.build_order(rig.chain.series, is_buy=True, price=USD, amount=OPTION))
        assert ack.status == "open"


async def test_deposit_and_withdraw_move_vault_balances(rig: Rig) -> None:
    quote = rig.chain.manifest.tokens["quote"].address
    token = rig.chain.manifest.tokens["quote"]
    from settlement.abi import contract_abi
    from settlement.transactions import send_and_wait

    trader = rig.makers[2].signer
    abi = contract_abi("TestToken")
    send_and_wait(
        rig.chain.chain,
        trader,
        token.address,
        abi.encode_call("mint", trader.address, 1_000 * USD),
        nonce=rig.chain.chain.nonce(trader.address, "pending"),
    )
    async with _client(rig, 2) as carol:
        free0, locked0 = await carol.balance(quote)
        await carol.deposit(quote, 1_000 * USD)
        assert await carol.balance(quote) == (free0 + 1_000 * USD, locked0)
        await carol.withdraw(quote, 400 * USD)
        assert await carol.balance(quote) == (free0 + 600 * USD, locked0)


async def test_the_book_stream_follows_the_book_and_resnapshots_after_being_dropped(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    config = api_config(ws=WsConfig(queue_size=150, send_buffer_bytes=4096))
    async with api_rig(deployed, tmp_path, config) as rig:

        def small_socket(addr_info: Any) -> socket.socket:
            family, type_, proto, _, _ = addr_info
            sock = socket.socket(family=family, type=type_, proto=proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            return sock

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=small_socket))
        client = AsyncClient(rig.base, rig.makers[0].signer, session=session, reconnect_delay_s=0.05)
        series = rig.chain.series
        stream = client.stream_book(series, depth=1000)
        try:
            first = await anext(stream)
            assert isinstance(first, BookState) and first.bids == () and first.asks == ()
            await rig.post_order(rig.makers[0].order(is_buy=False, price=PRICE))
            state = await anext(stream)
            assert state.asks == ((PRICE, OPTION),)
            # the consumer stops reading while 6,000 orders arrive: the server drops it
            for start in range(0, 6_000, 100):
                batch = [
                    rig.makers[(start + i) % 4].order(is_buy=True, price=1_000 + start + i, amount=10**15)
                    for i in range(100)
                ]
                status, _ = await rig.post_orders(batch)
                assert status == 201
            _, text = await rig.get("/metrics")
            assert 'strikebook_ws_dropped_total{reason="slow_consumer"} 1.0' in text
            # reading again, the stream reconnects and re-snapshots; it converges on the REST book
            _, rest = await rig.get(f"/v1/book/0x{series.hex()}?depth=1000")
            target = int(rest["seq"])
            while state.seq < target:
                state = await asyncio.wait_for(anext(stream), 30)
            assert client.resyncs >= 1
            assert state.seq == target and len(state.bids) == 1000 and state.asks == ((PRICE, OPTION),)
            assert state.bids[0] == (int(rest["bids"][0]["price"]), int(rest["bids"][0]["amount"]))
        finally:
            await stream.aclose()
            await client.close()
            await session.close()


async def test_the_fill_stream_reports_a_fill_until_it_is_settled(rig: Rig) -> None:
    series = rig.chain.series
    async with _client(rig, 0) as alice, _client(rig, 1) as bob:
        stream = bob.stream_fills()
        events: list[FillEvent] = []

        async def collect() -> None:
            async for event in stream:
                events.append(event)
                if event.status == "settled":
                    return

        task = asyncio.create_task(collect())
        await asyncio.sleep(0.3)  # subscribed
        await alice.submit(alice.build_order(series, is_buy=False, price=PRICE, amount=OPTION, max_fee=USD))
        ack = await bob.submit(bob.build_order(series, is_buy=True, price=PRICE, amount=OPTION, max_fee=USD), tif="ioc")
        await asyncio.wait_for(task, 30)
        assert events[-1].status == "settled" and events[-1].batch == 1
        assert all(e.order == ack.hash and e.is_buy and e.amount == OPTION for e in events)


async def test_the_sync_client_does_the_same_from_plain_threads(rig: Rig) -> None:
    series = rig.chain.series

    def flow() -> tuple[str, str, tuple[tuple[int, int], ...]]:
        with Client(rig.base, rig.makers[3].signer) as dave:
            ack = dave.submit(dave.build_order(series, is_buy=True, price=2 * USD, amount=OPTION))
            book = dave.book(series)
            assert ack.hash is not None
            cancelled = dave.cancel(ack.hash)
            return ack.status, cancelled["status"], book.bids

    status, cancelled, bids = await asyncio.to_thread(flow)
    assert (status, cancelled, bids) == ("open", "cancelled", ((2 * USD, OPTION),))
