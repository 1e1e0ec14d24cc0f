"""The order model against its preimages, eth-account's generic EIP-712 encoder and the ABI encoder."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement._hashing import checksum_address, parse_address
from settlement.errors import OrderError, SettlementError
from settlement.order import (
    DOMAIN_TYPE_HASH,
    DOMAIN_TYPE_STRING,
    TYPE_HASH,
    TYPE_STRING,
    UINT256_MAX,
    Domain,
    Order,
    hash_order,
    make_domain,
    series_id,
    struct_hash,
)
from tests.settlement.strategies import addresses, domains, orders

EXCHANGE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _order(**overrides: Any) -> Order:
    fields: dict[str, Any] = {
        "maker": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "series": bytes(range(32)),
        "is_buy": True,
        "price": 125_000_000,
        "amount": 10**18,
        "max_fee": 1_000_000,
        "nonce": 7,
        "expiry": 1_900_000_000,
    }
    fields.update(overrides)
    return Order(**fields)


def test_type_hash_is_the_keccak_of_the_exact_type_string() -> None:
    assert TYPE_STRING == (
        "Order(address maker,bytes32 series,bool isBuy,uint256 price,uint256 amount,"
        "uint256 maxFee,uint256 nonce,uint256 expiry)"
    )
    assert keccak(text=TYPE_STRING) == TYPE_HASH


def test_domain_type_hash_is_the_keccak_of_the_eip712_domain_type_string() -> None:
    assert keccak(text=DOMAIN_TYPE_STRING) == DOMAIN_TYPE_HASH


@settings(max_examples=300, deadline=None)
@given(order=orders(), domain=domains)
def test_digest_matches_eth_account_generic_encoder(order: Order, domain: Domain) -> None:
    signable = encode_typed_data(full_message=order.to_typed_data(domain))

    assert signable.version == b"\x01"
    assert signable.header == domain.separator
    assert signable.body == struct_hash(order)
    assert keccak(b"\x19" + signable.version + signable.header + signable.body) == hash_order(order, domain)
    assert order.digest(domain) == hash_order(order, domain)


@settings(max_examples=100, deadline=None)
@given(
    underlying=addresses,
    quote=addresses,
    strike=st.integers(0, UINT256_MAX),
    expiry=st.integers(0, UINT256_MAX),
    is_call=st.booleans(),
)
def test_series_id_is_keccak_of_the_abi_encoded_fields(
    underlying: str, quote: str, strike: int, expiry: int, is_call: bool
) -> None:
    expected = keccak(
        abi_encode(["address", "address", "uint256", "uint256", "bool"], [underlying, quote, strike, expiry, is_call])
    )
    assert series_id(underlying, quote, strike, expiry, is_call) == expected


def test_digest_depends_on_every_field_and_on_the_domain() -> None:
    base = _order()
    domain = make_domain(31337, EXCHANGE)
    variants = [
        _order(maker="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
        _order(series=bytes(32)),
        _order(is_buy=False),
        _order(price=base.price + 1),
        _order(amount=base.amount + 1),
        _order(max_fee=base.max_fee + 1),
        _order(nonce=base.nonce + 1),
        _order(expiry=base.expiry + 1),
    ]
    digests = {hash_order(o, domain) for o in variants}
    digests |= {hash_order(base, make_domain(1, EXCHANGE))}
    digests |= {hash_order(base, make_domain(31337, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"))}

    assert hash_order(base, domain) not in digests
    assert len(digests) == len(variants) + 2


def test_maker_and_verifying_contract_are_normalised_to_checksummed_form() -> None:
    order = _order(maker="0x70997970c51812dc3a010c7d01b50e0d17dc79c8")
    domain = Domain(31337, EXCHANGE.lower())

    assert order.maker == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert domain.verifying_contract == EXCHANGE
    assert order == _order()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"maker": "0x70997970C51812dc3A010C7d01b50e0d17dc79c8"}, "maker"),  # bad EIP-55 checksum
        ({"maker": "0x1234"}, "maker"),
        ({"maker": 5}, "maker"),
        ({"series": bytes(31)}, "series"),
        ({"series": "0x" + "00" * 32}, "series"),
        ({"is_buy": 1}, "is_buy"),
        ({"price": -1}, "price"),
        ({"amount": UINT256_MAX + 1}, "amount"),
        ({"max_fee": 1.0}, "max_fee"),
        ({"nonce": True}, "nonce"),
        ({"expiry": "1"}, "expiry"),
    ],
)
def test_invalid_fields_are_rejected_with_the_field_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(OrderError) as info:
        _order(**overrides)
    assert info.value.field == field
    assert isinstance(info.value, SettlementError)
    assert info.value.code == "invalid_order"


def test_uint256_bounds_are_accepted() -> None:
    order = _order(price=0, amount=UINT256_MAX, max_fee=0, nonce=UINT256_MAX, expiry=0)
    assert order.amount == UINT256_MAX


@settings(max_examples=200)
@given(raw=st.binary(min_size=20, max_size=20))
def test_checksum_address_matches_eth_utils_and_parses_back(raw: bytes) -> None:
    text = checksum_address(raw)
    assert text == to_checksum_address(raw)
    assert parse_address(text) == raw
    assert parse_address(text.lower()) == raw
