"""Admin API keys: an id, a 256-bit secret, the actions it may perform, and an optional TOTP seed.

The server must hold the secret itself (HMAC verification needs it), so the key file is a secret
file: mode 0600 in a 0700 directory, written atomically. The client side gets `AdminCredentials`
(see `keys.admin_client`). Reprs never show secrets.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import _fs
from .admin_actions import AdminAction
from .errors import CorruptKeystoreError, DuplicateKeyError, UnknownApiKeyError
from .totp import new_totp_secret


@dataclass(frozen=True)
class ApiKey:
    """The server's record of one admin API key."""

    key_id: str
    label: str
    actions: frozenset[AdminAction]
    secret: bytes = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "label": self.label,
            "actions": sorted(a.value for a in self.actions),
            "secret": base64.b64encode(self.secret).decode(),
            "totp_secret": self.totp_secret,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiKey:
        return cls(
            key_id=str(data["key_id"]),
            label=str(data["label"]),
            actions=frozenset(AdminAction(a) for a in data["actions"]),
            secret=base64.b64decode(data["secret"], validate=True),
            totp_secret=data.get("totp_secret"),
        )


def generate_api_key(label: str, actions: Iterable[AdminAction], *, with_totp: bool = True) -> ApiKey:
    """A fresh key: random id, 32-byte secret, and a TOTP seed unless `with_totp` is False."""
    return ApiKey(
        key_id="sbk_" + secrets.token_hex(8),
        label=label,
        actions=frozenset(actions),
        secret=secrets.token_bytes(32),
        totp_secret=new_totp_secret() if with_totp else None,
    )


class ApiKeyStore(Protocol):
    """Where the authenticator looks keys up (a file, a database table, a secret manager)."""

    def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, or None if unknown or revoked."""
        ...


class MemoryApiKeyStore:
    """Keys held in a dict (tests, or keys loaded from a secret manager at start-up)."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._keys = {k.key_id: k for k in keys}

    def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    def add(self, key: ApiKey) -> None:
        self._keys[key.key_id] = key

    def revoke(self, key_id: str) -> None:
        self._keys.pop(key_id, None)


class ApiKeyFile:
    """Keys in one JSON file (0600, atomic rewrites). Re-read on every lookup so revocation is immediate."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ApiKeyFile({str(self.path)!r})"

    def _load(self) -> dict[str, ApiKey]:
        if not self.path.exists():
            return {}
        _fs.check_private_file(self.path)
        try:
            data = json.loads(self.path.read_bytes())
            return {k["key_id"]: ApiKey.from_json(k) for k in data["keys"]}
        except (ValueError, KeyError, TypeError):
            raise CorruptKeystoreError(f"{self.path} is not a valid API key file") from None

    def _save(self, keys: dict[str, ApiKey]) -> None:
        _fs.ensure_private_dir(self.path.parent)
        body = {"keys": [k.to_json() for k in sorted(keys.values(), key=lambda k: k.key_id)]}
        _fs.replace_file(self.path, (json.dumps(body, indent=2) + "\n").encode())

    def get(self, key_id: str) -> ApiKey | None:
        return self._load().get(key_id)

    def list(self) -> list[ApiKey]:
        return sorted(self._load().values(), key=lambda k: k.key_id)

    def add(self, key: ApiKey) -> None:
        keys = self._load()
        if key.key_id in keys:
            raise DuplicateKeyError(f"API key {key.key_id} already exists")
        keys[key.key_id] = key
        self._save(keys)

    def revoke(self, key_id: str) -> None:
        keys = self._load()
        if keys.pop(key_id, None) is None:
            raise UnknownApiKeyError(f"no API key {key_id} in {self.path}")
        self._save(keys)
