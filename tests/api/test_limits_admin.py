"""Rate limits (429 + Retry-After, cancels never starved) and the authenticated admin routes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from keys.admin_actions import AdminAction
from keys.admin_client import AdminCredentials, sign_admin_request
from keys.api_keys import ApiKey, MemoryApiKeyStore, generate_api_key
from keys.audit import AuditLog
from keys.totp import Totp
from relayer.api.ratelimit import Limit
from relayer.cancels import CancelOrders
from settlement.abi import contract_abi
from settlement.transactions import send_and_wait
from tests.api.support import Rig, api_config, api_rig, now_ms, running_authenticator, signed_cancel
from tests.settlement.venue import USD
from tests.settlement.venue import Venue as ChainVenue


async def test_an_ip_over_its_budget_gets_429_with_retry_after_but_can_still_cancel(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    config = api_config(ip_limit=Limit(rate=0.5, burst=3))
    async with api_rig(deployed, tmp_path, config) as rig:
        alice = rig.makers[0]
        status, body = await rig.post_order(alice.order(is_buy=True, price=USD))
        assert status == 201
        order_hash = body["results"][0]["hash"]
        assert (await rig.get("/v1/series"))[0] == 200
        assert (await rig.get("/v1/series"))[0] == 200
        status, body, headers = await rig.request("GET", "/v1/series")
        assert status == 429 and body["code"] == "rate_limited" and body["details"]["limit"] == "ip_general"
        assert int(headers["Retry-After"]) >= 1
        # the cancel budget is separate: the maker can always pull the order
        msg = CancelOrders(alice.raw, (bytes.fromhex(order_hash[2:]),), now_ms())
        sc = signed_cancel(alice, msg)
        cancel = {
            "maker": alice.signer.address,
            "timestamp": str(msg.timestamp),
            "signature": "0x" + sc.signature.hex(),
        }
        status, body, _ = await rig.request("DELETE", f"/v1/orders/{order_hash}", json=cancel)
        assert status == 200 and body["status"] == "cancelled"


async def test_a_maker_over_its_order_budget_gets_429_and_other_makers_do_not(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    config = api_config(maker_limit=Limit(rate=0.1, burst=5))
    async with api_rig(deployed, tmp_path, config) as rig:
        alice, bob = rig.makers[0], rig.makers[1]
        before = rig.snapshot()
        status, body = await rig.post_orders([alice.order(is_buy=True, price=USD * (i + 1)) for i in range(6)])
        assert status == 429 and body["details"]["limit"] == "maker_general"
        assert rig.snapshot() == before
        status, _ = await rig.post_orders([alice.order(is_buy=True, price=USD * (i + 1)) for i in range(5)])
        assert status == 201
        status, body = await rig.post_order(alice.order(is_buy=True, price=USD))
        assert status == 429
        status, _ = await rig.post_order(bob.order(is_buy=True, price=USD))
        assert status == 201
        _, text = await rig.get("/metrics")
        assert 'strikebook_rate_limited_total{limit="maker_general"} 2.0' in text


async def test_a_small_body_limit_is_enforced(deployed: ChainVenue, tmp_path: Path) -> None:
    async with api_rig(deployed, tmp_path, api_config(max_body_bytes=1024)) as rig:
        orders = [rig.makers[0].order(is_buy=True, price=USD * (i + 1)) for i in range(4)]
        status, body = await rig.post_orders(orders)
        assert status == 413 and body["code"] == "payload_too_large"
        status, _ = await rig.post_order(orders[0])
        assert status == 201


class Admin:
    """Signs admin requests; one API key per TOTP action (a TOTP step is usable once per key)."""

    def __init__(self, rig: Rig, keys: dict[AdminAction, ApiKey]) -> None:
        self.rig = rig
        self.keys = keys

    async def call(
        self,
        action: AdminAction,
        path: str,
        payload: dict[str, object] | None = None,
        *,
        sign: bool = True,
        key: ApiKey | None = None,
    ) -> tuple[int, dict[str, object]]:
        body = json.dumps(payload or {}).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            key = key or self.keys[action]
            totp = Totp(key.totp_secret).code_at(time.time()) if action.requires_totp and key.totp_secret else None
            headers |= sign_admin_request(AdminCredentials.for_key(key), "POST", path, body, totp=totp)
        status, answer, _ = await self.rig.request("POST", path, data=body, headers=headers)
        return status, answer


async def test_admin_routes_pause_unpause_drain_and_list_series_with_credentials(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    keys = {a: generate_api_key(f"ops-{a.value}", [a]) for a in AdminAction}
    second_lister = generate_api_key("ops-list-2", [AdminAction.LIST_SERIES])
    store = MemoryApiKeyStore([*keys.values(), second_lister])
    authenticator = running_authenticator(store, AuditLog(tmp_path / "audit.log"))
    # a separate lister key (never the operator's: the submitter owns that key's nonces)
    lister_node_key = deployed.node.keys[6]
    from keys.signer import LocalSigner

    lister = LocalSigner(lister_node_key)
    registry = contract_abi("SeriesRegistry")
    (role,) = registry.decode_output(
        "LISTER_ROLE", deployed.chain.call(deployed.manifest.registry, registry.encode_call("LISTER_ROLE"))
    )
    send_and_wait(
        deployed.chain,
        deployed.operator,
        deployed.manifest.registry,
        registry.encode_call("grantRole", role, lister.address),
        nonce=deployed.chain.nonce(deployed.operator.address, "pending"),
    )
    async with api_rig(deployed, tmp_path, authenticator=authenticator, lister=lister) as rig:
        admin = Admin(rig, keys)
        alice = rig.makers[0]

        status, body = await admin.call(AdminAction.PAUSE, "/v1/admin/pause", {"reason": "drill"}, sign=False)
        assert status == 401 and body["code"] == "missing_credentials"
        status, body = await admin.call(AdminAction.PAUSE, "/v1/admin/pause", {"reason": "drill"})
        assert status == 200 and body["paused"] is True
        before = rig.snapshot()
        status, body = await rig.post_order(alice.order(is_buy=True, price=USD))
        assert (status, body["code"]) == (409, "intake_paused")
        assert rig.snapshot() == before
        status, health = await rig.get("/v1/health")
        assert health["intakePaused"] is True and health["pauseReason"] == "drill"

        status, body = await admin.call(AdminAction.UNPAUSE, "/v1/admin/unpause")
        assert status == 200 and body["paused"] is False
        status, _ = await rig.post_order(alice.order(is_buy=True, price=USD))
        assert status == 201
        status, _ = await rig.post_order(alice.order(is_buy=True, price=2 * USD))

        status, body = await admin.call(
            AdminAction.DRAIN_MAKER_ORDERS, "/v1/admin/drain", {"maker": alice.signer.address}
        )
        assert status == 200 and body["count"] == "2"
        _, book = await rig.get(f"/v1/book/0x{deployed.series.hex()}")
        assert book["bids"] == []

        head = deployed.chain.block("latest")
        assert head is not None
        listing = {
            "underlying": deployed.manifest.tokens["underlying"].address,
            "quote": deployed.manifest.tokens["quote"].address,
            "strike": str(3_000 * USD),
            "expiry": str(head.timestamp + 86_400),
            "isCall": True,
        }
        status, body = await admin.call(AdminAction.LIST_SERIES, "/v1/admin/series", listing)
        assert status == 200, body
        series = body["series"]
        assert isinstance(series, dict) and series["strike"] == str(3_000 * USD) and series["isCall"] is True
        _, listed = await rig.get("/v1/series")
        assert series["id"] in {s["id"] for s in listed["series"]}
        # listing the same series twice is refused by the registry, with its reason
        status, body = await admin.call(AdminAction.LIST_SERIES, "/v1/admin/series", listing, key=second_lister)
        assert (status, body["code"]) == (422, "listing_refused") and "SeriesExists" in str(body["message"])
        # a key scoped to pause cannot drain
        status, body = await admin.call(
            AdminAction.DRAIN_MAKER_ORDERS,
            "/v1/admin/drain",
            {"maker": alice.signer.address},
            key=keys[AdminAction.PAUSE],
        )
        assert (status, body["code"]) == (403, "forbidden_action")


async def test_without_an_authenticator_every_admin_route_is_refused(rig: Rig) -> None:
    for path in ("/v1/admin/pause", "/v1/admin/unpause", "/v1/admin/drain", "/v1/admin/series"):
        status, body, _ = await rig.request("POST", path, json={})
        assert (status, body["code"]) == (401, "admin_disabled")
    assert rig.venue.health().intake_paused is False
