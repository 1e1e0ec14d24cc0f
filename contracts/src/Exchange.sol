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
/// @dev Each fill runs in two steps (STYLE 3): the checks (`_checkFill`, `_checkOrders`,
///      `_signatureOk`, `_computeMoney`) read state and compute every effect into memory without
///      writing, then `_apply` writes each touched slot once and emits. A skipped fill writes
///      nothing. The loop is Yul over raw memory blocks for gas (docs/PROTOCOL.md, "Gas").
contract Exchange is IExchange, MarginVault, EIP712, Pausable {
    /// @notice Submits batches.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Pauses and unpauses {settleBatch}.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev Largest fill amount and absolute position (positions are int128-sized): 2**127 - 1,
    ///      written as a literal in the fill loop's assembly.
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

    /// @dev Nonce bit 255 marks a one-shot order; its low 64 bits are its sequence number.
    uint256 internal constant ONE_SHOT_FLAG = 1 << 255;
    uint256 internal constant MASK_64 = type(uint64).max;
    /// @dev Width of the one-shot window kept in the high bits of each position slot.
    uint256 internal constant WINDOW = 64;

    /// @dev Packed batch layout (docs/PROTOCOL.md, "Batch encoding").
    uint256 internal constant HEADER_BYTES = 6;
    uint256 internal constant ORDER_FIXED_BYTES = 183; // maker 20, seriesIndex 2, flags 1, five 32-byte words
    uint256 internal constant ECDSA_SIG_BYTES = 65;
    uint256 internal constant FILL_BYTES = 52;
    uint256 internal constant FLAG_IS_BUY = 1;
    uint256 internal constant FLAG_SIG_LENGTH = 2;

    /// @dev Per-order meta word (one per order of the batch, in memory): where the order's signature
    ///      sits, its verdict once checked, and for a one-shot order the amount filled in this batch.
    ///      bits 0-31 order offset | 32-63 signature offset | 64-79 signature length | 80 valid |
    ///      81 invalid | 82 one-shot claimed by this batch | 128-255 one-shot amount filled.
    uint256 internal constant META_VALID = 1 << 80;
    uint256 internal constant META_INVALID = 1 << 81;

    // The fill loop works on raw memory blocks (docs/PROTOCOL.md, "Gas"): a context block, one block
    // per side (maker, taker) and one cache entry per series of the batch. Offsets in bytes:
    //
    // context: 0x00 seq | 0x20 domain separator | 0x40 batch start (calldata) | 0x60 series table
    //   (calldata) | 0x80 order count | 0xa0 meta words | 0xc0 digests | 0xe0 series cache | 0x100
    //   maker side | 0x120 taker side | 0x140 fill amount | 0x160 maker fee rate | 0x180 taker fee
    //   rate | 0x1a0 premium | 0x1c0 maker fee | 0x1e0 taker fee | 0x200 series index | 0x220 series
    //   cache entry | 0x240 series id | 0x260 order slot cache | 0x280 series count
    // side: 0x00 order index | 0x20 account | 0x40 isBuy | 0x60 one-shot | 0x80 price | 0xa0 amount
    //   | 0xc0 maxFee | 0xe0 nonce | 0x100 expiry | 0x120 series index | 0x140 digest | 0x160 order
    //   state slot | 0x180 new order state (one-shot: claimed bit | filled << 128) | 0x1a0 position
    //   slot | 0x1c0 position word read | 0x1e0 new position word | 0x200 window bits to keep |
    //   0x220 quote balance slot | 0x240 new quote balance | 0x260 collateral slot (0 = untouched) |
    //   0x280 new collateral balance | 0x2a0 order record (calldata) | 0x2c0 meta word at load
    // series cache entry: 0x00 underlying (0 = unknown) | 0x20 quote | 0x40 strike | 0x60 expiry |
    //   0x80 isCall | 0xa0 underlying unit (0 = not loaded yet) | 0xc0 fees accrued by this batch in
    //   the quote asset (written to `accruedFees` once, after the last fill)
    // order slot cache (per order index, 0 = not computed yet): 0x00 position slot | 0x20 order
    //   state slot | 0x40 quote balance slot | 0x60 underlying balance slot
    uint256 internal constant CTX_BYTES = 0x2a0;
    uint256 internal constant SIDE_BYTES = 0x2e0;
    uint256 internal constant SERIES_ENTRY_BYTES = 0xe0;
    uint256 internal constant ORDER_SLOTS_BYTES = 0x80;
    /// @dev Meta bit: the ordinary order's nonce passed the floor check in this batch.
    uint256 internal constant META_NONCE_OK = 1 << 83;

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
    function settleBatch(uint64 seq, bytes calldata batch) external onlyRole(OPERATOR_ROLE) whenNotPaused {
        uint64 expected = lastSeq + 1;
        if (seq != expected) revert BadSequence(expected, seq);
        lastSeq = seq;

        (uint256 c, uint256 fillsAt, uint256 nFills) = _parse(seq, batch);
        uint256 skipped = 0;
        for (uint256 i; i < nFills; ++i) {
            uint256 reason = _fill(c, batch, fillsAt + i * FILL_BYTES, i);
            if (reason != 0) {
                unchecked {
                    ++skipped;
                }
                emit FillSkipped(seq, i, uint8(reason));
            }
        }
        _flushFees(c);
        emit BatchSettled(seq, nFills - skipped, skipped);
    }

    /// @dev Adds each series' fees of the batch to `accruedFees` of its quote asset (one write per
    ///      series instead of one per fill; each sum < 2**145).
    function _flushFees(uint256 c) internal {
        uint256 feesSlot;
        assembly ("memory-safe") {
            feesSlot := accruedFees.slot
            let e := mload(add(c, 0xe0))
            for { let end := add(e, mul(mload(add(c, 0x280)), 0xe0)) } lt(e, end) { e := add(e, 0xe0) } {
                let fees := mload(add(e, 0xc0))
                if fees {
                    mstore(0x00, mload(add(e, 0x20)))
                    mstore(0x20, feesSlot)
                    let fs := keccak256(0x00, 0x40)
                    sstore(fs, add(sload(fs), fees))
                }
            }
        }
    }

    /// @dev Walks the packed batch once: checks its structure, records where each order and its
    ///      signature sit, allocates the per-batch memory blocks and returns the context block and
    ///      where the fills start. Reverts {MalformedBatch} on any structural fault, so every later
    ///      calldata read stays inside `batch`.
    function _parse(uint64 seq, bytes calldata batch) internal view returns (uint256 c, uint256 fillsAt, uint256 nFills) {
        uint256 start;
        uint256 end;
        uint256 nSeries;
        uint256 nOrders;
        assembly ("memory-safe") {
            start := batch.offset
            end := add(start, batch.length)
        }
        if (batch.length < HEADER_BYTES) revert MalformedBatch(0);
        assembly ("memory-safe") {
            let w := calldataload(start)
            nSeries := shr(240, w)
            nOrders := and(shr(224, w), 0xffff)
            nFills := and(shr(208, w), 0xffff)
        }
        bytes32 domainSep = _domainSeparatorV4();
        // context, two sides, meta words, digests, series cache: one zeroed allocation
        uint256 size = CTX_BYTES + 2 * SIDE_BYTES + (64 + ORDER_SLOTS_BYTES) * nOrders + SERIES_ENTRY_BYTES * nSeries;
        uint256 meta;
        assembly ("memory-safe") {
            c := mload(0x40)
            calldatacopy(c, calldatasize(), size) // zero fill
            mstore(0x40, add(c, size))
            mstore(c, seq)
            mstore(add(c, 0x20), domainSep)
            mstore(add(c, 0x40), start)
            mstore(add(c, 0x60), add(start, 6))
            mstore(add(c, 0x80), nOrders)
            let sides := add(c, 0x2a0)
            mstore(add(c, 0x100), sides)
            mstore(add(c, 0x120), add(sides, 0x2e0))
            meta := add(sides, 0x5c0)
            mstore(add(c, 0xa0), meta)
            mstore(add(c, 0xc0), add(meta, shl(5, nOrders)))
            let seriesCache := add(meta, shl(6, nOrders))
            mstore(add(c, 0xe0), seriesCache)
            mstore(add(c, 0x260), add(seriesCache, mul(nSeries, 0xe0)))
            mstore(add(c, 0x280), nSeries)
        }
        uint256 at = start + HEADER_BYTES + 32 * nSeries;
        if (at > end) revert MalformedBatch(at - start);
        for (uint256 i; i < nOrders; ++i) {
            if (at + ORDER_FIXED_BYTES > end) revert MalformedBatch(at - start);
            uint256 w;
            assembly ("memory-safe") {
                w := calldataload(at)
            }
            uint256 flags = (w >> 72) & 0xff;
            if (((w >> 80) & 0xffff) >= nSeries || flags > (FLAG_IS_BUY | FLAG_SIG_LENGTH)) {
                revert MalformedBatch(at - start);
            }
            uint256 sigAt = at + ORDER_FIXED_BYTES;
            uint256 sigLen = ECDSA_SIG_BYTES;
            if ((flags & FLAG_SIG_LENGTH) != 0) {
                if (sigAt + 2 > end) revert MalformedBatch(sigAt - start);
                assembly ("memory-safe") {
                    sigLen := shr(240, calldataload(sigAt))
                }
                sigAt += 2;
            }
            if (sigAt + sigLen > end) revert MalformedBatch(sigAt - start);
            uint256 word = (at - start) | ((sigAt - start) << 32) | (sigLen << 64);
            assembly ("memory-safe") {
                mstore(add(meta, shl(5, i)), word)
            }
            at = sigAt + sigLen;
        }
        if (end - at != nFills * FILL_BYTES) revert MalformedBatch(at - start);
        fillsAt = at;
    }

    /// @dev One fill: validate and compute every effect into memory (no writes), then write each
    ///      touched slot once and emit {Trade}. Returns 0 or the {SkipReason} of the first failed check.
    function _fill(uint256 c, bytes calldata batch, uint256 at, uint256 index) internal returns (uint256 reason) {
        reason = _checkFill(c, at);
        if (reason != 0) return reason;
        uint256 e;
        assembly ("memory-safe") {
            e := add(mload(add(c, 0xe0)), mul(mload(add(c, 0x200)), 0xe0))
            mstore(add(c, 0x220), e)
        }
        if (_mload(e + 0xa0) == 0) _cacheSeries(c, e);
        reason = _checkOrders(c, e);
        if (reason != 0) return reason;
        uint256 mk;
        uint256 tk;
        uint256 mkMeta;
        uint256 tkMeta;
        assembly ("memory-safe") {
            let meta := mload(add(c, 0xa0))
            mk := mload(add(c, 0x100))
            tk := mload(add(c, 0x120))
            mkMeta := mload(add(meta, shl(5, mload(mk))))
            tkMeta := mload(add(meta, shl(5, mload(tk))))
        }
        // a verdict already cached as valid needs no call (the maker's, after its first fill)
        if (mkMeta & META_VALID == 0 && !_signatureOk(c, mk, batch)) return uint256(SkipReason.MakerBadSignature);
        if (tkMeta & META_VALID == 0 && !_signatureOk(c, tk, batch)) return uint256(SkipReason.TakerBadSignature);
        reason = _computeMoney(c, e);
        if (reason != 0) return reason;
        _apply(c, e, index);
    }

    /// @dev Reads the fill record at `at` and both orders, then the checks that need no state:
    ///      indexes, amount bounds, series, sides, self-trade, price, fee caps, expiries.
    function _checkFill(uint256 c, uint256 at) internal view returns (uint256 reason) {
        assembly ("memory-safe") {
            function load(s, c_, idx) {
                let meta := mload(add(mload(add(c_, 0xa0)), shl(5, idx)))
                let a := add(mload(add(c_, 0x40)), and(meta, 0xffffffff))
                let w := calldataload(a)
                let nonce := calldataload(add(a, 119))
                mstore(s, idx)
                mstore(add(s, 0x20), shr(96, w))
                mstore(add(s, 0x40), and(shr(72, w), 1))
                mstore(add(s, 0x60), shr(255, nonce))
                mstore(add(s, 0x80), calldataload(add(a, 23)))
                mstore(add(s, 0xa0), calldataload(add(a, 55)))
                mstore(add(s, 0xc0), calldataload(add(a, 87)))
                mstore(add(s, 0xe0), nonce)
                mstore(add(s, 0x100), calldataload(add(a, 151)))
                mstore(add(s, 0x120), and(shr(80, w), 0xffff))
                mstore(add(s, 0x2a0), a)
                mstore(add(s, 0x2c0), meta)
            }
            function check(c_, at_) -> r {
                let w := calldataload(at_)
                let mi := shr(240, w)
                let ti := and(shr(224, w), 0xffff)
                let amount := and(shr(96, w), 0xffffffffffffffffffffffffffffffff)
                mstore(add(c_, 0x140), amount)
                mstore(add(c_, 0x160), shr(128, calldataload(add(at_, 20))))
                mstore(add(c_, 0x180), shr(128, calldataload(add(at_, 36))))
                let n := mload(add(c_, 0x80))
                if iszero(and(lt(mi, n), lt(ti, n))) {
                    r := 23 // BadOrderIndex
                    leave
                }
                let mk := mload(add(c_, 0x100))
                let tk := mload(add(c_, 0x120))
                load(mk, c_, mi)
                load(tk, c_, ti)
                if iszero(amount) {
                    r := 1 // ZeroAmount
                    leave
                }
                if or(gt(amount, 0x7fffffffffffffffffffffffffffffff), gt(mload(add(mk, 0x80)), 0xffffffffffffffffffffffffffffffff)) {
                    r := 2 // AmountTooLarge
                    leave
                }
                let ms := mload(add(mk, 0x120))
                let table := mload(add(c_, 0x60))
                let sid := calldataload(add(table, shl(5, ms)))
                let ts := mload(add(tk, 0x120))
                if iszero(eq(ms, ts)) {
                    if iszero(eq(calldataload(add(table, shl(5, ts))), sid)) {
                        r := 3 // SeriesMismatch
                        leave
                    }
                }
                let makerIsBuy := mload(add(mk, 0x40))
                if eq(makerIsBuy, mload(add(tk, 0x40))) {
                    r := 4 // SameSide
                    leave
                }
                if eq(mload(add(mk, 0x20)), mload(add(tk, 0x20))) {
                    r := 5 // SelfTrade
                    leave
                }
                let mp := mload(add(mk, 0x80))
                let tp := mload(add(tk, 0x80))
                if or(and(makerIsBuy, lt(mp, tp)), and(iszero(makerIsBuy), lt(tp, mp))) {
                    r := 6 // PriceNotCrossed
                    leave
                }
                if gt(mload(add(c_, 0x160)), mload(add(mk, 0xc0))) {
                    r := 7 // MakerFeeAboveCap
                    leave
                }
                if gt(mload(add(c_, 0x180)), mload(add(tk, 0xc0))) {
                    r := 8 // TakerFeeAboveCap
                    leave
                }
                if gt(timestamp(), mload(add(mk, 0x100))) {
                    r := 9 // MakerOrderExpired
                    leave
                }
                if gt(timestamp(), mload(add(tk, 0x100))) {
                    r := 10 // TakerOrderExpired
                    leave
                }
                mstore(add(c_, 0x200), ms)
                mstore(add(c_, 0x240), sid)
            }
            reason := check(c, at)
        }
    }

    /// @dev Loads series cache entry `e` (for the current fill's series id) from the registry once per batch.
    function _cacheSeries(uint256 c, uint256 e) internal view {
        ISeriesRegistry.Series memory s = registry.seriesOf(bytes32(_mload(c + 0x240)));
        uint256 unit = s.underlyingUnit == 0 ? 1 : s.underlyingUnit; // an unknown series is cached too
        address underlying = s.underlying;
        address quote = s.quote;
        uint256 strike = s.strike;
        uint256 expiry = s.expiry;
        bool isCall = s.isCall;
        assembly ("memory-safe") {
            mstore(e, underlying)
            mstore(add(e, 0x20), quote)
            mstore(add(e, 0x40), strike)
            mstore(add(e, 0x60), expiry)
            mstore(add(e, 0x80), isCall)
            mstore(add(e, 0xa0), unit)
        }
    }

    /// @dev The checks that read state: series listed and unexpired, both digests (once per batch
    ///      and order), then each order's own state: the signer's position word (kept for the money
    ///      step), and for an ordinary order the nonce floor, the cancel bit and the filled amount,
    ///      for a one-shot order its window and the amount filled in this batch.
    function _checkOrders(uint256 c, uint256 e) internal view returns (uint256 reason) {
        bytes32 typeHash = OrderLib.TYPE_HASH;
        uint256 positionsSlot;
        uint256 ordersSlot;
        uint256 minNonceSlot;
        assembly ("memory-safe") {
            positionsSlot := _positions.slot
            ordersSlot := _orders.slot
            minNonceSlot := minNonce.slot
        }
        assembly ("memory-safe") {
            function storeDigest(c_, s, th) {
                let dp := add(mload(add(c_, 0xc0)), shl(5, mload(s)))
                let h := mload(dp)
                if iszero(h) {
                    let p := mload(0x40)
                    mstore(p, th)
                    mstore(add(p, 0x20), mload(add(s, 0x20)))
                    mstore(add(p, 0x40), calldataload(add(mload(add(c_, 0x60)), shl(5, mload(add(s, 0x120))))))
                    mstore(add(p, 0x60), mload(add(s, 0x40)))
                    calldatacopy(add(p, 0x80), add(mload(add(s, 0x2a0)), 23), 0xa0)
                    let sh := keccak256(p, 0x120)
                    mstore(p, shl(240, 0x1901))
                    mstore(add(p, 0x02), mload(add(c_, 0x20)))
                    mstore(add(p, 0x22), sh)
                    h := keccak256(p, 0x42)
                    mstore(dp, h)
                }
                mstore(add(s, 0x140), h)
            }
            // 0 ok, 1 nonce floor, else the maker-side reason (15 cancelled, 17 overfill, 24 spent)
            function orderState(c_, s, posBase, ordBase, nonceBase) -> r {
                let acct := mload(add(s, 0x20))
                let amount := mload(add(c_, 0x140))
                let oc := add(mload(add(c_, 0x260)), shl(7, mload(s)))
                let ps := mload(oc)
                if iszero(ps) {
                    mstore(0x00, acct)
                    mstore(0x20, posBase)
                    mstore(0x20, keccak256(0x00, 0x40))
                    mstore(0x00, mload(add(c_, 0x240)))
                    ps := keccak256(0x00, 0x40)
                    mstore(oc, ps)
                }
                mstore(add(s, 0x1a0), ps)
                let word := sload(ps)
                mstore(add(s, 0x1c0), word)
                let high := and(word, not(0xffffffffffffffffffffffffffffffff))
                if iszero(mload(add(s, 0x60))) {
                    mstore(add(s, 0x200), high)
                    let mp := add(mload(add(c_, 0xa0)), shl(5, mload(s)))
                    let meta := mload(mp)
                    if iszero(and(meta, shl(83, 1))) {
                        // the floor cannot change within a batch: checked once per order
                        mstore(0x00, acct)
                        mstore(0x20, nonceBase)
                        if lt(mload(add(s, 0xe0)), sload(keccak256(0x00, 0x40))) {
                            r := 1
                            leave
                        }
                        mstore(mp, or(meta, shl(83, 1)))
                    }
                    let os := mload(add(oc, 0x20))
                    if iszero(os) {
                        mstore(0x00, acct)
                        mstore(0x20, ordBase)
                        mstore(0x20, keccak256(0x00, 0x40))
                        mstore(0x00, mload(add(s, 0x140)))
                        os := keccak256(0x00, 0x40)
                        mstore(add(oc, 0x20), os)
                    }
                    mstore(add(s, 0x160), os)
                    let st := sload(os)
                    if and(st, shl(128, 1)) {
                        r := 15 // OrderCancelled
                        leave
                    }
                    st := add(st, amount) // st < 2**129, amount < 2**127
                    if gt(st, mload(add(s, 0xa0))) {
                        r := 17 // Overfill
                        leave
                    }
                    mstore(add(s, 0x180), st)
                    leave
                }
                let meta := mload(add(s, 0x2c0))
                switch and(meta, shl(82, 1))
                case 0 {
                    // first fill of this one-shot order in this batch: spend its number (see _spend)
                    let seq := and(mload(add(s, 0xe0)), 0xffffffffffffffff)
                    let base := and(shr(128, word), 0xffffffffffffffff)
                    let bits := shr(192, word)
                    if lt(seq, base) {
                        r := 24 // OrderSpent
                        leave
                    }
                    let d := sub(seq, base)
                    switch lt(d, 64)
                    case 1 {
                        if and(shr(d, bits), 1) {
                            r := 24
                            leave
                        }
                    }
                    default {
                        bits := shr(sub(d, 63), bits)
                        base := sub(seq, 63)
                        d := 63
                    }
                    bits := or(bits, shl(d, 1))
                    mstore(add(s, 0x200), or(shl(128, base), shl(192, bits)))
                }
                default { mstore(add(s, 0x200), high) }
                let filled := add(shr(128, meta), amount)
                if gt(filled, mload(add(s, 0xa0))) {
                    r := 17
                    leave
                }
                mstore(add(s, 0x180), or(shl(82, 1), shl(128, filled)))
            }
            function bothOrders(c_, th, posBase, ordBase, nonceBase) -> r {
                let mk := mload(add(c_, 0x100))
                let tk := mload(add(c_, 0x120))
                storeDigest(c_, mk, th)
                storeDigest(c_, tk, th)
                let rm := orderState(c_, mk, posBase, ordBase, nonceBase)
                let rt := 0
                if iszero(rm) { rt := orderState(c_, tk, posBase, ordBase, nonceBase) }
                switch rm
                case 0 {
                    switch rt
                    case 0 {}
                    case 1 { r := 14 } // TakerNonceCancelled
                    default { r := add(rt, 1) } // the taker-side code follows the maker-side one
                }
                case 1 { r := 13 } // MakerNonceCancelled
                default { r := rm }
            }
            function checks(c_, e_, th, posBase, ordBase, nonceBase) -> r {
                switch iszero(mload(e_))
                case 1 { r := 11 } // UnknownSeries
                default {
                    switch lt(timestamp(), mload(add(e_, 0x60)))
                    case 0 { r := 12 } // SeriesExpired
                    default { r := bothOrders(c_, th, posBase, ordBase, nonceBase) }
                }
            }
            reason := checks(c, e, typeHash, positionsSlot, ordersSlot, minNonceSlot)
        }
    }

    /// @dev Whether the signature of side `s` is valid, checking each order at most once per batch
    ///      (the verdict is kept in its meta word; nothing it depends on changes within a batch).
    ///      Fast path: a 65-byte ECDSA signature by the account itself (same rules as OpenZeppelin's
    ///      ECDSA: s in the lower half order, v 27 or 28, the zero address never matches); anything
    ///      else (delegates, ERC-1271, rejections) goes through {_isValidSignature}.
    function _signatureOk(uint256 c, uint256 s, bytes calldata batch) internal view returns (bool valid) {
        uint256 metaPtr;
        uint256 meta;
        address account;
        bytes32 digest;
        assembly ("memory-safe") {
            metaPtr := add(mload(add(c, 0xa0)), shl(5, mload(s)))
            meta := mload(metaPtr)
            account := mload(add(s, 0x20))
            digest := mload(add(s, 0x140))
        }
        if (meta & META_VALID != 0) return true;
        if (meta & META_INVALID != 0) return false;
        uint256 sigAt = (meta >> 32) & 0xffffffff;
        uint256 sigLen = (meta >> 64) & 0xffff;
        if (sigLen == ECDSA_SIG_BYTES) {
            uint256 start = _mload(c + 0x40);
            assembly ("memory-safe") {
                let sa := add(start, sigAt)
                let sv := calldataload(add(sa, 0x20))
                let v := byte(0, calldataload(add(sa, 0x40)))
                if and(lt(sv, 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A1), or(eq(v, 27), eq(v, 28))) {
                    let p := mload(0x40)
                    mstore(p, digest)
                    mstore(add(p, 0x20), v)
                    mstore(add(p, 0x40), calldataload(sa))
                    mstore(add(p, 0x60), sv)
                    if staticcall(gas(), 1, p, 0x80, p, 0x20) {
                        if eq(returndatasize(), 0x20) {
                            valid := and(eq(mload(p), account), iszero(iszero(account)))
                        }
                    }
                }
            }
        }
        if (!valid) valid = _isValidSignature(account, digest, batch[sigAt:sigAt + sigLen]);
        meta |= valid ? META_VALID : META_INVALID;
        assembly ("memory-safe") {
            mstore(metaPtr, meta)
        }
    }

    /// @dev Premium, fees and both parties' new positions and balances (collateral moves between
    ///      free and locked so that locked stays equal to required(position)). Returns 0 or a reason.
    function _computeMoney(uint256 c, uint256 e) internal view returns (uint256 reason) {
        uint256 balancesSlot;
        assembly ("memory-safe") {
            balancesSlot := _balances.slot
        }
        assembly ("memory-safe") {
            // collateral required by a position: a short call locks one underlying unit per option,
            // a short put the strike in quote per option (rounded up: in the vault's favour)
            function required(e_, pos) -> q {
                if slt(pos, 0) {
                    q := sub(0, pos)
                    if iszero(mload(add(e_, 0x80))) {
                        let x := mul(mload(add(e_, 0x40)), q) // strike < 2**128, q < 2**128
                        let unit := mload(add(e_, 0xa0))
                        q := add(div(x, unit), iszero(iszero(mod(x, unit))))
                    }
                }
            }
            function balanceSlot(acct, asset, base) -> slot {
                mstore(0x00, acct)
                mstore(0x20, base)
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, asset)
                slot := keccak256(0x00, 0x40)
            }
            // 0 ok, 1 insufficient free balance, 2 a bound exceeded
            function party(s, e_, oc, amount, premium, fee, base) -> st {
                let word := mload(add(s, 0x1c0))
                let oldPos := signextend(15, word)
                let buy := mload(add(s, 0x40))
                let newPos := sub(oldPos, amount)
                if buy { newPos := add(oldPos, amount) }
                if or(sgt(newPos, 0x7fffffffffffffffffffffffffffffff), slt(newPos, sub(0, 0x7fffffffffffffffffffffffffffffff))) {
                    st := 2
                    leave
                }
                mstore(add(s, 0x1e0), or(and(newPos, 0xffffffffffffffffffffffffffffffff), mload(add(s, 0x200))))
                let reqOld := required(e_, oldPos)
                let reqNew := required(e_, newPos)
                let qs := mload(add(oc, 0x40))
                if iszero(qs) {
                    qs := balanceSlot(mload(add(s, 0x20)), mload(add(e_, 0x20)), base)
                    mstore(add(oc, 0x40), qs)
                }
                mstore(add(s, 0x220), qs)
                let qb := sload(qs)
                // all terms < 2**130: plain signed arithmetic cannot overflow
                let qFree := sub(and(qb, 0xffffffffffffffffffffffffffffffff), fee)
                switch buy
                case 1 { qFree := sub(qFree, premium) }
                default { qFree := add(qFree, premium) }
                let qLocked := shr(128, qb)
                mstore(add(s, 0x260), 0)
                switch mload(add(e_, 0x80))
                case 1 {
                    if iszero(eq(reqNew, reqOld)) {
                        let cs := mload(add(oc, 0x60))
                        if iszero(cs) {
                            cs := balanceSlot(mload(add(s, 0x20)), mload(e_), base)
                            mstore(add(oc, 0x60), cs)
                        }
                        let cb := sload(cs)
                        let cFree := sub(add(and(cb, 0xffffffffffffffffffffffffffffffff), reqOld), reqNew)
                        let cLocked := sub(add(shr(128, cb), reqNew), reqOld) // locked >= reqOld (vault invariant)
                        if slt(cFree, 0) {
                            st := 1
                            leave
                        }
                        if or(gt(cFree, 0xffffffffffffffffffffffffffffffff), gt(cLocked, 0xffffffffffffffffffffffffffffffff)) {
                            st := 2
                            leave
                        }
                        mstore(add(s, 0x260), cs)
                        mstore(add(s, 0x280), or(cFree, shl(128, cLocked)))
                    }
                }
                default {
                    qFree := sub(add(qFree, reqOld), reqNew)
                    qLocked := sub(add(qLocked, reqNew), reqOld)
                }
                if slt(qFree, 0) {
                    st := 1
                    leave
                }
                if or(gt(qFree, 0xffffffffffffffffffffffffffffffff), gt(qLocked, 0xffffffffffffffffffffffffffffffff)) {
                    st := 2
                    leave
                }
                mstore(add(s, 0x240), or(qFree, shl(128, qLocked)))
            }
            function money(c_, e_, base) -> r {
                let mk := mload(add(c_, 0x100))
                let unit := mload(add(e_, 0xa0))
                let amount := mload(add(c_, 0x140))
                // price < 2**128 and amount < 2**127: no overflow. The maker set the price: the
                // premium rounds in its favour (up when the taker pays, i.e. the maker sells).
                let pa := mul(mload(add(mk, 0x80)), amount)
                let premium := div(pa, unit)
                if iszero(mload(add(mk, 0x40))) { premium := add(premium, iszero(iszero(mod(pa, unit)))) }
                let mf := div(mul(mload(add(c_, 0x160)), amount), unit) // rates < 2**128
                let tf := div(mul(mload(add(c_, 0x180)), amount), unit)
                if or(gt(premium, 0xffffffffffffffffffffffffffffffff), or(gt(mf, 0xffffffffffffffffffffffffffffffff), gt(tf, 0xffffffffffffffffffffffffffffffff))) {
                    r := 2 // AmountTooLarge
                    leave
                }
                mstore(add(c_, 0x1a0), premium)
                mstore(add(c_, 0x1c0), mf)
                mstore(add(c_, 0x1e0), tf)
                let slots := mload(add(c_, 0x260))
                let st := party(mk, e_, add(slots, shl(7, mload(mk))), amount, premium, mf, base)
                if st {
                    r := 2
                    if eq(st, 1) { r := 21 } // MakerInsufficientFunds
                    leave
                }
                let tk := mload(add(c_, 0x120))
                st := party(tk, e_, add(slots, shl(7, mload(tk))), amount, premium, tf, base)
                if st {
                    r := 2
                    if eq(st, 1) { r := 22 } // TakerInsufficientFunds
                }
            }
            reason := money(c, e, balancesSlot)
        }
    }

    /// @dev Writes what the checks computed (order states, positions, balances, fees) and emits {Trade}.
    function _apply(uint256 c, uint256 e, uint256 index) internal {
        bytes32 topic = Trade.selector;
        assembly ("memory-safe") {
            function write(c_, s) {
                switch mload(add(s, 0x60))
                case 0 { sstore(mload(add(s, 0x160)), mload(add(s, 0x180))) }
                default {
                    let mp := add(mload(add(c_, 0xa0)), shl(5, mload(s)))
                    mstore(mp, or(and(mload(mp), 0xffffffffffffffffffffffffffffffff), mload(add(s, 0x180))))
                }
                sstore(mload(add(s, 0x1a0)), mload(add(s, 0x1e0)))
                sstore(mload(add(s, 0x220)), mload(add(s, 0x240)))
                let cs := mload(add(s, 0x260))
                if cs { sstore(cs, mload(add(s, 0x280))) }
            }
            let mk := mload(add(c, 0x100))
            let tk := mload(add(c, 0x120))
            write(c, mk)
            write(c, tk)
            // fees are summed per series of the batch and written once by _flushFees
            mstore(add(e, 0xc0), add(mload(add(e, 0xc0)), add(mload(add(c, 0x1c0)), mload(add(c, 0x1e0)))))
            // Trade: series, makerOrder, takerOrder, seq << 128 | index << 8 | makerIsBuy,
            // amount << 128 | price, premium, makerFee << 128 | takerFee (all parts < 2**128)
            let p := mload(0x40)
            mstore(p, mload(add(c, 0x240)))
            mstore(add(p, 0x20), mload(add(mk, 0x140)))
            mstore(add(p, 0x40), mload(add(tk, 0x140)))
            mstore(add(p, 0x60), or(or(shl(128, mload(c)), shl(8, index)), mload(add(mk, 0x40))))
            mstore(add(p, 0x80), or(shl(128, mload(add(c, 0x140))), mload(add(mk, 0x80))))
            mstore(add(p, 0xa0), mload(add(c, 0x1a0)))
            mstore(add(p, 0xc0), or(shl(128, mload(add(c, 0x1c0))), mload(add(c, 0x1e0))))
            log3(p, 0xe0, topic, mload(add(mk, 0x20)), mload(add(tk, 0x20)))
        }
    }

    /// @dev The one-shot window (high 128 bits of a position word: base in bits 128..191, bitmap in
    ///      bits 192..255, bit i = number base + i spent) after spending `seq`; `spent` if it already
    ///      was (below the base or its bit set). The fill loop inlines the same rule.
    function _spend(uint256 word, uint256 seq) internal pure returns (bool spent, uint256 windowBits) {
        uint256 base = (word >> 128) & MASK_64;
        uint256 bits = word >> 192;
        if (seq < base) return (true, 0);
        uint256 d = seq - base;
        if (d < WINDOW) {
            if ((bits >> d) & 1 != 0) return (true, 0);
        } else {
            bits = bits >> (d - (WINDOW - 1));
            base = seq - (WINDOW - 1);
            d = WINDOW - 1;
        }
        bits |= 1 << d;
        windowBits = (base << 128) | (bits << 192);
    }

    // ------------------------------------------------------------------ storage slots

    /// @dev The slot of `m[a][k]` for a two-level mapping `m` stored at `base` (Solidity's layout:
    ///      keccak256(k ‖ keccak256(a ‖ base))).
    function _slotOf(uint256 base, address a, bytes32 k) internal pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, and(a, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, base)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, k)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _positionsSlot() internal pure returns (uint256 base) {
        assembly ("memory-safe") {
            base := _positions.slot
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

    function _mload(uint256 ptr) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := mload(ptr)
        }
    }

    // ------------------------------------------------------------------ signatures

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
        if (newMinNonce > ONE_SHOT_FLAG) revert NonceTooLarge(newMinNonce);
        uint256 current = minNonce[msg.sender];
        if (newMinNonce <= current) revert NonceNotIncreasing(current, newMinNonce);
        minNonce[msg.sender] = newMinNonce;
        emit NoncesCancelled(msg.sender, newMinNonce);
    }

    /// @inheritdoc IExchange
    function cancelOneShot(bytes32 series, uint64[] calldata seqs) external {
        _cancelOneShot(msg.sender, series, seqs);
    }

    /// @inheritdoc IExchange
    function cancelOneShotFor(address maker, bytes32 series, uint64[] calldata seqs) external {
        if (delegateExpiry[maker][msg.sender] <= block.timestamp) revert NotDelegate(maker, msg.sender);
        _cancelOneShot(maker, series, seqs);
    }

    /// @dev Spends each of `seqs` in `maker`'s window on `series` (already spent: no change, still emitted).
    function _cancelOneShot(address maker, bytes32 series, uint64[] calldata seqs) internal {
        uint256 slot = _slotOf(_positionsSlot(), maker, series);
        uint256 word = _sload(slot);
        for (uint256 i; i < seqs.length; ++i) {
            (bool spent, uint256 windowBits) = _spend(word, seqs[i]);
            if (!spent) word = (word & MASK_128) | windowBits;
            emit OneShotCancelled(maker, series, seqs[i], msg.sender);
        }
        _sstore(slot, word);
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
    function oneShotWindow(address account, bytes32 series) external view returns (uint64 base, uint64 bits) {
        uint256 word = _positions[account][series];
        return (uint64(word >> 128), uint64(word >> 192));
    }

    /// @inheritdoc IExchange
    function isOneShotSpent(address account, bytes32 series, uint64 seq) external view returns (bool spent) {
        (spent,) = _spend(_positions[account][series], seq);
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
