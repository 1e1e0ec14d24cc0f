"""SVI: raw fits, raw <-> jump-wings round trips, butterfly and calendar arbitrage checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import InvalidInputError, bs_price
from pricing.svi import (
    JumpWings,
    RawSVI,
    butterfly_density_factor,
    check_butterfly,
    check_calendar,
    fit_raw_svi,
    jump_wings_to_raw,
    raw_to_jump_wings,
)

TYPICAL = RawSVI(a=0.02, b=0.1, rho=-0.4, m=0.05, sigma=0.2)


def test_fit_recovers_the_parameters_of_an_exact_svi_slice() -> None:
    k = np.linspace(-1.2, 0.8, 31)
    fitted = fit_raw_svi(k, TYPICAL.total_variance(k))
    assert np.allclose(
        [fitted.a, fitted.b, fitted.rho, fitted.m, fitted.sigma],
        [TYPICAL.a, TYPICAL.b, TYPICAL.rho, TYPICAL.m, TYPICAL.sigma],
        rtol=1e-7,
        atol=1e-9,
    )


def test_fit_to_noisy_quotes_stays_close() -> None:
    rng = np.random.default_rng(5)
    k = np.linspace(-1.0, 1.0, 41)
    quotes = TYPICAL.total_variance(k) * (1.0 + 1e-3 * rng.standard_normal(k.size))
    fitted = fit_raw_svi(k, quotes)
    assert np.max(np.abs(fitted.total_variance(k) - TYPICAL.total_variance(k))) <= 2e-4


def test_fit_rejects_too_few_points() -> None:
    with pytest.raises(InvalidInputError):
        fit_raw_svi([0.0, 0.1, 0.2], [0.04, 0.05, 0.06])


raw_slices = st.builds(
    RawSVI,
    a=st.floats(-0.02, 0.1),
    b=st.floats(0.01, 0.8),
    rho=st.floats(-0.95, 0.95),
    m=st.floats(-0.5, 0.5).filter(lambda m: abs(m) > 1e-6),
    sigma=st.floats(0.02, 1.0),
).filter(lambda r: r.min_variance > 1e-4)


@settings(max_examples=60, deadline=None)
@given(raw=raw_slices, t=st.floats(0.02, 5.0))
def test_raw_to_jump_wings_round_trips(raw: RawSVI, t: float) -> None:
    back = jump_wings_to_raw(raw_to_jump_wings(raw, t))
    k = np.linspace(-2.0, 2.0, 41)
    # Jump-wings encode m through v - v~ (ATM minus minimum variance): when they nearly
    # coincide, the round trip loses the digits that subtraction cancels, and no more.
    jw = raw_to_jump_wings(raw, t)
    conditioning = 1.0 + jw.v / (jw.v - jw.v_tilde)
    assert np.max(np.abs(back.total_variance(k) - raw.total_variance(k))) <= 1e-13 * conditioning * max(1.0, raw.b)
    assert back.rho == pytest.approx(raw.rho, abs=1e-10)
    assert back.b == pytest.approx(raw.b, rel=1e-12)


def test_jump_wings_reads_the_smile() -> None:
    t = 0.5
    jw = raw_to_jump_wings(TYPICAL, t)
    h = 1e-6
    w_atm = TYPICAL.total_variance(0.0)
    slope = (TYPICAL.total_variance(h) - TYPICAL.total_variance(-h)) / (2 * h)
    assert jw.v == pytest.approx(w_atm / t, rel=1e-14)
    # psi is the ATM skew of implied vol scaled to sqrt(w): d sigma_BS/dk * sqrt(t).
    assert jw.psi == pytest.approx(slope / (2.0 * math.sqrt(w_atm)), rel=1e-8)
    assert jw.v_tilde == pytest.approx(float(np.min(TYPICAL.total_variance(np.linspace(-2, 2, 200001)))) / t, rel=1e-9)
    back = jump_wings_to_raw(JumpWings(jw.v, jw.psi, jw.p, jw.c, jw.v_tilde, jw.t))
    assert (back.a, back.b, back.rho, back.m, back.sigma) == pytest.approx(
        (TYPICAL.a, TYPICAL.b, TYPICAL.rho, TYPICAL.m, TYPICAL.sigma), rel=1e-12
    )


def test_butterfly_check_accepts_a_regular_slice_and_rejects_steep_wings() -> None:
    assert check_butterfly(TYPICAL).arbitrage_free
    steep = RawSVI(a=0.01, b=1.5, rho=0.5, m=0.0, sigma=0.1)  # right wing slope 2.25 > Lee's bound 2
    assert steep.min_variance > 0.0
    result = check_butterfly(steep)
    assert not result.arbitrage_free and result.min_g < 0.0


def test_density_factor_matches_the_risk_neutral_density_sign() -> None:
    # g(k) >= 0 is equivalent to a non-negative density d2C/dK2 of the Black prices of the slice.
    t, forward = 1.0, 100.0
    strikes = np.linspace(40.0, 250.0, 211)  # evenly spaced: second differences ~ density
    k = np.log(strikes / forward)
    for raw in (TYPICAL, RawSVI(a=0.01, b=1.5, rho=0.5, m=0.0, sigma=0.1)):
        vols = raw.implied_vol(k, t)
        calls = np.asarray(bs_price(forward, strikes, t, 0.0, vols, True))
        second = np.diff(calls, 2)
        g = butterfly_density_factor(raw, k)[1:-1]
        assert np.all((second < 0) <= (g < 0))  # every negative density point has negative g
        assert np.any(second < 0) == (raw is not TYPICAL)


def test_calendar_check_finds_crossing_slices_only() -> None:
    short = (0.25, RawSVI(a=0.01, b=0.1, rho=-0.3, m=0.0, sigma=0.2))
    longer = (1.0, RawSVI(a=0.04, b=0.12, rho=-0.3, m=0.0, sigma=0.25))
    assert check_calendar([longer, short]) == []
    crossing = (2.0, RawSVI(a=0.02, b=0.05, rho=0.9, m=0.0, sigma=0.2))
    violations = check_calendar([short, longer, crossing])
    assert len(violations) == 1
    assert violations[0].t1 == 1.0 and violations[0].t2 == 2.0 and violations[0].amount > 0.0
