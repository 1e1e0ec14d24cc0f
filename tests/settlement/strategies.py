"""Hypothesis strategies for orders, keys and domains shared by the settlement tests."""

from __future__ import annotations

from hypothesis import strategies as st

from settlement._hashing import checksum_address
from settlement.order import UINT256_MAX, Domain, Order
from settlement.signing import SECP256K1_N

addresses = st.binary(min_size=20, max_size=20).map(checksum_address)
uint256 = st.one_of(
    st.integers(min_value=0, max_value=UINT256_MAX),
    st.sampled_from([0, 1, 10**6, 10**18, 2**128 - 1, UINT256_MAX]),
)
private_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
domains = st.builds(Domain, chain_id=st.integers(min_value=1, max_value=2**64), verifying_contract=addresses)


@st.composite
def orders(draw: st.DrawFn, maker: str | None = None) -> Order:
    return Order(
        maker=draw(addresses) if maker is None else maker,
        series=draw(st.binary(min_size=32, max_size=32)),
        is_buy=draw(st.booleans()),
        price=draw(uint256),
        amount=draw(uint256),
        max_fee=draw(uint256),
        nonce=draw(uint256),
        expiry=draw(uint256),
    )
