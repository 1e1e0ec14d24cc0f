"""The client side of admin authentication: credentials and request signing (for the CLI and SDK).

creds = AdminCredentials.load(path)
headers = sign_admin_request(creds, "POST", "/v1/admin/pause", body)
# send body with these headers; for TOTP actions pass totp=<code from the authenticator app>
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _fs
from .api_keys import ApiKey
from .errors import CorruptKeystoreError, KeysError
from .request_signing import (
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_TOTP,
    canonical_request,
    request_signature,
)
from .totp import Totp


@dataclass(frozen=True)
class AdminCredentials:
    """What an operator's client holds: the key id, its secret, and (optionally) the TOTP seed.

    Keeping the TOTP seed beside the secret turns two factors into one: do it only for unattended
    jobs whose actions need no TOTP, and keep the seed in an authenticator app otherwise.
    """

    key_id: str
    secret: bytes = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)

    @classmethod
    def for_key(cls, key: ApiKey, *, include_totp: bool = False) -> AdminCredentials:
        return cls(key.key_id, key.secret, key.totp_secret if include_totp else None)

    def totp_now(self, now: float | None = None) -> str:
        """The current TOTP code from the stored seed (unattended use only; see the class doc)."""
        if self.totp_secret is None:
            raise KeysError("these credentials hold no TOTP seed; read the code from the authenticator app")
        return Totp(self.totp_secret).code_at(time.time() if now is None else now)

    def to_json(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "secret": self.secret.hex(), "totp_secret": self.totp_secret}

    def save(self, path: Path) -> None:
        """Write to a new 0600 file (refuses to overwrite)."""
        _fs.write_new_file(path, (json.dumps(self.to_json(), indent=2) + "\n").encode())

    @classmethod
    def load(cls, path: Path) -> AdminCredentials:
        _fs.check_private_file(path)
        try:
            data = json.loads(path.read_bytes())
            return cls(str(data["key_id"]), bytes.fromhex(data["secret"]), data.get("totp_secret"))
        except (ValueError, KeyError, TypeError):
            raise CorruptKeystoreError(f"{path} is not a valid admin credentials file") from None


def sign_admin_request(
    credentials: AdminCredentials,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    totp: str | None = None,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The authentication headers for one request. `path` must include the query string as sent."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce if nonce is not None else secrets.token_urlsafe(18)
    canonical = canonical_request(credentials.key_id, method, path, timestamp, nonce, body)
    headers = {
        HEADER_KEY: credentials.key_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: request_signature(credentials.secret, canonical),
    }
    if totp is not None:
        headers[HEADER_TOTP] = totp
    return headers
