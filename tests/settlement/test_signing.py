"""coincurve signing and recovery: round trips, agreement with eth-account, and the contract's rules."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.signer import LocalSigner
from settlement.errors import SignatureError
from settlement.order import Domain, Order, SignedOrder, make_domain
from settlement.signing import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    SignatureCheck,
    check_signature,
    key_address,
    recover,
    sign_digest,
    sign_order,
    verify_order,
)
from tests.settlement.strategies import domains, orders, private_keys

KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
DOMAIN = make_domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


def _twin(signature: bytes) -> bytes:
    """The malleable twin (r, n - s, v flipped): recovers the same key under plain ecrecover."""
    s = int.from_bytes(signature[32:64], "big")
    v = 27 if signature[64] == 28 else 28
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((v,))


@settings(max_examples=100, deadline=None)
@given(key=private_keys, data=st.data(), domain=domains)
def test_signed_order_recovers_to_its_maker(key: bytes, data: st.DataObject, domain: Domain) -> None:
    maker = key_address(key)
    order = data.draw(orders(maker=maker))

    signed = sign_order(order, domain, key)

    assert len(signed.signature) == 65
    assert signed.signature[64] in (27, 28)
    assert int.from_bytes(signed.signature[32:64], "big") <= SECP256K1_HALF_N
    assert recover(order.digest(domain), signed.signature) == maker
    assert verify_order(signed, domain) is SignatureCheck.VALID


@settings(max_examples=50, deadline=None)
@given(key=private_keys, data=st.data(), domain=domains)
def test_signatures_match_eth_account_byte_for_byte(key: bytes, data: st.DataObject, domain: Domain) -> None:
    order = data.draw(orders(maker=key_address(key)))
    account = Account.from_key(key)
    typed = order.to_typed_data(domain)

    ours = sign_order(order, domain, key).signature
    theirs = bytes(account.sign_message(encode_typed_data(full_message=typed)).signature)

    assert ours == theirs
    assert LocalSigner(key).sign_digest(order.digest(domain)) == ours
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=ours) == account.address


def test_a_signer_from_keys_signs_the_same_digest() -> None:
    signer = LocalSigner(KEY)
    order = Order(signer.address, bytes(32), False, 1, 2, 3, 4, 5)

    signature = signer.sign_digest(order.digest(DOMAIN))

    assert recover(order.digest(DOMAIN), signature) == signer.address


def test_high_s_twin_is_rejected_although_plain_ecrecover_would_accept_it() -> None:
    digest = bytes(range(32))
    signature = sign_digest(KEY, digest)
    twin = _twin(signature)

    # The twin is a real signature of the same key: eth-keys (no low-s rule) recovers it.
    assert Account._recover_hash(digest, signature=twin) == key_address(KEY)
    with pytest.raises(SignatureError, match="upper half"):
        recover(digest, twin)


@pytest.mark.parametrize("v", [0, 1, 26, 29, 255])
def test_v_outside_27_28_is_rejected(v: int) -> None:
    signature = sign_digest(KEY, bytes(32))
    with pytest.raises(SignatureError, match="v must be 27 or 28"):
        recover(bytes(32), signature[:64] + bytes((v,)))


def test_v_normalised_to_0_1_by_subtracting_27_is_still_rejected() -> None:
    signature = sign_digest(KEY, bytes(32))
    with pytest.raises(SignatureError):
        check_signature(signature[:64] + bytes((signature[64] - 27,)))


@pytest.mark.parametrize("length", [0, 64, 66, 130])
def test_wrong_lengths_are_rejected_including_eip2098_compact(length: int) -> None:
    signature = sign_digest(KEY, bytes(32))
    candidate = (signature * 3)[:length]
    with pytest.raises(SignatureError, match="65 bytes"):
        recover(bytes(32), candidate)


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (SECP256K1_N, 1), (2**256 - 1, 1)],
)
def test_r_and_s_out_of_range_are_rejected(r: int, s: int) -> None:
    with pytest.raises(SignatureError, match="out of range"):
        check_signature(r.to_bytes(32, "big") + s.to_bytes(32, "big") + b"\x1b")


def test_a_valid_looking_signature_with_r_not_on_the_curve_is_refused() -> None:
    # r = 5 has no point with that x coordinate on secp256k1, so no key recovers.
    with pytest.raises(SignatureError):
        recover(bytes(32), (5).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x1b")


def test_someone_elses_signature_is_not_the_makers() -> None:
    order = Order(key_address(KEY), bytes(32), True, 1, 1, 0, 0, 1)
    other = sign_order(order, DOMAIN, (1).to_bytes(32, "big"))

    assert verify_order(other, DOMAIN) is SignatureCheck.NOT_MAKER_EOA_SIGNATURE


def test_signature_under_another_domain_is_not_the_makers() -> None:
    order = Order(key_address(KEY), bytes(32), True, 1, 1, 0, 0, 1)
    signed = sign_order(order, make_domain(1, DOMAIN.verifying_contract), KEY)

    assert verify_order(signed, DOMAIN) is SignatureCheck.NOT_MAKER_EOA_SIGNATURE


def test_erc1271_style_signatures_are_carried_but_not_claimed_valid() -> None:
    order = Order(key_address(KEY), bytes(32), True, 1, 1, 0, 0, 1)
    contract_sig = SignedOrder(order, b"\x01" * 97)

    assert verify_order(contract_sig, DOMAIN) is SignatureCheck.NOT_MAKER_EOA_SIGNATURE
    assert SignedOrder.from_json(contract_sig.to_json()) == contract_sig
