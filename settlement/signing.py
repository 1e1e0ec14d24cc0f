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


def recover_raw(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address whose key signed `digest`; raises `SignatureError` on a malformed signature."""
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    check_signature(signature)
    compact = signature[:64] + bytes((signature[64] - 27,))
    try:
        public = coincurve.PublicKey.from_signature_and_message(compact, digest, hasher=None)
    except Exception as exc:  # libsecp256k1 refuses points not on the curve
        raise SignatureError(f"signature does not recover to a public key: {exc}") from None
    return keccak256(public.format(compressed=False)[1:])[12:]


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
