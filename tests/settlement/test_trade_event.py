"""The packed `Trade` event (anonymous: a LOG0, no topics, 6 data words): `decode_log` recognises it
by the missing topics and the data length, and spells its packed words out into the named fields
every consumer reads (docs/PROTOCOL.md, "Events"). It carries no order digests: they are the
calldata fill's. Real fills on Anvil are decoded and checked field by field in
tests/settlement/test_indexer.py."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from settlement.abi import ContractABI, contract_abi, unpack_trade
from settlement.artifacts import Artifact
from settlement.errors import ArtifactError

EXCHANGE = contract_abi("Exchange")
U128 = st.integers(min_value=0, max_value=2**128 - 1)
SERIES = b"\x01" * 32
TRADE_TYPES = ["bytes32", "address", "address", "uint256", "uint256", "uint256"]
MAKER, TAKER = "0x" + "a11ce".rjust(40, "0"), "0x" + "b0b".rjust(40, "0")


def _premium_fill(premium: int, seq: int, index: int, maker_is_buy: bool) -> int:
    return (premium << 128) | (seq << 24) | (index << 8) | int(maker_is_buy)


def _trade_data(premium_fill: int, amount_price: int = (5 << 128) | 7, fees: int = (11 << 128) | 13) -> bytes:
    return abi_encode(TRADE_TYPES, [SERIES, MAKER, TAKER, premium_fill, amount_price, fees])


def test_the_compiled_trade_event_is_anonymous_with_the_v4_layout() -> None:
    event = EXCHANGE.event("Trade")
    assert event.anonymous and event.topic is None
    assert event.indexed == ()
    assert event.data == (
        ("series", "bytes32"),
        ("maker", "address"),
        ("taker", "address"),
        ("premiumFill", "uint256"),
        ("amountPrice", "uint256"),
        ("fees", "uint256"),
    )
    assert event.data_size == 6 * 32
    assert EXCHANGE.anonymous_events == (event,)  # the exchange's only log without topics
    assert event not in EXCHANGE.events.values()  # no topic 0 to look it up by


def test_an_anonymous_event_has_no_topic_to_filter_by() -> None:
    with pytest.raises(ArtifactError, match="Trade is anonymous"):
        EXCHANGE.event_topic("Trade")
    assert EXCHANGE.events[EXCHANGE.event_topic("BatchSettled")].name == "BatchSettled"


@given(
    seq=st.integers(min_value=1, max_value=2**64 - 1),
    index=st.integers(min_value=0, max_value=2**16 - 1),
    maker_is_buy=st.booleans(),
    amount=st.integers(min_value=1, max_value=2**127 - 1),
    price=U128,
    premium=U128,
    maker_fee=U128,
    taker_fee=U128,
)
def test_a_log_without_topics_decodes_as_the_trade_with_named_fields(
    seq: int,
    index: int,
    maker_is_buy: bool,
    amount: int,
    price: int,
    premium: int,
    maker_fee: int,
    taker_fee: int,
) -> None:
    data = _trade_data(
        _premium_fill(premium, seq, index, maker_is_buy), (amount << 128) | price, (maker_fee << 128) | taker_fee
    )
    decoded = EXCHANGE.decode_log([], data)
    assert decoded is not None
    name, args = decoded
    assert name == "Trade"
    assert args["seq"] == seq and args["index"] == index and args["makerIsBuy"] is maker_is_buy
    assert args["amount"] == amount and args["price"] == price and args["premium"] == premium
    assert args["makerFee"] == maker_fee and args["takerFee"] == taker_fee
    assert args["series"] == SERIES
    assert int(args["maker"], 16) == 0xA11CE and int(args["taker"], 16) == 0xB0B
    assert not {"premiumFill", "amountPrice", "fees", "makerOrder", "takerOrder"} & args.keys()


def test_a_log_without_topics_that_fits_no_anonymous_event_is_unknown() -> None:
    data = _trade_data(_premium_fill(1, 2, 3, True))
    assert EXCHANGE.decode_log([], data) is not None
    assert EXCHANGE.decode_log([], data[:-32]) is None  # 5 words
    assert EXCHANGE.decode_log([], data + bytes(32)) is None  # 7 words
    assert EXCHANGE.decode_log([], b"") is None
    dirty = bytearray(data)
    dirty[32] = 1  # the maker word with bits above the 160-bit address set: not an ABI address
    assert EXCHANGE.decode_log([], bytes(dirty)) is None
    # the right data under a topic no event has: no named event, and no anonymous one with an indexed param
    assert EXCHANGE.decode_log([b"\x07" * 32], data) is None
    # a contract without anonymous events (the registry) knows no log without topics
    assert contract_abi("SeriesRegistry").decode_log([], data) is None


def _abi(*events: dict[str, Any]) -> ContractABI:
    return ContractABI(Artifact("Test", list(events), "0x00", "0x00"))


def _anonymous(name: str, *types: str) -> dict[str, Any]:
    inputs = [{"name": f"a{i}", "type": t, "indexed": False} for i, t in enumerate(types)]
    return {"type": "event", "name": name, "anonymous": True, "inputs": inputs}


def test_anonymous_events_are_told_apart_by_data_length_and_ambiguity_is_unknown() -> None:
    abi = _abi(_anonymous("One", "uint256"), _anonymous("Two", "uint256", "bytes32"))
    assert abi.decode_log([], (5).to_bytes(32, "big")) == ("One", {"a0": 5})
    assert abi.decode_log([], (5).to_bytes(32, "big") + b"\x01" * 32) == ("Two", {"a0": 5, "a1": b"\x01" * 32})
    assert abi.decode_log([], bytes(96)) is None

    twins = _abi(_anonymous("Left", "uint256"), _anonymous("Right", "bytes32"))
    assert twins.decode_log([], bytes(32)) is None  # both fit: which one is unknowable


def _values(premium_fill: int) -> dict[str, Any]:
    return {
        "series": SERIES,
        "maker": "0xA",
        "taker": "0xB",
        "premiumFill": premium_fill,
        "amountPrice": (5 << 128) | 7,
        "fees": (11 << 128) | 13,
    }


def test_premium_fill_bit_positions() -> None:
    word = int(
        "ffffffffffffffffffffffffffffffff"  # premium, bits 128..255
        "0000000000"  # bits 88..127: zero
        "fedcba9876543210"  # seq, bits 24..87
        "abcd"  # index, bits 8..23
        "01",  # makerIsBuy, bit 0
        16,
    )
    args = unpack_trade(_values(word))
    assert args["premium"] == 2**128 - 1
    assert args["seq"] == 0xFEDCBA9876543210
    assert args["index"] == 0xABCD
    assert args["makerIsBuy"] is True
    assert (args["amount"], args["price"], args["makerFee"], args["takerFee"]) == (5, 7, 11, 13)
    assert list(args) == [
        "seq",
        "maker",
        "taker",
        "index",
        "series",
        "makerIsBuy",
        "amount",
        "price",
        "premium",
        "makerFee",
        "takerFee",
    ]

    zero = unpack_trade(_values(_premium_fill(0, 1, 0, False)))
    assert (zero["premium"], zero["seq"], zero["index"], zero["makerIsBuy"]) == (0, 1, 0, False)


def test_bits_above_the_seq_show_up_in_it_rather_than_vanish() -> None:
    """Bits 88..127 are 0 from the exchange; a forged word with one set decodes to a seq no batch has."""
    args = unpack_trade(_values(_premium_fill(9, 3, 4, True) | (1 << 100)))
    assert args["seq"] == 3 + (1 << 76) and args["seq"] >= 2**64
    assert (args["premium"], args["index"], args["makerIsBuy"]) == (9, 4, True)
