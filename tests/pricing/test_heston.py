"""Heston: COS prices against independent Lewis-integral references, robustness, calibration."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import InvalidInputError, Status, bs_price, heston_price
from pricing.heston import HestonParams, calibrate_heston, heston_cf
from tests.pricing import mp_reference

S, R, Q = 100.0, 0.03, 0.01

PARAMETER_SETS = {
    "equity-like": ((0.04, 1.5, 0.04, 0.5, -0.7), 1.0),
    "wild vol of vol, long": ((0.09, 0.5, 0.09, 1.5, -0.9), 2.0),
    "short expiry": ((0.04, 2.0, 0.06, 0.8, -0.5), 0.05),
    "positive correlation, five years": ((0.02, 1.0, 0.05, 0.6, 0.3), 5.0),
    "crypto-like": ((0.3, 3.0, 0.2, 2.0, -0.3), 0.5),
    "one day": ((0.04, 1.5, 0.04, 0.5, -0.7), 1.0 / 365.0),
}


def _smile_strikes(params: tuple[float, ...], T: float, count: int = 21) -> np.ndarray:
    forward = S * math.exp((R - Q) * T)
    spread = max(math.sqrt(params[0] * T), 0.05)
    return forward * np.exp(np.linspace(-4.0, 4.0, count) * spread)


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_prices_match_the_lewis_integral_within_1e9(name: str) -> None:
    params, T = PARAMETER_SETS[name]
    strikes = _smile_strikes(params, T)
    for is_call in (True, False):
        prices = heston_price(S, strikes, T, R, Q, *params, is_call)
        refs = np.array([mp_reference.heston_lewis_quad(S, k, T, R, Q, params, is_call) for k in strikes])
        assert np.max(np.abs(prices - refs)) <= 1e-9


def test_lewis_quadrature_reference_agrees_with_a_40_digit_integration() -> None:
    params, T = PARAMETER_SETS["equity-like"]
    for strike in (80.0, 125.0):
        high = mp_reference.heston_lewis(S, strike, T, R, Q, params, True)
        quad = mp_reference.heston_lewis_quad(S, strike, T, R, Q, params, True)
        price = heston_price(S, strike, T, R, Q, *params, True)
        assert abs(quad - float(high)) <= 1e-11
        assert abs(price - float(high)) <= 1e-9


def test_zero_vol_of_vol_reduces_to_black_scholes() -> None:
    strikes = np.linspace(50.0, 200.0, 31)
    heston = heston_price(S, strikes, 1.5, R, Q, 0.09, 1.0, 0.09, 0.0, -0.5, True)
    black = bs_price(S, strikes, 1.5, R, 0.3, True, Q)
    assert np.max(np.abs(heston - black)) <= 1e-11


@pytest.mark.parametrize(
    "params",
    [(0.04, 1.5, 0.04, 0.5, -0.7), (0.5, 0.3, 0.8, 3.0, -0.95), (0.01, 5.0, 0.02, 0.2, 0.9), (0.2, 1.0, 0.2, 1.0, 0.0)],
)
def test_one_day_far_strikes_are_never_negative(params: tuple[float, float, float, float, float]) -> None:
    T = 1.0 / 365.0
    forward = S * math.exp((R - Q) * T)
    log_moneyness = np.concatenate([-np.linspace(1.0, 6.0, 26), np.linspace(1.0, 6.0, 26)])
    strikes = forward * np.exp(log_moneyness)
    for is_call in (True, False):
        prices = heston_price(S, strikes, T, R, Q, *params, is_call)
        assert np.all(prices >= 0.0)
        otm = (strikes > forward) if is_call else (strikes < forward)
        # A one-day option this far out of the money is worth nothing to 1e-9.
        assert np.all(prices[otm] <= 1e-9)


def test_put_call_parity_holds() -> None:
    params, T = PARAMETER_SETS["crypto-like"]
    strikes = _smile_strikes(params, T, 41)
    calls = heston_price(S, strikes, T, R, Q, *params, True)
    puts = heston_price(S, strikes, T, R, Q, *params, False)
    parity = S * math.exp(-Q * T) - strikes * math.exp(-R * T)
    assert np.max(np.abs(calls - puts - parity)) <= 1e-12 * S


def test_vectorized_grid_agrees_with_scalar_calls() -> None:
    params, _ = PARAMETER_SETS["equity-like"]
    strikes = np.array([70.0, 95.0, 100.0, 130.0])[:, None]
    expiries = np.array([0.1, 1.0, 3.0])[None, :]
    grid = heston_price(S, strikes, expiries, R, Q, *params, True)
    assert grid.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            scalar = heston_price(S, float(strikes[i, 0]), float(expiries[0, j]), R, Q, *params, True)
            assert np.ndim(scalar) == 0
            assert scalar == pytest.approx(grid[i, j], rel=1e-13, abs=1e-13)


def test_expiry_zero_gives_intrinsic_and_invalid_inputs_give_nan() -> None:
    params = PARAMETER_SETS["equity-like"][0]
    at_expiry = heston_price(S, [90.0, 110.0], 0.0, R, Q, *params, True)
    assert np.array_equal(at_expiry, [10.0, 0.0])
    prices, status = heston_price(
        S, 100.0, [1.0, -1.0, 1.0], R, Q, [0.04, 0.04, -0.04], 1.5, 0.04, 0.5, -0.7, True, return_status=True
    )
    assert status[0] == Status.OK and np.isfinite(prices[0])
    assert np.all(status[1:] == Status.INVALID_INPUT) and np.all(np.isnan(prices[1:]))
    with pytest.raises(InvalidInputError):
        heston_price(S, 100.0, 1.0, R, Q, 0.04, 1.5, 0.04, 0.5, 1.5, True, raise_on_error=True)


def test_characteristic_function_matches_mpmath_and_is_a_martingale() -> None:
    params = (0.09, 0.5, 0.09, 1.5, -0.9)
    u = np.array([0.0, 0.7, 3.0, 11.0, 40.0])
    for T in (0.5, 30.0):
        values = heston_cf(u, T, *params)
        with mp.workdps(30):
            refs = [complex(mp_reference.heston_cf(mp.mpf(float(x)), mp.mpf(T), *map(mp.mpf, params))) for x in u]
        np.testing.assert_allclose(values, refs, rtol=1e-12, atol=1e-15)
        assert heston_cf(-1j, T, *params) == pytest.approx(1.0, abs=1e-14)


def test_calibration_recovers_known_parameters_from_synthetic_quotes() -> None:
    true = HestonParams(v0=0.05, kappa=2.0, theta=0.07, sigma=0.6, rho=-0.65)
    T = np.repeat([0.1, 0.25, 0.5, 1.0, 2.0], 11)
    z = np.tile(np.linspace(-1.5, 1.5, 11), 5)
    strikes = S * np.exp((R - Q) * T + z * 0.25 * np.sqrt(T))
    calls = strikes >= S
    quotes = heston_price(S, strikes, T, R, Q, *true.as_tuple(), calls)
    result = calibrate_heston(S, strikes, T, R, Q, quotes, calls)
    np.testing.assert_allclose(result.params.as_tuple(), true.as_tuple(), rtol=1e-6, atol=1e-8)
    assert result.rms_vol_error <= 1e-10


@settings(max_examples=15, deadline=None)
@given(
    v0=st.floats(0.005, 0.5),
    kappa=st.floats(0.1, 5.0),
    theta=st.floats(0.005, 0.5),
    sigma=st.floats(0.05, 1.5),
    rho=st.floats(-0.95, 0.95),
    T=st.floats(0.02, 3.0),
)
def test_call_prices_are_decreasing_and_convex_in_strike_within_bounds(
    v0: float, kappa: float, theta: float, sigma: float, rho: float, T: float
) -> None:
    strikes = np.linspace(60.0, 160.0, 41)
    calls = heston_price(S, strikes, T, R, Q, v0, kappa, theta, sigma, rho, True)
    tolerance = 1e-10
    assert np.all(np.diff(calls) <= tolerance)
    assert np.all(np.diff(calls, 2) >= -tolerance)
    lower = np.maximum(S * math.exp(-Q * T) - strikes * math.exp(-R * T), 0.0)
    assert np.all(calls >= lower) and np.all(calls <= S * math.exp(-Q * T))
