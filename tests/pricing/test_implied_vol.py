"""Implied volatility: accuracy sets of the issue, bounds handling, vectorized against scalar."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pricing import (
    NoImpliedVolatilityError,
    Status,
    black76_implied_vol,
    black76_price,
    bs_price,
    implied_vol,
)
from pricing.implied_vol import implied_normalised_volatility
from pricing.normalised_black import normalised_otm_call, normalised_vega
from tests.pricing import mp_reference


def standard_set(n: int, seed: int) -> dict[str, np.ndarray]:
    """|z| <= 3 standard deviations, T in [0.01, 2], sigma in [0.05, 1], calls and puts."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.01, 2.0, n)
    sigma = rng.uniform(0.05, 1.0, n)
    z = rng.uniform(-3.0, 3.0, n)
    S = rng.uniform(50.0, 5000.0, n)
    r = rng.uniform(-0.01, 0.1, n)
    q = rng.uniform(0.0, 0.05, n)
    K = S * np.exp((r - q) * T + z * sigma * np.sqrt(T))
    return {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma, "is_call": rng.random(n) < 0.5}


def hard_otm_set(n: int, seed: int) -> dict[str, np.ndarray]:
    """|z| <= 8, T in [1/365, 5], sigma in [0.01, 2], always the out-of-the-money option."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(1.0 / 365.0, 5.0, n)
    sigma = rng.uniform(0.01, 2.0, n)
    z = rng.uniform(-8.0, 8.0, n)
    S = rng.uniform(50.0, 5000.0, n)
    r = rng.uniform(-0.01, 0.1, n)
    q = rng.uniform(0.0, 0.05, n)
    forward = S * np.exp((r - q) * T)
    K = forward * np.exp(z * sigma * np.sqrt(T))
    return {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma, "is_call": forward <= K}


def _reference_prices(o: dict[str, np.ndarray]) -> np.ndarray:
    refs = mp_reference.black_scholes_array(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["q"])
    return np.array([float(ref) for ref in refs])


def _vol_errors(o: dict[str, np.ndarray], prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vols, status = implied_vol(prices, o["S"], o["K"], o["T"], o["r"], o["is_call"], o["q"], return_status=True)
    return np.abs(vols - o["sigma"]), status


@pytest.mark.parametrize(("make_set", "tolerance"), [(standard_set, 5e-13), (hard_otm_set, 1e-14)])
def test_vols_recovered_from_high_precision_prices_meet_the_issue_accuracy(
    make_set: Callable[[int, int], dict[str, np.ndarray]], tolerance: float
) -> None:
    o = make_set(1500, 7)
    errors, status = _vol_errors(o, _reference_prices(o))
    assert np.all(status == Status.OK), "no failures allowed"
    assert errors.max() <= tolerance, f"max abs vol error {errors.max():.3e}"


@pytest.mark.parametrize(("make_set", "tolerance"), [(standard_set, 5e-13), (hard_otm_set, 1e-14)])
def test_vols_recovered_from_a_large_set_of_our_own_prices_meet_the_issue_accuracy(
    make_set: Callable[[int, int], dict[str, np.ndarray]], tolerance: float
) -> None:
    o = make_set(200_000, 11)
    prices = bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["q"])
    errors, status = _vol_errors(o, prices)
    assert np.count_nonzero(status != Status.OK) == 0
    assert errors.max() <= tolerance, f"max abs vol error {errors.max():.3e}"


def test_vectorized_inversion_agrees_with_scalar_calls_exactly() -> None:
    o = hard_otm_set(40, 3)
    prices = bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["q"])
    vector = implied_vol(prices, o["S"], o["K"], o["T"], o["r"], o["is_call"], o["q"])
    for i in range(vector.size):
        scalar = implied_vol(
            float(prices[i]), float(o["S"][i]), float(o["K"][i]), float(o["T"][i]),
            float(o["r"][i]), bool(o["is_call"][i]), float(o["q"][i]),
        )
        assert np.ndim(scalar) == 0
        assert scalar == vector[i]


def test_prices_without_a_volatility_give_nan_and_a_status() -> None:
    S, K, T, r = 100.0, 90.0, 1.0, 0.0
    prices = np.array([5.0, 10.0, 100.0, 150.0, 12.0, 12.0, -1.0])
    maturities = np.array([T, T, T, T, 0.0, -1.0, T])
    vols, status = implied_vol(prices, S, K, maturities, r, True, return_status=True)
    assert np.isnan(vols[0]) and status[0] == Status.BELOW_INTRINSIC
    assert vols[1] == 0.0 and status[1] == Status.AT_INTRINSIC
    assert np.isnan(vols[2]) and status[2] == Status.ABOVE_UPPER_BOUND
    assert np.isnan(vols[3]) and status[3] == Status.ABOVE_UPPER_BOUND
    assert np.all(np.isnan(vols[4:])) and np.all(status[4:] == Status.INVALID_INPUT)


def test_raise_on_error_raises_a_typed_error() -> None:
    with pytest.raises(NoImpliedVolatilityError) as info:
        implied_vol([10.5, 5.0], 100.0, 90.0, 1.0, 0.0, True, raise_on_error=True)
    assert info.value.code == Status.BELOW_INTRINSIC
    assert implied_vol(10.5, 100.0, 90.0, 1.0, 0.0, True, raise_on_error=True) > 0.0


def test_extreme_but_valid_prices_still_invert() -> None:
    # Deep in the money, extremely short, huge total variance, nearly worthless.
    S = 100.0
    cases = [
        (S, 60.0, 1.0 / 365.0, 0.5, False),
        (S, 1e4, 10.0, 1.5, False),
        (S, 100.0, 1e-6, 0.2, True),
        (S, 100.05, 1.0 / 365.0, 0.01, True),
    ]
    for spot, strike, T, sigma, is_call in cases:
        price = bs_price(spot, strike, T, 0.0, sigma, is_call)
        assert implied_vol(price, spot, strike, T, 0.0, is_call) == pytest.approx(sigma, rel=1e-9, abs=0.0)


def test_black76_inversion_recovers_the_volatility() -> None:
    F = np.array([95.0, 100.0, 120.0])
    prices = black76_price(F, 100.0, 0.5, 0.03, 0.45, [True, False, True])
    np.testing.assert_allclose(black76_implied_vol(prices, F, 100.0, 0.5, 0.03, [True, False, True]), 0.45, rtol=1e-14)


@settings(max_examples=80, deadline=None)
@given(
    moneyness=st.floats(min_value=-5.0, max_value=5.0),
    T=st.floats(min_value=1.0 / 365.0, max_value=10.0),
    sigma=st.floats(min_value=0.01, max_value=2.5),
    is_call=st.booleans(),
)
def test_round_trip_through_the_price_returns_the_volatility(
    moneyness: float, T: float, sigma: float, is_call: bool
) -> None:
    S = 100.0
    K = S * math.exp(moneyness * sigma * math.sqrt(T))
    price = bs_price(S, K, T, 0.02, sigma, is_call)
    vol = implied_vol(price, S, K, T, 0.02, is_call)
    # Far in the money the price carries only a few digits of its time value.
    time_value = float(price) - max((1 if is_call else -1) * (S - K * math.exp(-0.02 * T)), 0.0)
    # A price whose time value is below its own rounding carries no volatility information.
    assume(time_value > 1e-12 * float(price))
    conditioning = max(1.0, abs(float(price)) / time_value)
    assert abs(vol - sigma) <= 1e-14 * conditioning * max(1.0, sigma) * 50


def test_volatilities_exactly_at_the_branch_anchor_points_invert() -> None:
    # s_c = sqrt(2|x|) (inflection of b in s) and the points where its tangent meets 0 and
    # b_max bound the initial brackets: a root sitting exactly on one must still converge.
    x = -np.exp(np.linspace(-20.0, 3.0, 400))
    s_c = np.sqrt(-2.0 * x)
    b_c = normalised_otm_call(x, s_c)
    v_c = normalised_vega(x, s_c)
    for s in (s_c, np.maximum(s_c - b_c / v_c, 1e-300), s_c + (np.exp(0.5 * x) - b_c) / v_c):
        beta = normalised_otm_call(x, s)
        usable = (beta > 0.0) & (beta < np.exp(0.5 * x))
        found, converged = implied_normalised_volatility(beta[usable], x[usable])
        assert np.all(converged)
        np.testing.assert_allclose(found, s[usable], rtol=1e-14)


def test_at_the_money_forward_round_trip_with_carry() -> None:
    # x = -0.02, s = 0.2: the root is exactly the inflection point sqrt(2|x|).
    for is_call in (True, False):
        price = bs_price(100.0, 100.0, 1.0, 0.02, 0.2, is_call)
        assert implied_vol(price, 100.0, 100.0, 1.0, 0.02, is_call) == pytest.approx(0.2, abs=1e-15)
