"""Implied volatility to machine precision: Black-Scholes and Black-76, vectorized.

The inversion works in normalised Black space (see :mod:`pricing.normalised_black`): every
price is reduced to an out-of-the-money call value beta = b(x, s) with x = ln(F/K) <= 0, and
s = sigma sqrt(T) is found by Householder's fourth-order method on an objective chosen so
that it is nearly linear in s (after P. Jaeckel, "Let's Be Rational", 2016):

* beta below b(x, s_c), s_c = sqrt(2|x|) the inflection point of b: g = 1/ln b(s) - 1/ln beta,
  which straightens the exp(-x^2/(2 s^2)) decay of deep out-of-the-money prices;
* otherwise: g = ln(b_max - beta) - ln(b_max - b(s)), b_max = exp(x/2), which straightens
  the approach to the upper bound; b_max - b(s) is evaluated directly, never by subtraction.

Initial guesses come from closed-form inversions of the asymptotic forms of b. Every step is
kept inside a bracket that the iterates refine, so the iteration cannot diverge; two to three
steps reach the last bits. Prices outside the no-arbitrage bounds give NaN with a status.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from pricing._arrays import ArrayLike, BoolArray, FloatArray, StatusArray, broadcast_flat, option_sign, shaped
from pricing.black_scholes import log_moneyness
from pricing.errors import Status, raise_for_status
from pricing.normalised_black import normalised_otm_call, normalised_vega

_MAX_ITERATIONS = 12
# A Householder step this small (relative to s) leaves an error far below one ulp: stop after it.
_STEP_TOLERANCE = 1e-7
_EPS = float(np.finfo(np.float64).eps)
_LOWER_GUESS_SCALE = 3.0 * math.sqrt(3.0) / (2.0 * math.pi)
_SQRT_THREE = math.sqrt(3.0)


def _complement(x: FloatArray, s: FloatArray) -> FloatArray:
    """b_max - b(x, s) = e^{x/2} Phi(-(h+t)) + e^{-x/2} Phi(h-t) for x <= 0, s > 0 (no cancellation)."""
    h = x / s
    t = 0.5 * s
    return np.asarray(
        np.exp(0.5 * x) * special.ndtr(-(h + t)) + np.exp(-0.5 * x) * special.ndtr(h - t), dtype=np.float64
    )


def _hermite(
    beta: FloatArray, b0: FloatArray, b1: FloatArray, s0: FloatArray, s1: FloatArray, d0: FloatArray, d1: FloatArray
) -> FloatArray:
    """Cubic Hermite interpolation of s(beta) between two nodes with slopes ds/dbeta."""
    width = b1 - b0
    u = (beta - b0) / width
    u2 = u * u
    u3 = u2 * u
    return np.asarray(
        (2.0 * u3 - 3.0 * u2 + 1.0) * s0
        + (u3 - 2.0 * u2 + u) * width * d0
        + (-2.0 * u3 + 3.0 * u2) * s1
        + (u3 - u2) * width * d1,
        dtype=np.float64,
    )


def _lower_guess(beta: FloatArray, x: FloatArray) -> FloatArray:
    """Invert b ~ (2 pi |x| / (3 sqrt 3)) Phi(-|x| / (sqrt(3) s))^3, the s -> 0 shape of b."""
    level = np.cbrt(_LOWER_GUESS_SCALE * beta / -x)
    z = special.ndtri(np.minimum(level, 0.5))
    return np.asarray(-x / (_SQRT_THREE * -z), dtype=np.float64)


def _upper_guess(beta: FloatArray, b_max: FloatArray) -> FloatArray:
    """Invert b_max - b ~ 2 b_max Phi(-s/2), the s -> infinity shape of b (exact for x = 0)."""
    return np.asarray(-2.0 * special.ndtri((b_max - beta) / (2.0 * b_max)), dtype=np.float64)


_LOWER, _MIDDLE, _UPPER = 0, 1, 2


def implied_normalised_volatility(beta: FloatArray, x: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Total volatility s with b(x, s) = beta, for x <= 0 and 0 < beta < exp(x/2); 1-D arrays.

    Returns ``(s, converged)``; every valid input converges in practice (the flag is a guard).
    """
    n = beta.size
    b_max = np.exp(0.5 * x)
    # Three anchor points: the inflection s_c, and where its tangent meets 0 and b_max.
    s_c = np.sqrt(-2.0 * x)
    b_c = normalised_otm_call(x, s_c)
    v_c = normalised_vega(x, s_c)
    s_l = np.maximum(s_c - b_c / v_c, 0.0)
    s_u = s_c + (b_max - b_c) / v_c
    b_l = normalised_otm_call(x, s_l)
    b_u = normalised_otm_call(x, s_u)
    v_l = normalised_vega(x, s_l)
    v_u = normalised_vega(x, s_u)
    branch = np.where(beta < b_l, _LOWER, np.where(beta > b_u, _UPPER, _MIDDLE))
    s = np.empty(n)
    lo = np.empty(n)
    hi = np.empty(n)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = branch == _LOWER
        s[m] = _lower_guess(beta[m], x[m])
        lo[m], hi[m] = 0.0, s_l[m]
        m = branch == _UPPER
        s[m] = _upper_guess(beta[m], b_max[m])
        lo[m], hi[m] = s_u[m], np.inf
        m = (branch == _MIDDLE) & (beta <= b_c)
        s[m] = _hermite(beta[m], b_l[m], b_c[m], s_l[m], s_c[m], 1.0 / v_l[m], 1.0 / v_c[m])
        lo[m], hi[m] = s_l[m], s_c[m]
        m = (branch == _MIDDLE) & (beta > b_c)
        s[m] = _hermite(beta[m], b_c[m], b_u[m], s_c[m], s_u[m], 1.0 / v_c[m], 1.0 / v_u[m])
        lo[m], hi[m] = s_c[m], s_u[m]
    bad_guess = ~np.isfinite(s) | (s < lo) | (s > hi)
    s = np.where(bad_guess, np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * lo + 1.0), s)
    log_beta = np.log(beta)
    log_gap = np.log(b_max - beta)
    converged = np.zeros(n, dtype=bool)
    active = np.arange(n)
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        xa, sa, ba = x[active], s[active], beta[active]
        br = branch[active]
        vega = normalised_vega(xa, sa)
        g = np.empty_like(sa)
        g1 = np.empty_like(sa)
        f2 = np.zeros_like(sa)  # second over first derivative of F, with g = F(b(s))
        f3 = np.zeros_like(sa)  # third over first derivative of F
        below = np.empty(sa.size, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio2 = xa * xa / (sa * sa * sa) - 0.25 * sa  # b''/b'
            ratio3 = ratio2 * ratio2 - 3.0 * (xa / (sa * sa)) ** 2 - 0.25  # b'''/b'
            m = br == _LOWER
            if np.any(m):
                b = normalised_otm_call(xa[m], sa[m])
                big_l = np.log(b)
                g[m] = 1.0 / big_l - 1.0 / log_beta[active][m]
                g1[m] = -vega[m] / (b * big_l * big_l)
                f2[m] = -(big_l + 2.0) / (b * big_l)
                f3[m] = (2.0 * big_l * big_l + 6.0 * big_l + 6.0) / (b * b * big_l * big_l)
                below[m] = b < ba[m]
            m = br == _MIDDLE
            if np.any(m):
                b = normalised_otm_call(xa[m], sa[m])
                g[m] = b - ba[m]
                g1[m] = vega[m]
                below[m] = b < ba[m]
            m = br == _UPPER
            if np.any(m):
                gap = _complement(xa[m], sa[m])
                g[m] = log_gap[active][m] - np.log(gap)
                g1[m] = vega[m] / gap
                f2[m] = 1.0 / gap
                f3[m] = 2.0 / (gap * gap)
                below[m] = gap > b_max[active][m] - ba[m]
            # Refine the bracket with the sign of b(s) - beta.
            lo_a = np.where(below, np.maximum(lo[active], sa), lo[active])
            hi_a = np.where(below, hi[active], np.minimum(hi[active], sa))
            lo[active] = lo_a
            hi[active] = hi_a
            nu = -g / g1
            h2 = f2 * vega + ratio2
            h3 = f3 * vega * vega + 3.0 * f2 * vega * ratio2 + ratio3
            step = nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0))
            step = np.where(np.isfinite(step), step, nu)
            candidate = sa + step
            small = np.abs(step) <= _STEP_TOLERANCE * sa
        # A step that lands beyond the bracket by a hair (root on a bracket end) is clipped;
        # only a real overshoot falls back to bisection.
        slack = _STEP_TOLERANCE * sa
        outside = ~np.isfinite(candidate) | (candidate < lo_a - slack) | (candidate > hi_a + slack)
        candidate = np.clip(candidate, lo_a, hi_a)
        fallback = np.where(np.isfinite(hi_a), 0.5 * (lo_a + hi_a), 2.0 * np.maximum(sa, lo_a))
        candidate = np.where(small, np.clip(candidate, lo_a, hi_a), np.where(outside, fallback, candidate))
        done = small | (g == 0.0)
        done |= np.isfinite(hi_a) & ((hi_a - lo_a) <= 4.0 * _EPS * hi_a)
        s[active] = np.where(g == 0.0, sa, candidate)
        converged[active[done]] = True
        active = active[~done]
    return s, converged


