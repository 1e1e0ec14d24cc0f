"""ECDSA signing and recovery of order digests through coincurve (libsecp256k1), with the contract's rules.

A signature is 65 bytes r || s || v. Like OpenZeppelin's `ECDSA.recover` (which the exchange
uses through `SignatureChecker`), recovery refuses `v` outside {27, 28} and any `s` above n/2, so
every signature has exactly one accepted form (no malleable twin, no EIP-2098 compact form).
An order is never identified by its signature bytes, only by its digest.

Two kinds of valid signatures can only be checked on-chain, never by this offline model: those by a
live delegate key of the maker (`Exchange.setDelegate`) and contract makers' ERC-1271 signatures.
`verify_order` reports both as `SignatureCheck.NOT_MAKER_EOA_SIGNATURE`; ask the exchange's
`isValidSignature(order, signature)` view for the final word.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import coincurve

from ._hashing import Address, checksum_address, keccak256
from .errors import SignatureError
from .order import Domain, Order, SignedOrder, hash_order

#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Largest `s` the contract accepts (OZ ECDSA: s <= n/2, "lower half order").
SECP256K1_HALF_N = SECP256K1_N // 2
_HALF_N_BYTES = SECP256K1_HALF_N.to_bytes(32, "big")
_N_BYTES = SECP256K1_N.to_bytes(32, "big")
_ZERO32 = bytes(32)


def check_signature(signature: bytes) -> None:
    """Raise `SignatureError` unless `signature` has the one form the contract accepts.

    Length 65, v in {27, 28}, 0 < r < n, 0 < s <= n/2.
    """
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes r||s||v, got {len(signature)}")
    v = signature[64]
    if v != 27 and v != 28:
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    r = signature[:32]
    s = signature[32:64]
    # Fixed-width big-endian byte strings compare like the integers they encode.
    if s > _HALF_N_BYTES:
        raise SignatureError("signature s is in the upper half order (malleable form)")
    if r == _ZERO32 or s == _ZERO32 or r >= _N_BYTES:
        raise SignatureError("signature r or s is out of range")


#: public key (64 bytes X || Y) -> address, for keys seen recently: makers sign many orders, and
#: the address is a pure function of the key, so the cache saves a keccak per signature.
_ADDRESS_OF: dict[bytes, bytes] = {}
_ADDRESS_CACHE_MAX = 1 << 16
_EC_UNCOMPRESSED = 2  # SECP256K1_EC_UNCOMPRESSED: the 0x04 || X || Y serialization


def _public_reference(digest: bytes, compact: bytes) -> bytes:
    """X || Y of the key that signed `digest` (64-byte r || s plus recovery id), through coincurve's API."""
    try:
        public = coincurve.PublicKey.from_signature_and_message(compact, digest, hasher=None)
    except Exception as exc:  # libsecp256k1 refuses points not on the curve
        raise SignatureError(f"signature does not recover to a public key: {exc}") from None
    return public.format(compressed=False)[1:]


def _load_direct() -> Callable[[bytes, bytes], bytes] | None:
    """`_public_reference` without coincurve's per-call wrapper objects (libsecp256k1 called directly)."""
    try:
        from coincurve._libsecp256k1 import ffi, lib
        from coincurve.context import GLOBAL_CONTEXT

        ctx = GLOBAL_CONTEXT.ctx
        parse = lib.secp256k1_ecdsa_recoverable_signature_parse_compact
        recover_key = lib.secp256k1_ecdsa_recover
        serialize = lib.secp256k1_ec_pubkey_serialize
    except (ImportError, AttributeError):
        return None
    new, buffer = ffi.new, ffi.buffer

    def direct(digest: bytes, compact: bytes) -> bytes:
        sig = new("secp256k1_ecdsa_recoverable_signature *")
        if not parse(ctx, sig, compact[:64], compact[64]):
            raise SignatureError("signature does not recover to a public key: r or s out of range")
        key = new("secp256k1_pubkey *")
        if not recover_key(ctx, key, sig, digest):
            raise SignatureError("signature does not recover to a public key: failed to recover ECDSA public key")
        out = new("unsigned char[65]")
        size = new("size_t *", 65)
        serialize(ctx, out, size, key, _EC_UNCOMPRESSED)
        public: bytes = buffer(out, 65)[1:]
        return public

    try:  # self-test against the public API
        private = coincurve.PrivateKey(bytes(31) + b"\x07")
        for digest in (bytes(32), b"\x5a" * 32):
            compact = private.sign_recoverable(digest, hasher=None)
            if direct(digest, compact) != _public_reference(digest, compact):
                return None
    except (SignatureError, TypeError, ValueError, AttributeError):
        return None
    return direct


_recover_public: Callable[[bytes, bytes], bytes] = _load_direct() or _public_reference


def recover_raw(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address whose key signed `digest`; raises `SignatureError` on a malformed signature."""
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    check_signature(signature)
    public = _recover_public(digest, signature[:64] + bytes((signature[64] - 27,)))
    address = _ADDRESS_OF.get(public)
    if address is None:
        address = keccak256(public)[12:]
        if len(_ADDRESS_OF) >= _ADDRESS_CACHE_MAX:
            _ADDRESS_OF.clear()
        _ADDRESS_OF[public] = address
    return address


def recover(digest: bytes, signature: bytes) -> Address:
    """The checksummed address whose key signed `digest` (`ECDSA.recover` with OZ's rules)."""
    return checksum_address(recover_raw(digest, signature))


def sign_digest(private_key: bytes | coincurve.PrivateKey, digest: bytes) -> bytes:
    """Sign a 32-byte digest as is: 65 bytes r || s || v, v in {27, 28}, low s (RFC 6979 nonces)."""
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    key = private_key if isinstance(private_key, coincurve.PrivateKey) else coincurve.PrivateKey(private_key)
    compact = key.sign_recoverable(digest, hasher=None)
    return compact[:64] + bytes((compact[64] + 27,))


def key_address(private_key: bytes) -> Address:
    """The checksummed address of a raw secp256k1 private key."""
    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)
    return checksum_address(keccak256(public[1:])[12:])


def sign_order(order: Order, domain: Domain, private_key: bytes | coincurve.PrivateKey) -> SignedOrder:
    """Sign `order` under `domain` with a raw key on the fast path (makers' SDK, tests, benchmarks)."""
    return SignedOrder(order, sign_digest(private_key, hash_order(order, domain)))


class SignatureCheck(enum.Enum):
    """Outcome of checking an order signature offline."""

    VALID = "valid"
    """65-byte ECDSA signature by the maker's key: the contract accepts it for an EOA maker."""
    NOT_MAKER_EOA_SIGNATURE = "not_maker_eoa_signature"
    """Not an ECDSA signature by the maker's own key. It may still be valid on-chain (a live delegate's
    signature, or a contract maker's ERC-1271 bytes), which only `Exchange.isValidSignature` can tell."""


def verify_order(signed: SignedOrder, domain: Domain) -> SignatureCheck:
    """Check `signed` offline; malformed ECDSA signatures of the maker's key count as not the maker's."""
    try:
        signer = recover_raw(hash_order(signed.order, domain), signed.signature)
    except SignatureError:
        return SignatureCheck.NOT_MAKER_EOA_SIGNATURE
    if signer == bytes.fromhex(signed.order.maker[2:]):
        return SignatureCheck.VALID
    return SignatureCheck.NOT_MAKER_EOA_SIGNATURE
