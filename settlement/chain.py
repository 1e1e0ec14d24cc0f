"""The chain transport interface and a small typed JSON-RPC client over it.

`Transport` is the one I/O seam (STYLE 10): `HTTPTransport` talks to any JSON-RPC endpoint; tests
and fault injectors wrap or replace it. `Chain` turns raw JSON-RPC into Python values (ints,
bytes, checksummed addresses) and wraps every failure in `ChainError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from web3 import HTTPProvider

from ._hashing import Address, keccak256, to_address
from .errors import ChainError


@runtime_checkable
class Transport(Protocol):
    """Sends one JSON-RPC request and returns its `result`; raises `RPCError`/`ChainError` on failure."""

    def request(self, method: str, params: Sequence[Any]) -> Any: ...


class RPCError(ChainError):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.rpc_code = code
        self.rpc_message = message
        self.data = data

    def revert_data(self) -> bytes | None:
        """Revert bytes carried by an execution error, in the shapes Anvil, Geth and Ganache use."""
        data = self.data
        if isinstance(data, dict):
            data = data.get("data") or data.get("result")
        if isinstance(data, str) and data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return None


class HTTPTransport:
    """JSON-RPC over HTTP(S) through web3's keep-alive provider (no middleware, no caching)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self._provider = HTTPProvider(url, request_kwargs={"timeout": timeout})

    def __repr__(self) -> str:
        return f"HTTPTransport({self.url!r})"

    def request(self, method: str, params: Sequence[Any]) -> Any:
        try:
            response = self._provider.make_request(method, list(params))
        except Exception as exc:  # connection refused, timeout, bad JSON: the endpoint failed
            raise ChainError(f"{method}: cannot reach {self.url}: {exc}") from exc
        error = response.get("error")
        if error is not None:
            if isinstance(error, dict):
                raise RPCError(method, int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
            raise RPCError(method, 0, str(error))
        return response.get("result")


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16)


def _hex(value: int | bytes) -> str:
    return hex(value) if isinstance(value, int) else "0x" + value.hex()


