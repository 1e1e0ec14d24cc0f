// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {Handler} from "./Handler.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";
import {console2} from "forge-std/console2.sol";

/// @notice The six invariants of issue 3, over random sequences of deposits, withdrawals, batches
///         of valid and invalid fills, cancels, time, oracle reports and settlement.
contract StrikebookInvariantTest is StrikebookTest {
    Handler internal handler;

    function setUp() public override {
        super.setUp();
        uint256[] memory actorKeys = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            (, actorKeys[i]) = makeAddrAndKey(string.concat("actor", vm.toString(i)));
        }
        uint256[] memory oracleKeys = _setupOracle(3, 3);
        vm.warp(EXPIRY - 3 days); // a few advanceTime calls reach expiry, oracle and settlement
        handler = new Handler(exchange, oracle, weth, usdc, callId, putId, EXPIRY, STRIKE, actorKeys, oracleKeys);
        vm.startPrank(admin);
        exchange.grantRole(exchange.OPERATOR_ROLE(), address(handler));
        vm.stopPrank();
        for (uint256 i; i < 4; ++i) {
            handler.deposit(i, true, 50 * ONE);
            handler.deposit(i, false, 200_000e6);
        }

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = Handler.deposit.selector;
        selectors[1] = Handler.withdraw.selector;
        selectors[2] = Handler.settleBatch.selector;
        selectors[3] = Handler.settleBatch.selector; // trading is the point: double weight
        selectors[4] = Handler.cancelOrder.selector;
        selectors[5] = Handler.cancelBelow.selector;
        selectors[6] = Handler.advanceTime.selector;
        selectors[7] = Handler.reportPrice.selector;
        selectors[8] = Handler.settle.selector;
        selectors[9] = Handler.collectFees.selector;
        selectors[10] = Handler.cancelOneShot.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @dev Shows that runs trade, skip and settle (run with -vv).
    function afterInvariant() public view {
        (, bool fin) = oracle.finalPrice(address(weth), EXPIRY);
        console2.log("batches", handler.ghostBatches());
        console2.log("trades", handler.ghostTrades());
        console2.log("skips", handler.ghostSkips());
        console2.log("fills with a delegate-signed maker order", handler.ghostDelegateSigned());
        console2.log("price final", fin);
    }

    /// @dev 1. Per token, the vault holds Σ free + Σ locked + accrued fees + settlement balance.
    function invariant_vault_balance_equals_ledger() public view {
        _checkLedger(address(weth));
        _checkLedger(address(usdc));
    }

    function _checkLedger(address token) internal view {
        uint256 sum = exchange.accruedFees(token);
        for (uint256 i; i < handler.actorCount(); ++i) {
            (uint256 free, uint256 locked) = exchange.balanceOf(handler.actors(i), token);
            sum += free + locked;
        }
        int256 total = int256(sum) + exchange.settlementBalance(token);
        assertEq(int256(TestTokenLike(token).balanceOf(address(exchange))), total, "vault balance != ledger");
    }

    /// @dev 2. Σ positions per series is 0 (counting positions already settled at expiry, which
    ///      the vault accumulates in settledPosition; before expiry that term is 0).
    function invariant_positions_sum_to_zero() public view {
        int256 calls = exchange.settledPosition(callId);
        int256 puts = exchange.settledPosition(putId);
        for (uint256 i; i < handler.actorCount(); ++i) {
            calls += exchange.positionOf(handler.actors(i), callId);
            puts += exchange.positionOf(handler.actors(i), putId);
        }
        assertEq(calls, 0, "call positions");
        assertEq(puts, 0, "put positions");
    }

    /// @dev 3. filled <= amount for every order.
    function invariant_filled_never_exceeds_amount() public view {
        uint256 n = handler.orderCount();
        for (uint256 i; i < n; ++i) {
            (OrderLib.Order memory o, bytes32 h) = handler.orderAt(i);
            (uint256 filled,) = exchange.orderState(o.maker, h);
            if (handler.isOneShot(h)) filled = handler.ghostFilled(h); // no per-order slot
            assertLe(filled, o.amount, "overfilled");
            assertLe(handler.ghostFilled(h), o.amount, "overfilled (events)");
        }
    }

    /// @dev 4. locked == required(positions) for every account.
    function invariant_locked_equals_required() public view {
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            uint256 reqWeth = exchange.requiredCollateral(true, STRIKE, ONE, exchange.positionOf(a, callId));
            uint256 reqUsdc = exchange.requiredCollateral(false, STRIKE, ONE, exchange.positionOf(a, putId));
            assertEq(_locked(a, weth), reqWeth, "locked weth");
            assertEq(_locked(a, usdc), reqUsdc, "locked usdc");
        }
    }

    /// @dev 5. A cancelled or expired order never fills.
    function invariant_dead_orders_never_fill() public view {
        assertFalse(handler.ghostDeadOrderFilled(), "a cancelled, spent or expired order filled");
        assertFalse(handler.ghostOneShotInTwoBatches(), "a one-shot order filled in two batches");
    }

    /// @dev 6. No seq applies twice: lastSeq counts the applied batches and no replay was accepted.
    function invariant_no_seq_applies_twice() public view {
        assertFalse(handler.ghostReplayAccepted(), "a batch applied twice");
        assertEq(uint256(exchange.lastSeq()), uint256(handler.ghostBatches()), "seq != batches");
    }
}

interface TestTokenLike {
    function balanceOf(address) external view returns (uint256);
}
