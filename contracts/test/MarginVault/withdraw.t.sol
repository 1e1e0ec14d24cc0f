// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IMarginVault} from "../../src/interfaces/IMarginVault.sol";

contract MarginVaultWithdrawTest is StrikebookTest {
    function setUp() public override {
        super.setUp();
        _fund(alice, weth, 10 * ONE);
        _fund(bob, usdc, 10_000e6);
    }

    function test_withdraw_sends_free_balance() public {
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IMarginVault.Withdrawn(alice, address(weth), 4 * ONE);
        vm.prank(alice);
        exchange.withdraw(address(weth), 4 * ONE);
        assertEq(weth.balanceOf(alice), 4 * ONE);
        assertEq(_free(alice, weth), 6 * ONE);
    }

    function test_withdraw_reverts_on_zero_amount() public {
        vm.prank(alice);
        vm.expectRevert(IMarginVault.ZeroAmount.selector);
        exchange.withdraw(address(weth), 0);
    }

    function test_withdraw_cannot_touch_locked_collateral() public {
        _submitOne(_standardCallFill(3 * ONE));
        assertEq(_locked(alice, weth), 3 * ONE);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IMarginVault.InsufficientFree.selector, alice, address(weth), 7 * ONE, 7 * ONE + 1)
        );
        exchange.withdraw(address(weth), 7 * ONE + 1);
        vm.prank(alice);
        exchange.withdraw(address(weth), 7 * ONE);
        assertEq(_locked(alice, weth), 3 * ONE);
        assertEq(_free(alice, weth), 0);
    }

    function test_withdraw_works_while_paused() public {
        vm.prank(pauser);
        exchange.pause();
        vm.prank(alice);
        exchange.withdraw(address(weth), ONE);
        assertEq(weth.balanceOf(alice), ONE);
    }

    function testFuzz_withdraw_never_exceeds_free(uint256 amount) public {
        amount = bound(amount, 1, 20 * ONE);
        vm.prank(alice);
        if (amount > 10 * ONE) {
            vm.expectRevert(
                abi.encodeWithSelector(IMarginVault.InsufficientFree.selector, alice, address(weth), 10 * ONE, amount)
            );
        }
        exchange.withdraw(address(weth), amount);
    }
}
