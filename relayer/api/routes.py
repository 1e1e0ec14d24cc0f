"""The route table: every (method, path, handler) with its OpenAPI operation, registered together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from relayer.api.openapi import (
    ADDRESS,
    DECIMAL,
    HEX32,
    ORDER_STATES,
    Operation,
    body,
    error_responses,
    json_response,
    path_param,
    query,
)

if TYPE_CHECKING:
    from relayer.api.server import _Api

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PUBLIC = (400, 429)
_PAGE = [
    query("cursor", {"type": "string", "pattern": "^[0-9]{1,18}$"}, "nextCursor of the previous page"),
    query("limit", {**DECIMAL, "pattern": "^[1-9][0-9]{0,3}$"}, "page size, 1..1000"),
]
_ADMIN = {"security": [{"adminHmac": []}], "tags": ["admin"]}


def register(app: web.Application, api: _Api) -> None:
    """Add every route to `app` and its operation to `api.operations` (the OpenAPI document)."""

    def add(method: str, path: str, handler: Handler, op: Operation) -> None:
        app.router.add_route(method, path, handler)
        api.operations[(method, path)] = op

    add(
        "GET",
        "/v1/info",
        api.info,
        Operation(
            "EIP-712 domain and types, limits, fees, contract addresses",
            json_response("venue facts", "Info") | error_responses(429),
        ),
    )
    add(
        "GET",
        "/v1/series",
        api.series,
        Operation(
            "Listed option series (from the registry on-chain)",
            json_response("series by expiry", "SeriesList") | error_responses(429),
        ),
    )
    add(
        "GET",
        "/v1/book/{series}",
        api.book,
        Operation(
            "Aggregated book of one series with its seq (the WebSocket deltas continue from it)",
            json_response("the book", "Book") | error_responses(*_PUBLIC, 404),
            [
                path_param("series", HEX32),
                query("depth", {**DECIMAL, "pattern": "^[1-9][0-9]{0,3}$"}, "levels per side"),
            ],
        ),
    )
    add(
        "POST",
        "/v1/orders",
        api.post_orders,
        Operation(
            "Submit one signed order ({order}) or a batch of up to 100 ({orders}); duplicates are idempotent",
            json_response(
                "one result per order, in order; a rejected order of a batch has status rejected and a code",
                "OrderResults",
                201,
            )
            | error_responses(400, 409, 413, 422, 429, 503),
            request_body=body("OrderRequest"),
        ),
    )
    add(
        "GET",
        "/v1/orders",
        api.list_orders,
        Operation(
            "Orders by maker, series and status, newest first, with cursor pagination",
            json_response("a page of orders", "OrderPage") | error_responses(*_PUBLIC),
            [
                query("maker", ADDRESS),
                query("series", HEX32),
                query("status", {"type": "string", "enum": ORDER_STATES}),
                *_PAGE,
            ],
        ),
    )
    add(
        "GET",
        "/v1/orders/{hash}",
        api.get_order,
        Operation(
            "One order by hash",
            json_response("the order", "Order") | error_responses(*_PUBLIC, 404),
            [path_param("hash", HEX32)],
        ),
    )
    add(
        "DELETE",
        "/v1/orders/{hash}",
        api.delete_order,
        Operation(
            "Cancel one order with a signed CancelOrders(maker, [hash], timestamp)",
            json_response("cancelled", "Cancelled") | error_responses(400, 401, 404, 409, 413, 422, 429, 503),
            [path_param("hash", HEX32)],
            request_body=body("CancelOne"),
        ),
    )
    add(
        "POST",
        "/v1/cancel_all",
        api.cancel_all,
        Operation(
            "Cancel all of a maker's open orders (one series or all) received before the signed timestamp",
            json_response("the cancelled orders", "CancelledMany") | error_responses(400, 401, 409, 413, 422, 429, 503),
            request_body=body("CancelAll"),
        ),
    )
    add(
        "POST",
        "/v1/cancel_after",
        api.cancel_after,
        Operation(
            "Dead-man's switch: cancel all of the maker's orders unless renewed within timeoutMs (0: off)",
            json_response("the deadline in unix ms, null when switched off", "DeadMan")
            | error_responses(400, 401, 409, 413, 422, 429, 503),
            request_body=body("CancelAfter"),
        ),
    )
    add(
        "GET",
        "/v1/fills",
        api.list_fills,
        Operation(
            "Fills by maker (either side), series or batch, newest first (the auditor's report shape)",
            json_response("a page of fills", "FillPage") | error_responses(*_PUBLIC),
            [query("maker", ADDRESS), query("series", HEX32), query("batch", DECIMAL), *_PAGE],
        ),
    )
    add(
        "GET",
        "/v1/batches/{seq}",
        api.get_batch,
        Operation(
            "One settlement batch",
            json_response("the batch", "Batch") | error_responses(*_PUBLIC, 404),
            [path_param("seq", DECIMAL)],
        ),
    )
    add("GET", "/v1/health", api.health, Operation("Liveness figures", json_response("health", "Health")))
    add(
        "GET",
        "/v1/openapi.json",
        api.openapi_route,
        Operation(
            "This document",
            {"200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": {"type": "object"}}}}},
        ),
    )
    add(
        "GET",
        "/metrics",
        api.metrics_route,
        Operation(
            "Prometheus metrics",
            {
                "200": {
                    "description": "text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        ),
    )
    add(
        "GET",
        "/v1/ws",
        api.ws,
        Operation(
            "WebSocket stream (subscribe/unsubscribe with request ids; see relayer/api/ws.py for the protocol)",
            {"101": {"description": "switching protocols"}} | error_responses(400, 429),
        ),
    )
    admin_errors = error_responses(400, 401, 403, 429, 503)
    add(
        "POST",
        "/v1/admin/pause",
        api.admin_pause,
        Operation(
            "Pause order intake (cancels keep working)",
            json_response("paused", "AdminOk") | admin_errors,
            request_body={"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
            **_ADMIN,  # type: ignore[arg-type]
        ),
    )
    add(
        "POST",
        "/v1/admin/unpause",
        api.admin_unpause,
        Operation(
            "Resume order intake (TOTP)",
            json_response("resumed", "AdminOk") | admin_errors,
            **_ADMIN,  # type: ignore[arg-type]
        ),
    )
    add(
        "POST",
        "/v1/admin/drain",
        api.admin_drain,
        Operation(
            "Cancel every open order of one maker (TOTP)",
            json_response("drained", "AdminOk") | admin_errors,
            request_body={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "required": ["maker"], "properties": {"maker": ADDRESS}}
                    }
                },
            },
            **_ADMIN,  # type: ignore[arg-type]
        ),
    )
    add(
        "POST",
        "/v1/admin/series",
        api.admin_list_series,
        Operation(
            "List a new series on-chain with the relayer's lister key (TOTP)",
            json_response("listed", "AdminOk") | admin_errors | error_responses(409, 422),
            request_body={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["underlying", "quote", "strike", "expiry", "isCall"],
                            "properties": {
                                "underlying": ADDRESS,
                                "quote": ADDRESS,
                                "strike": DECIMAL,
                                "expiry": DECIMAL,
                                "isCall": {"type": "boolean"},
                            },
                        }
                    }
                },
            },
            **_ADMIN,  # type: ignore[arg-type]
        ),
    )
    add(
        "POST",
        "/v1/admin/rotate_operator_key",
        api.admin_rotate_operator_key,
        Operation(
            "Swap the batch submitter to another operator key of the relayer's keystore, between batches (TOTP); "
            "the key must already hold OPERATOR_ROLE",
            json_response("rotated", "AdminOk") | admin_errors | error_responses(404, 409, 422),
            request_body={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["key"],
                            "properties": {"key": {"type": "string", "description": "keystore key name"}},
                        }
                    }
                },
            },
            **_ADMIN,  # type: ignore[arg-type]
        ),
    )
