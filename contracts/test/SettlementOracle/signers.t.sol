// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {ISettlementOracle} from "../../src/interfaces/ISettlementOracle.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @notice addSigner, removeSigner, setThreshold.
contract SettlementOracleSignersTest is StrikebookTest {
    function test_add_and_remove_signers() public {
        vm.startPrank(oracleAdmin);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit ISettlementOracle.SignerAdded(alice);
        oracle.addSigner(alice);
        oracle.addSigner(bob);
        assertEq(oracle.signerCount(), 2);
        assertTrue(oracle.isSigner(alice));
        vm.expectEmit(true, false, false, true, address(oracle));
        emit ISettlementOracle.SignerRemoved(alice);
        oracle.removeSigner(alice);
        assertFalse(oracle.isSigner(alice));
        assertEq(oracle.signerCount(), 1);
        vm.stopPrank();
    }

    function test_addSigner_rejects_zero_and_duplicates() public {
        vm.startPrank(oracleAdmin);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidSigner.selector, address(0)));
        oracle.addSigner(address(0));
        oracle.addSigner(alice);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidSigner.selector, alice));
        oracle.addSigner(alice);
        vm.stopPrank();
    }

    function test_removeSigner_rejects_unknown_and_threshold_breach() public {
        vm.startPrank(oracleAdmin);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.UnknownSigner.selector, alice));
        oracle.removeSigner(alice);
        oracle.addSigner(alice);
        oracle.addSigner(bob);
        oracle.setThreshold(2);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidThreshold.selector, 2, 1));
        oracle.removeSigner(alice);
        vm.stopPrank();
    }

    function test_setThreshold_bounds() public {
        vm.startPrank(oracleAdmin);
        oracle.addSigner(alice);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidThreshold.selector, 0, 1));
        oracle.setThreshold(0);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidThreshold.selector, 2, 1));
        oracle.setThreshold(2);
        vm.expectEmit(false, false, false, true, address(oracle));
        emit ISettlementOracle.ThresholdSet(1);
        oracle.setThreshold(1);
        assertEq(oracle.threshold(), 1);
        vm.stopPrank();
    }

    function test_signer_admin_only_oracle_admin() public {
        bytes32 role = oracle.ORACLE_ADMIN_ROLE();
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        oracle.addSigner(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        oracle.removeSigner(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        oracle.setThreshold(1);
        vm.stopPrank();
    }
}
