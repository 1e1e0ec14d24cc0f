"""SVI implied-variance smiles (Gatheral): raw and jump-wings forms, fits, arbitrage checks.

Raw SVI gives total implied variance w(k) = sigma_BS(k)^2 T as a function of log-moneyness
k = ln(K/F):

    w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)),   b >= 0, |rho| < 1, sigma > 0.

Jump-wings (Gatheral 2004; Gatheral and Jacquier 2014) re-expresses a slice of expiry t by
quantities a trader reads off the smile: ATM variance v_t, ATM skew psi_t, put and call wing
slopes p_t and c_t, and minimum variance v~_t (variances per year, slopes per unit k, scaled
by sqrt(w_ATM)). No butterfly arbitrage in a slice means Durrleman's density factor
g(k) >= 0; no calendar arbitrage means w is non-decreasing in T at every k.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize

from pricing.errors import CalibrationError, InvalidInputError

FloatArray = npt.NDArray[np.float64]

#: Log-moneyness grid used by the arbitrage checks when none is given.
DEFAULT_K_GRID = np.linspace(-3.0, 3.0, 601)


@dataclass(frozen=True)
class RawSVI:
    """Raw SVI parameters of one expiry slice (total variance, dimensionless)."""

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def total_variance(self, k: npt.ArrayLike) -> FloatArray:
        """w(k), total implied variance at log-moneyness k = ln(K/F)."""
        d = np.asarray(k, dtype=np.float64) - self.m
        return np.asarray(self.a + self.b * (self.rho * d + np.sqrt(d * d + self.sigma**2)), dtype=np.float64)

    def implied_vol(self, k: npt.ArrayLike, t: float) -> FloatArray:
        """Black implied volatility per sqrt(year) at log-moneyness k for expiry t (years)."""
        return np.asarray(np.sqrt(np.maximum(self.total_variance(k), 0.0) / t), dtype=np.float64)

    def derivatives(self, k: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(w, dw/dk, d2w/dk2) at k."""
        d = np.asarray(k, dtype=np.float64) - self.m
        root = np.sqrt(d * d + self.sigma**2)
        w = self.a + self.b * (self.rho * d + root)
        w1 = self.b * (self.rho + d / root)
        w2 = self.b * self.sigma**2 / root**3
        return np.asarray(w), np.asarray(w1), np.asarray(w2)

    @property
    def min_variance(self) -> float:
        """Minimum total variance a + b sigma sqrt(1 - rho^2); must be >= 0."""
        return self.a + self.b * self.sigma * math.sqrt(1.0 - self.rho**2)


@dataclass(frozen=True)
class JumpWings:
    """Jump-wings parameters of a slice with expiry t (years).

    v: ATM variance per year; psi: ATM skew; p, c: put and call wing slopes;
    v_tilde: minimum implied variance per year.
    """

    v: float
    psi: float
    p: float
    c: float
    v_tilde: float
    t: float


def raw_to_jump_wings(raw: RawSVI, t: float) -> JumpWings:
    """Convert a raw SVI slice of expiry t to jump-wings form."""
    if t <= 0.0:
        raise InvalidInputError(f"expiry must be positive, got {t}")
    root = math.sqrt(raw.m**2 + raw.sigma**2)
    w = raw.a + raw.b * (-raw.rho * raw.m + root)
    if w <= 0.0:
        raise InvalidInputError("ATM total variance must be positive for jump-wings")
    sqrt_w = math.sqrt(w)
    return JumpWings(
        v=w / t,
        psi=raw.b / (2.0 * sqrt_w) * (-raw.m / root + raw.rho),
        p=raw.b * (1.0 - raw.rho) / sqrt_w,
        c=raw.b * (1.0 + raw.rho) / sqrt_w,
        v_tilde=raw.min_variance / t,
        t=t,
    )


