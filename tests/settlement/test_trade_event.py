"""The packed `Trade` event: `decode_log` spells its packed words out into the named fields every
consumer reads (docs/PROTOCOL.md, "Events"). Real fills on Anvil are decoded and checked field by
field in tests/settlement/test_indexer.py."""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from settlement.abi import contract_abi

EXCHANGE = contract_abi("Exchange")
U128 = st.integers(min_value=0, max_value=2**128 - 1)


def _address_topic(n: int) -> bytes:
    return n.to_bytes(32, "big")


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
    series, mh, th = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    data = abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "uint256", "uint256", "uint256"],
        [
            series,
            mh,
            th,
            (seq << 128) | (index << 8) | int(maker_is_buy),
            (amount << 128) | price,
            premium,
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
    assert args["series"] == series and args["makerOrder"] == mh and args["takerOrder"] == th
    assert int(args["maker"], 16) == 0xA11CE and int(args["taker"], 16) == 0xB0B
    assert not {"batchFill", "amountPrice", "fees"} & args.keys()
