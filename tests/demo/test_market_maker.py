"""The example market maker's pure quoting: spread, skew, sizes, no crossed quotes, requote triggers, inventory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from market_maker import (
    MarketMaker,
    QuoteParams,
    Quoter,
    SeriesSpec,
    apply_fill,
    needs_requote,
    quote_prices,
)

from keys.signer import LocalSigner
from pricing import HestonParams
from relayer.client import AsyncClient, FillEvent, OrderAck
from settlement.order import Order, SignedOrder

USD = 10**6
OPTION = 10**18
PARAMS = QuoteParams(half_spread=0.04, min_half_spread=20_000, tick=10_000, size=OPTION, max_position=5 * OPTION)
MODEL = HestonParams(v0=0.36, kappa=2.0, theta=0.36, sigma=0.8, rho=-0.5)
NOW = 1_800_000_000
WEEK = 7 * 86_400


def _chain() -> list[SeriesSpec]:
    return [
        SeriesSpec(bytes([i, int(call)]) * 16, strike * USD, NOW + WEEK, call)
        for i, strike in enumerate((1_600, 1_800, 2_000, 2_200, 2_400))
        for call in (True, False)
    ]


def test_flat_quotes_straddle_fair_value_with_the_configured_spread_and_full_size() -> None:
    fair = 66_130_000  # 66.13 quote units
    bid, bid_size, ask, ask_size = quote_prices(fair, 0, PARAMS)
    assert bid < fair < ask
    assert bid_size == ask_size == OPTION
    half = 0.04 * fair
    # rounded outwards to the tick: never narrower than asked, at most one tick wider per side
    assert fair - half - 10_000 < bid <= fair - half
    assert fair + half <= ask < fair + half + 10_000
    assert bid % 10_000 == 0 and ask % 10_000 == 0


def test_cheap_options_are_quoted_at_least_the_minimum_half_spread_wide() -> None:
    bid, _, ask, _ = quote_prices(150_000, 0, PARAMS)  # 0.15: 4% would be 0.006
    assert ask - bid >= 2 * PARAMS.min_half_spread
    # worthless: no bid (a bid of 0 is no bid), an ask of at least one tick
    bid, bid_size, ask, ask_size = quote_prices(0.0, 0, PARAMS)
    assert (bid, bid_size) == (0, 0) and ask >= PARAMS.tick and ask_size == OPTION


def test_inventory_skews_both_quotes_against_the_position() -> None:
    fair = 100 * USD
    flat = quote_prices(fair, 0, PARAMS)
    long = quote_prices(fair, 2 * OPTION, PARAMS)
    short = quote_prices(fair, -2 * OPTION, PARAMS)
    # long: quote lower to sell it off, and bid for less; short: the mirror image
    assert long[0] < flat[0] and long[2] < flat[2]
    assert short[0] > flat[0] and short[2] > flat[2]
    assert long[1] < flat[1] and long[3] == flat[3]
    assert short[3] < flat[3] and short[1] == flat[1]


def test_at_the_position_limit_the_side_that_would_pass_it_is_not_quoted() -> None:
    fair = 100 * USD
    bid, bid_size, ask, ask_size = quote_prices(fair, 5 * OPTION, PARAMS)
    assert (bid, bid_size) == (0, 0) and ask_size > 0
    # full skew: the ask comes down to fair value
    assert ask == pytest.approx(fair, abs=PARAMS.tick)
    bid, bid_size, ask, ask_size = quote_prices(fair, -5 * OPTION, PARAMS)
    assert (ask, ask_size) == (0, 0) and bid_size > 0
    # close to the limit the size is cut so the position cannot pass it
    _, bid_size, _, _ = quote_prices(fair, 4_500_000_000_000_000_000, PARAMS)
    assert 4_500_000_000_000_000_000 + bid_size <= PARAMS.max_position


def test_a_put_is_never_offered_above_its_strike() -> None:
    strike = 1_000 * USD
    bid, _, ask, _ = quote_prices(strike * 0.999, 0, PARAMS, max_price=strike)
    assert ask <= strike and bid < ask


@given(
    fair=st.floats(min_value=0.0, max_value=5e9, allow_nan=False),
    inventory=st.integers(min_value=-10 * OPTION, max_value=10 * OPTION),
    half_spread=st.floats(min_value=0.0, max_value=0.5),
    skew=st.floats(min_value=0.0, max_value=3.0),
    cap=st.one_of(st.none(), st.integers(min_value=10_000, max_value=5 * 10**9)),
)
def test_quotes_are_never_crossed_and_respect_ticks_caps_and_limits(
    fair: float, inventory: int, half_spread: float, skew: float, cap: int | None
) -> None:
    params = QuoteParams(half_spread=half_spread, skew=skew, size=OPTION, max_position=5 * OPTION)
    bid, bid_size, ask, ask_size = quote_prices(fair, inventory, params, cap)
    if bid_size and ask_size:
        assert bid < ask
    if bid_size:
        assert bid >= params.tick and bid % params.tick == 0
        assert inventory + bid_size <= params.max_position
    if ask_size:
        assert ask >= params.tick and ask % params.tick == 0
        assert inventory - ask_size >= -params.max_position
        if cap is not None:
            assert ask <= cap
    assert bid_size >= 0 and ask_size >= 0
    assert bid_size % params.lot == 0 and ask_size % params.lot == 0


def test_requote_only_when_spot_moves_past_the_threshold() -> None:
    assert needs_requote(None, 2_000.0, 0.002)
    assert not needs_requote(2_000.0, 2_003.9, 0.002)
    assert not needs_requote(2_000.0, 1_996.1, 0.002)
    assert needs_requote(2_000.0, 2_004.0, 0.002)
    assert needs_requote(2_000.0, 1_996.0, 0.002)


def test_model_prices_obey_put_call_parity_and_strike_order() -> None:
    quoter = Quoter(_chain(), PARAMS, MODEL, quote_unit=USD)
    fair = quoter.fair_values(2_000.0, NOW)
    calls = [fair[s.id] for s in quoter.series if s.is_call]
    puts = [fair[s.id] for s in quoter.series if not s.is_call]
    assert calls == sorted(calls, reverse=True) and puts == sorted(puts)
    for c, p, k in zip(calls, puts, (1_600, 1_800, 2_000, 2_200, 2_400), strict=True):
        assert c - p == pytest.approx((2_000 - k) * USD, abs=1.0)  # r = q = 0
    # after expiry a series is no longer quoted
    assert quoter.quotes(2_000.0, NOW + WEEK, {}) == []


def test_inventory_follows_fills_once_each_and_reverses_skipped_ones() -> None:
    inventory: dict[bytes, int] = {}
    apply_fill(inventory, b"s", True, 3)
    apply_fill(inventory, b"s", False, 5)
    assert inventory == {b"s": -2}

    maker = MarketMaker(AsyncClient("http://127.0.0.1:9"), Quoter([], PARAMS, MODEL))
    series = b"\x01" * 32

    def event(fill_id: int, status: str, is_buy: bool = True) -> FillEvent:
        return FillEvent(fill_id, b"\x02" * 32, series, is_buy, USD, OPTION, status, None)

    maker.on_fill(event(1, "pending"))
    maker.on_fill(event(1, "batched"))
    maker.on_fill(event(1, "settled"))
    maker.on_fill(event(2, "pending", is_buy=False))
    maker.on_fill(event(2, "pending", is_buy=False))
    assert maker.inventory[series] == 0 and maker.stats.fills == 2
    maker.on_fill(event(3, "pending"))
    maker.on_fill(event(3, "skipped"))
    assert maker.inventory[series] == 0


class _RecordingClient(AsyncClient):
    """The SDK surface the maker uses, recorded instead of sent."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", LocalSigner("0x" + "11" * 32))
        self.calls: list[str] = []
        self.submitted: list[Order] = []

    async def cancel_all(self, series: bytes | str | None = None) -> list[bytes]:
        self.calls.append("cancel_all")
        return []

    async def sign(self, order: Order) -> SignedOrder:
        return SignedOrder(order, b"\x00" * 65)

    async def submit_many(self, orders: Sequence[Order | SignedOrder], **kwargs: Any) -> list[OrderAck]:
        self.calls.append("submit_many")
        self.submitted = [o.order if isinstance(o, SignedOrder) else o for o in orders]
        return [OrderAck(b"\x00" * 32, "open", 0) for _ in orders]


async def test_a_spot_move_past_the_threshold_cancels_and_replaces_every_quote() -> None:
    client = _RecordingClient()
    clock = [0.0]
    maker = MarketMaker(client, Quoter(_chain(), PARAMS, MODEL, quote_unit=USD), clock=lambda: clock[0])
    assert maker.due(2_000.0)
    placed = await maker.requote(2_000.0, NOW)
    assert client.calls == ["cancel_all", "submit_many"]
    assert placed == len(client.submitted) >= 19  # both sides of (nearly) every series
    by_series: dict[bytes, dict[bool, int]] = {}
    for o in client.submitted:
        by_series.setdefault(o.series, {})[o.is_buy] = o.price
    for sides in by_series.values():
        if True in sides and False in sides:
            assert sides[True] < sides[False]
    clock[0] = 10.0
    assert not maker.due(2_002.0)  # 0.1 %: below the 0.2 % threshold
    assert maker.due(2_005.0)
    clock[0] = 10.2
    await maker.requote(2_005.0, NOW)
    assert client.calls == ["cancel_all", "submit_many"] * 2
    assert not maker.due(2_100.0)  # a big move, but within min_requote_s of the last requote
    clock[0] = 11.0
    assert maker.due(2_100.0)
