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

START = 1_800_000_000.0  # a fixed "now" (2027-01-15); the first second of a TOTP step
#: how long before START the rig's authenticator started: longer than the timestamp window and a
#: TOTP step, so requests signed and codes generated around START are not "from before the start"
UP_FOR_S = 60.0


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

    def restart(self) -> Authenticator:
        """A new authenticator over the same keys, audit log and clock, started now: what a
        relayer restart builds. It becomes `self.authenticator`; the old one is returned."""
        old = self.authenticator
        self.authenticator = _authenticator(self.keys, self.audit, self.clock)
        return old

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


def _authenticator(keys: MemoryApiKeyStore, audit: AuditLog, clock: FakeClock) -> Authenticator:
    return Authenticator(keys, audit, clock=clock, lockout=Lockout(max_failures=5, window_s=300, duration_s=900))


def make_rig(tmp_path: Path, *, actions: frozenset[AdminAction] = frozenset(AdminAction)) -> AuthRig:
    """A rig whose authenticator started `UP_FOR_S` before the clock's START."""
    clock = FakeClock(START - UP_FOR_S)
    key = generate_api_key("alice (on-call)", actions)
    keys = MemoryApiKeyStore([key])
    audit = AuditLog(tmp_path / "audit.jsonl", clock=clock)
    authenticator = _authenticator(keys, audit, clock)
    clock.now = START
    return AuthRig(clock, key, AdminCredentials.for_key(key), keys, audit, authenticator)
