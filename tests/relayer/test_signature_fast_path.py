"""The intake's signature fast path computes exactly what the public APIs compute.

`settlement._hashing.keccak256` calls pycryptodome's compiled sponge directly and
`settlement.signing.recover_raw` calls libsecp256k1 directly and caches key -> address;
each is checked here against the library's public API.
"""

from __future__ import annotations

import threading

import coincurve
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import settlement.signing as signing
from settlement._hashing import FAST_KECCAK, keccak256, keccak256_reference
from settlement.errors import SignatureError
from settlement.signing import key_address, recover_raw, sign_digest


def test_fast_keccak_is_active() -> None:
    assert FAST_KECCAK
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@given(st.binary(max_size=700))
@settings(max_examples=300)
def test_keccak_matches_public_api(data: bytes) -> None:
    assert keccak256(data) == keccak256_reference(data)


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 135, 136, 137, 271, 272, 273, 288, 1000])
def test_keccak_block_boundaries_and_buffer_types(size: int) -> None:
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    expected = keccak256_reference(data)
    assert keccak256(data) == expected
    # untyped callers may pass other buffers, as pycryptodome's API allowed
    assert keccak256(bytearray(data)) == expected  # type: ignore[arg-type]
    assert keccak256(memoryview(data)) == expected  # type: ignore[arg-type]


def test_keccak_per_thread_states_do_not_mix() -> None:
    failures: list[int] = []

    def work(offset: int) -> None:
        for i in range(500):
            data = bytes([offset]) * (i + offset)
            if keccak256(data) != keccak256_reference(data):
                failures.append(i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
@settings(max_examples=50)
def test_direct_recovery_matches_coincurve(secret: bytes, digest: bytes) -> None:
    try:
        key = coincurve.PrivateKey(secret)
    except ValueError:
        return  # not a valid scalar
    signature = sign_digest(key, digest)
    compact = signature[:64] + bytes((signature[64] - 27,))
    assert signing._recover_public(digest, compact) == signing._public_reference(digest, compact)
    assert recover_raw(digest, signature) == bytes.fromhex(key_address(secret)[2:])


def test_direct_recovery_is_in_use() -> None:
    assert signing._recover_public is not signing._public_reference


def test_unrecoverable_signature_raises_on_both_paths() -> None:
    # r = 5 is not the x coordinate of a curve point: no key recovers
    compact = (5).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x00"
    for recover in (signing._recover_public, signing._public_reference):
        with pytest.raises(SignatureError):
            recover(bytes(32), compact)
    with pytest.raises(SignatureError):
        recover_raw(bytes(32), compact[:64] + b"\x1b")


def test_address_cache_is_bounded_and_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "_ADDRESS_CACHE_MAX", 2)
    monkeypatch.setattr(signing, "_ADDRESS_OF", {})
    secrets = [bytes(31) + bytes([n]) for n in range(1, 6)]
    for _ in range(2):
        for secret in secrets:
            digest = keccak256(secret)
            assert recover_raw(digest, sign_digest(secret, digest)) == bytes.fromhex(key_address(secret)[2:])
            assert len(signing._ADDRESS_OF) <= 2
