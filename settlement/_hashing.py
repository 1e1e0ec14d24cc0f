"""Keccak-256 and EIP-55 addresses on the fast path (pycryptodome, no eth-account/eth-utils).

`keccak256` calls pycryptodome's compiled Keccak sponge directly (through ctypes, one reusable
state per thread): `Crypto.Hash.keccak.new(...).digest()` spends most of its ~4 µs in Python
wrapper objects built per call, the direct path ~1.7 µs. The fast path is used only if the
library loads and passes a self-test against the public API at import; otherwise `keccak256`
is the public API itself. Both compute the same function (the tests check them against each other).
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from collections.abc import Callable
from typing import Any, cast

from Crypto.Hash import keccak as _keccak
from eth_typing import ChecksumAddress

#: An EIP-55 checksummed 0x-hex address (the only form this package hands out); web3's own type.
Address = ChecksumAddress

_HEX = frozenset("0123456789abcdefABCDEF")
#: Keccak-256: capacity 2 * 32 bytes, 24 rounds, original Keccak padding byte 0x01 (not SHA-3's 0x06).
_CAPACITY = 64
_ROUNDS = 24
_PADDING = 1


def keccak256_reference(data: bytes) -> bytes:
    """keccak256(data) through pycryptodome's public API (the fast path's reference)."""
    return _keccak.new(data=data, digest_bits=256).digest()


class _Sponge:
    """One Keccak-256 state of the compiled library and its output buffer (owned by one thread)."""

    __slots__ = ("_destroy", "out", "state")

    def __init__(self, lib: Any) -> None:
        self.state = ctypes.c_void_p()
        if lib.keccak_init(ctypes.byref(self.state), _CAPACITY, _ROUNDS):
            raise OSError("keccak_init failed")
        self._destroy = lib.keccak_destroy
        self.out = ctypes.create_string_buffer(32)

    def __del__(self) -> None:
        # runs once; at interpreter exit even `contextlib` may be gone already
        try:  # noqa: SIM105
            self._destroy(self.state)
        except Exception:
            pass


def _load_fast() -> Callable[[bytes], bytes] | None:
    """The direct-call keccak256, or None if pycryptodome's library cannot be used that way."""
    try:
        spec = importlib.util.find_spec("Crypto.Hash._keccak")
        if spec is None or spec.origin is None:
            return None
        lib = ctypes.CDLL(spec.origin)
        vp = ctypes.c_void_p
        lib.keccak_init.argtypes = [ctypes.POINTER(vp), ctypes.c_size_t, ctypes.c_ubyte]
        lib.keccak_destroy.argtypes = [vp]
        lib.keccak_reset.argtypes = [vp]
        lib.keccak_absorb.argtypes = [vp, ctypes.c_char_p, ctypes.c_size_t]
        lib.keccak_digest.argtypes = [vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_ubyte]
        for fn in (lib.keccak_init, lib.keccak_destroy, lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest):
            fn.restype = ctypes.c_int
    except (OSError, AttributeError, ImportError):
        return None
    reset, absorb, digest = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    local = threading.local()

    def fast(data: bytes) -> bytes:
        """keccak256(data) as the EVM computes it (32 bytes)."""
        try:
            sponge: _Sponge = local.sponge
        except AttributeError:
            sponge = local.sponge = _Sponge(lib)
        if type(data) is not bytes:
            data = bytes(data)
        state, out = sponge.state, sponge.out
        if reset(state) or absorb(state, data, len(data)) or digest(state, out, 32, _PADDING):
            raise RuntimeError("keccak: the compiled sponge reported an error")
        return out.raw

    try:
        samples = (b"", b"abc", bytes(range(256)) * 3, b"\x19\x01" + bytes(64), bytes(135), bytes(136), bytes(137))
        if any(fast(s) != keccak256_reference(s) for s in samples):
            return None
    except (OSError, RuntimeError, ctypes.ArgumentError):
        return None
    return fast


_FAST = _load_fast()

#: True when `keccak256` runs on the direct path (see the module docstring).
FAST_KECCAK = _FAST is not None

#: keccak256(data) as the EVM computes it (32 bytes): the direct path, else the public API.
keccak256: Callable[[bytes], bytes] = _FAST if _FAST is not None else keccak256_reference


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
