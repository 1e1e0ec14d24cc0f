"""Batched JSON-RPC for the auditor: many reads per HTTP round trip.

`BatchTransport` is the seam (STYLE 10): `HTTPBatchTransport` posts JSON-RPC batch arrays over one
keep-alive session; `SerialBatch` adapts any plain `settlement.chain.Transport` by sending the
requests one by one (for nodes or wrappers without batch support). Both also satisfy `Transport`,
so a `settlement.chain.Chain` can sit on top of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import requests

from ..chain import RPCError, Transport
from ..errors import ChainError

Call = tuple[str, Sequence[Any]]


class BatchTransport(Transport, Protocol):
    """A `Transport` that can also send many requests at once; results come back in request order."""

    def request_batch(self, calls: Sequence[Call]) -> list[Any]: ...


class HTTPBatchTransport:
    """JSON-RPC over HTTP(S) with batch arrays of at most `max_batch` requests per POST."""

    def __init__(self, url: str, timeout: float = 60.0, max_batch: int = 500) -> None:
        self.url = url
        self.timeout = timeout
        self.max_batch = max_batch
        self._session = requests.Session()
        self._session.headers["Content-Type"] = "application/json"

    def __repr__(self) -> str:
        return f"HTTPBatchTransport({self.url!r})"

    def close(self) -> None:
        self._session.close()

    def _post(self, payload: Any, what: str) -> Any:
        try:
            response = self._session.post(self.url, json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ChainError(f"{what}: cannot reach {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise ChainError(f"{what}: {self.url} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise ChainError(f"{what}: {self.url} did not answer JSON: {exc}") from exc

    def request(self, method: str, params: Sequence[Any]) -> Any:
        body = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, method)
        return _result(method, body)

    def request_batch(self, calls: Sequence[Call]) -> list[Any]:
        out: list[Any] = []
        for start in range(0, len(calls), self.max_batch):
            chunk = calls[start : start + self.max_batch]
            payload = [
                {"jsonrpc": "2.0", "id": i, "method": method, "params": list(params)}
                for i, (method, params) in enumerate(chunk)
            ]
            body = self._post(payload, f"batch of {len(chunk)} {chunk[0][0]}")
            if not isinstance(body, list):
                # a node without batch support answers one error object: fall back to serial requests
                out.extend(self.request(method, params) for method, params in chunk)
                continue
            by_id = {item.get("id"): item for item in body if isinstance(item, dict)}
            for i, (method, _) in enumerate(chunk):
                item = by_id.get(i)
                if item is None:
                    raise ChainError(f"{method}: {self.url} left request {i} of a batch unanswered")
                out.append(_result(method, item))
        return out


class SerialBatch:
    """`BatchTransport` over any `Transport`: one request at a time."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def request(self, method: str, params: Sequence[Any]) -> Any:
        return self.transport.request(method, params)

    def request_batch(self, calls: Sequence[Call]) -> list[Any]:
        return [self.transport.request(method, params) for method, params in calls]


def _result(method: str, body: Any) -> Any:
    if not isinstance(body, dict):
        raise ChainError(f"{method}: malformed JSON-RPC answer {str(body)[:200]}")
    error = body.get("error")
    if error is not None:
        if isinstance(error, dict):
            raise RPCError(method, int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
        raise RPCError(method, 0, str(error))
    return body.get("result")


def _hex(value: int) -> str:
    return hex(value)


class ChainReader:
    """The auditor's reads, batched, with counters (what an incremental run saves shows up here)."""

    def __init__(self, transport: BatchTransport) -> None:
        self.transport = transport
        self.logs_read = 0
        self.blocks_scanned = 0
        self.transactions_fetched = 0
        self.calls_made = 0

    def chain_id(self) -> int:
        return int(self.transport.request("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.transport.request("eth_blockNumber", []), 16)

    def blocks(self, numbers: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Headers (no transactions) by number; raises `ChainError` if the node lacks one."""
        raw = self.transport.request_batch([("eth_getBlockByNumber", [_hex(n), False]) for n in numbers])
        out: dict[int, dict[str, Any]] = {}
        for n, block in zip(numbers, raw, strict=True):
            if block is None:
                raise ChainError(f"the node has no block {n}")
            out[n] = block
        return out

    def logs(self, from_block: int, to_block: int, addresses: Sequence[str]) -> list[dict[str, Any]]:
        flt = {"fromBlock": _hex(from_block), "toBlock": _hex(to_block), "address": list(addresses)}
        result: list[dict[str, Any]] = self.transport.request("eth_getLogs", [flt])
        self.logs_read += len(result)
        self.blocks_scanned += to_block - from_block + 1
        return result

    def transactions(self, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        raw = self.transport.request_batch([("eth_getTransactionByHash", [h]) for h in hashes])
        self.transactions_fetched += len(hashes)
        out: dict[str, dict[str, Any]] = {}
        for h, tx in zip(hashes, raw, strict=True):
            if tx is None:
                raise ChainError(f"the node does not know transaction {h}")
            out[h] = tx
        return out

    def calls(self, calls: Sequence[tuple[str, bytes]], block: int) -> list[bytes | None]:
        """`eth_call` results at `block` (None for a call that reverted or failed)."""
        tag = _hex(block)
        requests_ = [("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag]) for to, data in calls]
        self.calls_made += len(requests_)
        out: list[bytes | None] = []
        for start in range(0, len(requests_), 2000):
            chunk = requests_[start : start + 2000]
            try:
                results = self.transport.request_batch(chunk)
            except RPCError:
                results = [self._one(method, params) for method, params in chunk]
            out.extend(None if r is None else bytes.fromhex(r[2:]) for r in results)
        return out

    def _one(self, method: str, params: Sequence[Any]) -> Any:
        try:
            return self.transport.request(method, params)
        except RPCError:
            return None

    def codes(self, at: Sequence[tuple[str, int]]) -> list[bytes]:
        """Code of each (address, block)."""
        raw = self.transport.request_batch([("eth_getCode", [a, _hex(block)]) for a, block in at])
        return [bytes.fromhex(r[2:]) for r in raw]
