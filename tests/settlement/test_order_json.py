"""The canonical JSON form of orders: exact shape, round trips, and typed rejection of malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from settlement.errors import OrderError, OrderJSONError
from settlement.order import Order, SignedOrder, make_domain
from settlement.signing import sign_order
from tests.settlement.strategies import orders

KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
MAKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DOMAIN = make_domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


def _signed() -> SignedOrder:
    order = Order(MAKER, bytes.fromhex("ab" * 32), False, 2**200, 10**18, 0, 3, 1_900_000_000)
    return sign_order(order, DOMAIN, KEY)


def test_canonical_json_uses_decimal_strings_checksummed_address_and_hex() -> None:
    signed = _signed()

    obj = json.loads(signed.to_json())

    assert obj == {
        "maker": MAKER,
        "series": "0x" + "ab" * 32,
        "isBuy": False,
        "price": str(2**200),
        "amount": "1000000000000000000",
        "maxFee": "0",
        "nonce": "3",
        "expiry": "1900000000",
        "signature": "0x" + signed.signature.hex(),
    }
    assert signed.to_json() == json.dumps(obj, sort_keys=True, separators=(",", ":"))


@settings(max_examples=200, deadline=None)
@given(order=orders())
def test_order_json_round_trips(order: Order) -> None:
    assert Order.from_json(order.to_json()) == order
    assert Order.from_json_dict(order.to_json_dict()) == order


def test_signed_order_json_round_trips_and_keeps_the_digest() -> None:
    signed = _signed()
    parsed = SignedOrder.from_json(signed.to_json().encode())

    assert parsed == signed
    assert parsed.digest(DOMAIN) == signed.digest(DOMAIN)


def test_lowercase_address_and_uppercase_hex_are_accepted_and_canonicalised() -> None:
    obj = _signed().to_json_dict()
    obj["maker"] = MAKER.lower()
    obj["series"] = obj["series"].upper().replace("0X", "0x")
    obj["signature"] = obj["signature"].upper().replace("0X", "0x")

    assert SignedOrder.from_json_dict(obj).to_json() == _signed().to_json()


def _mutated(**changes: Any) -> dict[str, Any]:
    obj = _signed().to_json_dict()
    for key, value in changes.items():
        if value is _DELETE:
            del obj[key]
        else:
            obj[key] = value
    return obj


_DELETE = object()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_mutated(price=12), "price"),  # a JSON number, not a decimal string
        (_mutated(price="012"), "price"),  # leading zero
        (_mutated(price="-1"), "price"),
        (_mutated(price="+1"), "price"),
        (_mutated(price="1e3"), "price"),
        (_mutated(price=" 1"), "price"),
        (_mutated(amount=str(2**256)), "amount"),
        (_mutated(nonce=""), "nonce"),
        (_mutated(expiry=None), "expiry"),
        (_mutated(maxFee="0x10"), "maxFee"),
        (_mutated(maker="0x70997970C51812dc3A010C7d01b50e0d17dc79c8"), "maker"),  # bad checksum
        (_mutated(maker="70997970C51812dc3A010C7d01b50e0d17dc79C8"), "maker"),
        (_mutated(series="0x" + "ab" * 31), "series"),
        (_mutated(series="ab" * 32), "series"),
        (_mutated(isBuy="false"), "isBuy"),
        (_mutated(isBuy=0), "isBuy"),
        (_mutated(signature="0x"), "signature"),
        (_mutated(signature="0x123"), "signature"),
        (_mutated(signature="0xzz" + "00" * 64), "signature"),
        (_mutated(signature=list(range(65))), "signature"),
    ],
)
def test_malformed_fields_are_rejected_with_a_typed_error(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(OrderJSONError) as info:
        SignedOrder.from_json(json.dumps(payload))
    assert info.value.field == field
    assert info.value.code == "malformed_order_json"
    assert isinstance(info.value, OrderError)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('"order"', "JSON object"),
        (json.dumps(_mutated(nonce=_DELETE)), "missing keys: \\['nonce'\\]"),
        (json.dumps(_mutated(salt="1")), "unknown keys: \\['salt'\\]"),
        (json.dumps(_mutated(signature=_DELETE)), "missing keys: \\['signature'\\]"),
    ],
)
def test_malformed_documents_are_rejected_with_a_typed_error(text: str, match: str) -> None:
    with pytest.raises(OrderJSONError, match=match):
        SignedOrder.from_json(text)


def test_a_plain_order_document_refuses_a_signature_key() -> None:
    with pytest.raises(OrderJSONError, match="unknown keys"):
        Order.from_json(_signed().to_json())