def jump_wings_to_raw(jw: JumpWings) -> RawSVI:
    """Convert jump-wings back to raw SVI (inverse of :func:`raw_to_jump_wings`).

    With w = v t: b = sqrt(w) (c + p)/2, rho = 1 - p sqrt(w)/b, beta = rho - 2 psi sqrt(w)/b
    = m/sqrt(m^2 + sigma^2), alpha = sigma/m = sign(beta) sqrt(1/beta^2 - 1), and m follows
    from (v - v~) t = b m (sign(alpha) sqrt(1 + alpha^2) - rho - alpha sqrt(1 - rho^2)).
    """
    w = jw.v * jw.t
    if w <= 0.0:
        raise InvalidInputError("ATM variance must be positive")
    sqrt_w = math.sqrt(w)
    b = 0.5 * sqrt_w * (jw.c + jw.p)
    if b <= 0.0:
        raise InvalidInputError("wing slopes must sum to a positive number")
    rho = 1.0 - jw.p * sqrt_w / b
    beta = rho - 2.0 * jw.psi * sqrt_w / b
    if not -1.0 < beta < 1.0:
        raise InvalidInputError(f"inconsistent jump-wings parameters (beta = {beta})")
    gap = (jw.v - jw.v_tilde) * jw.t
    if beta == 0.0:
        # m = 0: w = a + b sigma and w~ = a + b sigma sqrt(1 - rho^2).
        sigma = gap / (b * (1.0 - math.sqrt(1.0 - rho**2)))
        return RawSVI(a=w - b * sigma, b=b, rho=rho, m=0.0, sigma=sigma)
    alpha = math.copysign(math.sqrt(1.0 / beta**2 - 1.0), beta)
    # sign(alpha) sqrt(1 + alpha^2) - alpha sqrt(1 - rho^2), rationalised: for large |alpha| and
    # small rho the two terms nearly cancel.
    inv_alpha2 = beta**2 / (1.0 - beta**2)
    wings = alpha * (inv_alpha2 + rho**2) / (math.sqrt(1.0 + inv_alpha2) + math.sqrt(1.0 - rho**2))
    m = gap / (b * (wings - rho))
    sigma = alpha * m
    a = jw.v_tilde * jw.t - b * sigma * math.sqrt(1.0 - rho**2)
    return RawSVI(a=a, b=b, rho=rho, m=m, sigma=sigma)


def butterfly_density_factor(raw: RawSVI, k: npt.ArrayLike) -> FloatArray:
    """Durrleman's g(k) = (1 - k w'/(2w))^2 - w'^2/4 (1/w + 1/4) + w''/2; >= 0 iff no butterfly arbitrage."""
    kk = np.asarray(k, dtype=np.float64)
    w, w1, w2 = raw.derivatives(kk)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 - kk * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
    return np.asarray(np.where(w > 0.0, g, -np.inf), dtype=np.float64)


@dataclass(frozen=True)
class ButterflyCheck:
    """Outcome of :func:`check_butterfly`: minimum of g on the grid and where it occurs."""

    arbitrage_free: bool
    min_g: float
    k_at_min: float


def check_butterfly(raw: RawSVI, k: npt.ArrayLike | None = None, tolerance: float = 0.0) -> ButterflyCheck:
    """Check g(k) >= -tolerance on a log-moneyness grid (default [-3, 3], 601 points)."""
    grid = DEFAULT_K_GRID if k is None else np.asarray(k, dtype=np.float64)
    g = butterfly_density_factor(raw, grid)
    i = int(np.argmin(g))
    return ButterflyCheck(arbitrage_free=bool(g[i] >= -tolerance), min_g=float(g[i]), k_at_min=float(grid[i]))


@dataclass(frozen=True)
class CalendarViolation:
    """Total variance decreases from expiry t1 to t2 > t1 at log-moneyness k by ``amount``."""

    t1: float
    t2: float
    k: float
    amount: float