@dataclass(frozen=True)
class Receipt:
    """The parts of a transaction receipt this package uses."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    status: int
    gas_used: int
    effective_gas_price: int
    contract_address: Address | None
    logs: tuple[Log, ...]


@dataclass(frozen=True)
class Log:
    """One event log as the node returned it."""

    address: Address
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    tx_index: int
    log_index: int
    removed: bool = False


def parse_log(raw: dict[str, Any]) -> Log:
    return Log(
        address=to_address(raw["address"]),
        topics=tuple(bytes.fromhex(t[2:]) for t in raw["topics"]),
        data=bytes.fromhex(raw["data"][2:]),
        block_number=_int(raw["blockNumber"]),
        block_hash=bytes.fromhex(raw["blockHash"][2:]),
        tx_hash=bytes.fromhex(raw["transactionHash"][2:]),
        tx_index=_int(raw["transactionIndex"]),
        log_index=_int(raw["logIndex"]),
        removed=bool(raw.get("removed", False)),
    )


@dataclass(frozen=True)
class Block:
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    base_fee: int | None


class CallReverted(ChainError):
    """An `eth_call` or gas estimate reverted; `data` is the revert data when the node gave it."""

    def __init__(self, message: str, data: bytes | None) -> None:
        super().__init__(message)
        self.data = data


class Chain:
    """Typed JSON-RPC calls over a `Transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._chain_id: int | None = None

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> Chain:
        return cls(HTTPTransport(url, timeout))

    def rpc(self, method: str, *params: Any) -> Any:
        return self.transport.request(method, params)

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _int(self.rpc("eth_chainId"))
        return self._chain_id

    def block_number(self) -> int:
        return _int(self.rpc("eth_blockNumber"))

    def block(self, tag: int | str = "latest") -> Block | None:
        raw = self.rpc("eth_getBlockByNumber", _hex(tag) if isinstance(tag, int) else tag, False)
        if raw is None:
            return None
        base = raw.get("baseFeePerGas")
        return Block(
            number=_int(raw["number"]),
            hash=bytes.fromhex(raw["hash"][2:]),
            parent_hash=bytes.fromhex(raw["parentHash"][2:]),
            timestamp=_int(raw["timestamp"]),
            base_fee=None if base is None else _int(base),
        )

    def nonce(self, address: str, tag: str = "latest") -> int:
        return _int(self.rpc("eth_getTransactionCount", address, tag))

    def balance(self, address: str) -> int:
        return _int(self.rpc("eth_getBalance", address, "latest"))

    def code(self, address: str, tag: int | str = "latest") -> bytes:
        result = self.rpc("eth_getCode", address, _hex(tag) if isinstance(tag, int) else tag)
        return bytes.fromhex(result[2:])

    def max_priority_fee(self) -> int:
        """The node's suggested tip, or 1 gwei when it has no suggestion method."""
        try:
            return _int(self.rpc("eth_maxPriorityFeePerGas"))
        except RPCError:
            return 10**9

    def send_raw_transaction(self, raw: bytes) -> bytes:
        """Broadcast; returns the tx hash. A node that already has this exact tx is not an error."""
        tx_hash = keccak256(raw)
        try:
            self.rpc("eth_sendRawTransaction", _hex(raw))
        except RPCError as exc:
            if "already known" in exc.rpc_message.lower() or "already imported" in exc.rpc_message.lower():
                return tx_hash
            raise
        return tx_hash

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        raw = self.rpc("eth_getTransactionReceipt", _hex(tx_hash))
        if raw is None or raw.get("blockNumber") is None:
            return None
        contract = raw.get("contractAddress")
        return Receipt(
            tx_hash=tx_hash,
            block_number=_int(raw["blockNumber"]),
            block_hash=bytes.fromhex(raw["blockHash"][2:]),
            status=_int(raw["status"]),
            gas_used=_int(raw["gasUsed"]),
            effective_gas_price=_int(raw.get("effectiveGasPrice", "0x0")),
            contract_address=None if contract is None else to_address(contract),
            logs=tuple(parse_log(log) for log in raw["logs"]),
        )

    def transaction(self, tx_hash: bytes) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.rpc("eth_getTransactionByHash", _hex(tx_hash))
        return result

    def call(
        self,
        to: str,
        data: bytes,
        *,
        sender: str | None = None,
        block: int | str = "latest",
        gas: int | None = None,
    ) -> bytes:
        """`eth_call`; raises `CallReverted` (with revert data when available) if it reverts."""
        tx: dict[str, Any] = {"to": to, "data": _hex(data)}
        if sender is not None:
            tx["from"] = sender
        if gas is not None:
            tx["gas"] = _hex(gas)
        try:
            result = self.rpc("eth_call", tx, _hex(block) if isinstance(block, int) else block)
        except RPCError as exc:
            if _is_revert(exc):
                raise CallReverted(str(exc), exc.revert_data()) from exc
            raise
        return bytes.fromhex(result[2:])

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        try:
            return _int(self.rpc("eth_estimateGas", tx))
        except RPCError as exc:
            if _is_revert(exc):
                raise CallReverted(str(exc), exc.revert_data()) from exc
            raise

    def logs(
        self, from_block: int, to_block: int, addresses: Sequence[str], topics: Sequence[Any] | None = None
    ) -> list[Log]:
        flt: dict[str, Any] = {"fromBlock": _hex(from_block), "toBlock": _hex(to_block), "address": list(addresses)}
        if topics is not None:
            flt["topics"] = list(topics)
        return [parse_log(raw) for raw in self.rpc("eth_getLogs", flt)]


def _is_revert(exc: RPCError) -> bool:
    text = exc.rpc_message.lower()
    return exc.rpc_code == 3 or "revert" in text or exc.revert_data() is not None


def wait_for(predicate: Callable[[], Any], timeout: float, poll: float = 0.05, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; raise `ChainError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise ChainError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
