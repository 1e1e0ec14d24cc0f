"""Keccak-256 and EIP-55 addresses on the fast path (pycryptodome, no eth-account/eth-utils)."""

from __future__ import annotations

from typing import cast

from Crypto.Hash import keccak as _keccak
from eth_typing import ChecksumAddress

#: An EIP-55 checksummed 0x-hex address (the only form this package hands out); web3's own type.
Address = ChecksumAddress

_HEX = frozenset("0123456789abcdefABCDEF")


def keccak256(data: bytes) -> bytes:
    """keccak256(data) as the EVM computes it (32 bytes)."""
    return _keccak.new(data=data, digest_bits=256).digest()


def checksum_address(raw: bytes) -> Address:
    """EIP-55 checksummed hex of a 20-byte address."""
    lower = raw.hex()
    nibbles = keccak256(lower.encode()).hex()[:40]
    mixed = "".join(c.upper() if c > "9" and n >= "8" else c for c, n in zip(lower, nibbles, strict=True))
    return cast(Address, "0x" + mixed)


def parse_address(value: object) -> bytes:
    """The 20 bytes of a 0x-hex address; all-lowercase, all-uppercase or valid EIP-55 mixed case.

    Raises ValueError on anything else (wrong type, length, non-hex, or a bad checksum).
    """
    if not isinstance(value, str) or len(value) != 42 or value[:2] != "0x" or not _HEX.issuperset(value[2:]):
        raise ValueError(f"not a 0x-prefixed 20-byte hex address: {value!r}")
    raw = bytes.fromhex(value[2:])
    body = value[2:]
    if body != body.lower() and body != body.upper() and checksum_address(raw) != value:
        raise ValueError(f"address has a bad EIP-55 checksum: {value!r}")
    return raw


def to_address(value: object) -> Address:
    """Normalise an address string to its checksummed form (see `parse_address`)."""
    return checksum_address(parse_address(value))
