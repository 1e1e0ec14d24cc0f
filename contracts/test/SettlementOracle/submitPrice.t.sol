// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {ISettlementOracle} from "../../src/interfaces/ISettlementOracle.sol";
import {SettlementOracle} from "../../src/SettlementOracle.sol";

contract SettlementOracleSubmitPriceTest is StrikebookTest {
    uint256[] internal keys;

    function setUp() public override {
        super.setUp();
        keys = _setupOracle(3, 2);
        vm.warp(EXPIRY);
    }

    function test_report_type_hash_matches_preimage() public view {
        assertEq(oracle.REPORT_TYPE_HASH(), keccak256(bytes(oracle.REPORT_TYPE_STRING())));
    }

    function test_threshold_signatures_finalize_the_price() public {
        vm.expectEmit(true, true, false, true, address(oracle));
        emit ISettlementOracle.PriceFinalized(address(weth), EXPIRY, 2_345e6, 2);
        oracle.submitPrice(address(weth), EXPIRY, 2_345e6, _reportSigs(keys, 2, address(weth), EXPIRY, 2_345e6));
        (uint256 price, bool fin) = oracle.finalPrice(address(weth), EXPIRY);
        assertEq(price, 2_345e6);
        assertTrue(fin);
    }

    function test_a_final_price_never_changes() public {
        oracle.submitPrice(address(weth), EXPIRY, 2_345e6, _reportSigs(keys, 2, address(weth), EXPIRY, 2_345e6));
        bytes[] memory sigs = _reportSigs(keys, 3, address(weth), EXPIRY, 1e6);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.AlreadyFinal.selector, address(weth), EXPIRY, 2_345e6));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, sigs);
    }

    function test_reverts_below_threshold() public {
        bytes[] memory sigs = _reportSigs(keys, 1, address(weth), EXPIRY, 1e6);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InsufficientSignatures.selector, 1, 2));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, sigs);
    }

    function test_reverts_before_expiry() public {
        bytes[] memory sigs = _reportSigs(keys, 2, address(weth), EXPIRY, 1e6);
        vm.warp(EXPIRY - 1);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.ExpiryNotReached.selector, EXPIRY, EXPIRY - 1));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, sigs);
    }

    function test_reverts_on_zero_or_huge_price() public {
        bytes[] memory sigs = _reportSigs(keys, 2, address(weth), EXPIRY, 0);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidPrice.selector, 0));
        oracle.submitPrice(address(weth), EXPIRY, 0, sigs);
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidPrice.selector, huge));
        oracle.submitPrice(address(weth), EXPIRY, huge, sigs);
    }

    function test_reverts_on_duplicate_or_unsorted_signers() public {
        bytes[] memory sigs = _reportSigs(keys, 2, address(weth), EXPIRY, 1e6);
        bytes[] memory dup = new bytes[](2);
        dup[0] = sigs[0];
        dup[1] = sigs[0];
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.SignersNotSorted.selector, 1));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, dup);
        bytes[] memory rev = new bytes[](2);
        rev[0] = sigs[1];
        rev[1] = sigs[0];
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.SignersNotSorted.selector, 1));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, rev);
    }

    function test_reverts_on_unknown_signer() public {
        bytes[] memory sigs = _reportSigs(keys, 2, address(weth), EXPIRY, 1e6);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, oracle.reportDigest(address(weth), EXPIRY, 1e6));
        sigs[1] = abi.encodePacked(r, s, v);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.UnknownSigner.selector, alice));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, sigs);
    }

    function test_reverts_on_malformed_signature() public {
        bytes[] memory sigs = _reportSigs(keys, 2, address(weth), EXPIRY, 1e6);
        sigs[0] = hex"00";
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InvalidSignature.selector, 0));
        oracle.submitPrice(address(weth), EXPIRY, 1e6, sigs);
    }

    function test_signature_for_another_price_does_not_count() public {
        bytes[] memory sigs = _reportSigs(keys, 2, address(weth), EXPIRY, 1e6);
        // signed 1e6, submitted as 2e6: recovers to some unregistered address
        vm.expectRevert();
        oracle.submitPrice(address(weth), EXPIRY, 2e6, sigs);
    }

    function test_reverts_with_no_threshold_configured() public {
        SettlementOracle fresh = new SettlementOracle(0, admin);
        vm.expectRevert(abi.encodeWithSelector(ISettlementOracle.InsufficientSignatures.selector, 0, 0));
        fresh.submitPrice(address(weth), EXPIRY, 1e6, new bytes[](0));
    }

    function testFuzz_any_price_finalizes_once(uint256 price) public {
        price = bound(price, 1, type(uint128).max);
        oracle.submitPrice(address(weth), EXPIRY, price, _reportSigs(keys, 3, address(weth), EXPIRY, price));
        (uint256 p, bool fin) = oracle.finalPrice(address(weth), EXPIRY);
        assertEq(p, price);
        assertTrue(fin);
    }
}
