"""TOTP against the RFC 6238 appendix B test vectors, and the verifier's drift and format rules."""

from __future__ import annotations

import base64
import hashlib

import pytest

from keys.errors import KeysError
from keys.totp import Totp, new_totp_secret

RFC6238_SHA1_SEED = base64.b32encode(b"12345678901234567890").decode()

# RFC 6238 appendix B, the SHA-1 rows: (unix time, 8-digit TOTP).
RFC6238_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "code"), RFC6238_SHA1_VECTORS)
def test_rfc6238_sha1_vectors(unix_time: int, code: str) -> None:
    totp = Totp(RFC6238_SHA1_SEED, digits=8, digest=hashlib.sha1)

    assert totp.code_at(unix_time) == code
    assert totp.match(code, unix_time, drift_steps=0) == unix_time // 30


def test_six_digit_codes_are_the_low_digits_of_the_rfc_codes() -> None:
    totp = Totp(RFC6238_SHA1_SEED)

    assert [totp.code_at(t) for t, _ in RFC6238_SHA1_VECTORS] == [c[-6:] for _, c in RFC6238_SHA1_VECTORS]


def test_one_step_of_clock_drift_is_accepted_and_two_are_not() -> None:
    totp = Totp(new_totp_secret())
    now = 1_800_000_015.0
    previous, following, stale = totp.code_at(now - 30), totp.code_at(now + 30), totp.code_at(now - 60)

    assert totp.match(previous, now) == totp.counter_at(now) - 1
    assert totp.match(following, now) == totp.counter_at(now) + 1
    assert stale not in {previous, totp.code_at(now), following}  # astronomically unlikely, checked anyway
    assert totp.match(stale, now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", " 12345"])
def test_malformed_codes_never_match(code: str) -> None:
    assert Totp(new_totp_secret()).match(code, 1_800_000_000) is None


def test_new_seeds_are_160_bits_and_distinct() -> None:
    seeds = {new_totp_secret() for _ in range(20)}

    assert len(seeds) == 20
    assert all(len(base64.b32decode(s)) == 20 for s in seeds)


def test_invalid_seed_is_a_keys_error_and_repr_hides_the_seed() -> None:
    seed = new_totp_secret()

    with pytest.raises(KeysError, match="base32"):
        Totp("not base32 !")
    assert seed not in repr(Totp(seed))


def test_provisioning_uri_names_issuer_and_account() -> None:
    uri = Totp(RFC6238_SHA1_SEED).provisioning_uri("alice")

    assert uri.startswith("otpauth://totp/Strikebook:alice?")
    assert "issuer=Strikebook" in uri
