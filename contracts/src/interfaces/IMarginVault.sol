// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IMarginVault
/// @notice Fully collateralized margin: ERC-20 balances (free and locked) per account and asset,
///         signed netting option positions per account and series, and expiry settlement.
/// @dev Units: balances are token base units; positions are options in underlying base units
///      (10**underlyingDecimals = one option; positive = long, negative = short).
///      Invariants: locked(account, asset) == Σ_series required(position) for the series whose
///      collateral asset is `asset`; token.balanceOf(vault) == Σ free + Σ locked + accruedFees + settlementBalance.
///      Pausing never blocks deposit, withdraw, settle or collectFees.
interface IMarginVault {
    /// @notice `amount` of `asset` was credited to `account`'s free balance.
    event Deposited(address indexed account, address indexed asset, uint256 amount);
    /// @notice `amount` of `asset` left `account`'s free balance and was sent to it.
    event Withdrawn(address indexed account, address indexed asset, uint256 amount);
    /// @notice `account`'s `position` in `seriesId` settled at `price` (quote base units per whole
    ///         underlying). A long is credited `payout` (its payoff); a short is credited `payout` =
    ///         its released collateral minus what it owes. Units: the series' collateral asset
    ///         (underlying for calls, quote for puts).
    event Settled(
        address indexed account, bytes32 indexed seriesId, int256 position, uint256 price, uint256 payout, uint256 owed
    );
    /// @notice Accrued fees in `asset` were sent to `recipient`.
    event FeesCollected(address indexed asset, address indexed recipient, uint256 amount);
    /// @notice The fee recipient changed.
    event FeeRecipientSet(address indexed recipient);

    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice A zero address where an address is required.
    error ZeroAddress();
    /// @notice `asset` is not an asset of the series registry.
    error UnknownAsset(address asset);
    /// @notice The vault received `received` instead of `expected` (fee-on-transfer or rebasing token).
    error TransferAmountMismatch(address asset, uint256 expected, uint256 received);
    /// @notice `account` has `free` of `asset` free, less than `needed`.
    error InsufficientFree(address account, address asset, uint256 free, uint256 needed);
    /// @notice A balance would exceed 2**128 - 1 base units.
    error BalanceOverflow(address account, address asset);
    /// @notice The series is not listed.
    error UnknownSeries(bytes32 seriesId);
    /// @notice No final oracle price yet for (underlying, expiry).
    error PriceNotFinal(address underlying, uint256 expiry);

    /// @notice Pulls `amount` of a registry asset from the caller into its free balance.
    ///         Reverts with {TransferAmountMismatch} unless the vault's balance grows by exactly `amount`.
    function deposit(address asset, uint256 amount) external;

    /// @notice Sends `amount` of the caller's free `asset` balance to the caller. Never paused.
    function withdraw(address asset, uint256 amount) external;

    /// @notice Settles `account`'s positions in `seriesIds` at their final oracle prices. Permissionless
    ///         and idempotent (a flat position is skipped). Longs are credited
    ///         `longPayoff` (floor); shorts have their collateral unlocked and are credited it minus
    ///         `shortOwed` (ceil), so Σ paid to longs <= Σ owed by shorts in every rounding case.
    ///         Reverts with {PriceNotFinal} if a series with a position has no final price.
    function settle(address account, bytes32[] calldata seriesIds) external;

    /// @notice Sends all accrued fees in `asset` to the fee recipient. Permissionless.
    function collectFees(address asset) external;

    /// @notice Sets the fee recipient. Only DEFAULT_ADMIN_ROLE.
    function setFeeRecipient(address recipient) external;

    /// @notice Free and locked balance of `account` in `asset`, token base units.
    function balanceOf(address account, address asset) external view returns (uint256 free, uint256 locked);

    /// @notice Signed position of `account` in `seriesId`, underlying base units (+ long, - short).
    function positionOf(address account, bytes32 seriesId) external view returns (int256);

    /// @notice Fees accrued in `asset` and not yet collected, token base units.
    function accruedFees(address asset) external view returns (uint256);

    /// @notice Σ owed by settled shorts - Σ paid to settled longs, per asset (token base units).
    ///         Negative while longs settled before their shorts; >= 0 (rounding dust) once all settled.
    function settlementBalance(address asset) external view returns (int256);

    /// @notice Σ of the positions already settled in `seriesId` (underlying base units). Settling
    ///         zeroes one account's position at a time, so Σ open positions + settledPosition == 0
    ///         at every moment (and Σ open positions == 0 before any settlement).
    function settledPosition(bytes32 seriesId) external view returns (int256);

    /// @notice Collateral a position must lock (pure): a short call `-position` underlying base units,
    ///         a short put `ceil(strike * -position / underlyingUnit)` quote base units; longs 0.
    function requiredCollateral(bool isCall, uint256 strike, uint256 underlyingUnit, int256 position)
        external
        pure
        returns (uint256);

    /// @notice Where fees go on {collectFees}.
    function feeRecipient() external view returns (address);
}
