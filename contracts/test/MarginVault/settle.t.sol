// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestFill} from "../utils/Batches.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IMarginVault} from "../../src/interfaces/IMarginVault.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

contract MarginVaultSettleTest is StrikebookTest {
    function setUp() public override {
        super.setUp();
        _fund(alice, weth, 100 * ONE);
        _fund(alice, usdc, 1_000_000e6);
        _fund(bob, usdc, 1_000_000e6);
    }

    function _sellPut(uint256 amount) internal {
        OrderLib.Order memory mk = _order(alice, putId, false, 50e6, 100 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, putId, true, 50e6, 100 * ONE, 1);
        TestFill memory f = _fill(mk, aliceKey, tk, bobKey, amount);
        f.makerFee = 0;
        f.takerFee = 0;
        _submitOne(f);
    }

    function test_settle_call_in_the_money() public {
        _submitOne(_standardCallFill(4 * ONE)); // alice short 4 calls, bob long 4
        _finalize(2_500e6);
        uint256 aliceWeth = _free(alice, weth);
        // long: 4 * (2500 - 2000) / 2500 = 0.8 WETH
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IMarginVault.Settled(bob, callId, int256(4 * ONE), 2_500e6, 0.8e18, 0);
        exchange.settle(bob, _ids(callId));
        assertEq(_free(bob, weth), 0.8e18);
        exchange.settle(alice, _ids(callId));
        assertEq(_locked(alice, weth), 0);
        assertEq(_free(alice, weth), aliceWeth + 4 * ONE - 0.8e18);
        assertEq(exchange.positionOf(alice, callId), 0);
        assertEq(exchange.positionOf(bob, callId), 0);
        assertEq(exchange.settlementBalance(address(weth)), 0);
    }

    function test_settle_call_out_of_the_money_returns_all_collateral() public {
        _submitOne(_standardCallFill(4 * ONE));
        _finalize(1_500e6);
        exchange.settle(alice, _ids(callId));
        exchange.settle(bob, _ids(callId));
        assertEq(_free(alice, weth), 100 * ONE);
        assertEq(_free(bob, weth), 0);
    }

    function test_settle_put_in_the_money() public {
        _sellPut(3 * ONE);
        _finalize(1_600e6);
        uint256 aliceUsdc = _free(alice, usdc);
        exchange.settle(alice, _ids(putId));
        // short owes 3 * 400 = 1200 USDC of 6000 locked
        assertEq(_free(alice, usdc), aliceUsdc + 3 * STRIKE - 1_200e6);
        assertEq(_locked(alice, usdc), 0);
        uint256 bobUsdc = _free(bob, usdc);
        exchange.settle(bob, _ids(putId));
        assertEq(_free(bob, usdc), bobUsdc + 1_200e6);
    }

    function test_settle_rounding_keeps_the_vault_solvent() public {
        // 1 wei of a call, S = 3, K = 2: the long gets floor(1/3) = 0, the short owes ceil(1/3) = 1
        OrderLib.Order memory mk = _order(alice, callId, false, 0, 100 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, 0, 100 * ONE, 1);
        TestFill memory f = _fill(mk, aliceKey, tk, bobKey, 1);
        f.makerFee = 0;
        f.takerFee = 0;
        _submitOne(f);
        _finalize(STRIKE + STRIKE / 2);
        exchange.settle(bob, _ids(callId));
        exchange.settle(alice, _ids(callId));
        assertEq(_free(bob, weth), 0);
        assertEq(_free(alice, weth), 100 * ONE - 1);
        assertEq(exchange.settlementBalance(address(weth)), 1);
    }

    function test_settle_is_idempotent_and_batchable() public {
        _submitOne(_standardCallFill(ONE));
        _sellPut(ONE);
        _finalize(2_100e6);
        exchange.settle(bob, _ids(callId, putId));
        uint256 bobWeth = _free(bob, weth);
        uint256 bobUsdc = _free(bob, usdc);
        exchange.settle(bob, _ids(callId, putId));
        assertEq(_free(bob, weth), bobWeth);
        assertEq(_free(bob, usdc), bobUsdc);
    }

    function test_settle_flat_position_needs_no_price() public {
        exchange.settle(carol, _ids(callId, bytes32("unknown")));
    }

    function test_settle_reverts_before_final_price() public {
        _submitOne(_standardCallFill(ONE));
        vm.warp(EXPIRY);
        vm.expectRevert(abi.encodeWithSelector(IMarginVault.PriceNotFinal.selector, address(weth), EXPIRY));
        exchange.settle(bob, _ids(callId));
    }

    function test_settle_works_while_paused() public {
        _submitOne(_standardCallFill(ONE));
        vm.prank(pauser);
        exchange.pause();
        _finalize(2_500e6);
        exchange.settle(bob, _ids(callId));
        assertEq(exchange.positionOf(bob, callId), 0);
    }

    /// @dev Any amount, strike-relative spot and settle order: longs never get more than shorts
    ///      gave up, and the vault's tokens still cover every balance.
    function testFuzz_settle_is_solvent(uint256 amount, uint256 spot, bool call, bool longFirst) public {
        amount = bound(amount, 1, 50 * ONE);
        spot = bound(spot, 1, 10_000e6);
        bytes32 sid = call ? callId : putId;
        if (call) {
            OrderLib.Order memory mk = _order(alice, sid, false, 7, 100 * ONE, 1);
            OrderLib.Order memory tk = _order(bob, sid, true, 7, 100 * ONE, 1);
            _submitOne(_fill(mk, aliceKey, tk, bobKey, amount));
        } else {
            _sellPut(amount);
        }
        _finalize(spot);
        if (longFirst) exchange.settle(bob, _ids(sid));
        exchange.settle(alice, _ids(sid));
        if (!longFirst) exchange.settle(bob, _ids(sid));
        assertGe(exchange.settlementBalance(address(weth)), 0);
        assertGe(exchange.settlementBalance(address(usdc)), 0);
        assertLe(uint256(exchange.settlementBalance(address(weth))), 1);
        assertLe(uint256(exchange.settlementBalance(address(usdc))), 1);
        assertEq(
            weth.balanceOf(address(exchange)),
            _free(alice, weth) + _free(bob, weth) + uint256(exchange.settlementBalance(address(weth)))
        );
        assertEq(
            usdc.balanceOf(address(exchange)),
            _free(alice, usdc) + _free(bob, usdc) + exchange.accruedFees(address(usdc))
                + uint256(exchange.settlementBalance(address(usdc)))
        );
    }
}
