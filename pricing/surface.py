"""Implied-volatility surfaces: synthetic Heston quotes, SVI fits per expiry, a PNG picture.

Quotes are (expiry T in years, strike K, implied vol per sqrt(year)) rows with the forward
F(T) = S exp((r - q) T). Each expiry is fitted with raw SVI in total variance w = vol^2 T
against k = ln(K/F); the picture shows the fitted surface and the smiles with their quotes.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from pricing.errors import InvalidInputError
from pricing.heston import HestonParams, heston_price
from pricing.implied_vol import implied_vol
from pricing.svi import RawSVI, check_butterfly, check_calendar, fit_raw_svi

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Quotes:
    """Implied-vol quotes: flat arrays of expiry (years), strike, vol; spot, rate and yield."""

    expiry: FloatArray
    strike: FloatArray
    vol: FloatArray
    spot: float
    rate: float
    dividend: float

    def log_moneyness(self) -> FloatArray:
        """k = ln(K / F(T))."""
        forward = self.spot * np.exp((self.rate - self.dividend) * self.expiry)
        return np.asarray(np.log(self.strike / forward), dtype=np.float64)


@dataclass(frozen=True)
class FittedSurface:
    """SVI slices by expiry plus the arbitrage-check outcome of the fit."""

    slices: list[tuple[float, RawSVI]]
    butterfly_free: bool
    calendar_free: bool


def synthetic_heston_quotes(
    spot: float,
    rate: float,
    dividend: float,
    params: HestonParams,
    expiries: Sequence[float],
    strikes_per_expiry: int = 21,
    width: float = 2.5,
) -> Quotes:
    """Heston prices turned into implied vols over +-width standard deviations of log-moneyness."""
    rows_t: list[FloatArray] = []
    rows_k: list[FloatArray] = []
    for t in expiries:
        forward = spot * np.exp((rate - dividend) * t)
        spread = width * np.sqrt(params.theta * t + (params.v0 - params.theta) * min(t, 1.0))
        spread = max(float(spread), 0.05)
        rows_k.append(forward * np.exp(np.linspace(-spread, spread, strikes_per_expiry)))
        rows_t.append(np.full(strikes_per_expiry, float(t)))
    expiry = np.concatenate(rows_t)
    strike = np.concatenate(rows_k)
    forward = spot * np.exp((rate - dividend) * expiry)
    calls = strike >= forward
    prices = heston_price(spot, strike, expiry, rate, dividend, *params.as_tuple(), calls)
    vols = np.asarray(implied_vol(prices, spot, strike, expiry, rate, calls, dividend), dtype=np.float64)
    keep = np.isfinite(vols)
    return Quotes(expiry[keep], strike[keep], vols[keep], spot, rate, dividend)


def load_quotes_csv(path: Path, spot: float, rate: float, dividend: float) -> Quotes:
    """Read quotes from a CSV with columns ``expiry`` (years), ``strike`` and ``iv``
    (or ``price`` and ``is_call``, converted to implied vols)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise InvalidInputError(f"{path}: no quotes")
    try:
        expiry = np.array([float(r["expiry"]) for r in rows])
        strike = np.array([float(r["strike"]) for r in rows])
        if "iv" in rows[0]:
            vol = np.array([float(r["iv"]) for r in rows])
        else:
            price = np.array([float(r["price"]) for r in rows])
            calls = np.array([r["is_call"].strip().lower() in ("1", "true", "call", "c") for r in rows])
            vol = np.asarray(implied_vol(price, spot, strike, expiry, rate, calls, dividend), dtype=np.float64)
    except (KeyError, ValueError) as exc:
        raise InvalidInputError(f"{path}: expected columns expiry,strike,iv or expiry,strike,price,is_call") from exc
    keep = np.isfinite(vol) & (vol > 0)
    return Quotes(expiry[keep], strike[keep], vol[keep], spot, rate, dividend)


def fit_surface(quotes: Quotes) -> FittedSurface:
    """Fit raw SVI to every expiry with at least five quotes and run the arbitrage checks."""
    k = quotes.log_moneyness()
    slices: list[tuple[float, RawSVI]] = []
    for t in np.unique(quotes.expiry):
        mask = quotes.expiry == t
        if np.count_nonzero(mask) < 5:
            continue
        slices.append((float(t), fit_raw_svi(k[mask], quotes.vol[mask] ** 2 * t)))
    if not slices:
        raise InvalidInputError("no expiry has the five quotes an SVI fit needs")
    butterfly = all(check_butterfly(raw, tolerance=1e-10).arbitrage_free for _, raw in slices)
    calendar = not check_calendar(slices, tolerance=1e-10)
    return FittedSurface(slices=slices, butterfly_free=butterfly, calendar_free=calendar)


def plot_surface(surface: FittedSurface, quotes: Quotes, out: Path, title: str = "SVI implied volatility") -> Path:
    """Write a PNG: the fitted surface vol(k, T) in 3-D and the smiles against their quotes."""
    k_all = quotes.log_moneyness()
    k_grid = np.linspace(float(k_all.min()), float(k_all.max()), 81)
    expiries = np.array([t for t, _ in surface.slices])
    vols = np.array([raw.implied_vol(k_grid, t) for t, raw in surface.slices])
    fig = plt.figure(figsize=(12, 5.5))
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    kk, tt = np.meshgrid(k_grid, expiries)
    ax3d.plot_surface(kk, tt, vols, cmap="viridis", linewidth=0, antialiased=True)
    ax3d.set_xlabel("log-moneyness ln(K/F)")
    ax3d.set_ylabel("expiry (years)")
    ax3d.set_zlabel("implied vol")
    ax = fig.add_subplot(1, 2, 2)
    for (t, raw), color in zip(surface.slices, plt.cm.viridis(np.linspace(0, 1, len(surface.slices))), strict=True):
        mask = quotes.expiry == t
        ax.plot(k_grid, raw.implied_vol(k_grid, t), color=color, label=f"T = {t:g}")
        ax.plot(k_all[mask], quotes.vol[mask], "o", color=color, markersize=3)
    ax.set_xlabel("log-moneyness ln(K/F)")
    ax.set_ylabel("implied vol")
    checks = f"butterfly-free: {surface.butterfly_free}, calendar-free: {surface.calendar_free}"
    ax.set_title(checks, fontsize=9)
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out
