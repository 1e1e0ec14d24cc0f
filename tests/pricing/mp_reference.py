"""High-precision references computed with mpmath (no numbers copied from elsewhere)."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import numpy.typing as npt

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
