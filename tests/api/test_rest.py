"""Every REST route over a real server on loopback, backed by a real Venue on Anvil and SQLite."""

from __future__ import annotations

import asyncio

from relayer.cancels import CancelAfter, CancelAll, CancelOrders
from settlement.audit.relayer import HTTPRelayerReport
from tests.api.support import Rig, now_ms, signed_cancel
from tests.settlement.venue import OPTION, PRICE, USD
from tests.venue.support import eventually


def _cancel_body(rig: Rig, maker_index: int, order_hash: str, ts: int | None = None) -> dict[str, str]:
    maker = rig.makers[maker_index]
    msg = CancelOrders(maker.raw, (bytes.fromhex(order_hash[2:]),), ts or now_ms())
    sc = signed_cancel(maker, msg)
    return {"maker": maker.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}


async def test_info_names_the_domain_types_fees_and_contracts(rig: Rig) -> None:
    status, info = await rig.get("/v1/info")
    manifest = rig.chain.manifest
    assert status == 200
    assert info["domain"] == {
        "name": "Strikebook",
        "version": "1",
        "chainId": str(manifest.chain_id),
        "verifyingContract": manifest.exchange,
    }
    assert [f["name"] for f in info["types"]["Order"]] == [
        "maker",
        "series",
        "isBuy",
        "price",
        "amount",
        "maxFee",
        "nonce",
        "expiry",
    ]
    assert info["contracts"]["Exchange"] == manifest.exchange
    assert info["fees"] == {"makerFee": str(USD // 100), "takerFee": str(USD // 50)}
    assert info["limits"]["maxOrdersPerRequest"] == "100"


async def test_series_lists_what_the_registry_listed(rig: Rig) -> None:
    status, body = await rig.get("/v1/series")
    assert status == 200
    (series,) = body["series"]
    assert series["id"] == "0x" + rig.chain.series.hex()
    assert series["isCall"] is False and series["strike"] == str(2_000 * USD)
    assert series["underlyingUnit"] == str(OPTION)


async def test_an_accepted_order_is_readable_and_in_the_book_and_a_duplicate_changes_nothing(rig: Rig) -> None:
    alice = rig.makers[0]
    order = alice.order(is_buy=False, amount=2 * OPTION)
    status, body = await rig.post_order(order, clientId="a-1")
    assert status == 201
    (result,) = body["results"]
    assert result["status"] == "open" and result["duplicate"] is False and result["clientId"] == "a-1"
    order_hash = result["hash"]
    assert order_hash == "0x" + order.digest(rig.chain.manifest.domain).hex()

    status, view = await rig.get(f"/v1/orders/{order_hash}")
    assert status == 200
    assert view["maker"] == alice.signer.address and view["amount"] == str(2 * OPTION)
    assert view["status"] == "open" and view["remaining"] == str(2 * OPTION) and view["timeInForce"] == "gtc"

    status, book = await rig.get(f"/v1/book/0x{rig.chain.series.hex()}?depth=5")
    assert status == 200
    assert book["asks"] == [{"price": str(PRICE), "amount": str(2 * OPTION)}] and book["bids"] == []
    assert int(book["seq"]) >= 1

    before = rig.snapshot()
    status, body = await rig.post_order(order)
    assert status == 201
    assert body["results"][0] == {
        "hash": order_hash,
        "status": "open",
        "remaining": str(2 * OPTION),
        "duplicate": True,
        "clientId": "a-1",
    }
    assert rig.snapshot() == before


async def test_a_batch_answers_per_order_in_order(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    good = alice.order(is_buy=True, price=PRICE - USD)
    expired = bob.order(is_buy=True, expiry=1)
    other = bob.order(is_buy=False, price=PRICE + USD)
    status, body = await rig.post_orders([good, expired, other])
    assert status == 201
    assert [r["status"] for r in body["results"]] == ["open", "rejected", "open"]
    assert body["results"][1]["code"] == "order_expired"


async def test_orders_are_listed_by_maker_and_status_with_cursor_pages(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    mine = [alice.order(is_buy=True, price=PRICE - i * USD) for i in range(1, 6)]
    status, _ = await rig.post_orders([*mine, bob.order(is_buy=True, price=PRICE - 10 * USD)])
    assert status == 201
    seen: list[str] = []
    cursor = None
    while True:
        path = f"/v1/orders?maker={alice.signer.address}&status=open&limit=2"
        status, page = await rig.get(path + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        seen += [o["hash"] for o in page["orders"]]
        assert all(o["maker"] == alice.signer.address for o in page["orders"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    expected = {"0x" + o.digest(rig.chain.manifest.domain).hex() for o in mine}
    assert len(seen) == 5 and set(seen) == expected
    status, page = await rig.get(f"/v1/orders?series=0x{rig.chain.series.hex()}&status=filled")
    assert status == 200 and page["orders"] == []


async def test_fills_and_batches_match_what_the_auditor_reads(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    await rig.post_order(alice.order(is_buy=False, amount=2 * OPTION))
    status, body = await rig.post_order(bob.order(is_buy=True, amount=OPTION), timeInForce="ioc")
    assert status == 201 and body["results"][0]["status"] == "filled"

    async def settled() -> bool:
        status, page = await rig.get(f"/v1/fills?maker={bob.signer.address}")
        return status == 200 and bool(page["fills"]) and page["fills"][0]["status"] == "settled"

    await eventually(settled)
    status, page = await rig.get("/v1/fills?batch=1")
    (fill,) = page["fills"]
    assert fill["batch"] == "1" and fill["index"] == "0" and fill["makerIsBuy"] is False
    assert fill["maker"] == alice.signer.address and fill["taker"] == bob.signer.address
    assert fill["premium"] == str(PRICE) and fill["makerFee"] == str(USD // 100) and fill["takerFee"] == str(USD // 50)
    status, batch = await rig.get("/v1/batches/1")
    assert status == 200
    assert batch["seq"] == "1" and batch["status"] == "settled" and batch["filled"] == "1" and batch["skipped"] == "0"
    assert fill["txHash"] == batch["txHash"] and batch["blockNumber"] is not None
    # the auditor's own HTTP reader parses both answers
    report = HTTPRelayerReport(rig.base)
    (reported,) = await asyncio.to_thread(report.fills, 1)
    assert reported.amount == OPTION and reported.premium == PRICE and reported.tx == batch["txHash"].lower()
    reported_batch = await asyncio.to_thread(report.batch, 1)
    assert reported_batch is not None and reported_batch.filled == 1
    status, page = await rig.get(f"/v1/fills?series=0x{rig.chain.series.hex()}&limit=1")
    assert status == 200 and len(page["fills"]) == 1


async def test_health_metrics_and_openapi(rig: Rig) -> None:
    status, health = await rig.get("/v1/health")
    assert status == 200 and health["ok"] is True and health["intakePaused"] is False
    await rig.post_order(rig.makers[0].order(is_buy=True, price=USD))
    status, text = await rig.get("/metrics")
    assert status == 200
    assert 'strikebook_orders_total{outcome="open"} 1.0' in text
    assert "strikebook_open_orders 1.0" in text
    assert 'strikebook_http_requests_total{method="POST",route="/v1/orders",status="201"} 1.0' in text


async def test_the_openapi_document_lists_exactly_the_registered_routes(rig: Rig) -> None:
    status, doc = await rig.get("/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    registered = {
        (r.method, r.resource.canonical)
        for r in rig.app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }
    assert documented == registered
    refs = {s for s in doc["components"]["schemas"]}
    assert {"Error", "SignedOrder", "Fill", "Batch", "Book"} <= refs


async def test_a_signed_cancel_removes_the_order_and_a_replay_or_a_second_cancel_is_refused(rig: Rig) -> None:
    alice = rig.makers[0]
    _, body = await rig.post_order(alice.order(is_buy=False))
    order_hash = body["results"][0]["hash"]
    cancel = _cancel_body(rig, 0, order_hash)
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=cancel)
    assert status == 200 and body == {"hash": order_hash, "status": "cancelled", "remaining": str(OPTION)}
    _, book = await rig.get(f"/v1/book/0x{rig.chain.series.hex()}")
    assert book["asks"] == []
    _, view = await rig.get(f"/v1/orders/{order_hash}")
    assert view["status"] == "cancelled"

    status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=cancel)
    assert status == 409 and body["code"] == "cancel_replayed"
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=_cancel_body(rig, 0, order_hash))
    assert status == 409 and body["code"] == "not_open"


async def test_cancel_all_cancels_only_the_makers_orders(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    await rig.post_orders([alice.order(is_buy=True, price=USD * i) for i in (1, 2, 3)])
    await rig.post_order(bob.order(is_buy=True, price=USD * 4))
    await asyncio.sleep(0.002)  # cancel-all covers orders received before its timestamp
    msg = CancelAll(alice.raw, bytes(32), now_ms())
    sc = signed_cancel(alice, msg)
    status, body, _ = await rig.request(
        "POST",
        "/v1/cancel_all",
        json={"maker": alice.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()},
    )
    assert status == 200 and body["count"] == "3" and len(body["cancelled"]) == 3
    _, book = await rig.get(f"/v1/book/0x{rig.chain.series.hex()}")
    assert book["bids"] == [{"price": str(4 * USD), "amount": str(OPTION)}]


async def test_cancel_after_arms_a_dead_mans_switch_that_fires_and_can_be_switched_off(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    await rig.post_order(alice.order(is_buy=True, price=USD))
    await rig.post_order(bob.order(is_buy=True, price=2 * USD))

    async def arm(maker_index: int, timeout_ms: int) -> tuple[int, dict[str, str]]:
        maker = rig.makers[maker_index]
        msg = CancelAfter(maker.raw, timeout_ms, now_ms())
        sc = signed_cancel(maker, msg)
        payload = {
            "maker": maker.signer.address,
            "timeoutMs": str(timeout_ms),
            "timestamp": str(msg.timestamp),
            "signature": "0x" + sc.signature.hex(),
        }
        status, body, _ = await rig.request("POST", "/v1/cancel_after", json=payload)
        return status, body

    status, body = await arm(0, 300)
    assert status == 200 and int(body["deadline"]) > now_ms()
    status, body = await arm(1, 300)
    assert status == 200
    await asyncio.sleep(0.002)
    status, body = await arm(1, 0)
    assert status == 200 and body["deadline"] is None

    async def alice_gone() -> bool:
        _, book = await rig.get(f"/v1/book/0x{rig.chain.series.hex()}")
        return book["bids"] == [{"price": str(2 * USD), "amount": str(OPTION)}]

    await eventually(alice_gone, timeout=10)
    await asyncio.sleep(0.5)
    assert await alice_gone()  # bob's switch was off: his order stays


async def test_unknown_things_answer_404_with_their_code(rig: Rig) -> None:
    zero = "0x" + "00" * 32
    cases = {
        "/v1/nothing": "not_found",
        f"/v1/orders/{zero}": "order_not_found",
        "/v1/batches/99": "batch_not_found",
        f"/v1/book/{zero}": "unknown_series",
    }
    for path, code in cases.items():
        status, body = await rig.get(path)
        assert (status, body["code"]) == (404, code), path
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{zero}", json=_cancel_body(rig, 0, zero))
    assert (status, body["code"]) == (404, "order_not_found")
    status, body, _ = await rig.request("PUT", "/v1/orders")
    assert status == 405 and body["code"] == "method_not_allowed"


async def test_malformed_requests_answer_400_with_their_code(rig: Rig) -> None:
    alice = rig.makers[0]
    order = alice.order(is_buy=True).to_json_dict()
    cases: list[tuple[bytes | dict[str, object], str]] = [
        (b"{not json", "invalid_json"),
        (b"NaN", "invalid_json"),
        ({"order": order, "extra": 1}, "invalid_schema"),
        ({"orders": []}, "invalid_schema"),
        ({"orders": [{"order": order}] * 101}, "too_many_orders"),
        ({"order": order, "timeInForce": "forever"}, "invalid_schema"),
        ({"order": {**order, "maker": "0x1234"}}, "invalid_schema"),
        ({"order": {**order, "price": 10}}, "amount_not_string"),
        ({"order": {**order, "price": "0x10"}}, "amount_malformed"),
    ]
    before = rig.snapshot()
    for payload, code in cases:
        if isinstance(payload, bytes):
            status, body, _ = await rig.request("POST", "/v1/orders", data=payload)
        else:
            status, body, _ = await rig.request("POST", "/v1/orders", json=payload)
        assert (status, body["code"]) == (400, code), payload if isinstance(payload, bytes) else code
    for path, code in [
        ("/v1/orders?cursor=abc", "invalid_cursor"),
        ("/v1/orders?status=lost", "invalid_schema"),
        ("/v1/orders?maker=0x12", "invalid_schema"),
        ("/v1/fills?batch=-1", "amount_negative"),
        ("/v1/book/0x12", "invalid_schema"),
        (f"/v1/book/0x{rig.chain.series.hex()}?depth=0", "amount_out_of_range"),
        ("/v1/ws", "websocket_required"),
    ]:
        status, body = await rig.get(path)
        assert (status, body["code"]) == (400, code), path
    assert rig.snapshot() == before


async def test_domain_rejections_answer_422_with_the_venue_code(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    await rig.post_order(alice.order(is_buy=False, price=PRICE))
    before = rig.snapshot()
    cases = [
        (bob.order(is_buy=True, amount=10**9 * OPTION, price=PRICE - USD), {}, "insufficient_collateral"),
        (bob.order(is_buy=True, price=2_001 * USD), {}, "price_out_of_bounds"),
        (bob.order(is_buy=True, price=PRICE), {"timeInForce": "post_only"}, "post_only_would_cross"),
    ]
    for order, extra, code in cases:
        status, body = await rig.post_order(order, **extra)
        assert (status, body["code"]) == (422, code)
    after = rig.snapshot()
    # a post-only order that would cross is journaled and then refused (documented engine behaviour):
    # nothing rests, nothing fills, the book is unchanged
    assert after[1] == before[1] and after[0]["fills"] == before[0]["fills"]