def _implied_flat(
    price: FloatArray, S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, theta: FloatArray
) -> tuple[FloatArray, StatusArray]:
    finite = np.isfinite(price) & np.isfinite(S) & np.isfinite(K) & np.isfinite(T) & np.isfinite(r) & np.isfinite(q)
    valid = finite & (S > 0.0) & (K > 0.0) & (T > 0.0) & (price >= 0.0)
    status = np.full(price.shape, Status.INVALID_INPUT, dtype=np.int8)
    vol = np.full(price.shape, np.nan)
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return vol, status
    Sv, Kv, Tv, rv, qv, th = S[idx], K[idx], T[idx], r[idx], q[idx], theta[idx]
    x = log_moneyness(Sv, Kv) + (rv - qv) * Tv
    y = th * x
    scale = np.sqrt(Sv) * np.sqrt(Kv) * np.exp(-0.5 * (rv + qv) * Tv)
    # Time value over the discounted intrinsic value, in price space so that a price equal to
    # the intrinsic value is recognised exactly.
    intrinsic = np.maximum(th * (Sv * np.exp(-qv * Tv) - Kv * np.exp(-rv * Tv)), 0.0)
    time_value = price[idx] - intrinsic
    beta = price[idx] / scale
    # In the money, subtract the intrinsic value in normalised space (2 sinh(y/2), from the
    # accurately computed log-moneyness) unless rounding there leaves nothing.
    beta_itm = beta - 2.0 * np.sinh(0.5 * np.abs(y))
    beta = np.where(y > 0.0, np.where(beta_itm > 0.0, beta_itm, time_value / scale), beta)
    x_otm = -np.abs(y)
    b_max = np.exp(0.5 * x_otm)
    st = np.full(idx.size, Status.OK, dtype=np.int8)
    st[time_value < 0.0] = Status.BELOW_INTRINSIC
    st[time_value == 0.0] = Status.AT_INTRINSIC
    upper_bound = np.where(th > 0.0, Sv * np.exp(-qv * Tv), Kv * np.exp(-rv * Tv))
    st[(beta >= b_max) | (price[idx] >= upper_bound)] = Status.ABOVE_UPPER_BOUND
    out = np.full(idx.size, np.nan)
    out[st == Status.AT_INTRINSIC] = 0.0
    solve = st == Status.OK
    if np.any(solve):
        s, converged = implied_normalised_volatility(beta[solve], x_otm[solve])
        sigma = s / np.sqrt(Tv[solve])
        out[solve] = np.where(converged, sigma, np.nan)
        st_solve = st[solve]
        st_solve[~converged] = Status.NOT_CONVERGED
        st[solve] = st_solve
    vol[idx] = out
    status[idx] = st
    return vol, status


def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
    *,
    return_status: bool = False,
    raise_on_error: bool = False,
) -> Any:
    """Black-Scholes implied volatility (per sqrt(year)) of European option prices.

    NaN where no volatility exists (price below intrinsic, at or above the upper bound,
    T <= 0, invalid inputs), never a silent 0; a price exactly at intrinsic gives 0 with
    status AT_INTRINSIC. ``return_status`` also returns the :class:`Status` array;
    ``raise_on_error`` raises the matching :class:`PricingError` subclass instead.
    """
    shape, (p_, S_, K_, T_, r_, q_) = broadcast_flat(price, S, K, T, r, q)
    vol, status = _implied_flat(p_, S_, K_, T_, r_, q_, option_sign(is_call, shape))
    if raise_on_error:
        raise_for_status(status, "implied_vol")
    if return_status:
        return shaped(vol, shape), status.reshape(shape)
    return shaped(vol, shape)


def black76_implied_vol(
    price: ArrayLike,
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: bool = False,
    raise_on_error: bool = False,
) -> Any:
    """Black-76 implied volatility of options on a forward ``F`` discounted at ``r``."""
    return implied_vol(price, F, K, T, r, is_call, q=r, return_status=return_status, raise_on_error=raise_on_error)


