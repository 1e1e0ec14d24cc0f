"""Time-based one-time passwords (RFC 6238) for the admin second factor, via `pyotp`.

Defaults follow what authenticator apps expect: HMAC-SHA-1, 30-second steps, 6 digits. `match`
returns the time step a code belongs to, so the verifier can refuse a code used once already
(RFC 6238 section 5.2).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import pyotp

from .errors import KeysError

STEP_SECONDS = 30
DIGITS = 6


def new_totp_secret() -> str:
    """A fresh base32 seed of 160 bits (RFC 4226's recommended length for SHA-1)."""
    return pyotp.random_base32(length=32)


class Totp:
    """One TOTP seed. Its repr never shows the seed."""

    __slots__ = ("_otp", "digits", "step")

    def __init__(
        self,
        secret_b32: str,
        *,
        digits: int = DIGITS,
        step: int = STEP_SECONDS,
        digest: Callable[..., Any] = hashlib.sha1,
    ) -> None:
        try:
            self._otp = pyotp.TOTP(secret_b32, digits=digits, interval=step, digest=digest)
            self._otp.byte_secret()
        except (ValueError, TypeError):
            raise KeysError("the TOTP seed is not valid base32") from None
        self.digits = digits
        self.step = step

    def __repr__(self) -> str:
        return f"Totp(<hidden>, digits={self.digits}, step={self.step})"

    def counter_at(self, unix_time: float) -> int:
        """The RFC 6238 time step T = floor(unix_time / step)."""
        return int(unix_time) // self.step

    def code_at(self, unix_time: float) -> str:
        """The code valid during the step that contains `unix_time`."""
        return self._otp.at(int(unix_time))

    def match(self, code: str, unix_time: float, *, drift_steps: int = 1) -> int | None:
        """The time step `code` belongs to, within +-`drift_steps` of `unix_time`; None if none matches."""
        if len(code) != self.digits or not code.isdigit():
            return None
        now = self.counter_at(unix_time)
        found = None
        for counter in range(now - drift_steps, now + drift_steps + 1):
            if hmac.compare_digest(self._otp.generate_otp(counter), code):
                found = counter  # no early exit: constant work whatever matches
        return found

    def provisioning_uri(self, account: str, issuer: str = "Strikebook") -> str:
        """The otpauth:// URI an authenticator app scans (contains the seed: show it only to its owner)."""
        return self._otp.provisioning_uri(name=account, issuer_name=issuer)
