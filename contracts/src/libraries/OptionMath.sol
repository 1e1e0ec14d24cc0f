// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OptionMath
/// @notice Pure money arithmetic of Strikebook: collateral, premium, fee and expiry payoffs.
/// @dev `unit` is 10**underlyingDecimals (base units of underlying per whole option).
///      Every rounding favours the vault or the party that did not choose the rounding
///      (docs/PROTOCOL.md, "Rounding"). Callers bound inputs so no product overflows:
///      amounts and positions < 2**127, prices, strikes and fee rates < 2**128.
library OptionMath {
    /// @notice Collateral a position must lock: a short call locks one unit of underlying per
    ///         option (`-position` underlying base units, exact); a short put locks the strike per
    ///         option, `ceil(strike * -position / unit)` quote base units (rounded up: favours the vault).
    ///         Longs and flat positions lock nothing.
    function required(bool isCall, uint256 strike, uint256 unit, int256 position) internal pure returns (uint256) {
        if (position >= 0) return 0;
        uint256 q = uint256(-position);
        return isCall ? q : ceilDiv(strike * q, unit);
    }

    /// @notice Premium of `amount` options at `price` per whole option, in quote base units.
    /// @param roundUp True when the taker pays the premium (the maker sells): rounding favours the
    ///        maker, whose price it is; false (floor) when the taker receives it.
    function premium(uint256 price, uint256 amount, uint256 unit, bool roundUp) internal pure returns (uint256) {
        return roundUp ? ceilDiv(price * amount, unit) : (price * amount) / unit;
    }

    /// @notice Fee for `amount` options at `rate` per whole option: floor(rate * amount / unit).
    ///         The operator chooses the rate, so rounding favours the signer, who never pays more
    ///         than its cap times the amount.
    function fee(uint256 rate, uint256 amount, uint256 unit) internal pure returns (uint256) {
        return (rate * amount) / unit;
    }

    /// @notice What a long position of `q` options receives at expiry price `spot`, rounded down
    ///         (favours the vault): a call pays `q * (spot - strike) / spot` underlying base units,
    ///         a put pays `q * (strike - spot) / unit` quote base units.
    function longPayoff(bool isCall, uint256 strike, uint256 unit, uint256 spot, uint256 q)
        internal
        pure
        returns (uint256)
    {
        if (isCall) return spot > strike ? (q * (spot - strike)) / spot : 0;
        return strike > spot ? (q * (strike - spot)) / unit : 0;
    }

    /// @notice What a short position of `q` options owes at expiry price `spot`, rounded up
    ///         (favours the vault). Never more than `required(isCall, strike, unit, -q)`.
    function shortOwed(bool isCall, uint256 strike, uint256 unit, uint256 spot, uint256 q)
        internal
        pure
        returns (uint256)
    {
        if (isCall) return spot > strike ? ceilDiv(q * (spot - strike), spot) : 0;
        return strike > spot ? ceilDiv(q * (strike - spot), unit) : 0;
    }

    /// @dev ceil(a / b) for b > 0.
    function ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
