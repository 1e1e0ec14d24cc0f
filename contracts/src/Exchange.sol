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
/// @dev Each fill runs in two steps (STYLE 3): the checks (`check`, `orderState`, `signature`,
///      `money` in `_run`) read state and compute every effect into memory without writing, then
///      `write` stores each touched slot once and the fill emits. A skipped fill writes nothing.
///      The loop is Yul over a fixed memory layout for gas (docs/PROTOCOL.md, "Gas").
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
    uint256 internal constant HEADER_BYTES = 8;
    uint256 internal constant ORDER_FIXED_BYTES = 23; // maker 20, seriesIndex 2, flags 1; then five compact integers
    uint256 internal constant ECDSA_SIG_BYTES = 65;
    uint256 internal constant FILL_BYTES = 22; // makerOrder 2, takerOrder 2, feeIndex 2, amount 16

    // settleBatch works on a fixed memory layout from 0x80 (docs/PROTOCOL.md, "Gas"). It is an
    // external entry point that allocates nothing before `_parse` writes the layout and moves the
    // free memory pointer past it, so Solidity code called later (the registry, the slow signature
    // path) allocates after it. Fixed addresses turn each field access into one PUSH and MLOAD.
    //
    // context words (absolute addresses):
    uint256 internal constant M_SEQ = 0x80;
    uint256 internal constant M_DOMAIN = 0xa0;
    uint256 internal constant M_NORDERS = 0xc0;
    uint256 internal constant M_FILLS = 0xe0; // calldata offset of the first fill record
    uint256 internal constant M_NFILLS = 0x100;
    uint256 internal constant M_SKIPPED = 0x120;
    uint256 internal constant M_SLOW = 0x140; // order block whose signature the fast path could not decide
    uint256 internal constant M_TABLE = 0x160; // calldata offset of the series table
    uint256 internal constant M_SERIES = 0x180; // series cache base
    uint256 internal constant M_NSERIES = 0x1a0;
    uint256 internal constant M_POS_BASE = 0x1c0; // storage bases of the mappings the loop reads
    uint256 internal constant M_ORD_BASE = 0x1e0;
    uint256 internal constant M_NONCE_BASE = 0x200;
    uint256 internal constant M_BAL_BASE = 0x220;
    uint256 internal constant M_TOPIC_SKIP = 0x260; // (0x240 is unused)
    // the current fill:
    uint256 internal constant M_MAKER_ORDER = 0x280; // order block addresses
    uint256 internal constant M_TAKER_ORDER = 0x2a0;
    uint256 internal constant M_AMOUNT = 0x2c0;
    uint256 internal constant M_MFEE_RATE = 0x2e0;
    uint256 internal constant M_TFEE_RATE = 0x300;
    uint256 internal constant M_PREMIUM = 0x320;
    uint256 internal constant M_MFEE = 0x340;
    uint256 internal constant M_TFEE = 0x360;
    uint256 internal constant M_FEES = 0x380; // calldata offset of the fee table
    uint256 internal constant M_NFEES = 0x3a0;
    // 0x100 bytes of scratch (digest preimage, ecrecover input and output, event data):
    uint256 internal constant M_SCRATCH = 0x3c0;
    // effects of the current fill, one block per side (0x100 bytes each): 0x00 new position word |
    // 0x20 new quote balance | 0x40 collateral balance slot (0 = untouched) | 0x60 new collateral
    // balance | 0x80 new order state (ordinary: filled | cancel bit; one-shot: claimed bit | filled
    // << 128) | 0xa0 position word read | 0xc0 one-shot window bits (high 128 bits) to write
    uint256 internal constant M_MAKER_FX = 0x4c0;
    uint256 internal constant M_TAKER_FX = 0x5c0;
    // one order block per order of the batch (0x200 bytes each), decoded once by `_parse`. Words
    // 0x000-0x100 are the EIP-712 struct preimage, so the struct hash is one keccak over them:
    // 0x000 TYPE_HASH | 0x020 maker | 0x040 series id | 0x060 isBuy | 0x080 price | 0x0a0 amount |
    // 0x0c0 maxFee | 0x0e0 nonce | 0x100 expiry | 0x120 meta | 0x140 series cache entry | 0x160
    // digest (0 = not computed yet) | 0x180 position slot | 0x1a0 order state slot | 0x1c0 quote
    // balance slot | 0x1e0 underlying balance slot (slots: 0 = not computed yet)
    uint256 internal constant M_ORDERS = 0x6c0;
    uint256 internal constant ORDER_BLOCK_BYTES = 0x200;
    // series cache entries follow the order blocks (0xe0 bytes each, loaded by `_loadSeries`):
    // 0x00 underlying (0 = unknown series) | 0x20 quote | 0x40 strike | 0x60 expiry | 0x80 isCall |
    // 0xa0 underlying unit | 0xc0 fees accrued by this batch in the quote asset
    uint256 internal constant SERIES_ENTRY_BYTES = 0xe0;

    /// @dev Order meta word: bits 0-31 signature offset (calldata) | 32-47 signature length | 80
    ///      valid | 81 invalid | 82 one-shot claimed by this batch | 83 nonce floor passed |
    ///      128-255 one-shot amount filled in this batch.
    uint256 internal constant META_VALID = 1 << 80;
    uint256 internal constant META_INVALID = 1 << 81;
    uint256 internal constant META_CLAIMED = 1 << 82;
    uint256 internal constant META_NONCE_OK = 1 << 83;
    /// @dev The Yul `fill`'s answer when an order's signature needs {_isValidSignature} (not a SkipReason).
    uint256 internal constant NEEDS_SLOW_CHECK = 0x100;

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

        _parse(seq, batch);
        _loadSeries();
        uint256 next;
        while (true) {
            uint256 slowOrder;
            (next, slowOrder) = _run(next);
            if (slowOrder == 0) break;
            _slowVerdict(slowOrder); // then the same fill runs again, with the verdict cached
        }
        _flushFees();
        uint256 nFills = _mload(M_NFILLS);
        uint256 skipped = _mload(M_SKIPPED);
        emit BatchSettled(seq, nFills - skipped, skipped);
    }

    /// @dev Walks the packed batch once: checks its structure, writes the context words and one
    ///      order block per order (decoded fields, signature position) and moves the free memory
    ///      pointer past the layout. Reverts {MalformedBatch} on any structural fault, so every
    ///      later calldata read stays inside `batch`.
    function _parse(uint64 seq, bytes calldata batch) internal view {
        // The layout starts at 0x80: nothing may be allocated before it. Under the IR pipeline the
        // compiler would reserve memory there only if it had to move stack variables to memory;
        // this assert makes every settleBatch test fail if a compiler change ever does.
        assert(_mload(0x40) == M_SEQ);
        if (batch.length < HEADER_BYTES) revert MalformedBatch(0);
        bytes32 domainSep = _domainSeparatorV4();
        bytes32 skipTopic = FillSkipped.selector;
        uint256 start;
        uint256 at;
        assembly ("memory-safe") {
            start := batch.offset
            let w := calldataload(start)
            let nSeries := shr(240, w)
            let nOrders := and(shr(224, w), 0xffff)
            let nFees := and(shr(192, w), 0xffff)
            let table := add(start, HEADER_BYTES)
            let fees := add(table, shl(5, nSeries))
            at := add(fees, shl(5, nFees))
            mstore(M_FEES, fees)
            mstore(M_NFEES, nFees)
            mstore(M_SEQ, seq)
            mstore(M_DOMAIN, domainSep)
            mstore(M_NORDERS, nOrders)
            mstore(M_NFILLS, and(shr(208, w), 0xffff))
            mstore(M_SKIPPED, 0)
            mstore(M_TABLE, table)
            let series := add(M_ORDERS, mul(nOrders, ORDER_BLOCK_BYTES))
            mstore(M_SERIES, series)
            mstore(M_NSERIES, nSeries)
            // the layout is allocated from here on: Solidity code below allocates past it
            mstore(0x40, add(series, mul(nSeries, SERIES_ENTRY_BYTES)))
            mstore(M_POS_BASE, _positions.slot)
            mstore(M_ORD_BASE, _orders.slot)
            mstore(M_NONCE_BASE, minNonce.slot)
            mstore(M_BAL_BASE, _balances.slot)
            mstore(M_TOPIC_SKIP, skipTopic)
        }
        uint256 end = start + batch.length;
        if (at > end) revert MalformedBatch(at - start);
        bytes32 typeHash = OrderLib.TYPE_HASH;
        bytes4 malformed = MalformedBatch.selector;
        assembly ("memory-safe") {
            function fail(sel, offset) {
                mstore(0x00, sel)
                mstore(0x04, offset)
                revert(0x00, 0x24)
            }
            // the five compact integers from `q` into words 0x80-0x100 of block `p`; `bad` if a
            // length exceeds 32 (the caller checks the end, and `diagnose` finds the culprit)
            function ints(p, q) -> next, bad {
                let len := byte(0, calldataload(q))
                mstore(add(p, 0x80), shr(sub(256, shl(3, len)), calldataload(add(q, 1))))
                bad := gt(len, 32)
                q := add(add(q, 1), len)
                len := byte(0, calldataload(q))
                mstore(add(p, 0xa0), shr(sub(256, shl(3, len)), calldataload(add(q, 1))))
                bad := or(bad, gt(len, 32))
                q := add(add(q, 1), len)
                len := byte(0, calldataload(q))
                mstore(add(p, 0xc0), shr(sub(256, shl(3, len)), calldataload(add(q, 1))))
                bad := or(bad, gt(len, 32))
                q := add(add(q, 1), len)
                len := byte(0, calldataload(q))
                mstore(add(p, 0xe0), shr(sub(256, shl(3, len)), calldataload(add(q, 1))))
                bad := or(bad, gt(len, 32))
                q := add(add(q, 1), len)
                len := byte(0, calldataload(q))
                mstore(add(p, 0x100), shr(sub(256, shl(3, len)), calldataload(add(q, 1))))
                bad := or(bad, gt(len, 32))
                next := add(add(q, 1), len)
            }
            // reverts with the offset of the first fault of the order record at `at_` (called when
            // the straight decode below found one): the record's start if it is shorter than its
            // fixed part or has a series index or flags out of range, else the first length byte
            // over 32 or running past the end, else the signature length (flag bit 1) or the
            // signature running past the end
            function diagnose(at_, start_, end_, sel) {
                if gt(add(at_, ORDER_FIXED_BYTES), end_) { fail(sel, sub(at_, start_)) }
                let w := calldataload(at_)
                let flags := and(shr(72, w), 0xff)
                if or(iszero(lt(and(shr(80, w), 0xffff), mload(M_NSERIES))), gt(flags, 7)) { fail(sel, sub(at_, start_)) }
                let q := add(at_, ORDER_FIXED_BYTES)
                for { let i := 0 } lt(i, 5) { i := add(i, 1) } {
                    let len := byte(0, calldataload(q))
                    let next := add(add(q, 1), len)
                    if or(gt(len, 32), gt(next, end_)) { fail(sel, sub(q, start_)) }
                    q := next
                }
                if and(flags, 2) {
                    if gt(add(q, 2), end_) { fail(sel, sub(q, start_)) }
                    q := add(q, 2)
                }
                fail(sel, sub(q, start_))
            }
            // Each order record into its block, straight through, testing every fault at once
            // (calldataload past the end reads zeros, so the pass is harmless on any input); on a
            // fault `diagnose` reverts with its exact offset.
            let series := mload(M_SERIES)
            for { let p := M_ORDERS } lt(p, series) { p := add(p, ORDER_BLOCK_BYTES) } {
                let w := calldataload(at)
                let si := and(shr(80, w), 0xffff)
                let flags := and(shr(72, w), 0xff)
                mstore(p, typeHash)
                mstore(add(p, 0x20), shr(96, w))
                mstore(add(p, 0x40), calldataload(add(mload(M_TABLE), shl(5, si))))
                mstore(add(p, 0x60), and(flags, 1))
                let q, bad := ints(p, add(at, ORDER_FIXED_BYTES))
                mstore(add(p, 0xe0), or(mload(add(p, 0xe0)), shl(253, and(flags, 4)))) // flag bit 2 (one-shot): nonce bit 255
                let len := ECDSA_SIG_BYTES
                if and(flags, 2) {
                    len := shr(240, calldataload(q))
                    q := add(q, 2)
                }
                mstore(add(p, 0x120), or(q, shl(32, len)))
                mstore(add(p, 0x140), add(series, mul(si, SERIES_ENTRY_BYTES)))
                calldatacopy(add(p, 0x160), calldatasize(), 0xa0) // digest and slots: not computed yet
                q := add(q, len)
                if or(or(bad, gt(q, end)), or(iszero(lt(si, mload(M_NSERIES))), gt(flags, 7))) {
                    diagnose(at, start, end, malformed)
                }
                at := q
            }
            if iszero(eq(sub(end, at), mul(mload(M_NFILLS), FILL_BYTES))) { fail(malformed, sub(at, start)) }
            mstore(M_FILLS, at)
            calldatacopy(series, calldatasize(), mul(mload(M_NSERIES), SERIES_ENTRY_BYTES)) // series cache: zeroed
        }
    }

    /// @dev Loads each series of the batch's table from the registry into its cache entry (an
    ///      unknown series is cached too: underlying 0, unit 1).
    function _loadSeries() internal view {
        uint256 n = _mload(M_NSERIES);
        uint256 table = _mload(M_TABLE);
        uint256 e = _mload(M_SERIES);
        for (uint256 i; i < n; ++i) {
            bytes32 id;
            assembly ("memory-safe") {
                id := calldataload(add(table, shl(5, i)))
            }
            ISeriesRegistry.Series memory s = registry.seriesOf(id);
            uint256 unit = s.underlyingUnit == 0 ? 1 : s.underlyingUnit;
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
            e += SERIES_ENTRY_BYTES;
        }
    }

    /// @dev Decides the signature of order block `p` the slow way ({_isValidSignature}: delegates,
    ///      ERC-1271, rejections) and caches the verdict in its meta word.
    function _slowVerdict(uint256 p) internal view {
        address account;
        bytes32 orderHash;
        uint256 meta;
        assembly ("memory-safe") {
            account := mload(add(p, 0x20))
            meta := mload(add(p, 0x120))
            orderHash := mload(add(p, 0x160))
        }
        uint256 sigAt = meta & 0xffffffff; // absolute calldata offset
        uint256 sigLen = (meta >> 32) & 0xffff;
        meta |= _isValidSignature(account, orderHash, msg.data[sigAt:sigAt + sigLen]) ? META_VALID : META_INVALID;
        assembly ("memory-safe") {
            mstore(add(p, 0x120), meta)
        }
    }

    /// @dev Adds each series' fees of the batch to `accruedFees` of its quote asset (one write per
    ///      series instead of one per fill; each sum < 2**145).
    function _flushFees() internal {
        assembly ("memory-safe") {
            let e := mload(M_SERIES)
            for { let end := add(e, mul(mload(M_NSERIES), SERIES_ENTRY_BYTES)) } lt(e, end) {
                e := add(e, SERIES_ENTRY_BYTES)
            } {
                let fees := mload(add(e, 0xc0))
                if fees {
                    mstore(0x00, mload(add(e, 0x20)))
                    mstore(0x20, accruedFees.slot)
                    let fs := keccak256(0x00, 0x40)
                    sstore(fs, add(sload(fs), fees))
                }
            }
        }
    }

    /// @dev Runs the fills from index `from` on, each in two steps: validate and compute every
    ///      effect into memory (no writes), then write each touched slot once and emit {Trade}; a
    ///      failed check emits {FillSkipped} and writes nothing. Returns when all fills ran
    ///      (`slowOrder` 0) or when fill `next` needs an order's signature decided by
    ///      {_slowVerdict} (`slowOrder` is its block); nothing of that fill was written yet.
    function _run(uint256 from) internal returns (uint256 next, uint256 slowOrder) {
        assembly ("memory-safe") {
            // slot of m[a][k] for a two-level mapping stored at `base` (Solidity's layout)
            function slotOf(a, base, k) -> s {
                mstore(0x00, a)
                mstore(0x20, base)
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, k)
                s := keccak256(0x00, 0x40)
            }
            // reads the fill record and runs the checks that need no state: all at once (one branch
            // for the common case), then `reason` finds the first that failed, in SkipReason order
            function check(at) -> r {
                let w := calldataload(at)
                let n := mload(M_NORDERS)
                let mi := shr(240, w)
                let ti := and(shr(224, w), 0xffff)
                let fi := and(shr(208, w), 0xffff)
                // indexes first: an order block read out of range could expand memory without bound
                if iszero(and(and(lt(mi, n), lt(ti, n)), lt(fi, mload(M_NFEES)))) {
                    r := 26 // BadFeeIndex
                    if iszero(and(lt(mi, n), lt(ti, n))) { r := 23 } // BadOrderIndex
                    leave
                }
                let amount := and(shr(80, w), 0xffffffffffffffffffffffffffffffff)
                let rates := calldataload(add(mload(M_FEES), shl(5, fi))) // makerFeeRate << 128 | takerFeeRate
                let m := add(M_ORDERS, mul(mi, ORDER_BLOCK_BYTES))
                let t := add(M_ORDERS, mul(ti, ORDER_BLOCK_BYTES))
                mstore(M_MAKER_ORDER, m)
                mstore(M_TAKER_ORDER, t)
                mstore(M_AMOUNT, amount)
                mstore(M_MFEE_RATE, shr(128, rates))
                mstore(M_TFEE_RATE, and(rates, 0xffffffffffffffffffffffffffffffff))
                let mp := mload(add(m, 0x80))
                // crossed: a selling maker needs takerPrice >= makerPrice, a buying one the reverse;
                // xor with d swaps the two prices when the maker buys (isBuy is 0 or 1)
                let d := mul(mload(add(m, 0x60)), xor(mp, mload(add(t, 0x80))))
                let e := mload(add(m, 0x140))
                if or(
                    or(
                        or(
                            or(iszero(amount), gt(amount, 0x7fffffffffffffffffffffffffffffff)),
                            or(gt(mp, 0xffffffffffffffffffffffffffffffff), xor(mload(add(m, 0x40)), mload(add(t, 0x40))))
                        ),
                        or(
                            or(eq(mload(add(m, 0x60)), mload(add(t, 0x60))), eq(mload(add(m, 0x20)), mload(add(t, 0x20)))),
                            lt(xor(mload(add(t, 0x80)), d), xor(mp, d))
                        )
                    ),
                    or(
                        or(
                            or(gt(shr(128, rates), mload(add(m, 0xc0))), gt(and(rates, 0xffffffffffffffffffffffffffffffff), mload(add(t, 0xc0)))),
                            or(gt(timestamp(), mload(add(m, 0x100))), gt(timestamp(), mload(add(t, 0x100))))
                        ),
                        or(iszero(mload(e)), iszero(lt(timestamp(), mload(add(e, 0x60)))))
                    )
                ) { r := reason(m, t, amount) }
            }
            // the first check of `check` that failed, in SkipReason order
            function reason(m, t, amount) -> r {
                if iszero(amount) {
                    r := 1 // ZeroAmount
                    leave
                }
                let mp := mload(add(m, 0x80))
                if or(gt(amount, 0x7fffffffffffffffffffffffffffffff), gt(mp, 0xffffffffffffffffffffffffffffffff)) {
                    r := 2 // AmountTooLarge
                    leave
                }
                if iszero(eq(mload(add(m, 0x40)), mload(add(t, 0x40)))) {
                    r := 3 // SeriesMismatch
                    leave
                }
                let makerIsBuy := mload(add(m, 0x60))
                if eq(makerIsBuy, mload(add(t, 0x60))) {
                    r := 4 // SameSide
                    leave
                }
                if eq(mload(add(m, 0x20)), mload(add(t, 0x20))) {
                    r := 5 // SelfTrade
                    leave
                }
                switch makerIsBuy
                case 0 { r := lt(mload(add(t, 0x80)), mp) }
                default { r := lt(mp, mload(add(t, 0x80))) }
                if r {
                    r := 6 // PriceNotCrossed
                    leave
                }
                if gt(mload(M_MFEE_RATE), mload(add(m, 0xc0))) {
                    r := 7 // MakerFeeAboveCap
                    leave
                }
                if gt(mload(M_TFEE_RATE), mload(add(t, 0xc0))) {
                    r := 8 // TakerFeeAboveCap
                    leave
                }
                if gt(timestamp(), mload(add(m, 0x100))) {
                    r := 9 // MakerOrderExpired
                    leave
                }
                if gt(timestamp(), mload(add(t, 0x100))) {
                    r := 10 // TakerOrderExpired
                    leave
                }
                let e := mload(add(m, 0x140))
                if iszero(mload(e)) {
                    r := 11 // UnknownSeries
                    leave
                }
                if iszero(lt(timestamp(), mload(add(e, 0x60)))) { r := 12 } // SeriesExpired
            }
            // caches the order's EIP-712 digest (once per batch): its block starts with the struct
            // preimage
            function orderDigest(p) {
                mstore(M_SCRATCH, shl(240, 0x1901))
                mstore(add(M_SCRATCH, 0x02), mload(M_DOMAIN))
                mstore(add(M_SCRATCH, 0x22), keccak256(p, 0x120))
                mstore(add(p, 0x160), keccak256(M_SCRATCH, 0x42))
            }
            // 0 ok, else the maker-side reason (1 nonce floor, 15 cancelled, 17 overfill, 24 spent);
            // reads the signer's position word (kept for `party`) and the order's own state
            function orderState(p, fx) -> r {
                let ps := mload(add(p, 0x180))
                if iszero(ps) {
                    ps := slotOf(mload(add(p, 0x20)), mload(M_POS_BASE), mload(add(p, 0x40)))
                    mstore(add(p, 0x180), ps)
                }
                let word := sload(ps)
                mstore(add(fx, 0xa0), word)
                switch shr(255, mload(add(p, 0xe0)))
                case 0 { r := ordinaryState(p, fx, word) }
                default { r := oneShotState(p, fx, word) }
            }
            // nonce floor (once per order and batch), cancel bit and filled amount
            function ordinaryState(p, fx, word) -> r {
                mstore(add(fx, 0xc0), and(word, not(0xffffffffffffffffffffffffffffffff)))
                let meta := mload(add(p, 0x120))
                if iszero(and(meta, META_NONCE_OK)) {
                    mstore(0x00, mload(add(p, 0x20)))
                    mstore(0x20, mload(M_NONCE_BASE))
                    if lt(mload(add(p, 0xe0)), sload(keccak256(0x00, 0x40))) {
                        r := 1
                        leave
                    }
                    mstore(add(p, 0x120), or(meta, META_NONCE_OK))
                }
                let os := mload(add(p, 0x1a0))
                if iszero(os) {
                    os := slotOf(mload(add(p, 0x20)), mload(M_ORD_BASE), mload(add(p, 0x160)))
                    mstore(add(p, 0x1a0), os)
                }
                let st := sload(os)
                if and(st, CANCELLED_BIT) {
                    r := 15 // OrderCancelled
                    leave
                }
                st := add(st, mload(M_AMOUNT)) // st < 2**128, amount < 2**127
                if gt(st, mload(add(p, 0xa0))) {
                    r := 17 // Overfill
                    leave
                }
                mstore(add(fx, 0x80), st)
            }
            // a one-shot order: its first fill in this batch spends its number in the signer's
            // window (the rule of `_spend`); every fill adds to the amount filled in this batch
            function oneShotState(p, fx, word) -> r {
                let meta := mload(add(p, 0x120))
                switch and(meta, META_CLAIMED)
                case 0 {
                    let seq := and(mload(add(p, 0xe0)), 0xffffffffffffffff)
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
                    mstore(add(fx, 0xc0), or(shl(128, base), shl(192, or(bits, shl(d, 1)))))
                }
                default { mstore(add(fx, 0xc0), and(word, not(0xffffffffffffffffffffffffffffffff))) }
                let filled := add(shr(128, meta), mload(M_AMOUNT))
                if gt(filled, mload(add(p, 0xa0))) {
                    r := 17
                    leave
                }
                mstore(add(fx, 0x80), or(META_CLAIMED, shl(128, filled)))
            }
            // 0 valid, 1 invalid, 2 not decided by the fast path; `fill` calls it only while no
            // valid verdict is cached. Fast path: a 65-byte ECDSA signature by the account itself,
            // with OpenZeppelin's rules (s in the lower half order, v 27 or 28, the zero address
            // never matches). Verdicts are cached per order.
            function verdict(p) -> r {
                let meta := mload(add(p, 0x120))
                switch and(meta, META_INVALID)
                case 0 {
                    // not decided yet: the ECDSA fast path caches valid, else 2 (the slow path decides)
                    r := 2
                    if eq(and(shr(32, meta), 0xffff), ECDSA_SIG_BYTES) {
                        let sa := and(meta, 0xffffffff)
                        let sv := calldataload(add(sa, 0x20))
                        let v := byte(0, calldataload(add(sa, 0x40)))
                        if and(lt(sv, 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A1), or(eq(v, 27), eq(v, 28))) {
                            mstore(M_SCRATCH, mload(add(p, 0x160)))
                            mstore(add(M_SCRATCH, 0x20), v)
                            mstore(add(M_SCRATCH, 0x40), calldataload(sa))
                            mstore(add(M_SCRATCH, 0x60), sv)
                            if staticcall(gas(), 1, M_SCRATCH, 0x80, M_SCRATCH, 0x20) {
                                let account := mload(add(p, 0x20))
                                if and(eq(returndatasize(), 0x20), and(eq(mload(M_SCRATCH), account), iszero(iszero(account)))) {
                                    mstore(add(p, 0x120), or(meta, META_VALID))
                                    r := 0
                                }
                            }
                        }
                    }
                }
                default { r := 1 } // cached invalid
            }
            // collateral required by a position: a short call locks one underlying unit per option,
            // a short put the strike in quote per option (rounded up: in the vault's favour)
            function required(e, pos) -> q {
                if slt(pos, 0) {
                    q := sub(0, pos)
                    if iszero(mload(add(e, 0x80))) {
                        let x := mul(mload(add(e, 0x40)), q) // strike < 2**128, q < 2**128
                        let unit := mload(add(e, 0xa0))
                        q := add(div(x, unit), iszero(iszero(mod(x, unit))))
                    }
                }
            }
            // one party's new position and quote balance (collateral moves between free and locked
            // so that locked stays equal to required(position)): 0 ok, 1 insufficient free
            // balance, 2 a bound exceeded
            function party(p, fx, fee) -> st {
                let amount := mload(M_AMOUNT)
                let buy := mload(add(p, 0x60))
                let oldPos := signextend(15, mload(add(fx, 0xa0)))
                let newPos := add(oldPos, sub(mul(buy, shl(1, amount)), amount)) // +amount if buy, else -amount
                // |newPos| <= 2**127 - 1, i.e. newPos + (2**127 - 1) in [0, 2**128 - 2] (unsigned)
                if gt(add(newPos, 0x7fffffffffffffffffffffffffffffff), 0xfffffffffffffffffffffffffffffffe) {
                    st := 2
                    leave
                }
                mstore(fx, or(and(newPos, 0xffffffffffffffffffffffffffffffff), mload(add(fx, 0xc0))))
                let e := mload(add(p, 0x140))
                let reqOld := 0
                let reqNew := 0
                if slt(or(oldPos, newPos), 0) {
                    // a short position before or after: collateral is required
                    reqOld := required(e, oldPos)
                    reqNew := required(e, newPos)
                }
                let qs := mload(add(p, 0x1c0))
                if iszero(qs) {
                    qs := slotOf(mload(add(p, 0x20)), mload(M_BAL_BASE), mload(add(e, 0x20)))
                    mstore(add(p, 0x1c0), qs)
                }
                let qb := sload(qs)
                // the buyer pays the premium, the seller receives it, each pays its fee; all terms
                // < 2**130: plain signed arithmetic cannot overflow
                let premium := mload(M_PREMIUM)
                let qFree := sub(add(and(qb, 0xffffffffffffffffffffffffffffffff), sub(premium, mul(buy, shl(1, premium)))), fee)
                let qLocked := shr(128, qb)
                mstore(add(fx, 0x40), 0)
                if iszero(eq(reqNew, reqOld)) {
                    switch mload(add(e, 0x80))
                    case 1 {
                        st := collateral(p, fx, e, reqOld, reqNew)
                        if st { leave }
                    }
                    default {
                        qFree := sub(add(qFree, reqOld), reqNew)
                        qLocked := sub(add(qLocked, reqNew), reqOld)
                    }
                }
                if slt(qFree, 0) {
                    st := 1
                    leave
                }
                if gt(or(qFree, qLocked), 0xffffffffffffffffffffffffffffffff) {
                    st := 2
                    leave
                }
                mstore(add(fx, 0x20), or(qFree, shl(128, qLocked)))
            }
            // a call's collateral is the underlying: moves between its free and locked halves
            function collateral(p, fx, e, reqOld, reqNew) -> st {
                let cs := mload(add(p, 0x1e0))
                if iszero(cs) {
                    cs := slotOf(mload(add(p, 0x20)), mload(M_BAL_BASE), mload(e))
                    mstore(add(p, 0x1e0), cs)
                }
                let cb := sload(cs)
                let cFree := sub(add(and(cb, 0xffffffffffffffffffffffffffffffff), reqOld), reqNew)
                let cLocked := sub(add(shr(128, cb), reqNew), reqOld) // locked >= reqOld (vault invariant)
                if slt(cFree, 0) {
                    st := 1
                    leave
                }
                if gt(or(cFree, cLocked), 0xffffffffffffffffffffffffffffffff) {
                    st := 2
                    leave
                }
                mstore(add(fx, 0x40), cs)
                mstore(add(fx, 0x60), or(cFree, shl(128, cLocked)))
            }
            // premium and fees (the maker set the price: the premium rounds in its favour, up when
            // the taker pays), then both parties; 0 ok or a SkipReason
            function money(m, t) -> r {
                let e := mload(add(m, 0x140))
                let unit := mload(add(e, 0xa0))
                let amount := mload(M_AMOUNT)
                let pa := mul(mload(add(m, 0x80)), amount) // price < 2**128, amount < 2**127
                let premium := div(pa, unit)
                if iszero(mload(add(m, 0x60))) { premium := add(premium, iszero(iszero(mod(pa, unit)))) }
                let mf := div(mul(mload(M_MFEE_RATE), amount), unit) // rates < 2**128
                let tf := div(mul(mload(M_TFEE_RATE), amount), unit)
                if gt(or(premium, or(mf, tf)), 0xffffffffffffffffffffffffffffffff) {
                    r := 2 // AmountTooLarge
                    leave
                }
                mstore(M_PREMIUM, premium)
                mstore(M_MFEE, mf)
                mstore(M_TFEE, tf)
                let st := party(m, M_MAKER_FX, mf)
                if st {
                    r := 2
                    if eq(st, 1) { r := 21 } // MakerInsufficientFunds
                    leave
                }
                st := party(t, M_TAKER_FX, tf)
                if st {
                    r := 2
                    if eq(st, 1) { r := 22 } // TakerInsufficientFunds
                }
            }
            // writes one side's effects
            function write(p, fx) {
                switch shr(255, mload(add(p, 0xe0)))
                case 0 { sstore(mload(add(p, 0x1a0)), mload(add(fx, 0x80))) }
                default {
                    let mp := add(p, 0x120)
                    mstore(mp, or(and(mload(mp), 0xffffffffffffffffffffffffffffffff), mload(add(fx, 0x80))))
                }
                sstore(mload(add(p, 0x180)), mload(fx))
                sstore(mload(add(p, 0x1c0)), mload(add(fx, 0x20)))
                let cs := mload(add(fx, 0x40))
                if cs { sstore(cs, mload(add(fx, 0x60))) }
            }
            // one fill: 0 (executed), a SkipReason, or NEEDS_SLOW_CHECK (nothing written)
            function fill(at, index) -> r {
                let rc := check(at)
                if rc {
                    r := rc
                    leave
                }
                let m := mload(M_MAKER_ORDER)
                let t := mload(M_TAKER_ORDER)
                if iszero(mload(add(m, 0x160))) { orderDigest(m) }
                if iszero(mload(add(t, 0x160))) { orderDigest(t) }
                let rm := orderState(m, M_MAKER_FX)
                if rm {
                    r := rm
                    if eq(rm, 1) { r := 13 } // MakerNonceCancelled; else the maker-side code
                    leave
                }
                let rt := orderState(t, M_TAKER_FX)
                if rt {
                    r := add(rt, 1) // the taker-side code follows the maker-side one
                    if eq(rt, 1) { r := 14 } // TakerNonceCancelled
                    leave
                }
                if iszero(and(mload(add(m, 0x120)), META_VALID)) {
                    let vm := verdict(m)
                    if vm {
                        r := 19 // MakerBadSignature
                        if eq(vm, 2) {
                            mstore(M_SLOW, m)
                            r := NEEDS_SLOW_CHECK
                        }
                        leave
                    }
                }
                if iszero(and(mload(add(t, 0x120)), META_VALID)) {
                    let vt := verdict(t)
                    if vt {
                        r := 20 // TakerBadSignature
                        if eq(vt, 2) {
                            mstore(M_SLOW, t)
                            r := NEEDS_SLOW_CHECK
                        }
                        leave
                    }
                }
                let rmoney := money(m, t)
                if rmoney {
                    r := rmoney
                    leave
                }
                write(m, M_MAKER_FX)
                write(t, M_TAKER_FX)
                let mf := mload(M_MFEE)
                let tf := mload(M_TFEE)
                // fees are summed per series of the batch and written once by _flushFees
                let fp := add(mload(add(m, 0x140)), 0xc0)
                mstore(fp, add(mload(fp), add(mf, tf)))
                // Trade (anonymous: LOG0): series, maker, taker, premium << 128 | seq << 24 | index << 8
                // | makerIsBuy, amount << 128 | price, makerFee << 128 | takerFee (parts < 2**128)
                mstore(M_SCRATCH, mload(add(m, 0x40)))
                mstore(add(M_SCRATCH, 0x20), mload(add(m, 0x20)))
                mstore(add(M_SCRATCH, 0x40), mload(add(t, 0x20)))
                mstore(add(M_SCRATCH, 0x60), or(or(shl(128, mload(M_PREMIUM)), shl(24, mload(M_SEQ))), or(shl(8, index), mload(add(m, 0x60)))))
                mstore(add(M_SCRATCH, 0x80), or(shl(128, mload(M_AMOUNT)), mload(add(m, 0x80))))
                mstore(add(M_SCRATCH, 0xa0), or(shl(128, mf), tf))
                log0(M_SCRATCH, 0xc0)
            }
            let n := mload(M_NFILLS)
            let fillsAt := mload(M_FILLS)
            for { next := from } lt(next, n) { next := add(next, 1) } {
                let r := fill(add(fillsAt, mul(next, FILL_BYTES)), next)
                if r {
                    if eq(r, NEEDS_SLOW_CHECK) {
                        slowOrder := mload(M_SLOW)
                        break
                    }
                    mstore(M_SKIPPED, add(mload(M_SKIPPED), 1))
                    mstore(M_SCRATCH, next)
                    mstore(add(M_SCRATCH, 0x20), r)
                    log2(M_SCRATCH, 0x40, mload(M_TOPIC_SKIP), mload(M_SEQ))
                }
            }
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
