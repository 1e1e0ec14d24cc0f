// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IMarginVault} from "../../src/interfaces/IMarginVault.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {FeeOnTransferToken} from "../../src/test/FeeOnTransferToken.sol";

contract MarginVaultDepositTest is StrikebookTest {
    function test_deposit_credits_free_balance_and_emits() public {
        usdc.mint(alice, 500e6);
        vm.startPrank(alice);
        usdc.approve(address(exchange), 500e6);
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IMarginVault.Deposited(alice, address(usdc), 500e6);
        exchange.deposit(address(usdc), 500e6);
        vm.stopPrank();
        assertEq(_free(alice, usdc), 500e6);
        assertEq(_locked(alice, usdc), 0);
        assertEq(usdc.balanceOf(address(exchange)), 500e6);
    }

    function test_deposit_reverts_on_zero_amount() public {
        vm.prank(alice);
        vm.expectRevert(IMarginVault.ZeroAmount.selector);
        exchange.deposit(address(usdc), 0);
    }

    function test_deposit_reverts_for_unknown_asset() public {
        TestToken other = new TestToken("Other", "OTH", 18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IMarginVault.UnknownAsset.selector, address(other)));
        exchange.deposit(address(other), 1);
    }

    function test_deposit_rejects_fee_on_transfer_token() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100); // 1%
        vm.prank(lister);
        registry.addAsset(address(fot));
        fot.mint(alice, 1_000);
        vm.startPrank(alice);
        fot.approve(address(exchange), 1_000);
        vm.expectRevert(abi.encodeWithSelector(IMarginVault.TransferAmountMismatch.selector, address(fot), 1_000, 990));
        exchange.deposit(address(fot), 1_000);
        vm.stopPrank();
    }

    function test_deposit_reverts_above_128_bits() public {
        uint256 big = uint256(type(uint128).max);
        _fund(alice, usdc, big);
        usdc.mint(alice, 1);
        vm.startPrank(alice);
        usdc.approve(address(exchange), 1);
        vm.expectRevert(abi.encodeWithSelector(IMarginVault.BalanceOverflow.selector, alice, address(usdc)));
        exchange.deposit(address(usdc), 1);
        vm.stopPrank();
    }

    function test_deposit_reverts_without_allowance() public {
        usdc.mint(alice, 1);
        vm.prank(alice);
        vm.expectRevert();
        exchange.deposit(address(usdc), 1);
    }

    function test_deposit_works_while_paused() public {
        vm.prank(pauser);
        exchange.pause();
        _fund(alice, usdc, 1e6);
        assertEq(_free(alice, usdc), 1e6);
    }

    function testFuzz_deposit_adds_exactly(uint128 a, uint128 b) public {
        vm.assume(uint256(a) + b <= type(uint128).max && a > 0 && b > 0);
        _fund(alice, weth, a);
        _fund(alice, weth, b);
        assertEq(_free(alice, weth), uint256(a) + b);
        assertEq(weth.balanceOf(address(exchange)), uint256(a) + b);
    }
}
