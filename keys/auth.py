"""Operator authentication for admin requests: HMAC + timestamp window + nonce + TOTP + lockout + audit.

Pure: no web framework. `Authenticator.authenticate` takes an `AdminRequest` (method, path, body,
headers, remote address) and the `AdminAction` the route performs, and either returns a
`Principal` or raises an `AuthError` whose `code` and `status` an API can answer with. Every
decision, allowed or denied, is written to the audit log before it is returned.

Checks, in order (each failure is audited):
1. the caller (remote address, and the key id if sent) is not locked out;
2. all headers are present; 3. the timestamp is within `window_s` of now;
4. the key id is known; 5. the HMAC matches; 6. the timestamp is not earlier than the time this
   authenticator started; 7. the nonce is new for this key;
8. the key may perform the action; 9. the TOTP code, when the action needs one, matches a time
   step after the one current at start and not used before by this key.

Lockout: failures count against the remote address; failures only someone holding the secret can
cause (forbidden action, missing or wrong TOTP, a TOTP code from before the start) also count
against the key id, so a thief with a stolen secret cannot brute-force the TOTP from many
addresses, and a stranger cannot lock a real operator out by replaying or mangling requests (a
request signed before the start may be such a replay: it counts against the address only).

Restarts: the nonces, the used TOTP steps and the lockout counters live in this process's memory
only, and a restart forgets them. So that nothing accepted before a restart is accepted again
after it, the authenticator records when it started (`started_at`, read from its clock when it
is constructed: construct it when the relayer starts) and refuses
- a request whose signed timestamp is earlier than `started_at` (`signed_before_start`, 401), even
  with a fresh nonce: the previous process may have accepted it. The client signs a new request.
  Timestamps are whole seconds, so a request signed during the second in which the relayer
  started is refused too (its timestamp cannot show it was signed after the start), and so are,
  right after a restart, requests from a client whose clock lags the relayer's, for as long as
  the lag;
- a TOTP code from the time step current at `started_at` or an earlier one (`totp_before_start`,
  401): the previous process may have accepted it. Admin actions needing TOTP are therefore
  refused for at most one TOTP step (30 s) after a restart, until the next code appears.
This holds as long as a restart takes longer than the client's clock (or authenticator app) runs
ahead of the relayer's: only a client ahead of the relayer can get a timestamp or TOTP step from
after the new start accepted by the old process.
Lockout counters are not carried over: after a restart every address and key starts with no
failures and no lock. That only helps an attacker who can restart the relayer, and that already
takes access to its host.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .admin_actions import AdminAction
from .api_keys import ApiKey, ApiKeyStore
from .audit import AuditLog
from .errors import (
    AuthError,
    BadSignatureError,
    BadTotpError,
    ForbiddenActionError,
    LockedOutError,
    MissingCredentialsError,
    NonceStoreFullError,
    ReplayedNonceError,
    SignedBeforeStartError,
    StaleTimestampError,
    TotpBeforeStartError,
    TotpRequiredError,
    UnknownApiKeyError,
)
from .request_signing import (
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_TOTP,
    body_sha256,
    canonical_request,
    request_signature,
)
from .totp import Totp

Clock = Callable[[], float]
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class AdminRequest:
    """What the authenticator needs from an HTTP request. `path` includes the query string."""

    method: str
    path: str
    body: bytes
    headers: Mapping[str, str]
    remote: str | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: which key, performing which action."""

    key_id: str
    label: str
    action: AdminAction


class NonceStore:
    """Remembers (key id, nonce) pairs until they expire; bounded, and full means refuse (never forget early)."""

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def remember(self, key_id: str, nonce: str, *, expires_at: float, now: float) -> bool:
        """Record the pair; False if it was already there and unexpired (a replay)."""
        with self._lock:
            seen_until = self._seen.get((key_id, nonce))
            if seen_until is not None and seen_until >= now:
                return False
            if len(self._seen) >= self._max:
                self._seen = {k: t for k, t in self._seen.items() if t >= now}
                if len(self._seen) >= self._max:
                    raise NonceStoreFullError("too many recent admin requests to remember their nonces; retry shortly")
            self._seen[(key_id, nonce)] = expires_at
            return True


