"""aiohttp glue for `keys.auth`: mark admin handlers with their action, mount one middleware.

    @admin_action(AdminAction.PAUSE)
    async def pause(request: web.Request) -> web.Response: ...

    app = web.Application(middlewares=[admin_auth_middleware(authenticator)])
    app.router.add_post("/v1/admin/pause", pause)

Every request whose path is under `prefix`, or whose handler is marked, is authenticated; an
unmarked handler under the prefix is refused (fail closed). Refusals answer the API's error shape
`{code, message, details}` with the error's HTTP status (and `Retry-After` on lockout). The
allowed `Principal` is at `request[PRINCIPAL_KEY]`. The handler's status is audited afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from .admin_actions import AdminAction
from .auth import AdminRequest, Authenticator, Principal
from .errors import AuthError, LockedOutError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Callable[..., Any])

PRINCIPAL_KEY: web.RequestKey[Principal] = web.RequestKey("strikebook_admin_principal", Principal)
_ACTION_ATTR = "__strikebook_admin_action__"


def admin_action(action: AdminAction) -> Callable[[H], H]:
    """Mark a handler as performing `action` (what the middleware authenticates it for)."""

    def mark(handler: H) -> H:
        setattr(handler, _ACTION_ATTR, action)
        return handler

    return mark


def _error_response(exc: AuthError) -> web.Response:
    details: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, LockedOutError):
        seconds = max(1, int(exc.retry_after + 0.999))
        details["retry_after_s"] = seconds
        headers["Retry-After"] = str(seconds)
    body = {"code": exc.code, "message": str(exc), "details": details}
    return web.Response(status=exc.status, text=json.dumps(body), content_type="application/json", headers=headers)


def admin_auth_middleware(authenticator: Authenticator, *, prefix: str = "/v1/admin/") -> Any:
    """The middleware to put in `web.Application(middlewares=[...])`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        action: AdminAction | None = getattr(handler, _ACTION_ATTR, None)
        if action is None:
            # aiohttp may wrap the route handler (e.g. other middlewares); look at the route too
            action = getattr(request.match_info.handler, _ACTION_ATTR, None)
        if action is None and not request.path.startswith(prefix):
            return await handler(request)
        admin_request = AdminRequest(
            method=request.method,
            path=request.raw_path,
            body=await request.read(),
            headers=dict(request.headers),
            remote=request.remote,
        )
        try:
            principal = authenticator.authenticate(admin_request, action)
        except AuthError as exc:
            return _error_response(exc)
        request[PRINCIPAL_KEY] = principal
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception as exc:
            # application errors rendered by an outer middleware (e.g. the API's `{code, message}`
            # errors) carry their HTTP status: audit that, not a 500 the client never saw
            carried = getattr(exc, "status", None)
            status = carried if isinstance(carried, int) and 400 <= carried <= 599 else 500
            raise
        finally:
            authenticator.record_outcome(admin_request, principal, status)

    return middleware
