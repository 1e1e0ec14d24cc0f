// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IMarginVault} from "../../src/interfaces/IMarginVault.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @notice collectFees, setFeeRecipient and requiredCollateral.
contract MarginVaultCollectFeesTest is StrikebookTest {
    function test_collectFees_sends_accrued_fees_to_recipient() public {
        _fund(alice, weth, 10 * ONE);
        _fund(bob, usdc, 10_000e6);
        _submitOne(_standardCallFill(2 * ONE));
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IMarginVault.FeesCollected(address(usdc), feeSink, 6e6);
        exchange.collectFees(address(usdc));
        assertEq(usdc.balanceOf(feeSink), 6e6);
        assertEq(exchange.accruedFees(address(usdc)), 0);
    }

    function test_collectFees_reverts_when_nothing_accrued() public {
        vm.expectRevert(IMarginVault.ZeroAmount.selector);
        exchange.collectFees(address(usdc));
    }

    function test_setFeeRecipient_by_admin() public {
        address sink2 = makeAddr("sink2");
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IMarginVault.FeeRecipientSet(sink2);
        vm.prank(admin);
        exchange.setFeeRecipient(sink2);
        assertEq(exchange.feeRecipient(), sink2);
    }

    function test_setFeeRecipient_reverts_for_zero_and_non_admin() public {
        vm.prank(admin);
        vm.expectRevert(IMarginVault.ZeroAddress.selector);
        exchange.setFeeRecipient(address(0));
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, bytes32(0))
        );
        exchange.setFeeRecipient(alice);
    }

    function test_requiredCollateral_units() public view {
        assertEq(exchange.requiredCollateral(true, STRIKE, ONE, -3 * int256(ONE)), 3 * ONE);
        assertEq(exchange.requiredCollateral(false, STRIKE, ONE, -3 * int256(ONE)), 3 * STRIKE);
        assertEq(exchange.requiredCollateral(false, STRIKE, ONE, -1), 1, "a put rounds up");
        assertEq(exchange.requiredCollateral(true, STRIKE, ONE, 5), 0, "longs lock nothing");
        assertEq(exchange.requiredCollateral(false, STRIKE, ONE, 0), 0);
    }

    function testFuzz_requiredCollateral_put_covers_strike(uint128 strike, uint128 q) public view {
        vm.assume(strike > 0 && q > 0 && q < uint128(type(int128).max));
        uint256 req = exchange.requiredCollateral(false, strike, ONE, -int256(uint256(q)));
        assertGe(req * ONE, uint256(strike) * q);
        assertLt(req * ONE, uint256(strike) * q + ONE);
    }
}
