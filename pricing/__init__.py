"""Option pricing numerics: Black-Scholes/Black-76, implied volatility, Heston and SVI.

Pure numpy/scipy, no I/O. Every function broadcasts its arguments; invalid elements give NaN
and a :class:`Status` code rather than an exception, unless ``raise_on_error=True`` asks for a
:class:`PricingError`.
"""

from __future__ import annotations

from pricing import svi
from pricing.black_scholes import Greeks, black76_greeks, black76_price, bs_greeks, bs_price
from pricing.errors import (
    CalibrationError,
    ConvergenceError,
    InvalidInputError,
    NoImpliedVolatilityError,
    PricingError,
    Status,
)
from pricing.heston import HestonCalibration, HestonParams, calibrate_heston, heston_cf, heston_price
from pricing.implied_vol import black76_implied_vol, implied_vol

__all__ = [
    "CalibrationError",
    "ConvergenceError",
    "Greeks",
    "HestonCalibration",
    "HestonParams",
    "InvalidInputError",
    "NoImpliedVolatilityError",
    "PricingError",
    "Status",
    "black76_greeks",
    "black76_implied_vol",
    "black76_price",
    "bs_greeks",
    "bs_price",
    "calibrate_heston",
    "heston_cf",
    "heston_price",
    "implied_vol",
    "svi",
]
