"""Hostile requests: each is refused with its own code and changes nothing (store, book, engine)."""

from __future__ import annotations

import json

import pytest

from relayer.cancels import CancelAll, CancelOrders
from settlement.order import Domain, Order, SignedOrder
from settlement.signing import SECP256K1_N, sign_order
from tests.api.support import Rig, now_ms, signed_cancel
from tests.settlement.venue import OPTION, PRICE, USD
from tests.venue.support import Maker


def _resign(maker: Maker, order: Order, domain: Domain) -> SignedOrder:
    return sign_order(order, domain, maker.key)


async def _refused(rig: Rig, payload: bytes | dict[str, object], status: int, code: str) -> None:
    before = rig.snapshot()
    if isinstance(payload, bytes):
        got, body, _ = await rig.request("POST", "/v1/orders", data=payload)
    else:
        got, body, _ = await rig.request("POST", "/v1/orders", json=payload)
    assert (got, body["code"]) == (status, code), body
    assert rig.snapshot() == before


@pytest.mark.parametrize("what", ["chain_id", "verifying_contract"])
async def test_a_signature_for_another_domain_is_refused(rig: Rig, what: str) -> None:
    alice = rig.makers[0]
    domain = rig.chain.manifest.domain
    other = (
        Domain(domain.chain_id + 1, domain.verifying_contract)
        if what == "chain_id"
        else Domain(domain.chain_id, "0x" + "11" * 20)
    )
    signed = _resign(alice, alice.order(is_buy=False).order, other)
    # the signature recovers to some other key under this venue's domain
    await _refused(rig, {"order": signed.to_json_dict()}, 422, "unauthorized_signer")
    # a client that says which domain it signed for is told it is the wrong one
    claim = {"chainId": str(other.chain_id)} if what == "chain_id" else {"verifyingContract": other.verifying_contract}
    await _refused(rig, {"order": signed.to_json_dict(), **claim}, 422, "wrong_domain")


async def test_the_high_s_twin_of_a_valid_signature_never_makes_a_second_order(rig: Rig) -> None:
    alice = rig.makers[0]
    signed = alice.order(is_buy=False)
    sig = signed.signature
    s = int.from_bytes(sig[32:64], "big")
    twin_sig = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((55 - sig[64],))
    twin = SignedOrder(signed.order, twin_sig)
    assert twin.digest(rig.chain.manifest.domain) == signed.digest(rig.chain.manifest.domain)

    await _refused(rig, {"order": twin.to_json_dict()}, 422, "invalid_signature")
    status, body = await rig.post_order(signed)
    assert status == 201 and body["results"][0]["status"] == "open"
    await _refused(rig, {"order": twin.to_json_dict()}, 422, "invalid_signature")
    _, page = await rig.get(f"/v1/orders?maker={alice.signer.address}")
    assert len(page["orders"]) == 1 and page["orders"][0]["signature"] == "0x" + sig.hex()


async def test_an_expired_order_and_an_unknown_series_are_refused(rig: Rig) -> None:
    alice = rig.makers[0]
    await _refused(rig, {"order": alice.order(is_buy=True, expiry=1_000).to_json_dict()}, 422, "order_expired")
    ghost = alice.order(is_buy=True, series=b"\x42" * 32)
    await _refused(rig, {"order": ghost.to_json_dict()}, 422, "unknown_series")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("amount", 1.5, "amount_not_integer"),
        ("amount", "1.5", "amount_not_integer"),
        ("price", "5e7", "amount_not_integer"),
        ("amount", -1, "amount_negative"),
        ("amount", "-1000000000000000000", "amount_negative"),
        ("amount", str(2**127), "amount_out_of_range"),
        ("price", str(2**128), "amount_out_of_range"),
        ("amount", "0", "amount_out_of_range"),
        ("nonce", str(2**256), "amount_out_of_range"),
    ],
)
async def test_float_negative_and_out_of_range_amounts_are_refused(
    rig: Rig, field: str, value: object, code: str
) -> None:
    order = rig.makers[0].order(is_buy=True, price=PRICE).to_json_dict()
    order[field] = value
    await _refused(rig, {"order": order}, 400, code)
    # the same inside a batch names the order's index
    status, body, _ = await rig.request(
        "POST",
        "/v1/orders",
        json={"orders": [{"order": rig.makers[1].order(is_buy=True).to_json_dict()}, {"order": order}]},
    )
    assert (status, body["code"], body["details"]["index"]) == (400, code, 1)


