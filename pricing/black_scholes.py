"""Black-Scholes (spot, continuous yield) and Black-76 (forward) prices and Greeks, vectorized.

Units: S, K, F in currency per unit of underlying; T in years (ACT/365 is the caller's choice);
r, q continuously compounded rates per year; sigma per sqrt(year). Prices are in the same
currency as S and K. Every argument broadcasts.

Prices go through the normalised Black function (:mod:`pricing.normalised_black`), so the
relative error stays near 1e-14 even far in the wings, where the textbook difference
``S N(d1) - K N(d2)`` cancels to nothing. T = 0 or sigma = 0 give the exact discounted
intrinsic value; invalid inputs give NaN and a status code instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import special

from pricing._arrays import ArrayLike, BoolArray, FloatArray, StatusArray, broadcast_flat, option_sign, shaped
from pricing.errors import Status, raise_for_status
from pricing.normalised_black import normalised_black, normalised_vega

DAYS_PER_YEAR = 365.0


def log_moneyness(S: FloatArray, K: FloatArray) -> FloatArray:
    """ln(S/K), through log1p((S-K)/K) near the money where S - K is exact (Sterbenz)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        near = (S >= 0.5 * K) & (S <= 2.0 * K)
        return np.where(near, np.log1p((S - K) / K), np.log(S / K))


def _invalid_spot_inputs(S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray) -> BoolArray:
    finite = np.isfinite(S) & np.isfinite(K) & np.isfinite(T) & np.isfinite(r) & np.isfinite(q)
    valid = finite & (S > 0.0) & (K > 0.0) & (T >= 0.0)
    return ~valid


def _price_flat(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, sigma: FloatArray, theta: FloatArray
) -> tuple[FloatArray, StatusArray]:
    invalid = _invalid_spot_inputs(S, K, T, r, q) | ~np.isfinite(sigma) | (sigma < 0.0)
    status = np.where(invalid, Status.INVALID_INPUT, Status.OK).astype(np.int8)
    price = np.full(S.shape, np.nan)
    ok = ~invalid
    if not np.any(ok):
        return price, status
    So, Ko, To, ro, qo, sg, th = S[ok], K[ok], T[ok], r[ok], q[ok], sigma[ok], theta[ok]
    s = sg * np.sqrt(To)
    x = log_moneyness(So, Ko) + (ro - qo) * To
    scale = np.sqrt(So) * np.sqrt(Ko) * np.exp(-0.5 * (ro + qo) * To)
    value = scale * normalised_black(x, s, th)
    # Exact limits T -> 0 and sigma -> 0: the discounted intrinsic value of the forward.
    zero = s == 0.0
    if np.any(zero):
        spot_leg = So[zero] * np.exp(-qo[zero] * To[zero])
        strike_leg = Ko[zero] * np.exp(-ro[zero] * To[zero])
        value[zero] = np.maximum(th[zero] * (spot_leg - strike_leg), 0.0)
    price[ok] = value
    return price, status


def bs_price(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
    *,
    return_status: bool = False,
    raise_on_error: bool = False,
) -> Any:
    """Black-Scholes price of a European option on a spot paying a continuous yield ``q``.

    Returns the price array (NaN where an input is invalid), or ``(price, status)`` when
    ``return_status`` is true; ``raise_on_error`` raises :class:`InvalidInputError` instead.
    """
    shape, (S_, K_, T_, r_, sg_, q_) = broadcast_flat(S, K, T, r, sigma, q)
    price, status = _price_flat(S_, K_, T_, r_, q_, sg_, option_sign(is_call, shape))
    if raise_on_error:
        raise_for_status(status, "bs_price")
    if return_status:
        return shaped(price, shape), status.reshape(shape)
    return shaped(price, shape)


def black76_price(
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    *,
    return_status: bool = False,
    raise_on_error: bool = False,
) -> Any:
    """Black-76 price of a European option on a forward ``F``, discounted at ``r`` over ``T``."""
    return bs_price(F, K, T, r, sigma, is_call, q=r, return_status=return_status, raise_on_error=raise_on_error)


