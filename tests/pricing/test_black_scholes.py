"""Black-Scholes and Black-76 prices and Greeks against mpmath references and no-arbitrage laws."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import (
    InvalidInputError,
    Status,
    black76_greeks,
    black76_price,
    bs_greeks,
    bs_price,
)
from tests.pricing import mp_reference

RNG_SEED = 20240607


def _wing_set(n: int, seed: int, z_max: float = 10.0) -> dict[str, np.ndarray]:
    """Random options with |ln(F/K)| / (sigma sqrt T) <= z_max, calls and puts, random carry."""
    rng = np.random.default_rng(seed)
    S = rng.uniform(10.0, 5000.0, n)
    T = np.exp(rng.uniform(math.log(1e-3), math.log(5.0), n))
    sigma = np.exp(rng.uniform(math.log(0.005), math.log(2.0), n))
    r = rng.uniform(-0.02, 0.12, n)
    q = rng.uniform(0.0, 0.08, n)
    z = rng.uniform(-z_max, z_max, n)
    forward = S * np.exp((r - q) * T)
    K = forward * np.exp(-z * sigma * np.sqrt(T))
    return {"S": S, "K": K, "T": T, "r": r, "sigma": sigma, "q": q, "is_call": rng.random(n) < 0.5}


def test_prices_match_high_precision_reference_to_1e12_relative_out_to_ten_standard_deviations() -> None:
    o = _wing_set(600, RNG_SEED)
    prices = bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["q"])
    refs = mp_reference.black_scholes_array(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["q"])
    errors = mp_reference.relative_errors(prices, refs)
    assert errors.max() <= 1e-12, f"max relative error {errors.max():.3e}"


def test_far_wing_prices_keep_relative_accuracy_where_the_textbook_formula_cancels() -> None:
    # Ten standard deviations out with a tiny total volatility: S N(d1) - K N(d2) cancels completely.
    S, T, sigma = 100.0, 1.0 / 365.0, 0.01
    K = S * np.exp(np.array([-10.0, -9.5, 9.5, 10.0]) * sigma * math.sqrt(T))
    is_call = np.array([False, False, True, True])
    prices = bs_price(S, K, T, 0.0, sigma, is_call)
    refs = mp_reference.black_scholes_array(S, K, T, 0.0, sigma, is_call)
    assert np.all(prices > 0.0)
    assert mp_reference.relative_errors(prices, refs).max() <= 1e-12


def test_black76_equals_the_discounted_forward_formula() -> None:
    o = _wing_set(200, RNG_SEED + 1)
    F = o["S"]
    prices = black76_price(F, o["K"], o["T"], o["r"], o["sigma"], o["is_call"])
    # Black-76 is Black-Scholes with the forward as spot and the yield equal to the rate.
    refs = mp_reference.black_scholes_array(F, o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["r"])
    assert mp_reference.relative_errors(prices, refs).max() <= 1e-12


def test_put_call_parity_holds_to_1e13() -> None:
    o = _wing_set(5000, RNG_SEED + 2, z_max=6.0)
    call = bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], True, o["q"])
    put = bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], False, o["q"])
    spot_leg = o["S"] * np.exp(-o["q"] * o["T"])
    strike_leg = o["K"] * np.exp(-o["r"] * o["T"])
    gap = np.abs((call - put) - (spot_leg - strike_leg)) / np.maximum(spot_leg, strike_leg)
    assert gap.max() <= 1e-13


@pytest.mark.parametrize("is_call", [True, False])
def test_zero_time_and_zero_volatility_give_exact_discounted_intrinsic(is_call: bool) -> None:
    S, r, q = 100.0, 0.05, 0.02
    K = np.array([50.0, 99.0, 100.0, 101.0, 150.0])
    theta = 1.0 if is_call else -1.0
    at_expiry = bs_price(S, K, 0.0, r, 0.3, is_call, q)
    assert np.array_equal(at_expiry, np.maximum(theta * (S - K), 0.0))
    T = 0.75
    no_vol = bs_price(S, K, T, r, 0.0, is_call, q)
    expected = np.maximum(theta * (S * math.exp(-q * T) - K * math.exp(-r * T)), 0.0)
    # Same formula, evaluated once in numpy and once in math: equal to an ulp of the legs.
    np.testing.assert_allclose(no_vol, expected, rtol=0.0, atol=4e-16 * 150.0)
    assert np.all(no_vol[expected == 0.0] == 0.0)


@pytest.mark.parametrize("is_call", [True, False])
def test_prices_converge_continuously_to_the_limits(is_call: bool) -> None:
    S, r, q, T = 100.0, 0.05, 0.02, 0.75
    K = np.array([50.0, 99.0, 101.0, 150.0])
    limit = bs_price(S, K, T, r, 0.0, is_call, q)
    nearly = bs_price(S, K, T, r, 1e-12, is_call, q)
    np.testing.assert_allclose(nearly, limit, rtol=1e-14, atol=0.0)
    short = bs_price(S, K, 1e-16, r, 0.3, is_call, q)
    np.testing.assert_allclose(short, np.maximum((1 if is_call else -1) * (S - K), 0.0), rtol=1e-12, atol=0.0)


def test_vectorized_call_agrees_with_scalar_calls_exactly() -> None:
    o = _wing_set(64, RNG_SEED + 3)
    vector = bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"], o["q"])
    for i in range(vector.size):
        scalar = bs_price(
            float(o["S"][i]), float(o["K"][i]), float(o["T"][i]), float(o["r"][i]),
            float(o["sigma"][i]), bool(o["is_call"][i]), float(o["q"][i]),
        )
        assert np.ndim(scalar) == 0
        assert scalar == vector[i]


def test_arguments_broadcast_to_a_grid() -> None:
    strikes = np.linspace(80.0, 120.0, 5)[:, None]
    expiries = np.array([0.1, 0.5, 1.0])[None, :]
    grid = bs_price(100.0, strikes, expiries, 0.01, 0.4, True)
    assert grid.shape == (5, 3)
    assert grid[0, 1] == bs_price(100.0, 80.0, 0.5, 0.01, 0.4, True)


def test_invalid_inputs_give_nan_and_status_by_default() -> None:
    prices, status = bs_price(
        [100.0, -1.0, 100.0, 100.0, np.nan], [100.0, 100.0, 0.0, 100.0, 100.0],
        [1.0, 1.0, 1.0, -0.5, 1.0], 0.0, [0.2, 0.2, 0.2, 0.2, 0.2], True, return_status=True,
    )
    assert np.isfinite(prices[0]) and status[0] == Status.OK
    assert np.all(np.isnan(prices[1:]))
    assert np.all(status[1:] == Status.INVALID_INPUT)
    assert np.isnan(bs_price(100.0, 100.0, 1.0, 0.0, -0.1, True))


def test_invalid_inputs_raise_a_typed_error_on_request() -> None:
    with pytest.raises(InvalidInputError) as info:
        bs_price([100.0, 100.0], 100.0, [1.0, -1.0], 0.0, 0.2, True, raise_on_error=True)
    assert info.value.code == Status.INVALID_INPUT
    assert info.value.count == 1


def _mp_greeks(S: float, K: float, T: float, r: float, sigma: float, is_call: bool, q: float) -> dict[str, mp.mpf]:
    with mp.workdps(30):
        def price(s_: mp.mpf, t_: mp.mpf, r_: mp.mpf, v_: mp.mpf) -> mp.mpf:
            return mp_reference.black_scholes(float(s_), K, float(t_), float(r_), float(v_), is_call, q)

        def exact(s_: mp.mpf, t_: mp.mpf, r_: mp.mpf, v_: mp.mpf) -> mp.mpf:
            forward = s_ * mp.exp((r_ - q) * t_)
            d1 = mp.log(forward / K) / (v_ * mp.sqrt(t_)) + v_ * mp.sqrt(t_) / 2
            d2 = d1 - v_ * mp.sqrt(t_)
            th = 1 if is_call else -1
            return mp.exp(-r_ * t_) * th * (forward * mp.ncdf(th * d1) - K * mp.ncdf(th * d2))

        del price
        point = (mp.mpf(S), mp.mpf(T), mp.mpf(r), mp.mpf(sigma))
        return {
            "delta": mp.diff(exact, point, (1, 0, 0, 0)),
            "gamma": mp.diff(exact, point, (2, 0, 0, 0)),
            "vega": mp.diff(exact, point, (0, 0, 0, 1)),
            "theta": -mp.diff(exact, point, (0, 1, 0, 0)),
            "rho": mp.diff(exact, point, (0, 0, 1, 0)),
        }


@pytest.mark.parametrize(
    ("S", "K", "T", "r", "sigma", "is_call", "q"),
    [
        (100.0, 90.0, 0.5, 0.03, 0.2, True, 0.01),
        (100.0, 130.0, 2.0, 0.01, 0.6, False, 0.0),
        (2500.0, 2000.0, 0.05, 0.05, 0.9, False, 0.03),
        (40.0, 41.0, 1.0, -0.01, 0.15, True, 0.02),
    ],
)
def test_greeks_match_high_precision_derivatives(
    S: float, K: float, T: float, r: float, sigma: float, is_call: bool, q: float
) -> None:
    greeks = bs_greeks(S, K, T, r, sigma, is_call, q)
    refs = _mp_greeks(S, K, T, r, sigma, is_call, q)
    for name, ref in refs.items():
        assert greeks[name] == pytest.approx(float(ref), rel=1e-10, abs=1e-13), name
    assert greeks.theta_per_day == pytest.approx(greeks.theta / 365.0, rel=1e-15)
    assert greeks.status == Status.OK


def test_black76_greeks_are_forward_sensitivities() -> None:
    F, K, T, r, sigma = 105.0, 100.0, 0.8, 0.04, 0.35
    greeks = black76_greeks(F, K, T, r, sigma, True)
    price = black76_price(F, K, T, r, sigma, True)
    bump = 1e-4
    up = black76_price(F + bump, K, T, r, sigma, True)
    down = black76_price(F - bump, K, T, r, sigma, True)
    assert greeks.delta == pytest.approx((up - down) / (2 * bump), rel=1e-8)
    assert greeks.rho == pytest.approx(-T * price, rel=1e-14)


def test_greeks_at_zero_volatility_are_the_limits() -> None:
    greeks = bs_greeks(100.0, np.array([90.0, 110.0]), 1.0, 0.0, 0.0, True)
    assert np.array_equal(greeks.delta, [1.0, 0.0])
    assert np.array_equal(greeks.gamma, [0.0, 0.0])
    assert np.array_equal(greeks.vega, [0.0, 0.0])


finite_positive = st.floats(min_value=1.0, max_value=1e4)


@settings(max_examples=60, deadline=None)
@given(
    S=finite_positive,
    k1=st.floats(min_value=0.2, max_value=5.0),
    k2=st.floats(min_value=0.2, max_value=5.0),
    T=st.floats(min_value=1e-3, max_value=10.0),
    r=st.floats(min_value=-0.05, max_value=0.2),
    q=st.floats(min_value=0.0, max_value=0.1),
    sigma=st.floats(min_value=1e-3, max_value=3.0),
)
def test_prices_are_monotone_in_strike_and_within_no_arbitrage_bounds(
    S: float, k1: float, k2: float, T: float, r: float, q: float, sigma: float
) -> None:
    low, high = sorted((k1 * S, k2 * S))
    calls = bs_price(S, [low, high], T, r, sigma, True, q)
    puts = bs_price(S, [low, high], T, r, sigma, False, q)
    assert calls[0] >= calls[1]
    assert puts[0] <= puts[1]
    spot_leg = S * math.exp(-q * T)
    strike_legs = np.array([low, high]) * math.exp(-r * T)
    slack = 1e-13 * (spot_leg + strike_legs)
    assert np.all(calls >= np.maximum(spot_leg - strike_legs, 0.0) - slack)
    assert np.all(calls <= spot_leg + slack)
    assert np.all(puts >= np.maximum(strike_legs - spot_leg, 0.0) - slack)
    assert np.all(puts <= strike_legs + slack)
    parity = np.abs(calls - puts - (spot_leg - strike_legs))
    assert np.all(parity <= 1e-13 * np.maximum(spot_leg, strike_legs))
