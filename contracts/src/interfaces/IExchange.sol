// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {OrderLib} from "../libraries/OrderLib.sol";

/// @title IExchange
/// @notice Batch settlement of EIP-712 signed option orders (domain "Strikebook", version "1",
///         chainId, verifyingContract = this exchange).
/// @dev Roles: OPERATOR_ROLE submits batches, PAUSER_ROLE pauses {settleBatch}, DEFAULT_ADMIN_ROLE
///      (two-step transfer) grants roles and sets the fee recipient.
interface IExchange {
    /// @dev `settleBatch` takes one packed `batch` (big-endian, no padding; docs/PROTOCOL.md):
    ///      header nSeries u16 | nOrders u16 | nFills u16 | nFees u16; nSeries × bytes32 series ids;
    ///      nFees × (makerFeeRate u128 | takerFeeRate u128); nOrders × order (maker 20 | seriesIndex
    ///      u16 | flags u8 | price, amount, maxFee, nonce, expiry as compact integers: a length byte
    ///      L <= 32 then L bytes | signature: 65 bytes r‖s‖v, or with flag bit 1 a u16 length and
    ///      that many bytes); nFills × fill (makerOrder u16 | takerOrder u16 | feeIndex u16 | amount
    ///      u128). Flag bit 0 is isBuy, bit 2 adds 2**255 to the nonce (one-shot). Fee rates are per
    ///      whole option in quote base units, within each order's cap.

    /// @notice Fill `index` of batch `seq` executed. Anonymous (a LOG0 with 6 data words, the
    ///         exchange's only log without topics: topics cost 375 gas each, a data word 256, and
    ///         this log is written once per fill). Three fields are packed words:
    ///         `premiumFill` = premium << 128 | seq << 24 | index << 8 | makerIsBuy (1 if the maker
    ///         bought; premium: quote base units the buyer paid the seller, rounded in the maker's
    ///         favour); `amountPrice` = amount << 128 | price; `fees` = makerFee << 128 | takerFee.
    ///         The two orders (and their EIP-712 digests) are fill `index` of the batch in the
    ///         transaction's calldata.
    /// @param series The series id.
    /// @param maker The maker order's signer account; `taker` likewise.
    /// @param amountPrice Options (underlying base units) and the maker's price (premium per whole
    ///        option, quote base units).
    /// @param fees Quote base units the maker and the taker paid in fees.
    event Trade(
        bytes32 series, address maker, address taker, uint256 premiumFill, uint256 amountPrice, uint256 fees
    ) anonymous;
    /// @notice Fill `index` of batch `seq` was skipped; `reason` is a {SkipReason} code.
    event FillSkipped(uint64 indexed seq, uint256 index, uint8 reason);
    /// @notice Batch `seq` applied: `filled` fills executed, `skipped` skipped.
    event BatchSettled(uint64 indexed seq, uint256 filled, uint256 skipped);
    /// @notice `maker` cancelled its order `orderHash` (by `by`: the maker or a delegate).
    event OrderCancelled(address indexed maker, bytes32 indexed orderHash, address by);
    /// @notice All `maker` orders with nonce < `minNonce` are cancelled.
    event NoncesCancelled(address indexed maker, uint256 minNonce);
    /// @notice `maker` authorized `key` to sign orders and cancels until `expiry` (exclusive).
    event DelegateSet(address indexed maker, address indexed key, uint256 expiry);
    /// @notice `maker` revoked `key`.
    event DelegateRevoked(address indexed maker, address indexed key);
    /// @notice `maker`'s one-shot order number `seq` on `series` is spent without filling (by `by`).
    event OneShotCancelled(address indexed maker, bytes32 indexed series, uint64 seq, address by);

    /// @notice `seq` is not `expected` (= last applied seq + 1).
    error BadSequence(uint64 expected, uint64 seq);
    /// @notice `minNonce` must grow: `current` is the present value.
    error NonceNotIncreasing(uint256 current, uint256 minNonce);
    /// @notice A delegate key must not be zero or the maker itself.
    error InvalidDelegate(address key);
    /// @notice A delegate expiry must be in the future (use {revokeDelegate} to end it).
    error InvalidDelegateExpiry(uint256 expiry, uint256 nowTs);
    /// @notice `caller` is not a live delegate of `maker`.
    error NotDelegate(address maker, address caller);
    /// @notice The nonce floor cannot reach the one-shot range (nonce bit 255): at most 2**255.
    error NonceTooLarge(uint256 minNonce);
    /// @notice The packed batch does not parse at byte `offset` (truncated, trailing bytes, a series
    ///         index out of range or unknown flag bits). The operator built it; nothing changes.
    error MalformedBatch(uint256 offset);

