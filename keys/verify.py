"""Check signatures the way the contracts will: 65 bytes, v in {27, 28}, low s, recovers to the signer.

Used by `RemoteSigner` to refuse anything a remote signer returns that does not verify, and by
tests and the relayer to check who signed what.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.datatypes import Signature as _EthSignature
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from .errors import SignerError

#: secp256k1 group order; a canonical (non-malleable) signature has s <= N // 2.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def check_signature_shape(signature: bytes) -> None:
    """Raise `SignerError` unless `signature` is r || s || v, 65 bytes, v in {27, 28}, 0 < s <= N/2."""
    if len(signature) != 65:
        raise SignerError(f"a signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignerError(f"signature v must be 27 or 28, got {v}")
    if not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:
        raise SignerError("signature r/s out of range or s is not low (malleable twin)")


def recover_digest(digest: bytes, signature: bytes) -> ChecksumAddress:
    """The address that signed the 32-byte `digest` (after checking the signature's shape)."""
    if len(digest) != 32:
        raise SignerError(f"digest must be 32 bytes, got {len(digest)}")
    check_signature_shape(signature)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    public_key = _EthSignature(vrs=(signature[64] - 27, r, s)).recover_public_key_from_msg_hash(digest)
    return public_key.to_checksum_address()


def typed_data_digest(typed_data: dict[str, Any]) -> bytes:
    """The EIP-712 digest keccak(0x1901 || domainSeparator || hashStruct(message))."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def recover_typed_data(typed_data: dict[str, Any], signature: bytes) -> ChecksumAddress:
    """The address that signed the EIP-712 `typed_data`."""
    return recover_digest(typed_data_digest(typed_data), signature)


def recover_transaction(raw_transaction: bytes) -> ChecksumAddress:
    """The sender of a raw signed transaction (legacy, EIP-2930 or EIP-1559)."""
    address: ChecksumAddress = Account.recover_transaction(raw_transaction)
    return address