async def test_an_oversize_body_is_refused_with_413(rig: Rig) -> None:
    alice = rig.makers[0]
    order = alice.order(is_buy=True, price=USD).to_json_dict()
    payload = json.dumps({"order": order, "clientId": "x" * 300_000}).encode()
    await _refused(rig, payload, 413, "payload_too_large")


async def test_deeply_nested_json_is_refused(rig: Rig) -> None:
    await _refused(rig, b"[" * 100_000 + b"]" * 100_000, 400, "json_too_deep")
    await _refused(
        rig, json.dumps({"order": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {}}}}}}}}}).encode(), 400, "json_too_deep"
    )


async def test_a_cancel_by_someone_other_than_the_maker_is_refused(rig: Rig) -> None:
    alice, mallory = rig.makers[0], rig.makers[3]
    _, body = await rig.post_order(alice.order(is_buy=False))
    order_hash = body["results"][0]["hash"]
    raw_hash = bytes.fromhex(order_hash[2:])
    before = rig.snapshot()

    # mallory signs a cancel in her own name for alice's order
    msg = CancelOrders(mallory.raw, (raw_hash,), now_ms())
    sc = signed_cancel(mallory, msg)
    payload = {"maker": mallory.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=payload)
    assert (status, body["code"]) == (422, "not_owner")

    # mallory signs a cancel claiming to be alice
    msg = CancelOrders(alice.raw, (raw_hash,), now_ms())
    sc = signed_cancel(alice, msg, signer=mallory.signer)
    payload = {"maker": alice.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=payload)
    assert (status, body["code"]) == (401, "cancel_unauthorized")
    assert rig.snapshot() == before
    _, view = await rig.get(f"/v1/orders/{order_hash}")
    assert view["status"] == "open"


async def test_a_replayed_cancel_is_refused_and_spares_newer_orders(rig: Rig) -> None:
    alice = rig.makers[0]
    await rig.post_order(alice.order(is_buy=True, price=USD))
    msg = CancelAll(alice.raw, bytes(32), now_ms() + 1)
    sc = signed_cancel(alice, msg)
    payload = {"maker": alice.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}
    import asyncio

    await asyncio.sleep(0.005)
    status, body, _ = await rig.request("POST", "/v1/cancel_all", json=payload)
    assert status == 200 and body["count"] == "1"

    status, body = await rig.post_order(alice.order(is_buy=True, price=2 * USD, amount=OPTION))
    assert status == 201
    before = rig.snapshot()
    status, body, _ = await rig.request("POST", "/v1/cancel_all", json=payload)
    assert (status, body["code"]) == (409, "cancel_replayed")
    assert rig.snapshot() == before


async def test_a_stale_cancel_is_refused(rig: Rig) -> None:
    alice = rig.makers[0]
    _, body = await rig.post_order(alice.order(is_buy=True, price=USD))
    order_hash = body["results"][0]["hash"]
    msg = CancelOrders(alice.raw, (bytes.fromhex(order_hash[2:]),), now_ms() - 120_000)
    sc = signed_cancel(alice, msg)
    payload = {"maker": alice.signer.address, "timestamp": str(msg.timestamp), "signature": "0x" + sc.signature.hex()}
    before = rig.snapshot()
    status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=payload)
    assert (status, body["code"]) == (422, "cancel_stale")
    assert rig.snapshot() == before
