"""API errors: JSON `{code, message, details}` with a stable code and an HTTP status.

Every error that crosses the API is an `ApiError`; library and domain errors are wrapped at
the handler boundary so clients can rely on `code` alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from relayer.errors import RelayerError


class ApiError(RelayerError):
    """An error answered to the client. `code` is stable; `message` is for humans."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self, message: str, *, details: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.headers: dict[str, str] = dict(headers or {})

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.to_json()),
            content_type="application/json",
            headers=self.headers,
        )


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class Unprocessable(ApiError):
    """The request is well-formed but the venue rejects it (a domain rule): 422 with a domain code."""

    status = 422

    def __init__(self, code: str, message: str, *, details: Mapping[str, Any] | None = None):
        super().__init__(message, details=details)
        self.code = code


class RateLimited(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, limit: str):
        seconds = max(1, int(retry_after_s + 0.999))
        super().__init__(
            message,
            details={"retry_after_s": seconds, "limit": limit},
            headers={"Retry-After": str(seconds)},
        )
