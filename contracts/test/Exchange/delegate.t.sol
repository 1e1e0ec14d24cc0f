// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";
import {ERC1271Wallet} from "../../src/test/ERC1271Wallet.sol";

/// @notice setDelegate, revokeDelegate and isValidSignature.
contract ExchangeDelegateTest is StrikebookTest {
    address internal hot;
    uint256 internal hotKey;

    function setUp() public override {
        super.setUp();
        (hot, hotKey) = makeAddrAndKey("hot");
    }

    function test_setDelegate_records_expiry_and_emits() public {
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IExchange.DelegateSet(alice, hot, T0 + 1 days);
        vm.prank(alice);
        exchange.setDelegate(hot, T0 + 1 days);
        assertEq(exchange.delegateExpiry(alice, hot), T0 + 1 days);
    }

    function test_setDelegate_reverts_for_zero_or_self() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IExchange.InvalidDelegate.selector, address(0)));
        exchange.setDelegate(address(0), T0 + 1);
        vm.expectRevert(abi.encodeWithSelector(IExchange.InvalidDelegate.selector, alice));
        exchange.setDelegate(alice, T0 + 1);
        vm.stopPrank();
    }

    function test_setDelegate_reverts_for_past_expiry() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IExchange.InvalidDelegateExpiry.selector, T0, T0));
        exchange.setDelegate(hot, T0);
    }

    function test_revokeDelegate_is_immediate() public {
        OrderLib.Order memory o = _order(alice, callId, false, 1, 1, 1);
        vm.prank(alice);
        exchange.setDelegate(hot, T0 + 1 days);
        assertTrue(exchange.isValidSignature(o, _sign(hotKey, o)));
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IExchange.DelegateRevoked(alice, hot);
        vm.prank(alice);
        exchange.revokeDelegate(hot);
        assertEq(exchange.delegateExpiry(alice, hot), 0);
        assertFalse(exchange.isValidSignature(o, _sign(hotKey, o)));
    }

    function test_isValidSignature_accepts_maker_and_rejects_others() public view {
        OrderLib.Order memory o = _order(alice, callId, false, 1, 1, 1);
        assertTrue(exchange.isValidSignature(o, _sign(aliceKey, o)));
        assertFalse(exchange.isValidSignature(o, _sign(bobKey, o)));
        assertFalse(exchange.isValidSignature(o, hex"1234"));
    }

    function test_isValidSignature_erc1271() public {
        ERC1271Wallet wallet = new ERC1271Wallet(carol);
        OrderLib.Order memory o = _order(address(wallet), callId, false, 1, 1, 1);
        assertTrue(exchange.isValidSignature(o, _sign(carolKey, o)));
        assertFalse(exchange.isValidSignature(o, _sign(aliceKey, o)));
    }

    function test_contract_maker_delegate_key_signs() public {
        ERC1271Wallet wallet = new ERC1271Wallet(carol);
        vm.prank(carol);
        wallet.execute(address(exchange), abi.encodeCall(exchange.setDelegate, (hot, T0 + 1 days)));
        OrderLib.Order memory o = _order(address(wallet), callId, false, 1, 1, 1);
        assertTrue(exchange.isValidSignature(o, _sign(hotKey, o)));
    }

    function testFuzz_delegate_valid_strictly_before_expiry(uint256 expiry, uint256 at) public {
        expiry = bound(expiry, T0 + 1, T0 + 365 days);
        at = bound(at, T0, T0 + 400 days);
        vm.prank(alice);
        exchange.setDelegate(hot, expiry);
        vm.warp(at);
        OrderLib.Order memory o = _order(alice, callId, false, 1, 1, 1);
        assertEq(exchange.isValidSignature(o, _sign(hotKey, o)), at < expiry);
    }
}
