"""The normalised Black function b(x, s), evaluated to near machine precision everywhere.

Every Black-Scholes and Black-76 price is a scaled value of

    b(x, s) = theta * (exp(x/2) Phi(theta (x/s + s/2)) - exp(-x/2) Phi(theta (x/s - s/2)))

with x = ln(F/K) (log-moneyness, dimensionless), s = sigma sqrt(T) (total volatility,
dimensionless) and price = discount * sqrt(F K) * b. Out-of-the-money values are tiny
differences of two Phi terms, so the textbook formula loses every digit in the wings; here
they are computed from h = x/s and t = s/2 through

    b = phi(h) exp(-t^2/2) [Y(h + t) - Y(h - t)],   Y(y) = Phi(y)/phi(y) = int_0^inf e^{yu - u^2/2} du,

choosing per element the form in which that difference carries no cancellation:

* ``h + t < -9.79``: asymptotic series of Y with every difference u^-m - v^-m formed exactly;
* ``t < 0.21``: Taylor series in t, whose coefficients are the moments M_k(h) = Y^(k)(h);
* ``h + t > 0.85``: the first Phi term dominates, plain ``ndtr`` is exact enough;
* otherwise: the difference of two scaled complementary error functions (``erfcx``).

Only out-of-the-money calls (x <= 0) are evaluated directly: in-the-money values add the
intrinsic 2 sinh(x/2) (no cancellation, both terms positive) and puts use b_put(x) = b_call(-x).
The region layout follows the analysis in P. Jaeckel, "Let's Be Rational" (2016); the series
below are derived independently from the moment recursion M_{k+1} = h M_k + k M_{k-1}.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]

SQRT_TWO = math.sqrt(2.0)
SQRT_TWO_PI = math.sqrt(2.0 * math.pi)
INV_SQRT_TWO_PI = 1.0 / SQRT_TWO_PI
SQRT_HALF_PI = math.sqrt(0.5 * math.pi)

# Region boundaries (see module docstring).
_ASYMPTOTIC_H = -10.0
_SMALL_T = 0.21
_CDF_REGION = 0.85
# Below this h, phi(h) underflows: b is exactly 0 in float64.
_UNDERFLOW_H = -39.0
# Taylor series in t: odd powers up to this order (t < 0.21 gives terms below 1e-17).
_TAYLOR_ORDER = 17
# Asymptotic series of Y: number of terms (|h + t| >= 9.79 gives terms below 1e-17).
_ASYMPTOTIC_TERMS = 24


def mills_y(h: FloatArray) -> FloatArray:
    """Y(h) = Phi(h)/phi(h), computed through erfcx without overflow or cancellation."""
    return np.asarray(SQRT_HALF_PI * special.erfcx(-h / SQRT_TWO), dtype=np.float64)


def _asymptotic_difference(h: FloatArray, t: FloatArray) -> FloatArray:
    """Y(h + t) - Y(h - t) for h + t <= -9.79 from Y(y) ~ sum_n (-1)^(n+1) (2n-1)!! y^-(2n+1).

    Each difference D_m = u^-m - v^-m (u = h + t, v = h - t) is built by the recursion
    D_m = D_{m-1}/u + v^-(m-1) D_1, whose two terms always share a sign: no cancellation.
    """
    u = h + t
    v = h - t
    d1 = (-2.0 * t) / (u * v)
    inv_u = 1.0 / u
    inv_v = 1.0 / v
    d_m = d1
    v_pow = np.ones_like(v)  # v^-(m-1)
    total = -d_m  # n = 0 term: coefficient (-1)^1 (-1)!! = -1
    coefficient = -1.0
    for n in range(1, _ASYMPTOTIC_TERMS):
        for _ in range(2):  # advance m by two: D_{2n-1} -> D_{2n+1}
            v_pow = v_pow * inv_v
            d_m = d_m * inv_u + v_pow * d1
        coefficient *= -(2.0 * n - 1.0)
        total = total + coefficient * d_m
    return total


def _taylor_difference(h: FloatArray, t: FloatArray) -> FloatArray:
    """Y(h + t) - Y(h - t) = 2 sum_{k odd} M_k(h) t^k / k! for small t and -10 <= h <= 0.85."""
    m_prev = mills_y(h)  # M_0
    m_curr = 1.0 + h * m_prev  # M_1
    t2 = t * t
    power = t.copy()  # t^k / k!
    total = m_curr * power
    for k in range(1, _TAYLOR_ORDER):
        m_prev, m_curr = m_curr, h * m_curr + k * m_prev  # M_{k+1}
        if k % 2 == 0:
            power = power * t2 / (k * (k + 1))
            total = total + m_curr * power
    return 2.0 * total


def normalised_otm_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """b(x, s) for x <= 0 (out-of-the-money call, or its put twin), s >= 0; 1-D arrays."""
    out = np.zeros_like(s)
    atm = (x == 0.0) & (s > 0.0)
    if np.any(atm):
        out[atm] = special.erf(s[atm] / (2.0 * SQRT_TWO))
    live = (x < 0.0) & (s > 0.0)
    live[live] = x[live] / s[live] > _UNDERFLOW_H
    if not np.any(live):
        return out
    xl = x[live]
    sl = s[live]
    h = xl / sl
    t = 0.5 * sl
    result = np.empty_like(h)

    asymptotic = (h < _ASYMPTOTIC_H) & (h + t < _ASYMPTOTIC_H + _SMALL_T)
    small_t = ~asymptotic & (t < _SMALL_T)
    cdf = ~asymptotic & ~small_t & (h + t > _CDF_REGION)
    scaled = ~(asymptotic | small_t | cdf)

    if np.any(asymptotic):
        ha, ta = h[asymptotic], t[asymptotic]
        result[asymptotic] = (
            INV_SQRT_TWO_PI * np.exp(-0.5 * (ha * ha + ta * ta)) * _asymptotic_difference(ha, ta)
        )
    if np.any(small_t):
        hs, ts = h[small_t], t[small_t]
        result[small_t] = INV_SQRT_TWO_PI * np.exp(-0.5 * (hs * hs + ts * ts)) * _taylor_difference(hs, ts)
    if np.any(cdf):
        hc, tc, xc = h[cdf], t[cdf], xl[cdf]
        result[cdf] = np.exp(0.5 * xc) * special.ndtr(hc + tc) - np.exp(-0.5 * xc) * special.ndtr(hc - tc)
    if np.any(scaled):
        hm, tm = h[scaled], t[scaled]
        result[scaled] = (
            0.5
            * np.exp(-0.5 * (hm * hm + tm * tm))
            * (special.erfcx(-(hm + tm) / SQRT_TWO) - special.erfcx(-(hm - tm) / SQRT_TWO))
        )
    out[live] = np.maximum(result, 0.0)
    return out


def normalised_black(x: FloatArray, s: FloatArray, theta: FloatArray) -> FloatArray:
    """b(x, s) for calls (theta = +1) and puts (theta = -1), any x, s >= 0; 1-D arrays.

    In-the-money values are intrinsic 2 sinh(y/2) plus the out-of-the-money value at -y,
    with y = theta x: a sum of two non-negative terms, so relative accuracy is kept.
    """
    y = theta * x
    otm = normalised_otm_call(-np.abs(y), s)
    return np.where(y > 0.0, 2.0 * np.sinh(0.5 * np.abs(y)) + otm, otm)


def normalised_vega(x: FloatArray, s: FloatArray) -> FloatArray:
    """db/ds = phi(x/s) exp(-s^2/8): the same for calls and puts; 0 in the s -> 0 limit off ATM."""
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(s > 0.0, x / s, np.where(x == 0.0, 0.0, -np.inf))
    return np.asarray(INV_SQRT_TWO_PI * np.exp(-0.5 * (h * h + 0.25 * s * s)), dtype=np.float64)
