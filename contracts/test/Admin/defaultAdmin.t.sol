// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {Exchange} from "../../src/Exchange.sol";
import {IMarginVault} from "../../src/interfaces/IMarginVault.sol";
import {IAccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";

/// @notice Two-step admin transfer (AccessControlDefaultAdminRules) and constructor checks.
contract AdminDefaultAdminTest is StrikebookTest {
    function test_admin_transfer_takes_two_steps() public {
        address next = makeAddr("next");
        vm.prank(admin);
        exchange.beginDefaultAdminTransfer(next);
        assertEq(exchange.defaultAdmin(), admin, "nothing changes before acceptance");
        vm.warp(block.timestamp + 1);
        vm.prank(next);
        exchange.acceptDefaultAdminTransfer();
        assertEq(exchange.defaultAdmin(), next);
        assertFalse(exchange.hasRole(bytes32(0), admin));
    }

    function test_only_the_pending_admin_can_accept() public {
        address next = makeAddr("next");
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(next);
        vm.warp(block.timestamp + 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, alice)
        );
        registry.acceptDefaultAdminTransfer();
    }

    function test_admin_role_cannot_be_granted_directly() public {
        vm.prank(admin);
        vm.expectRevert(IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminRules.selector);
        oracle.grantRole(bytes32(0), alice);
    }

    function test_constructor_rejects_zero_addresses() public {
        vm.expectRevert(IMarginVault.ZeroAddress.selector);
        new Exchange(registry, oracle, address(0), 0, admin);
    }

    function test_roles_are_distinct() public view {
        assertTrue(exchange.hasRole(exchange.OPERATOR_ROLE(), operator));
        assertFalse(exchange.hasRole(exchange.OPERATOR_ROLE(), pauser));
        assertTrue(exchange.hasRole(exchange.PAUSER_ROLE(), pauser));
        assertTrue(registry.hasRole(registry.LISTER_ROLE(), lister));
        assertTrue(oracle.hasRole(oracle.ORACLE_ADMIN_ROLE(), oracleAdmin));
    }
}