@dataclass(frozen=True)
class Greeks:
    """Sensitivities of one option or an array of options (all arrays share one shape).

    delta: dV/dS (dV/dF for Black-76); gamma: d2V/dS2 per currency unit;
    vega: dV/dsigma per unit of volatility (divide by 100 for one vol point);
    theta: -dV/dT per year (calendar time passing); theta_per_day: theta / 365;
    rho: dV/dr per unit of rate; status: :class:`Status` codes.
    """

    delta: Any
    gamma: Any
    vega: Any
    theta: Any
    theta_per_day: Any
    rho: Any
    status: Any

    def __getitem__(self, name: str) -> Any:
        """Mapping-style access, ``greeks["delta"]``."""
        if name not in self.keys():
            raise KeyError(name)
        return getattr(self, name)

    def keys(self) -> tuple[str, ...]:
        """Names of the fields, so that ``dict(greeks)``-style consumers work."""
        return tuple(f.name for f in fields(self))


def _greeks_flat(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    theta_sign: FloatArray,
    forward_rho: bool,
) -> tuple[dict[str, FloatArray], StatusArray]:
    price, status = _price_flat(S, K, T, r, q, sigma, theta_sign)
    names = ("delta", "gamma", "vega", "theta", "rho")
    out = {name: np.full(S.shape, np.nan) for name in names}
    ok = status == Status.OK
    if not np.any(ok):
        return out, status
    So, Ko, To, ro, qo, sg, th, V = S[ok], K[ok], T[ok], r[ok], q[ok], sigma[ok], theta_sign[ok], price[ok]
    sqrt_t = np.sqrt(To)
    s = sg * sqrt_t
    x = log_moneyness(So, Ko) + (ro - qo) * To
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(s > 0.0, x / s, np.sign(x) * np.inf)
        d1 = h + 0.5 * s
        d2 = h - 0.5 * s
        disc_q = np.exp(-qo * To)
        disc_r = np.exp(-ro * To)
        # S e^{-qT} phi(d1) written symmetrically: no overflow, exact 0 off the money when s = 0.
        density = np.sqrt(So) * np.sqrt(Ko) * np.exp(-0.5 * (ro + qo) * To) * normalised_vega(x, s)
        n_d1 = special.ndtr(th * d1)
        n_d2 = special.ndtr(th * d2)
        delta = th * disc_q * n_d1
        gamma = np.where(density > 0.0, density / (So * So * s), 0.0)
        vega = density * sqrt_t
        decay = np.where(density > 0.0, -0.5 * density * sg / sqrt_t, 0.0)
        theta = decay - th * ro * Ko * disc_r * n_d2 + th * qo * So * disc_q * n_d1
        rho = -To * V if forward_rho else th * Ko * To * disc_r * n_d2
    out_ok = {"delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}
    for name in names:
        out[name][ok] = out_ok[name]
    return out, status


def _pack(values: dict[str, FloatArray], status: StatusArray, shape: tuple[int, ...]) -> Greeks:
    return Greeks(
        delta=shaped(values["delta"], shape),
        gamma=shaped(values["gamma"], shape),
        vega=shaped(values["vega"], shape),
        theta=shaped(values["theta"], shape),
        theta_per_day=shaped(values["theta"] / DAYS_PER_YEAR, shape),
        rho=shaped(values["rho"], shape),
        status=status.reshape(shape),
    )


def bs_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
    *,
    raise_on_error: bool = False,
) -> Greeks:
    """Black-Scholes Greeks (see :class:`Greeks` for units); NaN and a status where invalid."""
    shape, (S_, K_, T_, r_, sg_, q_) = broadcast_flat(S, K, T, r, sigma, q)
    values, status = _greeks_flat(S_, K_, T_, r_, q_, sg_, option_sign(is_call, shape), forward_rho=False)
    if raise_on_error:
        raise_for_status(status, "bs_greeks")
    return _pack(values, status, shape)


def black76_greeks(
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    *,
    raise_on_error: bool = False,
) -> Greeks:
    """Black-76 Greeks: delta and gamma with respect to F, rho = dV/dr at fixed F (= -T V)."""
    shape, (F_, K_, T_, r_, sg_) = broadcast_flat(F, K, T, r, sigma)
    values, status = _greeks_flat(F_, K_, T_, r_, r_, sg_, option_sign(is_call, shape), forward_rho=True)
    if raise_on_error:
        raise_for_status(status, "black76_greeks")
    return _pack(values, status, shape)
