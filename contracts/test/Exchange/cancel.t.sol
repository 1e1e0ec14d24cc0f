// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestFill} from "../utils/Batches.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";

/// @notice cancelOrders, cancelOrdersFor and cancelAllBelow.
contract ExchangeCancelTest is StrikebookTest {
    function _hashes(bytes32 h) internal pure returns (bytes32[] memory hs) {
        hs = new bytes32[](1);
        hs[0] = h;
    }

    function test_cancelOrders_sets_the_cancel_bit_and_emits() public {
        bytes32 h = keccak256("order");
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IExchange.OrderCancelled(alice, h, alice);
        vm.prank(alice);
        exchange.cancelOrders(_hashes(h));
        (uint256 filled, bool cancelled) = exchange.orderState(alice, h);
        assertEq(filled, 0);
        assertTrue(cancelled);
        (, cancelled) = exchange.orderState(bob, h);
        assertFalse(cancelled, "only the caller's order is cancelled");
    }

    function test_cancelOrders_keeps_the_filled_amount() public {
        _fund(alice, weth, 10 * ONE);
        _fund(bob, usdc, 10_000e6);
        TestFill memory f = _standardCallFill(ONE);
        _submitOne(f);
        bytes32[] memory hs = _hashes(_digest(f.maker));
        vm.prank(alice);
        exchange.cancelOrders(hs);
        (uint256 filled, bool cancelled) = exchange.orderState(alice, _digest(f.maker));
        assertEq(filled, ONE);
        assertTrue(cancelled);
        _expectSkip(f, IExchange.SkipReason.MakerOrderCancelled);
    }

    function test_cancelOrdersFor_by_live_delegate() public {
        address hot = makeAddr("hot");
        vm.prank(alice);
        exchange.setDelegate(hot, T0 + 1 hours);
        bytes32 h = keccak256("order");
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IExchange.OrderCancelled(alice, h, hot);
        vm.prank(hot);
        exchange.cancelOrdersFor(alice, _hashes(h));
        (, bool cancelled) = exchange.orderState(alice, h);
        assertTrue(cancelled);
    }

    function test_cancelOrdersFor_reverts_for_non_delegate() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IExchange.NotDelegate.selector, alice, bob));
        exchange.cancelOrdersFor(alice, _hashes(bytes32(uint256(1))));
    }

    function test_cancelOrdersFor_reverts_for_expired_delegate() public {
        address hot = makeAddr("hot");
        vm.prank(alice);
        exchange.setDelegate(hot, T0 + 10);
        vm.warp(T0 + 10);
        vm.prank(hot);
        vm.expectRevert(abi.encodeWithSelector(IExchange.NotDelegate.selector, alice, hot));
        exchange.cancelOrdersFor(alice, _hashes(bytes32(uint256(1))));
    }

    function test_cancelAllBelow_raises_the_nonce_floor() public {
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.NoncesCancelled(alice, 5);
        vm.prank(alice);
        exchange.cancelAllBelow(5);
        assertEq(exchange.minNonce(alice), 5);
    }

    function test_cancelAllBelow_reverts_unless_increasing() public {
        vm.startPrank(alice);
        exchange.cancelAllBelow(5);
        vm.expectRevert(abi.encodeWithSelector(IExchange.NonceNotIncreasing.selector, 5, 5));
        exchange.cancelAllBelow(5);
        vm.expectRevert(abi.encodeWithSelector(IExchange.NonceNotIncreasing.selector, 5, 4));
        exchange.cancelAllBelow(4);
        vm.stopPrank();
    }

    function test_cancelAllBelow_reverts_above_the_one_shot_flag() public {
        vm.startPrank(alice);
        exchange.cancelAllBelow(1 << 255); // the largest floor: every ordinary nonce
        vm.expectRevert(abi.encodeWithSelector(IExchange.NonceTooLarge.selector, (1 << 255) + 1));
        exchange.cancelAllBelow((1 << 255) + 1);
        vm.stopPrank();
        assertEq(exchange.minNonce(alice), 1 << 255);
    }

    function test_cancels_work_while_paused() public {
        vm.prank(pauser);
        exchange.pause();
        vm.startPrank(alice);
        exchange.cancelAllBelow(1);
        exchange.cancelOrders(_hashes(bytes32(uint256(1))));
        vm.stopPrank();
        assertEq(exchange.minNonce(alice), 1);
    }

    function testFuzz_order_below_the_nonce_floor_never_fills(uint256 nonce, uint256 floor) public {
        floor = bound(floor, 1, 1 << 255); // the floor never reaches the one-shot range
        nonce = bound(nonce, 0, floor - 1);
        _fund(alice, weth, 10 * ONE);
        _fund(bob, usdc, 10_000e6);
        vm.prank(alice);
        exchange.cancelAllBelow(floor);
        TestFill memory f = _standardCallFill(ONE);
        f.maker.nonce = nonce;
        f.makerSignature = _sign(aliceKey, f.maker);
        _expectSkip(f, IExchange.SkipReason.MakerNonceCancelled);
    }
}
