"""The one signing interface: everything that signs (submitter, oracle poster, SDK) takes a `Signer`.

Implementations: `LocalSigner` (a raw key held in memory, e.g. unlocked from a keystore) and,
in `keys/`, the keystore and remote-signer implementations.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, Hash32


@runtime_checkable
class Signer(Protocol):
    """Signs for one Ethereum address. Signatures are 65 bytes r || s || v with v in {27, 28}, low s."""

    @property
    def address(self) -> ChecksumAddress:
        """The checksummed address this signer signs for."""
        ...

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest as is (e.g. a precomputed EIP-712 digest)."""
        ...

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """Sign an EIP-712 message given as the full `eth_signTypedData_v4` JSON structure."""
        ...

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """Sign a transaction dict (web3 field names) and return the raw signed transaction bytes."""
        ...


class LocalSigner:
    """A key held in this process's memory. Never logs or prints the key; `repr` shows only the address."""

    __slots__ = ("_account",)

    def __init__(self, private_key: bytes | str) -> None:
        self._account: LocalAccount = Account.from_key(private_key)

    def __repr__(self) -> str:
        return f"LocalSigner({self._account.address})"

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise ValueError(f"digest must be 32 bytes, got {len(digest)}")
        signed = self._account.unsafe_sign_hash(Hash32(digest))
        return bytes(signed.signature)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        signed = self._account.sign_message(encode_typed_data(full_message=typed_data))
        return bytes(signed.signature)

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(tx).raw_transaction)
