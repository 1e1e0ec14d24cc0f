"""`contracts/src/libraries/OptionMath.sol` in Python integers, function for function.

`unit` is 10**underlyingDecimals (base units per whole option); strikes, prices and fee rates are
quote base units per whole option. Every rounding matches the contract's.
"""

from __future__ import annotations


def ceil_div(a: int, b: int) -> int:
    """`OptionMath.ceilDiv`: ceil(a / b) for a >= 0, b > 0."""
    return 0 if a == 0 else (a - 1) // b + 1


def required(is_call: bool, strike: int, unit: int, position: int) -> int:
    """Collateral `position` locks: a short call -position underlying base units, a short put
    ceil(strike * -position / unit) quote base units; longs and flat positions nothing."""
    if position >= 0:
        return 0
    q = -position
    return q if is_call else ceil_div(strike * q, unit)


def premium(price: int, amount: int, unit: int, round_up: bool) -> int:
    """Premium of `amount` options at `price`; rounded up when the taker pays (the maker sells)."""
    return ceil_div(price * amount, unit) if round_up else (price * amount) // unit


def fee(rate: int, amount: int, unit: int) -> int:
    """Fee of `amount` options at `rate` per whole option, rounded down."""
    return (rate * amount) // unit


def long_payoff(is_call: bool, strike: int, unit: int, spot: int, q: int) -> int:
    """What a long of `q` options receives at `spot` (floor): calls in underlying, puts in quote."""
    if is_call:
        return (q * (spot - strike)) // spot if spot > strike else 0
    return (q * (strike - spot)) // unit if strike > spot else 0


def short_owed(is_call: bool, strike: int, unit: int, spot: int, q: int) -> int:
    """What a short of `q` options owes at `spot` (ceil), never more than its required collateral."""
    if is_call:
        return ceil_div(q * (spot - strike), spot) if spot > strike else 0
    return ceil_div(q * (strike - spot), unit) if strike > spot else 0
