"""The packed `Trade` event (v3: one LOG3, 6 data words): `decode_log` spells its packed words out
into the named fields every consumer reads (docs/PROTOCOL.md, "Events"). Real fills on Anvil are
decoded and checked field by field in tests/settlement/test_indexer.py."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from settlement.abi import contract_abi, unpack_trade

EXCHANGE = contract_abi("Exchange")
U128 = st.integers(min_value=0, max_value=2**128 - 1)
SERIES, MAKER_ORDER, TAKER_ORDER = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32


def _address_topic(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _premium_fill(premium: int, seq: int, index: int, maker_is_buy: bool) -> int:
    return (premium << 128) | (seq << 24) | (index << 8) | int(maker_is_buy)


def test_the_compiled_trade_event_has_the_v3_layout() -> None:
    topic = EXCHANGE.event_topic("Trade")
    event = EXCHANGE.events[topic]
    assert event.indexed == (("maker", "address"), ("taker", "address"))
    assert event.data == (
        ("series", "bytes32"),
        ("makerOrder", "bytes32"),
        ("takerOrder", "bytes32"),
        ("premiumFill", "uint256"),
        ("amountPrice", "uint256"),
        ("fees", "uint256"),
    )


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
def test_trade_words_unpack_to_named_fields(
    seq: int,
    index: int,
    maker_is_buy: bool,
    amount: int,
    price: int,
    premium: int,
    maker_fee: int,
    taker_fee: int,
) -> None:
    data = abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "uint256", "uint256"],
        [
            SERIES,
            MAKER_ORDER,
            TAKER_ORDER,
            _premium_fill(premium, seq, index, maker_is_buy),
            (amount << 128) | price,
            (maker_fee << 128) | taker_fee,
        ],
    )
    topics = [EXCHANGE.event_topic("Trade"), _address_topic(0xA11CE), _address_topic(0xB0B)]
    decoded = EXCHANGE.decode_log(topics, data)
    assert decoded is not None
    name, args = decoded
    assert name == "Trade"
    assert args["seq"] == seq and args["index"] == index and args["makerIsBuy"] is maker_is_buy
    assert args["amount"] == amount and args["price"] == price and args["premium"] == premium
    assert args["makerFee"] == maker_fee and args["takerFee"] == taker_fee
    assert args["series"] == SERIES and args["makerOrder"] == MAKER_ORDER and args["takerOrder"] == TAKER_ORDER
    assert int(args["maker"], 16) == 0xA11CE and int(args["taker"], 16) == 0xB0B
    assert not {"premiumFill", "amountPrice", "fees"} & args.keys()


def _values(premium_fill: int) -> dict[str, Any]:
    return {
        "maker": "0xA",
        "taker": "0xB",
        "series": SERIES,
        "makerOrder": MAKER_ORDER,
        "takerOrder": TAKER_ORDER,
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
        "makerOrder",
        "takerOrder",
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
