"""High-precision references computed with mpmath (no numbers copied from elsewhere)."""

from __future__ import annotations

import cmath
import itertools
import math
import warnings

import mpmath as mp
import numpy as np
import numpy.typing as npt
from scipy import integrate

DPS = 40


def black_scholes(S: float, K: float, T: float, r: float, sigma: float, is_call: bool, q: float = 0.0) -> mp.mpf:
    """Black-Scholes price from the exact values of the float inputs, at DPS digits."""
    with mp.workdps(DPS):
        S_, K_, T_, r_, sg, q_ = (mp.mpf(v) for v in (S, K, T, r, sigma, q))
        forward = S_ * mp.exp((r_ - q_) * T_)
        disc = mp.exp(-r_ * T_)
        theta = 1 if is_call else -1
        if T_ == 0 or sg == 0:
            return disc * max(theta * (forward - K_), mp.mpf(0))
        s = sg * mp.sqrt(T_)
        d1 = mp.log(forward / K_) / s + s / 2
        d2 = d1 - s
        return disc * theta * (forward * mp.ncdf(theta * d1) - K_ * mp.ncdf(theta * d2))


def black_scholes_array(
    S: npt.ArrayLike,
    K: npt.ArrayLike,
    T: npt.ArrayLike,
    r: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    q: npt.ArrayLike = 0.0,
) -> list[mp.mpf]:
    """Elementwise :func:`black_scholes` over broadcast arrays (flat list of mpf)."""
    arrays = np.broadcast_arrays(
        np.asarray(S, float), np.asarray(K, float), np.asarray(T, float), np.asarray(r, float),
        np.asarray(sigma, float), np.asarray(is_call, bool), np.asarray(q, float),
    )
    flat = [a.reshape(-1) for a in arrays]
    return [
        black_scholes(float(s), float(k), float(t), float(rr), float(v), bool(c), float(qq))
        for s, k, t, rr, v, c, qq in zip(*flat, strict=True)
    ]


def relative_errors(values: npt.ArrayLike, references: list[mp.mpf]) -> npt.NDArray[np.float64]:
    """|value - reference| / |reference| evaluated in mpmath, as floats."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    with mp.workdps(DPS):
        return np.array([float(abs((mp.mpf(float(v)) - ref) / ref)) for v, ref in zip(flat, references, strict=True)])


def heston_cf(u: mp.mpc, T: mp.mpf, v0: mp.mpf, kappa: mp.mpf, theta: mp.mpf, sigma: mp.mpf, rho: mp.mpf) -> mp.mpc:
    """Heston characteristic function of ln(S_T/F) in mpmath (Albrecher et al. stable form)."""
    iu = 1j * u
    xi = kappa - sigma * rho * iu
    d = mp.sqrt(xi * xi + sigma * sigma * (u * u + iu))
    if mp.re(d) < 0:
        d = -d
    g = (xi - d) / (xi + d)
    e = mp.exp(-d * T)
    big_c = kappa * theta / sigma**2 * ((xi - d) * T - 2 * mp.log((1 - g * e) / (1 - g)))
    big_d = (xi - d) / sigma**2 * (1 - e) / (1 - g * e)
    return mp.exp(big_c + big_d * v0)


def heston_lewis(
    S: float, K: float, T: float, r: float, q: float, params: tuple[float, float, float, float, float], is_call: bool
) -> mp.mpf:
    """Heston price by Lewis's (2001) single integral, integrated by mpmath at DPS digits.

    C = S e^{-qT} - sqrt(S K) e^{-(r+q)T/2} / pi * int_0^inf Re[e^{iux} phi(u - i/2)] / (u^2 + 1/4) du,
    x = ln(F/K); puts by parity. Independent of the COS method used by pricing.heston.
    """
    with mp.workdps(DPS):
        S_, K_, T_, r_, q_ = (mp.mpf(v) for v in (S, K, T, r, q))
        v0, kappa, theta, sigma, rho = (mp.mpf(v) for v in params)
        x = mp.log(S_ / K_) + (r_ - q_) * T_

        def integrand(u: mp.mpf) -> mp.mpf:
            value = mp.exp(1j * u * x) * heston_cf(u - 0.5j, T_, v0, kappa, theta, sigma, rho)
            return mp.re(value) / (u * u + mp.mpf(1) / 4)

        scale = 1 / mp.sqrt(v0 * T_ + theta * T_ + mp.mpf("1e-6"))
        breaks = [0] + [scale * m for m in (1, 4, 16, 64, 256)] + [mp.inf]
        integral = mp.quad(integrand, breaks)
        call = S_ * mp.exp(-q_ * T_) - mp.sqrt(S_ * K_) * mp.exp(-(r_ + q_) * T_ / 2) / mp.pi * integral
        if is_call:
            return call
        return call - S_ * mp.exp(-q_ * T_) + K_ * mp.exp(-r_ * T_)


def _heston_cf_scalar(u: complex, T: float, params: tuple[float, float, float, float, float]) -> complex:
    v0, kappa, theta, sigma, rho = params
    iu = 1j * u
    xi = kappa - sigma * rho * iu
    d = cmath.sqrt(xi * xi + sigma * sigma * (u * u + iu))
    if d.real < 0:
        d = -d
    g = (xi - d) / (xi + d)
    e = cmath.exp(-d * T)
    big_c = kappa * theta / sigma**2 * ((xi - d) * T - 2 * cmath.log((1 - g * e) / (1 - g)))
    big_d = (xi - d) / sigma**2 * (1 - e) / (1 - g * e)
    return cmath.exp(big_c + big_d * v0)


def heston_lewis_quad(
    S: float, K: float, T: float, r: float, q: float, params: tuple[float, float, float, float, float], is_call: bool
) -> float:
    """Heston price by Lewis's integral with scipy's adaptive quadrature at tolerance 1e-14.

    A second, fast reference (plain complex arithmetic, no COS): used for whole smiles,
    while :func:`heston_lewis` cross-checks it at 40 digits.
    """
    x = math.log(S / K) + (r - q) * T

    def integrand(u: float) -> float:
        return (cmath.exp(1j * u * x) * _heston_cf_scalar(u - 0.5j, T, params)).real / (u * u + 0.25)

    scale = 1.0 / math.sqrt(params[0] * T + params[2] * T + 1e-6)
    breaks = [0.0] + [scale * m for m in (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)]
    integral = 0.0
    with warnings.catch_warnings():
        # At 1e-14 quad reports round-off stalls near the floor; the 40-digit test bounds them.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for lo, hi in itertools.pairwise([*breaks, math.inf]):
            integral += integrate.quad(integrand, lo, hi, epsabs=1e-15, epsrel=1e-14, limit=400)[0]
    call = S * math.exp(-q * T) - math.sqrt(S * K) * math.exp(-(r + q) * T / 2) / math.pi * integral
    return call if is_call else call - S * math.exp(-q * T) + K * math.exp(-r * T)
