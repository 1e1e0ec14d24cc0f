"""The admin middleware on a real aiohttp server over loopback, driven by real HTTP requests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from keys.admin_actions import TOTP_ACTIONS, AdminAction
from keys.admin_client import AdminCredentials, sign_admin_request
from keys.aiohttp_auth import PRINCIPAL_KEY, admin_action, admin_auth_middleware
from keys.audit import verify_audit_log
from keys.request_signing import HEADER_SIGNATURE, HEADER_TIMESTAMP

from .auth_support import AuthRig, make_rig

ROUTES = {action: f"/v1/admin/{action.value.replace('_', '-')}" for action in AdminAction}


@dataclass
class Server:
    base: str
    rig: AuthRig
    session: aiohttp.ClientSession

    async def post(
        self, action: AdminAction, body: bytes = b'{"why":"test"}', *, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, object], dict[str, str]]:
        async with self.session.post(self.base + ROUTES[action], data=body, headers=headers or {}) as resp:
            return resp.status, await resp.json(), dict(resp.headers)

    def signed(self, action: AdminAction, body: bytes = b'{"why":"test"}', **kw: object) -> dict[str, str]:
        totp = self.rig.totp() if action.requires_totp else None
        kw.setdefault("totp", totp)
        kw.setdefault("now", self.rig.clock())
        return sign_admin_request(self.rig.creds, "POST", ROUTES[action], body, **kw)  # type: ignore[arg-type]


def _app(rig: AuthRig) -> web.Application:
    app = web.Application(middlewares=[admin_auth_middleware(rig.authenticator)])
    for action, path in ROUTES.items():

        @admin_action(action)
        async def handler(request: web.Request) -> web.Response:
            principal = request[PRINCIPAL_KEY]
            body = await request.json()  # the middleware's read must not consume the body
            return web.json_response({"done": principal.action.value, "by": principal.key_id, "body": body})

        app.router.add_post(path, handler)

    async def public(request: web.Request) -> web.Response:
        return web.json_response({"public": True})

    async def unmarked_admin(request: web.Request) -> web.Response:
        return web.json_response({"should": "never run"})

    async def failing(request: web.Request) -> web.Response:
        raise web.HTTPConflict(text="already paused")

    app.router.add_get("/v1/markets", public)
    app.router.add_post("/v1/admin/forgotten", unmarked_admin)
    app.router.add_post("/v1/admin/conflict", admin_action(AdminAction.PAUSE)(failing))
    return app


@asynccontextmanager
async def _serve(rig: AuthRig) -> AsyncIterator[Server]:
    """Serve `rig.authenticator` over loopback until the block ends."""
    runner = web.AppRunner(_app(rig))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            yield Server(f"http://{host}:{port}", rig, session)
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with _serve(make_rig(tmp_path)) as served:
        yield served


@pytest.mark.parametrize("action", list(AdminAction))
async def test_a_signed_request_reaches_the_handler_with_its_principal(server: Server, action: AdminAction) -> None:
    status, body, _ = await server.post(action, headers=server.signed(action))

    assert status == 200
    assert body == {"done": action.value, "by": server.rig.key.key_id, "body": {"why": "test"}}


@pytest.mark.parametrize("action", list(AdminAction))
async def test_every_action_is_refused_over_http(server: Server, action: AdminAction) -> None:
    cases: list[tuple[str, dict[str, str], int, str]] = [
        ("no api key", {}, 401, "missing_credentials"),
        ("bad hmac", {**server.signed(action), HEADER_SIGNATURE: "00" * 32}, 401, "bad_signature"),
        ("stale", server.signed(action, now=server.rig.clock() - 120), 401, "stale_timestamp"),
    ]
    for name, headers, want_status, want_code in cases:
        status, body, _ = await server.post(action, headers=headers)
        assert (name, status, body["code"]) == (name, want_status, want_code)

    good = server.signed(action)
    assert (await server.post(action, headers=good))[0] == 200
    status, body, _ = await server.post(action, headers=good)
    assert (status, body["code"]) == (401, "replayed_nonce")


@pytest.mark.parametrize("action", sorted(TOTP_ACTIONS))
async def test_privileged_actions_need_a_right_totp_over_http(server: Server, action: AdminAction) -> None:
    status, body, _ = await server.post(action, headers=server.signed(action, totp=None))
    assert (status, body["code"]) == (401, "totp_required")

    wrong = f"{(int(server.rig.totp()) + 1) % 1_000_000:06d}"
    status, body, _ = await server.post(action, headers=server.signed(action, totp=wrong))
    assert (status, body["code"]) == (401, "bad_totp")


async def test_a_body_changed_in_flight_is_refused(server: Server) -> None:
    headers = server.signed(AdminAction.PAUSE, b'{"why":"test"}')

    status, body, _ = await server.post(AdminAction.PAUSE, b'{"why":"evil"}', headers=headers)

    assert (status, body["code"]) == (401, "bad_signature")


async def test_lockout_answers_429_with_retry_after_then_clears(server: Server) -> None:
    forged = AdminCredentials(server.rig.key.key_id, b"\x07" * 32)
    for _ in range(5):
        headers = sign_admin_request(forged, "POST", ROUTES[AdminAction.PAUSE], b"{}", now=server.rig.clock())
        assert (await server.post(AdminAction.PAUSE, b"{}", headers=headers))[0] == 401

    status, body, headers = await server.post(AdminAction.PAUSE, headers=server.signed(AdminAction.PAUSE))
    assert (status, body["code"], headers["Retry-After"]) == (429, "locked_out", "900")

    server.rig.clock.advance(901)
    assert (await server.post(AdminAction.PAUSE, headers=server.signed(AdminAction.PAUSE)))[0] == 200


async def test_public_routes_pass_untouched_and_unmarked_admin_routes_are_refused(server: Server) -> None:
    async with server.session.get(server.base + "/v1/markets") as resp:
        assert (resp.status, await resp.json()) == (200, {"public": True})

    path = "/v1/admin/forgotten"
    headers = sign_admin_request(server.rig.creds, "POST", path, b"{}", now=server.rig.clock())
    async with server.session.post(server.base + path, data=b"{}", headers=headers) as resp:
        assert (resp.status, (await resp.json())["code"]) == (403, "forbidden_action")


async def test_query_string_is_covered_by_the_signature(server: Server) -> None:
    path = ROUTES[AdminAction.PAUSE]
    headers = sign_admin_request(server.rig.creds, "POST", path + "?series=a", b"{}", now=server.rig.clock())

    async with server.session.post(server.base + path + "?series=b", data=b"{}", headers=headers) as resp:
        assert (resp.status, (await resp.json())["code"]) == (401, "bad_signature")
    async with server.session.post(server.base + path + "?series=a", data=b"{}", headers=headers) as resp:
        assert resp.status == 200


async def test_audit_log_records_decisions_and_outcomes_and_verifies(server: Server) -> None:
    await server.post(AdminAction.PAUSE, headers=server.signed(AdminAction.PAUSE))
    await server.post(AdminAction.UNPAUSE, headers=server.signed(AdminAction.UNPAUSE, totp=None))
    conflict_headers = sign_admin_request(server.rig.creds, "POST", "/v1/admin/conflict", b"", now=server.rig.clock())
    async with server.session.post(server.base + "/v1/admin/conflict", headers=conflict_headers) as resp:
        assert resp.status == 409

    lines = [json.loads(x) for x in server.rig.audit.path.read_text().splitlines()]

    assert verify_audit_log(server.rig.audit.path).entries == len(lines) == 5
    assert [(x["event"], x.get("decision"), x.get("status"), x["action"]) for x in lines] == [
        ("admin_request", "allowed", None, "pause"),
        ("admin_outcome", None, 200, "pause"),
        ("admin_request", "denied", None, "unpause"),
        ("admin_request", "allowed", None, "pause"),
        ("admin_outcome", None, 409, "pause"),
    ]
    assert all(x["remote"] == "127.0.0.1" for x in lines if x["event"] == "admin_request")


async def test_timestamps_are_checked_against_the_injected_clock_not_the_wall(server: Server) -> None:
    headers = server.signed(AdminAction.PAUSE)
    server.rig.clock.advance(31)

    status, body, _ = await server.post(AdminAction.PAUSE, headers=headers)

    assert (status, body["code"]) == (401, "stale_timestamp")
    assert int(headers[HEADER_TIMESTAMP]) == int(server.rig.clock() - 31)


async def test_after_a_restart_old_requests_and_the_start_steps_totp_are_refused_over_http(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    async with _serve(rig) as before:
        captured = before.signed(AdminAction.PAUSE)
        used_code = rig.totp()
        assert (await before.post(AdminAction.PAUSE, headers=captured))[0] == 200
        assert (await before.post(AdminAction.UNPAUSE, headers=before.signed(AdminAction.UNPAUSE)))[0] == 200

    rig.clock.advance(5)  # same TOTP step, the captured timestamp still inside the 30 s window
    rig.restart()
    async with _serve(rig) as after:
        status, body, _ = await after.post(AdminAction.PAUSE, headers=captured)
        assert (status, body["code"]) == (401, "signed_before_start")
        assert "sign a new request" in str(body["message"])

        reused = after.signed(AdminAction.UNPAUSE, totp=used_code)  # a fresh signature, the old code
        status, body, _ = await after.post(AdminAction.UNPAUSE, headers=reused)
        assert (status, body["code"]) == (401, "totp_before_start")
        assert "at most one 30 s step after a restart" in str(body["message"])

        assert (await after.post(AdminAction.PAUSE, headers=after.signed(AdminAction.PAUSE)))[0] == 200
        rig.clock.advance(30)  # the next step's code is accepted
        status, body, _ = await after.post(AdminAction.UNPAUSE, headers=after.signed(AdminAction.UNPAUSE))
        assert (status, body["done"]) == (200, "unpause")
