// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IExchange} from "./interfaces/IExchange.sol";
import {ISeriesRegistry} from "./interfaces/ISeriesRegistry.sol";
import {ISettlementOracle} from "./interfaces/ISettlementOracle.sol";
import {MarginVault} from "./MarginVault.sol";
import {OrderLib} from "./libraries/OrderLib.sol";
import {OptionMath} from "./libraries/OptionMath.sol";

/// @title Exchange
/// @notice Strikebook's settlement contract: verifies signed orders and applies batches of fills
///         to the margin vault it inherits. Trades move no tokens; only deposit, withdraw and
///         collectFees transfer ERC-20s.
/// @dev Each fill runs in two steps (STYLE 3): `_validate` reads state and computes every effect
///      into memory without writing, then `_apply` writes each touched slot once and emits.
///      A skipped fill writes nothing.
contract Exchange is IExchange, MarginVault, EIP712, Pausable {
    /// @notice Submits batches.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Pauses and unpauses {settleBatch}.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev Largest fill amount and absolute position: positions are int128-sized.
    uint256 internal constant MAX_AMOUNT = uint256(uint128(type(int128).max));
    int256 internal constant MAX_POSITION = int256(MAX_AMOUNT);
    /// @dev Order state word: filled amount in the low 128 bits, this bit set once cancelled by hash.
    uint256 internal constant CANCELLED_BIT = 1 << 128;

    /// @inheritdoc IExchange
    uint64 public lastSeq;
    /// @dev maker => order digest => filled | CANCELLED_BIT.
    mapping(address maker => mapping(bytes32 orderHash => uint256)) internal _orders;
    /// @inheritdoc IExchange
    mapping(address maker => uint256) public minNonce;
    /// @inheritdoc IExchange
    mapping(address maker => mapping(address key => uint256)) public delegateExpiry;

    /// @dev Per-batch context, in memory.
    struct Ctx {
        uint64 seq;
        bytes32 domainSep;
        bytes32 seriesId; // id of `series` (cache of the last series read)
        ISeriesRegistry.Series series;
        bytes32[] digests; // per index of `orders`: the order's digest once computed, else 0
        uint256[] sigState; // per index of `orders`: SIG_UNCHECKED, SIG_VALID or SIG_INVALID
        Exec e; // scratch for the current fill, reused
    }

    uint256 internal constant SIG_UNCHECKED = 0;
    uint256 internal constant SIG_VALID = 1;
    uint256 internal constant SIG_INVALID = 2;

    /// @dev One side's computed effects. Storage slots are computed once, when validation reads
    ///      them, and written through in `_apply` (no second mapping-slot hashing).
    struct Party {
        address account;
        uint256 positionSlot; // slot of _positions[account][series]
        int256 newPosition;
        uint256 quoteSlot; // slot of _balances[account][quote]
        uint256 quoteBalance; // new packed quote balance
        uint256 collateralSlot; // slot of _balances[account][underlying]; 0 when untouched (puts, longs)
        uint256 collateralBalance; // new packed underlying balance (calls only)
    }

    /// @dev Everything a fill changes, computed before any write.
    struct Exec {
        bytes32 makerHash;
        bytes32 takerHash;
        uint256 makerStateSlot; // slot of _orders[maker][makerHash]
        uint256 takerStateSlot;
        uint256 makerFilled; // new order state words
        uint256 takerFilled;
        uint256 premium;
        uint256 makerFeeAmount;
        uint256 takerFeeAmount;
        Party maker;
        Party taker;
    }

    /// @param registry_ The {SeriesRegistry}.
    /// @param oracle_ The {SettlementOracle}.
    /// @param feeRecipient_ Receives collected fees.
    /// @param initialAdminDelay Seconds the two-step admin transfer waits.
    /// @param admin Initial DEFAULT_ADMIN_ROLE holder; grants OPERATOR_ROLE and PAUSER_ROLE.
    constructor(
        ISeriesRegistry registry_,
        ISettlementOracle oracle_,
        address feeRecipient_,
        uint48 initialAdminDelay,
        address admin
    )
        MarginVault(registry_, oracle_, feeRecipient_)
        AccessControlDefaultAdminRules(initialAdminDelay, admin)
        EIP712(OrderLib.DOMAIN_NAME, OrderLib.DOMAIN_VERSION)
    {}

    // ------------------------------------------------------------------ batches

    /// @inheritdoc IExchange
    function settleBatch(uint64 seq, SignedOrder[] calldata orders, Fill[] calldata fills)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
    {
        uint64 expected = lastSeq + 1;
        if (seq != expected) revert BadSequence(expected, seq);
        lastSeq = seq;

        Ctx memory ctx = _newContext(seq, orders.length);
        uint256 orderCount = orders.length;
        uint256 skipped = 0;
        for (uint256 i; i < fills.length; ++i) {
            Fill calldata f = fills[i];
            uint8 reason;
            if (f.makerOrder >= orderCount || f.takerOrder >= orderCount) {
                reason = uint8(SkipReason.BadOrderIndex);
            } else {
                reason = _validate(ctx, orders[f.makerOrder], orders[f.takerOrder], f);
            }
            if (reason == 0) {
                _apply(ctx);
                _emitTrade(ctx, i, orders[f.makerOrder].order, f.amount);
            } else {
                unchecked {
                    ++skipped;
                }
                emit FillSkipped(seq, i, reason);
            }
        }
        emit BatchSettled(seq, fills.length - skipped, skipped);
    }

    /// @dev A fresh per-batch context: domain separator, empty per-order caches, no cached series.
    function _newContext(uint64 seq, uint256 orderCount) internal view returns (Ctx memory ctx) {
        ctx.seq = seq;
        ctx.domainSep = _domainSeparatorV4();
        ctx.digests = new bytes32[](orderCount);
        ctx.sigState = new uint256[](orderCount);
    }

    /// @dev Checks a fill and computes its effects into `ctx.e`; returns 0 or a {SkipReason}. No writes.
    function _validate(Ctx memory ctx, SignedOrder calldata ms, SignedOrder calldata ts, Fill calldata f)
        internal
        view
        returns (uint8)
    {
        OrderLib.Order calldata mk = ms.order;
        OrderLib.Order calldata tk = ts.order;
        uint256 amount = f.amount;

        // 1. the fill itself
        if (amount == 0) return uint8(SkipReason.ZeroAmount);
        if (amount > MAX_AMOUNT || mk.price > MASK_128 || f.makerFee > MASK_128 || f.takerFee > MASK_128) {
            return uint8(SkipReason.AmountTooLarge);
        }
        if (mk.series != tk.series) return uint8(SkipReason.SeriesMismatch);
        bool makerIsBuy = mk.isBuy;
        if (makerIsBuy == tk.isBuy) return uint8(SkipReason.SameSide);
        if (mk.maker == tk.maker) return uint8(SkipReason.SelfTrade);
        if (makerIsBuy ? mk.price < tk.price : tk.price < mk.price) return uint8(SkipReason.PriceNotCrossed);
        if (f.makerFee > mk.maxFee) return uint8(SkipReason.MakerFeeAboveCap);
        if (f.takerFee > tk.maxFee) return uint8(SkipReason.TakerFeeAboveCap);
        if (block.timestamp > mk.expiry) return uint8(SkipReason.MakerOrderExpired);
        if (block.timestamp > tk.expiry) return uint8(SkipReason.TakerOrderExpired);

        // 2. the series (cached across consecutive fills on the same series)
        bytes32 sid = mk.series;
        if (sid != ctx.seriesId) {
            ctx.series = registry.seriesOf(sid);
            ctx.seriesId = sid;
        }
        if (ctx.series.underlying == address(0)) return uint8(SkipReason.UnknownSeries);
        if (block.timestamp >= ctx.series.expiry) return uint8(SkipReason.SeriesExpired);

        // 3. the orders: nonces, cancels, fill amounts, signatures
        uint8 reason = _checkOrders(ctx, ms, ts, f);
        if (reason != 0) return reason;
        reason = _checkSignatures(ctx, ms, ts, f);
        if (reason != 0) return reason;

        // 4. the money
        return _computeMoney(ctx, mk, f);
    }

    /// @dev Nonce floor, cancel bit, over-fill and signature of both orders.
    function _checkOrders(Ctx memory ctx, SignedOrder calldata ms, SignedOrder calldata ts, Fill calldata f)
        internal
        view
        returns (uint8)
    {
        OrderLib.Order calldata mk = ms.order;
        OrderLib.Order calldata tk = ts.order;
        address maker = mk.maker;
        address taker = tk.maker;
        if (mk.nonce < minNonce[maker]) return uint8(SkipReason.MakerNonceCancelled);
        if (tk.nonce < minNonce[taker]) return uint8(SkipReason.TakerNonceCancelled);

        Exec memory e = ctx.e;
        e.maker.account = maker;
        e.taker.account = taker;
        e.makerHash = _digestOf(ctx, f.makerOrder, mk);
        e.takerHash = _digestOf(ctx, f.takerOrder, tk);
        uint256 slot = _slotOf(_ordersSlot(), maker, e.makerHash);
        e.makerStateSlot = slot;
        uint256 makerState = _sload(slot);
        if (makerState & CANCELLED_BIT != 0) return uint8(SkipReason.MakerOrderCancelled);
        slot = _slotOf(_ordersSlot(), taker, e.takerHash);
        e.takerStateSlot = slot;
        uint256 takerState = _sload(slot);
        if (takerState & CANCELLED_BIT != 0) return uint8(SkipReason.TakerOrderCancelled);
        // states < 2**128 here and amount < 2**127: no overflow
        makerState += f.amount;
        if (makerState > mk.amount) return uint8(SkipReason.MakerOverfill);
        takerState += f.amount;
        if (takerState > tk.amount) return uint8(SkipReason.TakerOverfill);
        e.makerFilled = makerState;
        e.takerFilled = takerState;
        return 0;
    }

    /// @dev Both orders' signatures (after `_checkOrders` set the digests and accounts).
    function _checkSignatures(Ctx memory ctx, SignedOrder calldata ms, SignedOrder calldata ts, Fill calldata f)
        internal
        view
        returns (uint8)
    {
        Exec memory e = ctx.e;
        if (!_verifyCached(ctx.sigState, f.makerOrder, e.maker.account, e.makerHash, ms.signature)) {
            return uint8(SkipReason.MakerBadSignature);
        }
        if (!_verifyCached(ctx.sigState, f.takerOrder, e.taker.account, e.takerHash, ts.signature)) {
            return uint8(SkipReason.TakerBadSignature);
        }
        return 0;
    }

    /// @dev The digest of `orders[index]`, hashed at most once per batch.
    function _digestOf(Ctx memory ctx, uint256 index, OrderLib.Order calldata order) internal pure returns (bytes32 h) {
        h = ctx.digests[index];
        if (h == bytes32(0)) {
            h = OrderLib.hashCalldata(order, ctx.domainSep);
            ctx.digests[index] = h;
        }
    }

    /// @dev Premium, fees and both parties' new positions and balances.
    function _computeMoney(Ctx memory ctx, OrderLib.Order calldata mk, Fill calldata f) internal view returns (uint8) {
        Exec memory e = ctx.e;
        ISeriesRegistry.Series memory s = ctx.series;
        uint256 amount = f.amount;
        bool makerIsBuy = mk.isBuy;
        uint256 unit = s.underlyingUnit;
        // the maker set the price: the premium rounds in its favour (up when the taker pays)
        uint256 premium = OptionMath.premium(mk.price, amount, unit, !makerIsBuy);
        uint256 makerFee = OptionMath.fee(f.makerFee, amount, unit);
        uint256 takerFee = OptionMath.fee(f.takerFee, amount, unit);
        if (premium > MASK_128 || makerFee > MASK_128 || takerFee > MASK_128) {
            return uint8(SkipReason.AmountTooLarge);
        }
        e.premium = premium;
        e.makerFeeAmount = makerFee;
        e.takerFeeAmount = takerFee;

        int256 signedAmount = int256(amount);
        int256 p = int256(premium);
        bytes32 sid = ctx.seriesId;
        uint8 status = _computeParty(
            e.maker,
            s,
            sid,
            makerIsBuy ? signedAmount : -signedAmount,
            (makerIsBuy ? -p : p) - int256(makerFee)
        );
        if (status != 0) return status == 1 ? uint8(SkipReason.MakerInsufficientFunds) : uint8(SkipReason.AmountTooLarge);
        status = _computeParty(
            e.taker,
            s,
            sid,
            makerIsBuy ? -signedAmount : signedAmount,
            (makerIsBuy ? p : -p) - int256(takerFee)
        );
        if (status != 0) return status == 1 ? uint8(SkipReason.TakerInsufficientFunds) : uint8(SkipReason.AmountTooLarge);
        return 0;
    }

    /// @dev New position and balances of `p.account` after a position change and a quote
    ///      (premium and fee) change; collateral moves between free and locked so that locked
    ///      stays equal to required(position). Returns 0 ok, 1 insufficient free balance,
    ///      2 a bound exceeded.
    function _computeParty(
        Party memory p,
        ISeriesRegistry.Series memory s,
        bytes32 sid,
        int256 positionDelta,
        int256 quoteDelta
    ) internal view returns (uint8) {
        uint256 slot = _slotOf(_positionsSlot(), p.account, sid);
        p.positionSlot = slot;
        int256 oldPosition = int256(_sload(slot));
        int256 newPosition = oldPosition + positionDelta;
        if (newPosition > MAX_POSITION || newPosition < -MAX_POSITION) return 2;
        p.newPosition = newPosition;
        uint256 reqOld = OptionMath.required(s.isCall, s.strike, s.underlyingUnit, oldPosition);
        uint256 reqNew = OptionMath.required(s.isCall, s.strike, s.underlyingUnit, newPosition);

        slot = _slotOf(_balancesSlot(), p.account, _key(s.quote));
        p.quoteSlot = slot;
        uint256 qb = _sload(slot);
        int256 qFree = int256(qb & MASK_128) + quoteDelta;
        uint256 qLocked = qb >> 128;
        p.collateralSlot = 0;
        if (s.isCall) {
            if (reqNew != reqOld) {
                uint8 status = _moveCallCollateral(p, s.underlying, reqOld, reqNew);
                if (status != 0) return status;
            }
        } else {
            qFree += int256(reqOld) - int256(reqNew);
            qLocked = qLocked + reqNew - reqOld;
        }
        if (qFree < 0) return 1;
        if (uint256(qFree) > MASK_128 || qLocked > MASK_128) return 2;
        p.quoteBalance = uint256(qFree) | (qLocked << 128);
        return 0;
    }

    /// @dev Call collateral lives in the underlying balance: move `reqNew - reqOld` from free to locked.
    function _moveCallCollateral(Party memory p, address underlying, uint256 reqOld, uint256 reqNew)
        internal
        view
        returns (uint8)
    {
        uint256 slot = _slotOf(_balancesSlot(), p.account, _key(underlying));
        uint256 cb = _sload(slot);
        int256 cFree = int256(cb & MASK_128) + int256(reqOld) - int256(reqNew);
        uint256 cLocked = (cb >> 128) + reqNew - reqOld; // locked >= reqOld (vault invariant)
        if (cFree < 0) return 1;
        if (uint256(cFree) > MASK_128 || cLocked > MASK_128) return 2;
        p.collateralBalance = uint256(cFree) | (cLocked << 128);
        p.collateralSlot = slot;
        return 0;
    }

    /// @dev Writes the effects `_validate` computed: order states, positions, balances, fees.
    function _apply(Ctx memory ctx) internal {
        Exec memory e = ctx.e;
        _sstore(e.makerStateSlot, e.makerFilled);
        _sstore(e.takerStateSlot, e.takerFilled);
        _writeParty(e.maker);
        _writeParty(e.taker);
        uint256 fees = e.makerFeeAmount + e.takerFeeAmount;
        if (fees != 0) accruedFees[ctx.series.quote] += fees;
    }

    function _writeParty(Party memory p) internal {
        _sstore(p.positionSlot, uint256(p.newPosition));
        _sstore(p.quoteSlot, p.quoteBalance);
        if (p.collateralSlot != 0) _sstore(p.collateralSlot, p.collateralBalance);
    }

    // ------------------------------------------------------------------ storage slots

    /// @dev The slot of `m[a][k]` for a two-level mapping `m` stored at `base` (Solidity's layout:
    ///      keccak256(k ‖ keccak256(a ‖ base))). A keccak256 output is never 0 in practice, which
    ///      `Party.collateralSlot` uses as "untouched".
    function _slotOf(uint256 base, address a, bytes32 k) internal pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, and(a, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, base)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, k)
            slot := keccak256(0x00, 0x40)
        }
    }

    /// @dev An address as a mapping key word.
    function _key(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function _ordersSlot() internal pure returns (uint256 base) {
        assembly ("memory-safe") {
            base := _orders.slot
        }
    }

    function _positionsSlot() internal pure returns (uint256 base) {
        assembly ("memory-safe") {
            base := _positions.slot
        }
    }

    function _balancesSlot() internal pure returns (uint256 base) {
        assembly ("memory-safe") {
            base := _balances.slot
        }
    }

    function _sload(uint256 slot) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            value := sload(slot)
        }
    }

    function _sstore(uint256 slot, uint256 value) internal {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    function _emitTrade(Ctx memory ctx, uint256 index, OrderLib.Order calldata mk, uint256 amount) internal {
        Exec memory e = ctx.e;
        emit Trade(
            ctx.seq,
            e.maker.account,
            e.taker.account,
            index,
            ctx.seriesId,
            e.makerHash,
            e.takerHash,
            mk.isBuy,
            amount,
            mk.price,
            e.premium,
            e.makerFeeAmount,
            e.takerFeeAmount
        );
    }

    // ------------------------------------------------------------------ signatures

    /// @dev Whether `sig` is valid for `digest` signed for `signer`, checking the order at `index`
    ///      at most once per batch: the verdict (valid or not) is kept in `sigState[index]`. Nothing
    ///      a verdict depends on (delegates, ERC-1271 code and state, the clock) changes within a batch.
    function _verifyCached(uint256[] memory sigState, uint256 index, address signer, bytes32 digest, bytes calldata sig)
        internal
        view
        returns (bool)
    {
        uint256 state = sigState[index];
        if (state != SIG_UNCHECKED) return state == SIG_VALID;
        bool valid = _isValidSignature(signer, digest, sig);
        sigState[index] = valid ? SIG_VALID : SIG_INVALID;
        return valid;
    }

    /// @dev ECDSA by `maker` or by a live delegate (OpenZeppelin: high s and v outside {27, 28}
    ///      rejected, 65-byte signatures only), else ERC-1271 if `maker` has code.
    function _isValidSignature(address maker, bytes32 digest, bytes calldata sig) internal view returns (bool) {
        if (sig.length == 65) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                r := calldataload(sig.offset)
                s := calldataload(add(sig.offset, 0x20))
                v := byte(0, calldataload(add(sig.offset, 0x40)))
            }
            (address recovered, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, v, r, s);
            if (err == ECDSA.RecoverError.NoError && errArg == bytes32(0)) {
                if (recovered == maker) return true;
                if (delegateExpiry[maker][recovered] > block.timestamp) return true;
            }
        }
        if (maker.code.length == 0) return false;
        return SignatureChecker.isValidERC1271SignatureNow(maker, digest, sig);
    }

    // ------------------------------------------------------------------ cancels and delegates

    /// @inheritdoc IExchange
    function cancelOrders(bytes32[] calldata orderHashes) external {
        _cancel(msg.sender, orderHashes);
    }

    /// @inheritdoc IExchange
    function cancelOrdersFor(address maker, bytes32[] calldata orderHashes) external {
        if (delegateExpiry[maker][msg.sender] <= block.timestamp) revert NotDelegate(maker, msg.sender);
        _cancel(maker, orderHashes);
    }

    function _cancel(address maker, bytes32[] calldata orderHashes) internal {
        for (uint256 i; i < orderHashes.length; ++i) {
            bytes32 h = orderHashes[i];
            _orders[maker][h] |= CANCELLED_BIT;
            emit OrderCancelled(maker, h, msg.sender);
        }
    }

    /// @inheritdoc IExchange
    function cancelAllBelow(uint256 newMinNonce) external {
        uint256 current = minNonce[msg.sender];
        if (newMinNonce <= current) revert NonceNotIncreasing(current, newMinNonce);
        minNonce[msg.sender] = newMinNonce;
        emit NoncesCancelled(msg.sender, newMinNonce);
    }

    /// @inheritdoc IExchange
    function setDelegate(address key, uint256 expiry) external {
        if (key == address(0) || key == msg.sender) revert InvalidDelegate(key);
        if (expiry <= block.timestamp) revert InvalidDelegateExpiry(expiry, block.timestamp);
        delegateExpiry[msg.sender][key] = expiry;
        emit DelegateSet(msg.sender, key, expiry);
    }

    /// @inheritdoc IExchange
    function revokeDelegate(address key) external {
        delete delegateExpiry[msg.sender][key];
        emit DelegateRevoked(msg.sender, key);
    }

    // ------------------------------------------------------------------ admin

    /// @inheritdoc IExchange
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IExchange
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IExchange
    function orderState(address maker, bytes32 orderHash) external view returns (uint256 filled, bool cancelled) {
        uint256 state = _orders[maker][orderHash];
        return (state & MASK_128, state & CANCELLED_BIT != 0);
    }

    /// @inheritdoc IExchange
    function hashOrder(OrderLib.Order calldata order) public view returns (bytes32) {
        return OrderLib.hashCalldata(order, _domainSeparatorV4());
    }

    /// @inheritdoc IExchange
    function isValidSignature(OrderLib.Order calldata order, bytes calldata signature) external view returns (bool) {
        return _isValidSignature(order.maker, hashOrder(order), signature);
    }

    /// @inheritdoc IExchange
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