    /// @notice Why a fill was skipped (the first failing check, in this order). Numeric values are
    ///         stable and listed in docs/PROTOCOL.md.
    enum SkipReason {
        None, // 0: never emitted
        ZeroAmount, // 1: amount == 0
        AmountTooLarge, // 2: amount, a price, a fee or a resulting position/balance exceeds its bound
        SeriesMismatch, // 3: maker and taker orders name different series
        SameSide, // 4: both orders buy or both sell
        SelfTrade, // 5: maker and taker are the same account
        PriceNotCrossed, // 6: buy price < sell price
        MakerFeeAboveCap, // 7: makerFee > maker.maxFee
        TakerFeeAboveCap, // 8: takerFee > taker.maxFee
        MakerOrderExpired, // 9: block.timestamp > maker.expiry
        TakerOrderExpired, // 10
        UnknownSeries, // 11: series not listed
        SeriesExpired, // 12: block.timestamp >= series expiry
        MakerNonceCancelled, // 13: maker.nonce < minNonce[maker]
        TakerNonceCancelled, // 14
        MakerOrderCancelled, // 15: cancelled by hash
        TakerOrderCancelled, // 16
        MakerOverfill, // 17: filled + amount > maker.amount
        TakerOverfill, // 18
        MakerBadSignature, // 19
        TakerBadSignature, // 20
        MakerInsufficientFunds, // 21: free balance cannot cover premium, fee and collateral
        TakerInsufficientFunds, // 22
        BadOrderIndex, // 23: makerOrder or takerOrder is not an order index of the batch (checked first)
        MakerOrderSpent, // 24: a one-shot order already filled in an earlier batch, cancelled or slid out
        TakerOrderSpent, // 25
        BadFeeIndex // 26: feeIndex is not an entry of the batch's fee table (checked right after 23)
    }

    /// @notice Applies batch `seq` (must be exactly lastSeq + 1). Each fill is validated and either
    ///         executed (event {Trade}) or skipped (event {FillSkipped}); a bad fill never reverts the
    ///         batch. The batch lists each signed order the fills use once; its digest is computed and
    ///         its signature verified at most once per batch. Only OPERATOR_ROLE, not while paused.
    ///         Reverts {MalformedBatch} if `batch` does not parse.
    function settleBatch(uint64 seq, bytes calldata batch) external;

    /// @notice Cancels the caller's orders by EIP-712 digest.
    function cancelOrders(bytes32[] calldata orderHashes) external;

    /// @notice Cancels `maker`'s orders by digest; the caller must be a live delegate of `maker`.
    function cancelOrdersFor(address maker, bytes32[] calldata orderHashes) external;

    /// @notice Cancels every caller order with nonce < `newMinNonce`; the floor must grow and stays
    ///         at most 2**255, so one-shot orders (nonce bit 255 set) are never below it.
    function cancelAllBelow(uint256 newMinNonce) external;

    /// @notice Spends the caller's one-shot order numbers `seqs` on `series` (they can no longer fill).
    function cancelOneShot(bytes32 series, uint64[] calldata seqs) external;

    /// @notice {cancelOneShot} for `maker`; the caller must be a live delegate of `maker`.
    function cancelOneShotFor(address maker, bytes32 series, uint64[] calldata seqs) external;

    /// @notice Authorizes `key` to sign orders (and cancel) for the caller while block.timestamp < expiry.
    function setDelegate(address key, uint256 expiry) external;

    /// @notice Revokes `key` at once.
    function revokeDelegate(address key) external;

    /// @notice Stops {settleBatch}. Only PAUSER_ROLE. Deposits, withdrawals, cancels and settlement go on.
    function pause() external;
    /// @notice Resumes {settleBatch}. Only PAUSER_ROLE.
    function unpause() external;

    /// @notice The last applied batch number (0 before the first batch; the first batch is 1).
    function lastSeq() external view returns (uint64);

    /// @notice Options already filled of `maker`'s order `orderHash`, and whether it was cancelled by hash.
    function orderState(address maker, bytes32 orderHash) external view returns (uint256 filled, bool cancelled);

    /// @notice The one-shot window of `account` on `series`: numbers below `base` are spent, and
    ///         number `base + i` (i < 64) is spent if bit i of `bits` is set.
    function oneShotWindow(address account, bytes32 series) external view returns (uint64 base, uint64 bits);

    /// @notice Whether `account`'s one-shot order number `seq` on `series` is spent.
    function isOneShotSpent(address account, bytes32 series, uint64 seq) external view returns (bool);

    /// @notice Orders of `maker` with nonce below this are cancelled.
    function minNonce(address maker) external view returns (uint256);

    /// @notice Until when (exclusive, unix seconds) `key` may sign for `maker`; 0 if not a delegate.
    function delegateExpiry(address maker, address key) external view returns (uint256);

    /// @notice The order id: its EIP-712 digest under this exchange's domain.
    function hashOrder(OrderLib.Order calldata order) external view returns (bytes32);

    /// @notice Whether `signature` is a valid signature of `order` now (maker ECDSA, live delegate or ERC-1271).
    function isValidSignature(OrderLib.Order calldata order, bytes calldata signature) external view returns (bool);

    /// @notice The EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32);
}