@dataclass
class _Failures:
    times: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class Lockout:
    """`max_failures` failures within `window_s` lock a subject out for `duration_s` seconds."""

    def __init__(self, *, max_failures: int = 5, window_s: float = 300.0, duration_s: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.duration_s = duration_s
        self._subjects: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def retry_after(self, subject: str, now: float) -> float:
        """Seconds until `subject` may try again (0 if not locked)."""
        with self._lock:
            state = self._subjects.get(subject)
            return max(0.0, state.locked_until - now) if state else 0.0

    def failure(self, subject: str, now: float) -> None:
        with self._lock:
            state = self._subjects.setdefault(subject, _Failures())
            state.times = [t for t in state.times if now - t < self.window_s] + [now]
            if len(state.times) >= self.max_failures:
                state.locked_until = now + self.duration_s
                state.times = []

    def success(self, subject: str) -> None:
        with self._lock:
            state = self._subjects.get(subject)
            if state is not None:
                state.times = []


class Authenticator:
    """Decides admin requests; see the module docstring for the order of checks and for restarts.

    `started_at` is `clock()` at construction: requests signed before it, and TOTP codes from its
    time step or earlier, are refused.
    """

    def __init__(
        self,
        keys: ApiKeyStore,
        audit: AuditLog,
        *,
        clock: Clock = time.time,
        window_s: float = 30.0,
        nonces: NonceStore | None = None,
        lockout: Lockout | None = None,
        totp_drift_steps: int = 1,
    ) -> None:
        self.keys = keys
        self.audit = audit
        self.clock = clock
        self.window_s = window_s
        self.nonces = nonces if nonces is not None else NonceStore()
        self.lockout = lockout if lockout is not None else Lockout()
        self.totp_drift_steps = totp_drift_steps
        self._last_totp_step: dict[str, int] = {}
        self._totp_lock = threading.Lock()
        self.started_at = clock()

    # --- the decision --------------------------------------------------------------------------

    def authenticate(self, request: AdminRequest, action: AdminAction | None) -> Principal:
        """Return the principal, or raise an `AuthError`; the decision is audited either way."""
        now = self.clock()
        key_id = request.header(HEADER_KEY)
        try:
            principal = self._decide(request, action, key_id, now)
        except AuthError as exc:
            self._audit(request, action, key_id, "denied", exc.code)
            raise
        self._audit(request, action, key_id, "allowed", "ok")
        return principal

    def record_outcome(self, request: AdminRequest, principal: Principal, status: int) -> None:
        """Audit how an allowed action ended (the handler's HTTP status)."""
        self.audit.append(
            {
                "event": "admin_outcome",
                "action": principal.action.value,
                "key_id": principal.key_id,
                "method": request.method.upper(),
                "path": request.path,
                "status": status,
            }
        )

    def _audit(
        self, request: AdminRequest, action: AdminAction | None, key_id: str | None, decision: str, code: str
    ) -> None:
        self.audit.append(
            {
                "event": "admin_request",
                "action": action.value if action is not None else None,
                "key_id": key_id,
                "decision": decision,
                "code": code,
                "method": request.method.upper(),
                "path": request.path,
                "remote": request.remote,
                "nonce": request.header(HEADER_NONCE),
                "body_sha256": body_sha256(request.body),
            }
        )

    def _fail(self, exc: AuthError, subjects: list[str], now: float) -> AuthError:
        for subject in subjects:
            self.lockout.failure(subject, now)
        return exc

    def _decide(self, request: AdminRequest, action: AdminAction | None, key_id: str | None, now: float) -> Principal:
        ip_subject = f"ip:{request.remote}"
        key_subject = f"key:{key_id}"
        for subject in (ip_subject, key_subject) if key_id else (ip_subject,):
            wait = self.lockout.retry_after(subject, now)
            if wait > 0:
                raise LockedOutError(f"too many failed admin requests; retry in {int(wait) + 1} s", retry_after=wait)
        by_ip = [ip_subject]
        by_key = [ip_subject, key_subject]

        if action is None:
            raise self._fail(ForbiddenActionError("no admin action is defined for this route"), by_ip, now)

        timestamp = request.header(HEADER_TIMESTAMP)
        nonce = request.header(HEADER_NONCE)
        signature = request.header(HEADER_SIGNATURE)
        if not key_id or timestamp is None or nonce is None or signature is None:
            missing = [
                h
                for h, v in ((HEADER_KEY, key_id), (HEADER_TIMESTAMP, timestamp), (HEADER_NONCE, nonce),
                             (HEADER_SIGNATURE, signature))
                if not v
            ]  # fmt: skip
            raise self._fail(MissingCredentialsError(f"missing header(s): {', '.join(missing)}"), by_ip, now)

        if not _TIMESTAMP_RE.fullmatch(timestamp) or abs(int(timestamp) - now) > self.window_s:
            raise self._fail(
                StaleTimestampError(f"timestamp must be unix seconds within {self.window_s:.0f} s of server time"),
                by_ip,
                now,
            )
        if not _NONCE_RE.fullmatch(nonce):
            raise self._fail(MissingCredentialsError("nonce must be 16-128 characters of [A-Za-z0-9_-]"), by_ip, now)

        key = self.keys.get(key_id)
        if key is None:
            raise self._fail(UnknownApiKeyError("unknown or revoked API key"), by_ip, now)

        expected = request_signature(
            key.secret, canonical_request(key_id, request.method, request.path, timestamp, nonce, request.body)
        )
        if not hmac.compare_digest(expected, signature.lower()):
            raise self._fail(BadSignatureError("request signature does not match"), by_ip, now)

        # anyone who captured such a request can send it: it counts against the address only
        if int(timestamp) < self.started_at:
            raise self._fail(
                SignedBeforeStartError(
                    "request was signed before this relayer started, so it may have been used before the "
                    "restart; sign a new request"
                ),
                by_ip,
                now,
            )

        if not self.nonces.remember(key_id, nonce, expires_at=int(timestamp) + self.window_s, now=now):
            raise self._fail(ReplayedNonceError("nonce already used: this request was replayed"), by_ip, now)

        if action not in key.actions:
            raise self._fail(ForbiddenActionError(f"this API key may not perform {action.value}"), by_key, now)

        if action.requires_totp:
            self._check_totp(key, request.header(HEADER_TOTP), now, by_key)

        self.lockout.success(ip_subject)
        self.lockout.success(key_subject)
        return Principal(key_id=key.key_id, label=key.label, action=action)

    def _check_totp(self, key: ApiKey, code: str | None, now: float, subjects: list[str]) -> None:
        if key.totp_secret is None:
            raise self._fail(
                TotpRequiredError("this action needs a second factor and the API key has no TOTP enrolled"),
                subjects,
                now,
            )
        if not code:
            raise self._fail(TotpRequiredError(f"this action needs a TOTP code in {HEADER_TOTP}"), subjects, now)
        totp = Totp(key.totp_secret)
        step = totp.match(code.strip(), now, drift_steps=self.totp_drift_steps)
        with self._totp_lock:
            if step is None:
                raise self._fail(BadTotpError("TOTP code is wrong, expired or already used"), subjects, now)
            if step <= totp.counter_at(self.started_at):
                raise self._fail(
                    TotpBeforeStartError(
                        "TOTP code is from before this relayer started, so it may have been used before the "
                        f"restart; actions needing TOTP are refused for at most one {totp.step} s step after a "
                        "restart: wait for the next code"
                    ),
                    subjects,
                    now,
                )
            if step <= self._last_totp_step.get(key.key_id, -1):
                raise self._fail(BadTotpError("TOTP code is wrong, expired or already used"), subjects, now)
            self._last_totp_step[key.key_id] = step
