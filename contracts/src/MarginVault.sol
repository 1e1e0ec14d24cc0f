// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMarginVault} from "./interfaces/IMarginVault.sol";
import {ISeriesRegistry} from "./interfaces/ISeriesRegistry.sol";
import {ISettlementOracle} from "./interfaces/ISettlementOracle.sol";
import {OptionMath} from "./libraries/OptionMath.sol";

/// @title MarginVault
/// @notice Collateral ledger, positions and expiry settlement. The {Exchange} inherits it, so
///         trades move balances inside one contract without external calls.
/// @dev A balance is one slot: free in the low 128 bits, locked in the high 128 bits.
abstract contract MarginVault is IMarginVault, AccessControlDefaultAdminRules, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Series and asset registry.
    ISeriesRegistry public immutable registry;
    /// @notice Settlement price oracle.
    ISettlementOracle public immutable oracle;

    uint256 internal constant MASK_128 = type(uint128).max;

    /// @dev account => asset => free | locked << 128.
    mapping(address account => mapping(address asset => uint256)) internal _balances;
    /// @dev account => series => signed int128 position in the low 128 bits (two's complement); the
    ///      high 128 bits hold the account's one-shot order window on the series (see {Exchange}).
    mapping(address account => mapping(bytes32 series => uint256)) internal _positions;
    /// @inheritdoc IMarginVault
    mapping(address asset => uint256) public accruedFees;
    /// @inheritdoc IMarginVault
    mapping(address asset => int256) public settlementBalance;
    /// @inheritdoc IMarginVault
    mapping(bytes32 series => int256) public settledPosition;
    /// @inheritdoc IMarginVault
    address public feeRecipient;

    constructor(ISeriesRegistry registry_, ISettlementOracle oracle_, address feeRecipient_) {
        if (address(registry_) == address(0) || address(oracle_) == address(0) || feeRecipient_ == address(0)) {
            revert ZeroAddress();
        }
        registry = registry_;
        oracle = oracle_;
        feeRecipient = feeRecipient_;
        emit FeeRecipientSet(feeRecipient_);
    }

    /// @inheritdoc IMarginVault
    function deposit(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (!registry.isAsset(asset)) revert UnknownAsset(asset);
        // The received amount can only be known after the transfer, so this pull comes first;
        // nonReentrant guards the window and nothing is credited before the check.
        IERC20 token = IERC20(asset);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(asset, amount, received);
        uint256 packed = _balances[msg.sender][asset];
        uint256 free = (packed & MASK_128) + amount;
        if (free > MASK_128) revert BalanceOverflow(msg.sender, asset);
        _balances[msg.sender][asset] = (packed & ~MASK_128) | free;
        emit Deposited(msg.sender, asset, amount);
    }

    /// @inheritdoc IMarginVault
    function withdraw(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 packed = _balances[msg.sender][asset];
        uint256 free = packed & MASK_128;
        if (free < amount) revert InsufficientFree(msg.sender, asset, free, amount);
        _balances[msg.sender][asset] = packed - amount;
        emit Withdrawn(msg.sender, asset, amount);
        IERC20(asset).safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IMarginVault
    function settle(address account, bytes32[] calldata seriesIds) external {
        for (uint256 i; i < seriesIds.length; ++i) {
            _settleOne(account, seriesIds[i]);
        }
    }

    /// @dev Settles one position: checks, then writes (position, balance, settlement balance), then event.
    function _settleOne(address account, bytes32 id) internal {
        uint256 word = _positions[account][id];
        int256 position = int256(int128(uint128(word)));
        if (position == 0) return; // flat or already settled: idempotent
        ISeriesRegistry.Series memory s = registry.seriesOf(id);
        if (s.underlying == address(0)) revert UnknownSeries(id);
        (uint256 spot, bool isFinal) = oracle.finalPrice(s.underlying, s.expiry);
        if (!isFinal) revert PriceNotFinal(s.underlying, s.expiry);
        address asset = s.isCall ? s.underlying : s.quote;
        uint256 packed = _balances[account][asset];
        uint256 free = packed & MASK_128;
        uint256 locked = packed >> 128;
        uint256 payout = 0;
        uint256 owed = 0;
        if (position > 0) {
            payout = OptionMath.longPayoff(s.isCall, s.strike, s.underlyingUnit, spot, uint256(position));
            settlementBalance[asset] -= int256(payout);
        } else {
            uint256 req = OptionMath.required(s.isCall, s.strike, s.underlyingUnit, position);
            owed = OptionMath.shortOwed(s.isCall, s.strike, s.underlyingUnit, spot, uint256(-position));
            locked -= req; // locked == sum of required, so this never underflows
            payout = req - owed; // owed <= req by construction
            settlementBalance[asset] += int256(owed);
        }
        free += payout;
        if (free > MASK_128) revert BalanceOverflow(account, asset);
        _positions[account][id] = word & ~MASK_128; // the one-shot window stays
        settledPosition[id] += position;
        _balances[account][asset] = free | (locked << 128);
        emit Settled(account, id, position, spot, payout, owed);
    }

    /// @inheritdoc IMarginVault
    function collectFees(address asset) external nonReentrant {
        uint256 amount = accruedFees[asset];
        if (amount == 0) revert ZeroAmount();
        accruedFees[asset] = 0;
        address recipient = feeRecipient;
        emit FeesCollected(asset, recipient, amount);
        IERC20(asset).safeTransfer(recipient, amount);
    }

    /// @inheritdoc IMarginVault
    function setFeeRecipient(address recipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (recipient == address(0)) revert ZeroAddress();
        feeRecipient = recipient;
        emit FeeRecipientSet(recipient);
    }

    /// @inheritdoc IMarginVault
    function balanceOf(address account, address asset) external view returns (uint256 free, uint256 locked) {
        uint256 packed = _balances[account][asset];
        return (packed & MASK_128, packed >> 128);
    }

    /// @inheritdoc IMarginVault
    function positionOf(address account, bytes32 seriesId) external view returns (int256) {
        return int256(int128(uint128(_positions[account][seriesId])));
    }

    /// @inheritdoc IMarginVault
    function requiredCollateral(bool isCall, uint256 strike, uint256 underlyingUnit, int256 position)
        external
        pure
        returns (uint256)
    {
        return OptionMath.required(isCall, strike, underlyingUnit, position);
    }
}
