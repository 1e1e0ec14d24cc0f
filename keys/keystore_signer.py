"""`KeystoreSigner`: a `Signer` whose key is unlocked from an encrypted keystore into memory.

The process holds the decrypted key for its lifetime (Python cannot reliably wipe memory); use a
`RemoteSigner` when the key must never enter the relayer's process.
"""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress

from .keystore import KeyInfo, KeyRole, Keystore
from .passwords import PasswordSource
from .signer import LocalSigner


class KeystoreSigner:
    """Signs with key `name` of `keystore`, decrypted once with the password from `password`."""

    __slots__ = ("_inner", "info")

    def __init__(self, keystore: Keystore, name: str, password: PasswordSource) -> None:
        self.info: KeyInfo = keystore.info(name)
        secret = password.get(f"password for key {name!r} ({self.info.address})")
        self._inner = keystore.unlock(name, secret)

    def __repr__(self) -> str:
        return f"KeystoreSigner({self.info.name!r}, {self.info.role.value}, {self.address})"

    @property
    def role(self) -> KeyRole:
        """What the key is for, as recorded in its keystore file."""
        return self.info.role

    @property
    def address(self) -> ChecksumAddress:
        return self._inner.address

    def sign_digest(self, digest: bytes) -> bytes:
        return self._inner.sign_digest(digest)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return self._inner.sign_typed_data(typed_data)

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return self._inner.sign_transaction(tx)


__all__ = ["KeystoreSigner", "LocalSigner"]
