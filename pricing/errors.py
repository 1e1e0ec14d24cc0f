"""Status codes and the exception hierarchy of the pricing package.

Vectorized functions never raise per element: they return NaN where no value exists and,
on request, an ``int8`` status array built from :class:`Status`. Callers that prefer
exceptions pass ``raise_on_error=True`` and get a :class:`PricingError` subclass whose
``code`` is the first failing status and whose ``count`` says how many elements failed.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt


class Status(IntEnum):
    """Per-element outcome of a vectorized pricing call (stable codes, safe to persist)."""

    OK = 0
    #: An input is NaN, non-finite where it must be finite, or out of its domain
    #: (S <= 0, K <= 0, T < 0, sigma < 0, T <= 0 for implied vol, ...).
    INVALID_INPUT = 1
    #: Option price below its no-arbitrage lower bound (discounted intrinsic value).
    BELOW_INTRINSIC = 2
    #: Option price at or above its no-arbitrage upper bound (no finite volatility).
    ABOVE_UPPER_BOUND = 3
    #: Price exactly equal to intrinsic value: the implied volatility is exactly 0.
    AT_INTRINSIC = 4
    #: An iteration did not reach its tolerance within its budget.
    NOT_CONVERGED = 5


class PricingError(Exception):
    """Root of every error raised by :mod:`pricing`; carries a stable status ``code``."""

    code: Status = Status.INVALID_INPUT

    def __init__(self, message: str, *, count: int = 1) -> None:
        super().__init__(message)
        self.count = count


class InvalidInputError(PricingError, ValueError):
    """An argument is outside the model's domain (negative time, non-positive strike, NaN...)."""

    code = Status.INVALID_INPUT


class NoImpliedVolatilityError(PricingError, ValueError):
    """A price is outside the no-arbitrage bounds, so no volatility reproduces it."""

    code = Status.BELOW_INTRINSIC


class ConvergenceError(PricingError, ArithmeticError):
    """An iterative method (root search, calibration) did not converge."""

    code = Status.NOT_CONVERGED


class CalibrationError(PricingError):
    """A model could not be fitted to the quotes it was given."""

    code = Status.NOT_CONVERGED


_ERROR_FOR_STATUS: dict[Status, type[PricingError]] = {
    Status.INVALID_INPUT: InvalidInputError,
    Status.BELOW_INTRINSIC: NoImpliedVolatilityError,
    Status.ABOVE_UPPER_BOUND: NoImpliedVolatilityError,
    Status.NOT_CONVERGED: ConvergenceError,
}


def raise_for_status(status: npt.NDArray[np.int8], what: str) -> None:
    """Raise the typed error for the first non-OK element of ``status`` (AT_INTRINSIC is OK)."""
    bad = (status != Status.OK) & (status != Status.AT_INTRINSIC)
    if not np.any(bad):
        return
    flat = status.reshape(-1)
    first_index = int(np.flatnonzero(bad.reshape(-1))[0])
    code = Status(int(flat[first_index]))
    count = int(np.count_nonzero(bad))
    error_type = _ERROR_FOR_STATUS.get(code, PricingError)
    error = error_type(
        f"{what}: {count} element(s) failed, first at flat index {first_index} with {code.name}",
        count=count,
    )
    error.code = code
    raise error