def check_calendar(
    slices: Sequence[tuple[float, RawSVI]], k: npt.ArrayLike | None = None, tolerance: float = 0.0
) -> list[CalendarViolation]:
    """Worst calendar-arbitrage violation per pair of consecutive expiries (empty list: none).

    ``slices`` holds (expiry in years, raw SVI) pairs in any order.
    """
    grid = DEFAULT_K_GRID if k is None else np.asarray(k, dtype=np.float64)
    ordered = sorted(slices, key=lambda item: item[0])
    violations: list[CalendarViolation] = []
    for (t1, s1), (t2, s2) in itertools.pairwise(ordered):
        drop = s1.total_variance(grid) - s2.total_variance(grid)
        i = int(np.argmax(drop))
        if drop[i] > tolerance:
            violations.append(CalendarViolation(t1=t1, t2=t2, k=float(grid[i]), amount=float(drop[i])))
    return violations


def _linear_fit(k: FloatArray, w: FloatArray, weights: FloatArray, m: float, sigma: float) -> FloatArray:
    """For fixed (m, sigma), w is linear in (a, b rho, b): weighted least squares for them."""
    d = k - m
    design = np.stack([np.ones_like(d), d, np.sqrt(d * d + sigma * sigma)], axis=1)
    solution, *_ = np.linalg.lstsq(design * weights[:, None], w * weights, rcond=None)
    return np.asarray(solution, dtype=np.float64)


def fit_raw_svi(k: npt.ArrayLike, total_variance: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> RawSVI:
    """Fit raw SVI to one slice of (log-moneyness, total variance) quotes.

    A coarse search over (m, sigma) with the other three parameters solved linearly
    (Zeliade's quasi-explicit idea) gives a start; a bounded least-squares polish on all five
    keeps b >= 0, |rho| < 1, sigma > 0 and a non-negative minimum variance.
    """
    kk = np.asarray(k, dtype=np.float64).reshape(-1)
    ww = np.asarray(total_variance, dtype=np.float64).reshape(-1)
    wt = np.ones_like(kk) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if kk.size < 5 or kk.size != ww.size or not (np.all(np.isfinite(kk)) and np.all(np.isfinite(ww))):
        raise InvalidInputError("an SVI fit needs at least five finite (k, w) points of equal count")
    span = max(float(np.ptp(kk)), 1e-3)
    best: tuple[float, FloatArray] | None = None
    for m in np.linspace(kk.min(), kk.max(), 9):
        for sigma in span * np.array([0.02, 0.05, 0.1, 0.2, 0.4, 0.8]):
            a, b_rho, b = _linear_fit(kk, ww, wt, float(m), float(sigma))
            if b <= 0.0:
                continue
            rho = float(np.clip(b_rho / b, -0.99, 0.99))
            x = np.array([a, b, rho, m, sigma])
            cost = float(np.sum((wt * (_raw(x).total_variance(kk) - ww)) ** 2))
            if best is None or cost < best[0]:
                best = (cost, x)
    if best is None:
        raise CalibrationError("no admissible SVI starting point (is the smile upward sloping?)")

    def residuals(x: FloatArray) -> FloatArray:
        raw = _raw(x)
        penalty = 1e3 * min(raw.min_variance, 0.0)
        return np.append(wt * (raw.total_variance(kk) - ww), penalty)

    lower = np.array([-np.inf, 0.0, -0.999, -np.inf, 1e-6])
    upper = np.array([np.inf, np.inf, 0.999, np.inf, np.inf])
    start = np.clip(best[1], lower + 1e-12, upper - 1e-12)
    result = optimize.least_squares(residuals, start, bounds=(lower, upper), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    if not result.success and not np.all(np.isfinite(result.x)):
        raise CalibrationError(f"SVI fit failed: {result.message}")
    return _raw(result.x)


def _raw(x: FloatArray) -> RawSVI:
    return RawSVI(a=float(x[0]), b=float(x[1]), rho=float(x[2]), m=float(x[3]), sigma=float(x[4]))
