"""Off-chain signed cancels: EIP-712 messages on the exchange's own domain (soft, instant).

Three message types, signed under the order domain ("Strikebook", "1", chainId, exchange) by
the maker, a live delegate of the maker, or (contract makers) accepted by the maker's
ERC-1271 `isValidSignature(bytes32,bytes)`:

    CancelOrders(address maker,bytes32[] orderHashes,uint256 timestamp)
    CancelAll(address maker,bytes32 series,uint256 timestamp)        series 0x00..00 = every series
    CancelAfter(address maker,uint256 timeoutMs,uint256 timestamp)    timeoutMs 0 = switch off

`timestamp` is unix milliseconds. Replay protection: the relayer accepts a message only while
|now - timestamp| <= the window (30 s by default), and per maker and message type only with a
timestamp strictly above the last one it accepted; a `CancelAll` cancels only orders the
relayer had received before the message's timestamp, so a replayed message cannot hit newer
orders. A `CancelAll`, and a `CancelAfter` switch when it fires, also cover the maker's orders
(received before it) that are already fully matched with fills not final on-chain: if such a
fill is skipped through the counterparty's fault, the order is not put back on the book (the
amount stays unfilled, reason `requested` / `dead_man_switch`), as for the cancelled resting
ones; so does a `CancelOrders` naming such an order (reason `requested`). These are relayer
cancels: they never reach the chain; for a hard cancel use `Exchange.cancelOrders` /
`cancelAllBelow`.

This module is pure (hashing, typed data, signing helpers for the SDK and tests); the venue
checks signers against chain state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from settlement._hashing import keccak256
from settlement.order import EIP712_DOMAIN_FIELDS, Domain
from settlement.signing import recover_raw, sign_digest

CANCEL_ORDERS_TYPE = "CancelOrders(address maker,bytes32[] orderHashes,uint256 timestamp)"
CANCEL_ALL_TYPE = "CancelAll(address maker,bytes32 series,uint256 timestamp)"
CANCEL_AFTER_TYPE = "CancelAfter(address maker,uint256 timeoutMs,uint256 timestamp)"
CANCEL_ORDERS_TYPE_HASH = keccak256(CANCEL_ORDERS_TYPE.encode())
CANCEL_ALL_TYPE_HASH = keccak256(CANCEL_ALL_TYPE.encode())
CANCEL_AFTER_TYPE_HASH = keccak256(CANCEL_AFTER_TYPE.encode())

#: The series value of a `CancelAll` that covers every series.
ALL_SERIES = bytes(32)
#: Most order hashes one `CancelOrders` may carry.
MAX_CANCEL_HASHES = 1_000

_ZERO12 = bytes(12)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _typed(domain: Domain, primary: str, fields: list[tuple[str, str]], message: dict[str, Any]) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [{"name": n, "type": t} for n, t in EIP712_DOMAIN_FIELDS],
            primary: [{"name": n, "type": t} for n, t in fields],
        },
        "primaryType": primary,
        "domain": domain.to_typed_data(),
        "message": message,
    }


def _checksummed(raw: bytes) -> str:
    from settlement._hashing import checksum_address

    return checksum_address(raw)


@dataclass(frozen=True, slots=True)
class CancelOrders:
    """Cancel these orders of `maker` (32-byte order ids); `timestamp` unix ms."""

    maker: bytes
    order_hashes: tuple[bytes, ...]
    timestamp: int

    def struct_hash(self) -> bytes:
        array = keccak256(b"".join(self.order_hashes))
        return keccak256(CANCEL_ORDERS_TYPE_HASH + _ZERO12 + self.maker + array + _word(self.timestamp))

    def to_typed_data(self, domain: Domain) -> dict[str, Any]:
        return _typed(
            domain,
            "CancelOrders",
            [("maker", "address"), ("orderHashes", "bytes32[]"), ("timestamp", "uint256")],
            {
                "maker": _checksummed(self.maker),
                "orderHashes": ["0x" + h.hex() for h in self.order_hashes],
                "timestamp": self.timestamp,
            },
        )


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel every open order of `maker` in `series` (`ALL_SERIES`: all) received before `timestamp` (ms)."""

    maker: bytes
    series: bytes
    timestamp: int

    def struct_hash(self) -> bytes:
        return keccak256(CANCEL_ALL_TYPE_HASH + _ZERO12 + self.maker + self.series + _word(self.timestamp))

    def to_typed_data(self, domain: Domain) -> dict[str, Any]:
        return _typed(
            domain,
            "CancelAll",
            [("maker", "address"), ("series", "bytes32"), ("timestamp", "uint256")],
            {"maker": _checksummed(self.maker), "series": "0x" + self.series.hex(), "timestamp": self.timestamp},
        )


@dataclass(frozen=True, slots=True)
class CancelAfter:
    """Dead-man's switch: cancel all of `maker`'s orders unless renewed within `timeout_ms` (0: off)."""

    maker: bytes
    timeout_ms: int
    timestamp: int

    def struct_hash(self) -> bytes:
        return keccak256(CANCEL_AFTER_TYPE_HASH + _ZERO12 + self.maker + _word(self.timeout_ms) + _word(self.timestamp))

    def to_typed_data(self, domain: Domain) -> dict[str, Any]:
        return _typed(
            domain,
            "CancelAfter",
            [("maker", "address"), ("timeoutMs", "uint256"), ("timestamp", "uint256")],
            {"maker": _checksummed(self.maker), "timeoutMs": self.timeout_ms, "timestamp": self.timestamp},
        )


CancelMessage = CancelOrders | CancelAll | CancelAfter


@dataclass(frozen=True, slots=True)
class SignedCancel:
    """A cancel message and its signature (65-byte ECDSA r||s||v, or ERC-1271 bytes)."""

    message: CancelMessage
    signature: bytes


def cancel_digest(message: CancelMessage, domain: Domain) -> bytes:
    """The EIP-712 digest of `message` under the exchange's domain."""
    return keccak256(b"\x19\x01" + domain.separator + message.struct_hash())


def sign_cancel(message: CancelMessage, domain: Domain, private_key: bytes) -> SignedCancel:
    """Sign `message` with a raw key (SDK and tests); wallets sign `message.to_typed_data(domain)`."""
    return SignedCancel(message, sign_digest(private_key, cancel_digest(message, domain)))


def recover_cancel_signer(signed: SignedCancel, domain: Domain) -> bytes | None:
    """The 20-byte address whose key signed the cancel, or None if it is not a valid ECDSA signature."""
    try:
        return recover_raw(cancel_digest(signed.message, domain), signed.signature)
    except Exception:
        return None
