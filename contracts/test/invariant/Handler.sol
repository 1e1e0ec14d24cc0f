// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Batches, BatchFill, SignedOrder, TestFill} from "../utils/Batches.sol";
import {Cheats} from "../utils/Cheats.sol";
import {Exchange} from "../../src/Exchange.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {SettlementOracle} from "../../src/SettlementOracle.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice Bounded actions on a deployed Strikebook for the invariant campaign. Every action is
///         shaped so that it cannot revert (fail_on_revert = true): invalid fills are expected to
///         be skipped, not to revert. Ghost variables record what the invariants check.
contract Handler {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    Exchange public immutable exchange;
    SettlementOracle public immutable oracle;
    TestToken public immutable weth;
    TestToken public immutable usdc;
    bytes32 public immutable callId;
    bytes32 public immutable putId;
    uint256 public immutable seriesExpiry;
    uint256 public immutable strike;

    uint256 internal constant ONE = 1e18;

    address[] public actors;
    uint256[] internal keys;
    /// @dev Each actor's registered delegate (hot) key: orders it signs take the exchange's slow
    ///      signature path (`_isValidSignature`) in the middle of a batch.
    uint256[] internal delegateKeys;
    uint256[] internal oracleKeys; // sorted by address

    struct Tracked {
        OrderLib.Order order;
        bytes signature;
        uint256 key;
        bytes32 hash;
    }

    Tracked[] internal orders;

    // ---- ghosts
    uint256 public ghostNow;
    uint64 public ghostBatches;
    uint256 public ghostTrades;
    uint256 public ghostSkips;
    /// @dev Fills whose maker order was signed by its maker's delegate key (slow signature path).
    uint256 public ghostDelegateSigned;
    bool public ghostReplayAccepted;
    bool public ghostDeadOrderFilled;
    /// @dev Options filled per order digest, summed from Trade events (the only record of a
    ///      one-shot order's fills), and the batch of a one-shot order's first fill.
    mapping(bytes32 orderHash => uint256) public ghostFilled;
    mapping(bytes32 orderHash => uint64) internal ghostFirstBatch;
    bool public ghostOneShotInTwoBatches;
    mapping(bytes32 orderHash => bool) public isOneShot;
    mapping(address actor => uint64) internal nextOneShot;
    mapping(address actor => uint256) internal nextNonce;
    uint256 internal constant ONE_SHOT = 1 << 255;
    bool internal nextIsOneShot;
    mapping(bytes32 => uint256) public calls;

    constructor(
        Exchange exchange_,
        SettlementOracle oracle_,
        TestToken weth_,
        TestToken usdc_,
        bytes32 callId_,
        bytes32 putId_,
        uint256 expiry_,
        uint256 strike_,
        uint256[] memory actorKeys,
        uint256[] memory sortedOracleKeys
    ) {
        exchange = exchange_;
        oracle = oracle_;
        weth = weth_;
        usdc = usdc_;
        callId = callId_;
        putId = putId_;
        seriesExpiry = expiry_;
        strike = strike_;
        for (uint256 i; i < actorKeys.length; ++i) {
            keys.push(actorKeys[i]);
            actors.push(vm.addr(actorKeys[i]));
            uint256 hot = uint256(keccak256(abi.encode("delegate", i)));
            delegateKeys.push(hot);
            vm.prank(actors[i]);
            exchange_.setDelegate(vm.addr(hot), block.timestamp + 3650 days);
        }
        oracleKeys = sortedOracleKeys;
        ghostNow = block.timestamp;
    }

    modifier tick(string memory name) {
        vm.warp(ghostNow);
        calls[keccak256(bytes(name))]++;
        _;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function orderCount() external view returns (uint256) {
        return orders.length;
    }

    function orderAt(uint256 i) external view returns (OrderLib.Order memory, bytes32) {
        return (orders[i].order, orders[i].hash);
    }

    // ------------------------------------------------------------------ money

    function deposit(uint256 actorSeed, bool isWeth, uint256 amount) external tick("deposit") {
        address a = actors[actorSeed % actors.length];
        TestToken t = isWeth ? weth : usdc;
        amount = _bound(amount, 1, isWeth ? 1_000 * ONE : 5_000_000e6);
        t.mint(a, amount);
        vm.startPrank(a);
        t.approve(address(exchange), amount);
        exchange.deposit(address(t), amount);
        vm.stopPrank();
    }

    function withdraw(uint256 actorSeed, bool isWeth, uint256 amount) external tick("withdraw") {
        address a = actors[actorSeed % actors.length];
        TestToken t = isWeth ? weth : usdc;
        (uint256 free,) = exchange.balanceOf(a, address(t));
        if (free == 0) return;
        amount = _bound(amount, 1, free);
        vm.prank(a);
        exchange.withdraw(address(t), amount);
    }

    function collectFees(bool isWeth) external tick("collectFees") {
        address t = isWeth ? address(weth) : address(usdc);
        if (exchange.accruedFees(t) == 0) return;
        exchange.collectFees(t);
    }

    // ------------------------------------------------------------------ trading

    /// @dev Creates and signs a new order for an actor.
    function _newOrder(uint256 actorIdx, bytes32 series, bool isBuy, uint256 price, uint256 amount, uint256 expiry)
        internal
        returns (uint256 idx)
    {
        bool oneShotNext = nextIsOneShot;
        nextIsOneShot = false;
        address a = actors[actorIdx];
        Tracked storage t = orders.push();
        t.order = OrderLib.Order({
            maker: a,
            series: series,
            isBuy: isBuy,
            price: price,
            amount: amount,
            maxFee: 2e6,
            nonce: oneShotNext ? ONE_SHOT | nextOneShot[a]++ : exchange.minNonce(a) + nextNonce[a]++,
            expiry: expiry
        });
        t.key = keys[actorIdx];
        _signTracked(t);
        if (oneShotNext) isOneShot[t.hash] = true;
        return orders.length - 1;
    }

    function _signTracked(Tracked storage t) internal {
        bytes32 h = exchange.hashOrder(t.order);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(t.key, h);
        t.hash = h;
        t.signature = abi.encodePacked(r, s, v);
    }

    /// @dev Submits a batch of 1-4 fills. Each fill either pairs two new orders or reuses tracked
    ///      orders; `mutation` picks an invalidation (bad signature, wrong fee, overfill...) or none.
    ///      Orders shared by several fills travel once (Batches.encode) and are referenced by index.
    function settleBatch(uint256 seed, uint8 fillCount) external tick("settleBatch") {
        uint256 n = _bound(fillCount, 1, 4);
        TestFill[] memory fills = new TestFill[](n);
        for (uint256 i; i < n; ++i) {
            fills[i] = _makeFill(uint256(keccak256(abi.encode(seed, i))));
        }
        Dead[] memory dead = _deadOrders(fills);
        uint64 seq = exchange.lastSeq() + 1;
        (SignedOrder[] memory encOrders, BatchFill[] memory encFills) = Batches.encode(fills);
        // Sometimes the last fill points past the end of `orders`: skipped (BadOrderIndex), never a revert.
        if (seed % 8 == 0) encFills[n - 1].takerOrder = encOrders.length + (seed >> 240);
        vm.recordLogs();
        exchange.settleBatch(seq, Batches.pack(encOrders, encFills));
        ghostBatches++;
        _countLogs(seq, fills);
        _checkDead(dead);
        // A resubmission of the same seq must never apply.
        try exchange.settleBatch(seq, Batches.pack(encOrders, encFills)) {
            ghostReplayAccepted = true;
        } catch {}
    }

    struct Dead {
        address maker;
        bytes32 hash;
        uint256 filled;
        bool oneShot;
    }

    /// @dev The orders that must not fill: cancelled by hash or nonce, or expired, right now.
    function _deadOrders(TestFill[] memory fills) internal view returns (Dead[] memory dead) {
        dead = new Dead[](2 * fills.length);
        for (uint256 i; i < fills.length; ++i) {
            dead[2 * i] = _deadness(fills[i].maker);
            dead[2 * i + 1] = _deadness(fills[i].taker);
        }
    }

    function _deadness(OrderLib.Order memory o) internal view returns (Dead memory d) {
        bytes32 h = exchange.hashOrder(o);
        if (o.nonce >= ONE_SHOT) {
            if (exchange.isOneShotSpent(o.maker, o.series, uint64(o.nonce)) || block.timestamp > o.expiry) {
                d = Dead(o.maker, h, ghostFilled[h], true);
            }
            return d;
        }
        (uint256 filled, bool cancelled) = exchange.orderState(o.maker, h);
        if (cancelled || o.nonce < exchange.minNonce(o.maker) || block.timestamp > o.expiry) {
            d = Dead(o.maker, h, filled, false);
        }
    }

    function _checkDead(Dead[] memory dead) internal {
        for (uint256 i; i < dead.length; ++i) {
            if (dead[i].hash == bytes32(0)) continue;
            uint256 filled = ghostFilled[dead[i].hash];
            if (!dead[i].oneShot) (filled,) = exchange.orderState(dead[i].maker, dead[i].hash);
            if (filled != dead[i].filled) ghostDeadOrderFilled = true;
        }
    }

    /// @dev Counts the batch's logs and sums each Trade's amount onto its two orders. A Trade
    ///      (anonymous: the only log without topics) names its fill by index; the orders are that
    ///      fill's, as in the calldata.
    function _countLogs(uint64 seq, TestFill[] memory fills) internal {
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics.length == 0) {
                ghostTrades++;
                (,,, uint256 premiumFill, uint256 amountPrice) =
                    abi.decode(logs[i].data, (bytes32, address, address, uint256, uint256));
                require(uint64(premiumFill >> 24) == seq, "Trade of another batch");
                TestFill memory f = fills[uint16(premiumFill >> 8)];
                uint256 amount = amountPrice >> 128;
                _recordFill(exchange.hashOrder(f.maker), amount, seq);
                _recordFill(exchange.hashOrder(f.taker), amount, seq);
            } else if (logs[i].topics[0] == IExchange.FillSkipped.selector) {
                ghostSkips++;
            }
        }
    }

    function _recordFill(bytes32 h, uint256 amount, uint64 seq) internal {
        if (ghostFilled[h] == 0) ghostFirstBatch[h] = seq;
        else if (isOneShot[h] && ghostFirstBatch[h] != seq) ghostOneShotInTwoBatches = true;
        ghostFilled[h] += amount;
    }

    function _makeFill(uint256 seed) internal returns (TestFill memory f) {
        (uint256 makerIdx, uint256 takerIdx, uint256 size) = _pickOrders(seed);
        Tracked storage mk = orders[makerIdx];
        Tracked storage tk = orders[takerIdx];
        f.maker = mk.order;
        f.makerSignature = mk.signature;
        f.taker = tk.order;
        f.takerSignature = tk.signature;
        f.amount = _bound(seed >> 160, 0, size + size / 4);
        f.makerFee = _bound(seed >> 200, 0, 2e6);
        f.takerFee = _bound(seed >> 210, 0, 2e6);

        uint256 mutation = (seed >> 220) % 12;
        if (mutation == 1) f.makerSignature = tk.signature; // wrong signer
        else if (mutation == 2) f.makerFee = 3e6; // above cap
        else if (mutation == 3) f.amount = 0;
        else if (mutation == 4) f.takerSignature = hex"00";
        else if (mutation == 5 && _isActor(f.maker.maker)) {
            f.makerSignature = _signWith(_delegateOf(f.maker.maker), f.maker); // valid, through the slow path
            ghostDelegateSigned++;
        }
    }

    function _isActor(address a) internal view returns (bool) {
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == a) return true;
        }
        return false;
    }

    function _delegateOf(address actor) internal view returns (uint256) {
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == actor) return delegateKeys[i];
        }
        revert("not an actor");
    }

    function _signWith(uint256 key, OrderLib.Order memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, exchange.hashOrder(o));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Either two new crossing orders or two tracked ones (partial fills, overfills,
    ///      cancelled or expired orders, mismatched pairs).
    function _pickOrders(uint256 seed) internal returns (uint256 makerIdx, uint256 takerIdx, uint256 size) {
        if (orders.length > 2 && (seed >> 128) % 3 == 0) {
            makerIdx = (seed >> 136) % orders.length;
            takerIdx = (seed >> 144) % orders.length;
            size = orders[makerIdx].order.amount;
            return (makerIdx, takerIdx, size);
        }
        uint256 nActors = actors.length;
        uint256 mi = seed % nActors;
        uint256 ti = (mi + 1 + (seed >> 8) % (nActors - 1)) % nActors;
        bytes32 series = (seed >> 16) & 1 == 0 ? callId : putId;
        bool makerBuys = (seed >> 17) & 1 == 1;
        uint256 price = _bound(seed >> 24, 0, 300e6);
        size = _bound(seed >> 64, 1, 5 * ONE);
        uint256 expiry = ghostNow + _bound(seed >> 96, 0, 3 days);
        nextIsOneShot = (seed >> 18) & 3 == 0; // now and then a one-shot maker order
        makerIdx = _newOrder(mi, series, makerBuys, price, size, expiry);
        nextIsOneShot = (seed >> 20) & 1 == 1; // half the takers are one-shot (IOC)
        takerIdx = _newOrder(ti, series, !makerBuys, makerBuys ? price / 2 : price + 1e6, size, expiry);
    }

    // ------------------------------------------------------------------ cancels

    function cancelOrder(uint256 orderSeed) external tick("cancelOrder") {
        if (orders.length == 0) return;
        Tracked storage t = orders[orderSeed % orders.length];
        bytes32[] memory hs = new bytes32[](1);
        hs[0] = t.hash;
        vm.prank(t.order.maker);
        exchange.cancelOrders(hs);
    }

    function cancelBelow(uint256 actorSeed, uint256 bump) external tick("cancelBelow") {
        address a = actors[actorSeed % actors.length];
        uint256 floor = exchange.minNonce(a) + _bound(bump, 1, 3);
        vm.prank(a);
        exchange.cancelAllBelow(floor);
        if (nextNonce[a] >= floor - exchange.minNonce(a)) nextNonce[a] = 0;
    }

    function cancelOneShot(uint256 orderSeed) external tick("cancelOneShot") {
        if (orders.length == 0) return;
        Tracked storage t = orders[orderSeed % orders.length];
        if (t.order.nonce < ONE_SHOT) return;
        uint64[] memory seqs = new uint64[](1);
        seqs[0] = uint64(t.order.nonce);
        vm.prank(t.order.maker);
        exchange.cancelOneShot(t.order.series, seqs);
    }

    // ------------------------------------------------------------------ time, oracle, expiry

    function advanceTime(uint256 dt) external tick("advanceTime") {
        ghostNow += _bound(dt, 1, 2 days);
        vm.warp(ghostNow);
    }

    function reportPrice(uint256 price) external tick("reportPrice") {
        if (ghostNow < seriesExpiry) return;
        (, bool fin) = oracle.finalPrice(address(weth), seriesExpiry);
        if (fin) return;
        price = _bound(price, 1, 2 * strike);
        bytes32 d = oracle.reportDigest(address(weth), seriesExpiry, price);
        bytes[] memory sigs = new bytes[](oracleKeys.length);
        for (uint256 i; i < oracleKeys.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(oracleKeys[i], d);
            sigs[i] = abi.encodePacked(r, s, v);
        }
        oracle.submitPrice(address(weth), seriesExpiry, price, sigs);
    }

    function settle(uint256 actorSeed) external tick("settle") {
        (, bool fin) = oracle.finalPrice(address(weth), seriesExpiry);
        if (!fin) return;
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = callId;
        ids[1] = putId;
        exchange.settle(actors[actorSeed % actors.length], ids);
    }

    // ------------------------------------------------------------------ utils

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }
}
