"""The OpenAPI 3 document of the API, assembled from the operations the server registers.

Each route is registered together with its operation object (`Operation`), so the document
cannot drift from the router: `tests/api` checks that both list the same (method, path) pairs.
Schemas describe responses exactly (schemathesis validates every answer against them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relayer.intake.errors import RejectCode

DECIMAL = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "description": "integer as a decimal string"}
NULLABLE_DECIMAL = {**DECIMAL, "nullable": True}
HEX32 = {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}
NULLABLE_HEX32 = {**HEX32, "nullable": True}
ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
HEX_BYTES = {"type": "string", "pattern": "^0x([0-9a-fA-F]{2})+$"}
NULLABLE_STRING = {"type": "string", "nullable": True}
ORDER_STATES = ["open", "filled", "cancelled", "expired", "rejected"]
FILL_STATES = ["pending", "batched", "settled", "skipped"]
BATCH_STATES = ["open", "submitted", "settled", "failed"]
TIFS = ["gtc", "ioc", "fok", "post_only"]
#: Why intake refuses an order (`relayer.intake.RejectCode`): the `code` of a rejected order result,
#: and of the error answer to a single-order POST (422 unless the status table says otherwise).
ORDER_REJECT_CODES = [c.value for c in RejectCode]
_REJECT_TEXT = (
    "For a refused order, one of: "
    + ", ".join(ORDER_REJECT_CODES)
    + ". A one-shot order (nonce bit 255 set) must be sent ioc or fok (one_shot_must_be_immediate), "
    "set no nonce bits 64..254 (bad_one_shot_nonce) and use an unspent sequence number (one_shot_spent)."
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": extra,
    }


SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        {
            "code": {"type": "string", "description": "stable error code. " + _REJECT_TEXT},
            "message": {"type": "string"},
            "details": {"type": "object", "additionalProperties": True},
        }
    ),
    "SignedOrder": _obj(
        {
            "maker": ADDRESS,
            "series": HEX32,
            "isBuy": {"type": "boolean"},
            "price": DECIMAL,
            "amount": DECIMAL,
            "maxFee": DECIMAL,
            "nonce": DECIMAL,
            "expiry": DECIMAL,
            "signature": HEX_BYTES,
        }
    ),
    "OrderSubmission": _obj(
        {
            "order": ref("SignedOrder"),
            "timeInForce": {"type": "string", "enum": TIFS},
            "clientId": {"type": "string", "maxLength": 64},
            "chainId": DECIMAL,
            "verifyingContract": ADDRESS,
        },
        required=["order"],
    ),
    "OrderRequest": {
        "oneOf": [
            ref("OrderSubmission"),
            _obj({"orders": {"type": "array", "items": ref("OrderSubmission"), "minItems": 1, "maxItems": 100}}),
        ]
    },
    "OrderResult": _obj(
        {
            "hash": NULLABLE_HEX32,
            "status": {"type": "string", "enum": ORDER_STATES},
            "remaining": DECIMAL,
            "duplicate": {"type": "boolean"},
            "code": {"type": "string", "description": _REJECT_TEXT},
            "message": {"type": "string"},
            "clientId": {"type": "string"},
        },
        required=["hash", "status", "remaining", "duplicate"],
    ),
    "OrderResults": _obj({"results": {"type": "array", "items": ref("OrderResult")}}),
    "Order": _obj(
        {
            "hash": HEX32,
            "maker": ADDRESS,
            "series": HEX32,
            "isBuy": {"type": "boolean"},
            "price": DECIMAL,
            "amount": DECIMAL,
            "maxFee": DECIMAL,
            "nonce": DECIMAL,
            "expiry": DECIMAL,
            "signature": HEX_BYTES,
            "timeInForce": {"type": "string", "enum": TIFS},
            "status": {"type": "string", "enum": ORDER_STATES},
            "remaining": DECIMAL,
            "cancelReason": NULLABLE_STRING,
            "clientId": NULLABLE_STRING,
            "createdSeq": DECIMAL,
            "updatedSeq": DECIMAL,
        }
    ),
    "OrderPage": _obj(
        {"orders": {"type": "array", "items": ref("Order")}, "nextCursor": NULLABLE_STRING},
    ),
    "Level": _obj({"price": DECIMAL, "amount": DECIMAL}),
    "Book": _obj(
        {
            "series": HEX32,
            "seq": DECIMAL,
            "bids": {"type": "array", "items": ref("Level")},
            "asks": {"type": "array", "items": ref("Level")},
        }
    ),
    "Series": _obj(
        {
            "id": HEX32,
            "underlying": ADDRESS,
            "quote": ADDRESS,
            "strike": DECIMAL,
            "expiry": DECIMAL,
            "isCall": {"type": "boolean"},
            "underlyingUnit": DECIMAL,
        }
    ),
    "SeriesList": _obj({"series": {"type": "array", "items": ref("Series")}}),
    "Fill": _obj(
        {
            "id": DECIMAL,
            "batch": NULLABLE_DECIMAL,
            "index": NULLABLE_DECIMAL,
            "status": {"type": "string", "enum": FILL_STATES},
            "skipReason": NULLABLE_STRING,
            "txHash": NULLABLE_HEX32,
            "series": HEX32,
            "bookSeq": DECIMAL,
            "maker": ADDRESS,
            "taker": ADDRESS,
            "makerOrder": HEX32,
            "takerOrder": HEX32,
            "makerIsBuy": {"type": "boolean"},
            "amount": DECIMAL,
            "price": DECIMAL,
            "premium": NULLABLE_DECIMAL,
            "makerFee": NULLABLE_DECIMAL,
            "takerFee": NULLABLE_DECIMAL,
            "makerFeeRate": DECIMAL,
            "takerFeeRate": DECIMAL,
        }
    ),
    "FillPage": _obj({"fills": {"type": "array", "items": ref("Fill")}, "nextCursor": NULLABLE_STRING}),
    "Batch": _obj(
        {
            "seq": DECIMAL,
            "status": {"type": "string", "enum": BATCH_STATES},
            "txHash": NULLABLE_HEX32,
            "blockNumber": NULLABLE_DECIMAL,
            "filled": DECIMAL,
            "skipped": DECIMAL,
            "fills": {"type": "array", "items": DECIMAL},
            "createdMs": DECIMAL,
            "submittedMs": NULLABLE_DECIMAL,
        }
    ),
    "Health": _obj(
        {
            "ok": {"type": "boolean"},
            "intakePaused": {"type": "boolean"},
            "pauseReason": NULLABLE_STRING,
            "journalSeq": DECIMAL,
            "openOrders": DECIMAL,
            "pendingFills": DECIMAL,
            "lastBatchSeq": DECIMAL,
            "chainHead": DECIMAL,
            "indexedBlock": DECIMAL,
            "subscribers": DECIMAL,
            "detail": {"type": "string"},
        }
    ),
    "Info": {"type": "object", "required": ["domain", "types", "limits", "fees", "contracts"]},
    "CancelOne": _obj({"maker": ADDRESS, "timestamp": DECIMAL, "signature": HEX_BYTES}),
    "CancelAll": _obj(
        {"maker": ADDRESS, "series": HEX32, "timestamp": DECIMAL, "signature": HEX_BYTES},
        required=["maker", "timestamp", "signature"],
    ),
    "CancelAfter": _obj({"maker": ADDRESS, "timeoutMs": DECIMAL, "timestamp": DECIMAL, "signature": HEX_BYTES}),
    "Cancelled": _obj({"hash": HEX32, "status": {"type": "string", "enum": ["cancelled"]}, "remaining": DECIMAL}),
    "CancelledMany": _obj({"cancelled": {"type": "array", "items": HEX32}, "count": DECIMAL}),
    "DeadMan": _obj({"deadline": NULLABLE_DECIMAL}),
    "AdminOk": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
}

_ERROR_TEXT = {
    400: "malformed request (bad JSON, schema, amount encoding)",
    401: "missing or invalid credentials or cancel signature",
    403: "the admin key may not perform this action",
    404: "not found",
    409: "conflicts with the venue's state (paused, replayed cancel, order no longer open)",
    413: "request body too large",
    422: "well-formed but refused by a venue rule (the code says which)",
    429: "rate limited; retry after the Retry-After header",
    503: "the store or chain is unavailable; retry",
}


def error_responses(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        resp: dict[str, Any] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": ref("Error")}},
        }
        if status in (429, 503):
            resp["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
        out[str(status)] = resp
    return out


def json_response(description: str, schema_name: str, status: int = 200) -> dict[str, Any]:
    return {str(status): {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}}


def query(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def body(schema_name: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": ref(schema_name)}}}


@dataclass
class Operation:
    """One OpenAPI operation (the parts the document needs)."""

    summary: str
    responses: dict[str, Any]
    parameters: list[dict[str, Any]] = field(default_factory=list)
    request_body: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    security: list[dict[str, list[str]]] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"summary": self.summary, "responses": self.responses}
        if self.parameters:
            out["parameters"] = self.parameters
        if self.request_body is not None:
            out["requestBody"] = self.request_body
        if self.tags:
            out["tags"] = self.tags
        if self.security is not None:
            out["security"] = self.security
        return out


def document(operations: dict[tuple[str, str], Operation], version: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document for `operations` keyed by (METHOD, path template)."""
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), op in sorted(operations.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        paths.setdefault(path, {})[method.lower()] = op.to_json()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Strikebook relayer API",
            "version": version,
            "description": (
                "Signed option orders matched off-chain, settled on-chain. Integers are decimal strings; "
                "errors are {code, message, details}. WebSocket protocol: see GET /v1/ws."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "adminHmac": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Strikebook-Key",
                    "description": "HMAC-signed admin request (keys.admin_client.sign_admin_request)",
                }
            },
        },
    }
