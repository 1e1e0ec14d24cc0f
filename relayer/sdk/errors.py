"""Typed SDK exceptions, one class per API error code family (the code is kept on the instance)."""

from __future__ import annotations

from typing import Any

from relayer.errors import RelayerError


class ClientError(RelayerError):
    """Root of the SDK's errors. `code` is the API's stable code; `status` the HTTP status (0: no answer)."""

    def __init__(self, code: str, message: str, status: int = 0, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class TransportError(ClientError):
    """The relayer could not be reached, or answered something that is not the API."""


class InvalidRequest(ClientError):
    """400: the request was malformed (bad JSON, schema, an amount that is not a decimal string)."""


class AmountError(InvalidRequest):
    """400: an integer field was a float, negative, out of range or not a decimal string."""


class Unauthorized(ClientError):
    """401: missing or bad admin credentials, or a cancel signed by someone who may not cancel."""


class NotFound(ClientError):
    """404: no such order, batch, series or route."""


class Conflict(ClientError):
    """409: the venue's state refuses it (intake paused, replayed cancel, order no longer open)."""


class IntakePaused(Conflict):
    """409 intake_paused: the operator paused order intake; cancels still work."""


class CancelReplayed(Conflict):
    """409 cancel_replayed: a cancel with this timestamp (or an older one) was already applied."""


class PayloadTooLarge(ClientError):
    """413: the request body is over the relayer's limit."""


class OrderRejected(ClientError):
    """422: a venue rule refused the order (`code` says which: see `relayer.intake.RejectCode`)."""


class InvalidSignature(OrderRejected):
    """422 invalid_signature / unauthorized_signer / wrong_domain: the signature does not authorise the order."""


class InsufficientCollateral(OrderRejected):
    """422 insufficient_collateral: free collateral minus reservations does not cover the order."""


class OrderExpired(OrderRejected):
    """422 order_expired / series_expired."""


class UnknownSeries(OrderRejected):
    """422 unknown_series: the series is not listed."""


class OneShotRejected(OrderRejected):
    """422 one_shot_must_be_immediate / bad_one_shot_nonce / one_shot_spent: a one-shot order was
    sent GTC or post-only, set nonce bits 64..254, or reused a spent sequence number."""


class CancelRejected(ClientError):
    """A signed cancel was refused (stale timestamp, not the owner, not authorised)."""


class RateLimited(ClientError):
    """429: over a limit; `retry_after` seconds from the Retry-After header."""

    def __init__(self, code: str, message: str, status: int, details: dict[str, Any], retry_after: float) -> None:
        super().__init__(code, message, status, details)
        self.retry_after = retry_after


class Unavailable(ClientError):
    """503: the relayer's store or chain is unavailable; retry."""


class StreamError(ClientError):
    """A WebSocket subscription was refused (unknown channel or series)."""


_BY_CODE: dict[str, type[ClientError]] = {
    "intake_paused": IntakePaused,
    "cancel_replayed": CancelReplayed,
    "invalid_signature": InvalidSignature,
    "unauthorized_signer": InvalidSignature,
    "wrong_domain": InvalidSignature,
    "insufficient_collateral": InsufficientCollateral,
    "order_expired": OrderExpired,
    "series_expired": OrderExpired,
    "unknown_series": UnknownSeries,
    "one_shot_must_be_immediate": OneShotRejected,
    "bad_one_shot_nonce": OneShotRejected,
    "one_shot_spent": OneShotRejected,
    "cancel_stale": CancelRejected,
    "cancel_unauthorized": CancelRejected,
    "not_owner": CancelRejected,
    "amount_not_integer": AmountError,
    "amount_negative": AmountError,
    "amount_out_of_range": AmountError,
    "amount_not_string": AmountError,
    "amount_malformed": AmountError,
}
_BY_STATUS: dict[int, type[ClientError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: OrderRejected,
    503: Unavailable,
}


def error_from_response(status: int, body: Any, retry_after: str | None = None) -> ClientError:
    """The typed exception for an API error answer."""
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return TransportError("bad_response", f"HTTP {status}: {str(body)[:200]}", status)
    code, message = body["code"], str(body.get("message", ""))
    raw_details = body.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    if status == 429:
        try:
            wait = float(retry_after) if retry_after is not None else 1.0
        except ValueError:
            wait = 1.0
        return RateLimited(code, message, status, details, wait)
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, ClientError)
    return cls(code, message, status, details)
