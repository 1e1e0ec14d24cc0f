"""aiohttp middlewares: every failure leaves as JSON `{code, message, details}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import ApiError, NotFound, PayloadTooLarge

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn typed errors into JSON answers; never leak a traceback to the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPRequestEntityTooLarge as exc:
        return PayloadTooLarge("request body too large", details={"reason": exc.text or ""}).response()
    except web.HTTPNotFound:
        return NotFound(f"no route for {request.method} {request.path}").response()
    except web.HTTPMethodNotAllowed as exc:
        err = ApiError(
            f"{request.method} not allowed on {request.path}", details={"allowed": sorted(exc.allowed_methods)}
        )
        err.status, err.code = 405, "method_not_allowed"
        return err.response()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        err = ApiError("internal error")
        err.status, err.code = 500, "internal"
        return err.response()
