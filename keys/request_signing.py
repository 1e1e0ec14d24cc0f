"""The admin request signature: headers, canonical string, HMAC-SHA256 (shared by client and server).

Canonical string, one field per line, UTF-8:

    STRIKEBOOK-ADMIN-V1
    <key id>
    <METHOD>
    <path with query string, as sent>
    <timestamp: unix seconds, decimal>
    <nonce>
    <hex SHA-256 of the body bytes>

The first line separates this from any other use of the secret; the key id binds the signature
to one credential. The TOTP code travels in its own header and is not signed: it is itself a
one-use secret checked separately.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER_KEY = "X-Strikebook-Key"
HEADER_TIMESTAMP = "X-Strikebook-Timestamp"
HEADER_NONCE = "X-Strikebook-Nonce"
HEADER_SIGNATURE = "X-Strikebook-Signature"
HEADER_TOTP = "X-Strikebook-Totp"

SCHEME = "STRIKEBOOK-ADMIN-V1"


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of the request body (empty body included)."""
    return hashlib.sha256(body).hexdigest()


def canonical_request(key_id: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The exact bytes the HMAC covers."""
    return "\n".join([SCHEME, key_id, method.upper(), path, timestamp, nonce, body_sha256(body)]).encode()


def request_signature(secret: bytes, canonical: bytes) -> str:
    """Hex HMAC-SHA256 of `canonical` under the API secret."""
    return hmac.new(secret, canonical, hashlib.sha256).hexdigest()
