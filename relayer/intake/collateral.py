"""No-arbitrage price bounds and worst-case collateral of an order (pure integer arithmetic).

Price bound (step 7): 0 < price <= the most one option can pay, which is what its seller locks:
- a put pays at most its strike per whole option (spot 0), exactly the collateral a short put
  locks per option, so `price <= strike`;
- a call pays at most one whole underlying per option (its collateral); its worth in quote
  depends on spot, which the relayer does not trust off-chain, so a call is bounded by an
  optional per-underlying cap from the operator (`VenueConfig.call_price_cap`) and otherwise
  only by the contract's bound on prices (2**128 - 1).

Worst case (step 8), in the two assets of the series, using the contract's rounding
(`OptionMath`): fee = floor(maxFee * amount / unit).
- buy: the premium at the order's own limit, ceil(price * amount / unit), plus the fee (quote);
- sell call: `amount` underlying base units locked, plus max(0, fee - the least premium it
  receives, floor(price * amount / unit)) in quote;
- sell put: ceil(strike * amount / unit) quote locked, plus the same fee shortfall.
Existing positions are ignored (a seller holding longs would need less): the reservation is
conservative, never short.
"""

from __future__ import annotations

from relayer.chainstate import SeriesTerms

#: The contract skips fills whose price is above this (`SkipReason.AmountTooLarge`).
MAX_PRICE = 2**128 - 1
#: The contract's bound on a fill amount (orders above it could never fully settle).
MAX_AMOUNT = 2**127 - 1


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def max_price(terms: SeriesTerms, call_cap: int | None = None) -> int:
    """The highest acceptable premium per whole option (quote base units)."""
    if not terms.is_call:
        return terms.strike
    return MAX_PRICE if call_cap is None else min(call_cap, MAX_PRICE)


def worst_case(terms: SeriesTerms, is_buy: bool, price: int, amount: int, max_fee: int) -> tuple[int, int]:
    """(quote, underlying) base units `amount` of this order can take from its maker's free balances."""
    unit = terms.unit
    fee = max_fee * amount // unit
    if is_buy:
        return _ceil_div(price * amount, unit) + fee, 0
    shortfall = max(0, fee - price * amount // unit)
    if terms.is_call:
        return shortfall, amount
    return _ceil_div(terms.strike * amount, unit) + shortfall, 0
