"""A JSON-lines control socket on a Unix path: submit orders, read durable state, health.

For operators' scripts and the crash test while the HTTP API (issue 6) is not in `start`.
One request per line, one response per line:

    {"op": "submit", "orders": [<SignedOrder JSON>...], "tif": "gtc"}  -> {"results": [...]}
    {"op": "state"}   -> {"journal_seq": n, "state_hash": "0x…"} (every entry <= n is committed)
    {"op": "health"}  -> the `Health` fields
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from relayer.engine import TimeInForce
from relayer.errors import RelayerError
from relayer.venue import OrderSubmission, Venue


def _result(r: Any) -> dict[str, Any]:
    return {
        "order_id": None if r.order_id is None else "0x" + r.order_id.hex(),
        "status": r.status.value,
        "remaining": str(r.remaining),
        "error_code": r.error_code,
        "duplicate": r.duplicate,
    }


async def _handle(venue: Venue, request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "submit":
        tif = TimeInForce(request.get("tif", "gtc"))
        results = await venue.submit_orders([OrderSubmission(o, tif) for o in request["orders"]])
        return {"results": [_result(r) for r in results]}
    if op == "state":
        seq, digest = await venue.durable_state_hash()
        return {"journal_seq": seq, "state_hash": "0x" + digest.hex()}
    if op == "health":
        return asdict(venue.health())
    return {"error": f"unknown op {op!r}"}


async def serve(venue: Venue, path: Path) -> asyncio.AbstractServer:
    """Start serving on `path` (replacing a stale socket file)."""
    path.unlink(missing_ok=True)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    response = await _handle(venue, json.loads(line))
                except (RelayerError, ValueError, KeyError, TypeError) as exc:
                    response = {"error": str(exc)}
                writer.write(json.dumps(response).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_unix_server(client, path=str(path), limit=64 * 1024 * 1024)
