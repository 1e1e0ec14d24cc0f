"""Shared pieces for the admin-auth tests: an injected clock and a ready authenticator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keys.admin_actions import AdminAction
from keys.admin_client import AdminCredentials, sign_admin_request
from keys.api_keys import ApiKey, MemoryApiKeyStore, generate_api_key
from keys.audit import AuditLog
from keys.auth import AdminRequest, Authenticator, Lockout
from keys.totp import Totp

START = 1_800_000_000.0  # a fixed "now" (2027-01-15), far from any TOTP step boundary issue


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class AuthRig:
    clock: FakeClock
    key: ApiKey
    creds: AdminCredentials
    keys: MemoryApiKeyStore
    audit: AuditLog
    authenticator: Authenticator

    def totp(self, offset_s: float = 0) -> str:
        assert self.key.totp_secret is not None
        return Totp(self.key.totp_secret).code_at(self.clock() + offset_s)

    def request(
        self,
        method: str = "POST",
        path: str = "/v1/admin/pause",
        body: bytes = b'{"reason":"drill"}',
        *,
        totp: str | None = None,
        remote: str = "10.0.0.1",
        creds: AdminCredentials | None = None,
        sign_time: float | None = None,
    ) -> AdminRequest:
        headers = sign_admin_request(
            creds or self.creds, method, path, body, totp=totp, now=self.clock() if sign_time is None else sign_time
        )
        return AdminRequest(method=method, path=path, body=body, headers=headers, remote=remote)


def make_rig(tmp_path: Path, *, actions: frozenset[AdminAction] = frozenset(AdminAction)) -> AuthRig:
    clock = FakeClock()
    key = generate_api_key("alice (on-call)", actions)
    keys = MemoryApiKeyStore([key])
    audit = AuditLog(tmp_path / "audit.jsonl", clock=clock)
    authenticator = Authenticator(
        keys, audit, clock=clock, lockout=Lockout(max_failures=5, window_s=300, duration_s=900)
    )
    return AuthRig(clock, key, AdminCredentials.for_key(key), keys, audit, authenticator)
