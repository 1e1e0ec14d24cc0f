// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Batches, BatchFill, SignedOrder, TestFill} from "../utils/Batches.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @notice One-shot orders (nonce bit 255): they fill only within the batch that first fills them,
///         and their spend state is a 64-number window in the signer's position slot.
contract ExchangeOneShotTest is StrikebookTest {
    uint256 internal constant ONE_SHOT = 1 << 255;

    function setUp() public override {
        super.setUp();
        _fund(alice, weth, 100 * ONE);
        _fund(alice, usdc, 1_000_000e6);
        _fund(bob, weth, 100 * ONE);
        _fund(bob, usdc, 1_000_000e6);
    }

    /// @dev alice rests a sell; bob takes with a one-shot buy numbered `seq`.
    function _oneShotFill(uint64 seq, uint256 takerAmount, uint256 amount) internal view returns (TestFill memory) {
        OrderLib.Order memory mk = _order(alice, callId, false, 100e6, 50 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, 110e6, takerAmount, ONE_SHOT | seq);
        return _fill(mk, aliceKey, tk, bobKey, amount);
    }

    function test_one_shot_order_fills_then_is_spent() public {
        TestFill memory f = _oneShotFill(7, 2 * ONE, 2 * ONE);
        assertFalse(exchange.isOneShotSpent(bob, callId, 7));
        _submitOne(f);
        assertEq(exchange.positionOf(bob, callId), int256(2 * ONE));
        assertTrue(exchange.isOneShotSpent(bob, callId, 7));
        assertFalse(exchange.isOneShotSpent(bob, callId, 8));
        (uint256 filled, bool cancelled) = exchange.orderState(bob, _digest(f.taker));
        assertEq(filled, 0); // no per-order slot for a one-shot order
        assertFalse(cancelled);
        (uint64 base, uint64 bits) = exchange.oneShotWindow(bob, callId);
        assertEq(base, 0);
        assertEq(bits, 1 << 7);
        // a partial first fill still spends it: the rest never fills in a later batch
        TestFill memory g = _oneShotFill(8, 5 * ONE, ONE);
        _submitOne(g);
        _expectSkip(g, IExchange.SkipReason.TakerOrderSpent);
        _expectSkip(f, IExchange.SkipReason.TakerOrderSpent);
        assertEq(exchange.positionOf(bob, callId), int256(3 * ONE));
    }

    function test_one_shot_fills_many_times_within_its_batch_up_to_its_amount() public {
        TestFill[] memory fills = new TestFill[](3);
        fills[0] = _oneShotFill(1, 3 * ONE, ONE);
        fills[1] = _oneShotFill(1, 3 * ONE, 2 * ONE);
        fills[2] = _oneShotFill(1, 3 * ONE, ONE); // one past its amount
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 2, uint8(IExchange.SkipReason.TakerOverfill));
        _submit(fills);
        assertEq(exchange.positionOf(bob, callId), int256(3 * ONE));
        assertEq(exchange.positionOf(alice, callId), -int256(3 * ONE));
    }

    function test_one_shot_listed_at_two_indexes_fills_at_the_first_only() public {
        TestFill memory f = _oneShotFill(3, 4 * ONE, ONE);
        SignedOrder[] memory orders = new SignedOrder[](3);
        orders[0] = SignedOrder(f.maker, f.makerSignature);
        orders[1] = SignedOrder(f.taker, f.takerSignature);
        orders[2] = SignedOrder(f.taker, f.takerSignature);
        BatchFill[] memory fills = new BatchFill[](3);
        fills[0] = BatchFill(0, 1, ONE, 0, 0);
        fills[1] = BatchFill(0, 2, ONE, 0, 0); // same order, other index: spent by fill 0
        fills[2] = BatchFill(0, 1, ONE, 0, 0); // first index again: still this batch's
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 1, uint8(IExchange.SkipReason.TakerOrderSpent));
        vm.prank(operator);
        exchange.settleBatch(1, Batches.pack(orders, fills));
        assertEq(exchange.positionOf(bob, callId), int256(2 * ONE));
    }

    function test_a_skipped_first_fill_does_not_spend() public {
        TestFill memory f = _oneShotFill(4, ONE, ONE);
        f.takerFee = 6e6; // above the 5e6 cap
        _expectSkip(f, IExchange.SkipReason.TakerFeeAboveCap);
        assertFalse(exchange.isOneShotSpent(bob, callId, 4));
        f.takerFee = 2e6;
        _submitOne(f);
        assertTrue(exchange.isOneShotSpent(bob, callId, 4));
    }

    function test_window_slides_and_spends_everything_below_its_base() public {
        _submitOne(_oneShotFill(100, ONE, ONE)); // base 37, bit 63
        (uint64 base, uint64 bits) = exchange.oneShotWindow(bob, callId);
        assertEq(base, 37);
        assertEq(bits, 1 << 63);
        assertTrue(exchange.isOneShotSpent(bob, callId, 36));
        assertFalse(exchange.isOneShotSpent(bob, callId, 37));
        assertFalse(exchange.isOneShotSpent(bob, callId, 99));
        _expectSkip(_oneShotFill(36, ONE, ONE), IExchange.SkipReason.TakerOrderSpent);
        _submitOne(_oneShotFill(37, ONE, ONE)); // inside the window: still fillable
        _submitOne(_oneShotFill(200, ONE, ONE)); // slides past everything
        (base, bits) = exchange.oneShotWindow(bob, callId);
        assertEq(base, 137);
        assertEq(bits, 1 << 63);
        _expectSkip(_oneShotFill(99, ONE, ONE), IExchange.SkipReason.TakerOrderSpent);
        assertEq(exchange.positionOf(bob, callId), int256(3 * ONE));
    }

    function test_maker_side_one_shot_is_spent_too() public {
        OrderLib.Order memory mk = _order(alice, callId, false, 100e6, 5 * ONE, ONE_SHOT | 9);
        OrderLib.Order memory tk = _order(bob, callId, true, 110e6, 10 * ONE, 1);
        TestFill memory f = _fill(mk, aliceKey, tk, bobKey, ONE);
        _submitOne(f);
        _expectSkip(f, IExchange.SkipReason.MakerOrderSpent);
        assertTrue(exchange.isOneShotSpent(alice, callId, 9));
    }

    function test_one_shot_ignores_the_nonce_floor_and_cancels_by_hash() public {
        TestFill memory f = _oneShotFill(5, ONE, ONE);
        vm.startPrank(bob);
        exchange.cancelAllBelow(1 << 255);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = _digest(f.taker);
        exchange.cancelOrders(hashes);
        vm.stopPrank();
        _submitOne(f);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    function test_cancelOneShot_spends_and_emits() public {
        uint64[] memory seqs = new uint64[](2);
        seqs[0] = 11;
        seqs[1] = 12;
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IExchange.OneShotCancelled(bob, callId, 11, bob);
        vm.prank(bob);
        exchange.cancelOneShot(callId, seqs);
        assertTrue(exchange.isOneShotSpent(bob, callId, 11));
        assertTrue(exchange.isOneShotSpent(bob, callId, 12));
        assertFalse(exchange.isOneShotSpent(bob, callId, 13));
        assertFalse(exchange.isOneShotSpent(bob, putId, 11)); // per series
        _expectSkip(_oneShotFill(11, ONE, ONE), IExchange.SkipReason.TakerOrderSpent);
        assertEq(exchange.positionOf(bob, callId), 0);
    }

    function test_cancelOneShotFor_needs_a_live_delegate() public {
        uint64[] memory seqs = new uint64[](1);
        seqs[0] = 3;
        vm.expectRevert(abi.encodeWithSelector(IExchange.NotDelegate.selector, bob, carol));
        vm.prank(carol);
        exchange.cancelOneShotFor(bob, callId, seqs);
        vm.prank(bob);
        exchange.setDelegate(carol, T0 + 100);
        vm.expectEmit(true, true, false, true, address(exchange));
        emit IExchange.OneShotCancelled(bob, callId, 3, carol);
        vm.prank(carol);
        exchange.cancelOneShotFor(bob, callId, seqs);
        assertTrue(exchange.isOneShotSpent(bob, callId, 3));
    }

    function test_window_survives_settlement_of_the_position() public {
        _submitOne(_oneShotFill(2, ONE, ONE));
        _finalize(STRIKE + 100e6);
        exchange.settle(bob, _ids(callId));
        assertEq(exchange.positionOf(bob, callId), 0);
        assertTrue(exchange.isOneShotSpent(bob, callId, 2));
    }

    /// @dev The window against a plain model of the rule: a number is spent iff it was spent, or
    ///      some spent number is at least 64 above it.
    function testFuzz_window_matches_the_model(uint64[8] memory raw) public {
        uint64[] memory seqs = new uint64[](8);
        for (uint256 i; i < 8; ++i) {
            seqs[i] = uint64(bound(raw[i], 0, 300));
            uint64[] memory one = new uint64[](1);
            one[0] = seqs[i];
            vm.prank(bob);
            exchange.cancelOneShot(callId, one);
        }
        for (uint64 n; n <= 300; n += 7) {
            bool spent;
            for (uint256 i; i < 8; ++i) {
                if (seqs[i] == n || seqs[i] >= uint256(n) + 64) spent = true;
            }
            assertEq(exchange.isOneShotSpent(bob, callId, n), spent);
        }
    }

    /// @dev The fill path and the cancel path apply the same window rule.
    function testFuzz_fill_and_cancel_windows_agree(uint64 a, uint64 b) public {
        a = uint64(bound(a, 0, 500));
        b = uint64(bound(b, 0, 500));
        _submitOne(_oneShotFill(a, ONE, ONE));
        uint64[] memory one = new uint64[](1);
        one[0] = a;
        vm.prank(alice);
        exchange.cancelOneShot(callId, one); // alice's window on the same series, by cancel
        (uint64 bobBase, uint64 bobBits) = exchange.oneShotWindow(bob, callId);
        (uint64 aliceBase, uint64 aliceBits) = exchange.oneShotWindow(alice, callId);
        assertEq(bobBase, aliceBase);
        assertEq(bobBits, aliceBits);
        assertEq(exchange.isOneShotSpent(bob, callId, b), exchange.isOneShotSpent(alice, callId, b));
    }
}
