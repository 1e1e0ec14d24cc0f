// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Batches, BatchFill, SignedOrder, TestFill} from "../utils/Batches.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {Cheats} from "../utils/Cheats.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";
import {ERC1271Wallet} from "../../src/test/ERC1271Wallet.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract ExchangeSettleBatchTest is StrikebookTest {
    function setUp() public override {
        super.setUp();
        _fund(alice, weth, 100 * ONE);
        _fund(alice, usdc, 1_000_000e6);
        _fund(bob, weth, 100 * ONE);
        _fund(bob, usdc, 1_000_000e6);
    }

    // ---- executed fills

    function test_call_trade_moves_premium_fees_and_locks_underlying() public {
        TestFill memory f = _standardCallFill(2 * ONE);
        vm.recordLogs();
        _submitOne(f);
        // Trade is anonymous: the batch's only log without topics
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        uint256 trades;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics.length != 0) continue;
            trades++;
            assertEq(logs[i].emitter, address(exchange));
            assertEq(
                logs[i].data,
                abi.encode(
                    callId,
                    alice,
                    bob,
                    (uint256(200e6) << 128) | (uint256(1) << 24) | (0 << 8) | 0, // premium 200, seq 1, index 0, maker sold
                    (2 * ONE << 128) | 100e6,
                    (uint256(2e6) << 128) | 4e6
                )
            );
        }
        assertEq(trades, 1);

        assertEq(exchange.positionOf(alice, callId), -int256(2 * ONE));
        assertEq(exchange.positionOf(bob, callId), int256(2 * ONE));
        assertEq(_locked(alice, weth), 2 * ONE);
        assertEq(_free(alice, weth), 98 * ONE);
        assertEq(_free(alice, usdc), 1_000_000e6 + 200e6 - 2e6);
        assertEq(_free(bob, usdc), 1_000_000e6 - 200e6 - 4e6);
        assertEq(exchange.accruedFees(address(usdc)), 6e6);
        (uint256 filled, bool cancelled) = exchange.orderState(alice, _digest(f.maker));
        assertEq(filled, 2 * ONE);
        assertFalse(cancelled);
        (filled,) = exchange.orderState(bob, _digest(f.taker));
        assertEq(filled, 2 * ONE);
        assertEq(exchange.lastSeq(), 1);
    }

    function test_put_trade_locks_strike_in_quote() public {
        OrderLib.Order memory mk = _order(alice, putId, false, 50e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, putId, true, 50e6, 10 * ONE, 1);
        _submitOne(_fill(mk, aliceKey, tk, bobKey, 3 * ONE));
        assertEq(_locked(alice, usdc), 3 * STRIKE);
        assertEq(_free(alice, usdc), 1_000_000e6 - 3 * STRIKE + 150e6 - 3e6);
        assertEq(_locked(alice, weth), 0);
    }

    function test_maker_buy_premium_rounds_down_for_the_taker() public {
        // 1 wei of an option at 3 USDC: premium 3e6 * 1 / 1e18 = 0.000000000003 -> floor 0 when the taker receives it
        OrderLib.Order memory mk = _order(alice, callId, true, 3e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, false, 3e6, 10 * ONE, 1);
        TestFill memory f = _fill(mk, aliceKey, tk, bobKey, 1);
        f.makerFee = 0;
        f.takerFee = 0;
        _submitOne(f);
        assertEq(_free(bob, usdc), 1_000_000e6);
        assertEq(_free(alice, usdc), 1_000_000e6);
        assertEq(_locked(bob, weth), 1);
    }

    function test_maker_sell_premium_rounds_up_for_the_maker() public {
        TestFill memory f = _standardCallFill(1);
        f.makerFee = 0;
        f.takerFee = 0;
        _submitOne(f);
        assertEq(_free(bob, usdc), 1_000_000e6 - 1);
        assertEq(_free(alice, usdc), 1_000_000e6 + 1);
    }

    function test_buying_back_a_short_releases_collateral() public {
        _submitOne(_standardCallFill(4 * ONE));
        OrderLib.Order memory mk = _order(alice, callId, true, 100e6, 4 * ONE, 2);
        OrderLib.Order memory tk = _order(bob, callId, false, 90e6, 4 * ONE, 2);
        _submitOne(_fill(mk, aliceKey, tk, bobKey, 4 * ONE));
        assertEq(exchange.positionOf(alice, callId), 0);
        assertEq(_locked(alice, weth), 0);
        assertEq(_free(alice, weth), 100 * ONE);
    }

    function test_same_order_fills_in_pieces_and_never_overfills() public {
        TestFill[] memory fills = new TestFill[](3);
        fills[0] = _standardCallFill(4 * ONE);
        fills[1] = _standardCallFill(6 * ONE);
        fills[2] = _standardCallFill(1);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 2, uint8(IExchange.SkipReason.MakerOverfill));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.BatchSettled(1, 2, 1);
        _submit(fills);
        (uint256 filled,) = exchange.orderState(alice, _digest(fills[0].maker));
        assertEq(filled, 10 * ONE);
    }

    function test_skip_BadOrderIndex_and_the_batch_goes_on() public {
        TestFill memory f = _standardCallFill(ONE);
        SignedOrder[] memory orders = new SignedOrder[](2);
        orders[0] = SignedOrder(f.maker, f.makerSignature);
        orders[1] = SignedOrder(f.taker, f.takerSignature);
        BatchFill[] memory fills = new BatchFill[](3);
        fills[0] = BatchFill(2, 1, ONE, 0, 0); // one past the end
        fills[1] = BatchFill(0, type(uint256).max, ONE, 0, 0);
        fills[2] = BatchFill(0, 1, ONE, 0, 0);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 0, uint8(IExchange.SkipReason.BadOrderIndex));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 1, uint8(IExchange.SkipReason.BadOrderIndex));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.BatchSettled(1, 1, 2);
        vm.prank(operator);
        exchange.settleBatch(1, Batches.pack(orders, fills));
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    /// @dev Fill state lives in storage by digest, not by index: one order listed at two indices
    ///      still cannot fill past its amount.
    function test_an_order_listed_twice_never_overfills() public {
        TestFill memory f = _standardCallFill(ONE);
        OrderLib.Order memory tk2 = _order(bob, callId, true, 110e6, 10 * ONE, 2);
        SignedOrder[] memory orders = new SignedOrder[](4);
        orders[0] = SignedOrder(f.maker, f.makerSignature);
        orders[1] = SignedOrder(f.taker, f.takerSignature);
        orders[2] = SignedOrder(f.maker, f.makerSignature);
        orders[3] = SignedOrder(tk2, _sign(bobKey, tk2));
        BatchFill[] memory fills = new BatchFill[](2);
        fills[0] = BatchFill(0, 1, 6 * ONE, 0, 0);
        fills[1] = BatchFill(2, 3, 6 * ONE, 0, 0);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 1, uint8(IExchange.SkipReason.MakerOverfill));
        vm.prank(operator);
        exchange.settleBatch(1, Batches.pack(orders, fills));
        (uint256 filled,) = exchange.orderState(alice, _digest(f.maker));
        assertEq(filled, 6 * ONE);
    }

    /// @dev A signature verdict is kept per entry of `orders`: a bad entry stays bad for every fill
    ///      that uses it, and the same order with a good signature at another index still fills.
    function test_a_bad_signature_entry_skips_every_fill_that_uses_it() public {
        TestFill memory f = _standardCallFill(ONE);
        SignedOrder[] memory orders = new SignedOrder[](3);
        orders[0] = SignedOrder(f.maker, f.takerSignature); // signed by bob, not alice
        orders[1] = SignedOrder(f.taker, f.takerSignature);
        orders[2] = SignedOrder(f.maker, f.makerSignature);
        BatchFill[] memory fills = new BatchFill[](3);
        fills[0] = BatchFill(0, 1, ONE, 0, 0);
        fills[1] = BatchFill(0, 1, ONE, 0, 0);
        fills[2] = BatchFill(2, 1, ONE, 0, 0);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 0, uint8(IExchange.SkipReason.MakerBadSignature));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 1, uint8(IExchange.SkipReason.MakerBadSignature));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.BatchSettled(1, 1, 2);
        vm.prank(operator);
        exchange.settleBatch(1, Batches.pack(orders, fills));
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    function test_a_skipped_fill_changes_nothing_and_the_batch_goes_on() public {
        TestFill[] memory fills = new TestFill[](2);
        fills[0] = _standardCallFill(ONE);
        fills[0].takerSignature = fills[0].makerSignature; // bad taker signature
        fills[1] = _standardCallFill(ONE);
        fills[1].maker.nonce = 7;
        fills[1].makerSignature = _sign(aliceKey, fills[1].maker);
        _submit(fills);
        (uint256 filled,) = exchange.orderState(alice, _digest(fills[0].maker));
        assertEq(filled, 0);
        (filled,) = exchange.orderState(alice, _digest(fills[1].maker));
        assertEq(filled, ONE);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    function test_empty_batch_advances_seq() public {
        _submit(new TestFill[](0));
        assertEq(exchange.lastSeq(), 1);
    }

    // ---- reverts

    function test_reverts_on_wrong_seq() public {
        TestFill[] memory none = new TestFill[](0);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IExchange.BadSequence.selector, 1, 2));
        _settleBatch(2, none);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IExchange.BadSequence.selector, 1, 0));
        _settleBatch(0, none);
    }

    function test_a_resubmitted_batch_never_applies_twice() public {
        TestFill[] memory fills = _one(_standardCallFill(ONE));
        vm.prank(operator);
        _settleBatch(1, fills);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IExchange.BadSequence.selector, 2, 1));
        _settleBatch(1, fills);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    function test_reverts_for_non_operator() public {
        TestFill[] memory none = new TestFill[](0);
        bytes32 role = exchange.OPERATOR_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        _settleBatch(1, none);
    }

    function test_reverts_while_paused_and_resumes_after_unpause() public {
        vm.prank(pauser);
        exchange.pause();
        TestFill[] memory none = new TestFill[](0);
        vm.prank(operator);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _settleBatch(1, none);
        vm.prank(pauser);
        exchange.unpause();
        _submit(none);
        assertEq(exchange.lastSeq(), 1);
    }

    // ---- every skip reason

    function test_skip_ZeroAmount() public {
        _expectSkip(_standardCallFill(0), IExchange.SkipReason.ZeroAmount);
    }

    function test_skip_AmountTooLarge() public {
        TestFill memory f = _standardCallFill(1 << 127);
        _expectSkip(f, IExchange.SkipReason.AmountTooLarge);
    }

    function test_skip_AmountTooLarge_for_huge_price() public {
        OrderLib.Order memory mk = _order(alice, callId, false, 1 << 128, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, type(uint256).max, 10 * ONE, 1);
        _expectSkip(_fill(mk, aliceKey, tk, bobKey, ONE), IExchange.SkipReason.AmountTooLarge);
    }

    function test_skip_SeriesMismatch() public {
        TestFill memory f = _standardCallFill(ONE);
        f.taker.series = putId;
        f.takerSignature = _sign(bobKey, f.taker);
        _expectSkip(f, IExchange.SkipReason.SeriesMismatch);
    }

    function test_skip_SameSide() public {
        TestFill memory f = _standardCallFill(ONE);
        f.taker.isBuy = false;
        f.takerSignature = _sign(bobKey, f.taker);
        _expectSkip(f, IExchange.SkipReason.SameSide);
    }

    function test_skip_SelfTrade() public {
        OrderLib.Order memory mk = _order(alice, callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(alice, callId, true, 100e6, 10 * ONE, 2);
        _expectSkip(_fill(mk, aliceKey, tk, aliceKey, ONE), IExchange.SkipReason.SelfTrade);
    }

    function test_skip_PriceNotCrossed() public {
        TestFill memory f = _standardCallFill(ONE);
        f.taker.price = 99e6;
        f.takerSignature = _sign(bobKey, f.taker);
        _expectSkip(f, IExchange.SkipReason.PriceNotCrossed);
    }

    function test_skip_PriceNotCrossed_when_maker_buys() public {
        OrderLib.Order memory mk = _order(alice, callId, true, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, false, 101e6, 10 * ONE, 1);
        _expectSkip(_fill(mk, aliceKey, tk, bobKey, ONE), IExchange.SkipReason.PriceNotCrossed);
    }

    function test_skip_MakerFeeAboveCap() public {
        TestFill memory f = _standardCallFill(ONE);
        f.makerFee = 5e6 + 1;
        _expectSkip(f, IExchange.SkipReason.MakerFeeAboveCap);
    }

    function test_skip_TakerFeeAboveCap() public {
        TestFill memory f = _standardCallFill(ONE);
        f.takerFee = 5e6 + 1;
        _expectSkip(f, IExchange.SkipReason.TakerFeeAboveCap);
    }

    function test_skip_MakerOrderExpired() public {
        TestFill memory f = _standardCallFill(ONE);
        f.maker.expiry = T0 + 10;
        f.makerSignature = _sign(aliceKey, f.maker);
        vm.warp(T0 + 11);
        _expectSkip(f, IExchange.SkipReason.MakerOrderExpired);
    }

    function test_skip_TakerOrderExpired() public {
        TestFill memory f = _standardCallFill(ONE);
        f.taker.expiry = T0 + 10;
        f.takerSignature = _sign(bobKey, f.taker);
        vm.warp(T0 + 11);
        _expectSkip(f, IExchange.SkipReason.TakerOrderExpired);
    }

    function test_order_fills_at_its_expiry_second() public {
        TestFill memory f = _standardCallFill(ONE);
        f.taker.expiry = T0 + 10;
        f.takerSignature = _sign(bobKey, f.taker);
        vm.warp(T0 + 10);
        _submitOne(f);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    function test_skip_UnknownSeries() public {
        OrderLib.Order memory mk = _order(alice, bytes32("nope"), false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, bytes32("nope"), true, 100e6, 10 * ONE, 1);
        _expectSkip(_fill(mk, aliceKey, tk, bobKey, ONE), IExchange.SkipReason.UnknownSeries);
    }

    function test_skip_SeriesExpired() public {
        TestFill memory f = _standardCallFill(ONE);
        f.maker.expiry = EXPIRY + 1 days;
        f.taker.expiry = EXPIRY + 1 days;
        f.makerSignature = _sign(aliceKey, f.maker);
        f.takerSignature = _sign(bobKey, f.taker);
        vm.warp(EXPIRY);
        _expectSkip(f, IExchange.SkipReason.SeriesExpired);
    }

    function test_skip_MakerNonceCancelled() public {
        vm.prank(alice);
        exchange.cancelAllBelow(2);
        _expectSkip(_standardCallFill(ONE), IExchange.SkipReason.MakerNonceCancelled);
    }

    function test_skip_TakerNonceCancelled() public {
        vm.prank(bob);
        exchange.cancelAllBelow(2);
        _expectSkip(_standardCallFill(ONE), IExchange.SkipReason.TakerNonceCancelled);
    }

    function test_skip_MakerOrderCancelled() public {
        TestFill memory f = _standardCallFill(ONE);
        bytes32[] memory hs = new bytes32[](1);
        hs[0] = _digest(f.maker);
        vm.prank(alice);
        exchange.cancelOrders(hs);
        _expectSkip(f, IExchange.SkipReason.MakerOrderCancelled);
    }

    function test_skip_TakerOrderCancelled() public {
        TestFill memory f = _standardCallFill(ONE);
        bytes32[] memory hs = new bytes32[](1);
        hs[0] = _digest(f.taker);
        vm.prank(bob);
        exchange.cancelOrders(hs);
        _expectSkip(f, IExchange.SkipReason.TakerOrderCancelled);
    }

    function test_skip_MakerOverfill() public {
        TestFill memory f = _standardCallFill(10 * ONE + 1);
        f.taker.amount = 20 * ONE;
        f.takerSignature = _sign(bobKey, f.taker);
        _expectSkip(f, IExchange.SkipReason.MakerOverfill);
    }

    function test_skip_TakerOverfill() public {
        TestFill memory f = _standardCallFill(10 * ONE + 1);
        f.maker.amount = 20 * ONE;
        f.makerSignature = _sign(aliceKey, f.maker);
        _expectSkip(f, IExchange.SkipReason.TakerOverfill);
    }

    function test_skip_MakerBadSignature() public {
        TestFill memory f = _standardCallFill(ONE);
        f.makerSignature = _sign(bobKey, f.maker);
        _expectSkip(f, IExchange.SkipReason.MakerBadSignature);
    }

    function test_skip_TakerBadSignature() public {
        TestFill memory f = _standardCallFill(ONE);
        f.takerSignature = _sign(aliceKey, f.taker);
        _expectSkip(f, IExchange.SkipReason.TakerBadSignature);
    }

    function test_skip_high_s_malleable_signature() public {
        TestFill memory f = _standardCallFill(ONE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _digest(f.maker));
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        f.makerSignature = abi.encodePacked(r, highS, v == 27 ? uint8(28) : uint8(27));
        _expectSkip(f, IExchange.SkipReason.MakerBadSignature);
    }

    function test_skip_bad_v_signature() public {
        TestFill memory f = _standardCallFill(ONE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _digest(f.maker));
        f.makerSignature = abi.encodePacked(r, s, v - 27); // 0/1 instead of 27/28
        _expectSkip(f, IExchange.SkipReason.MakerBadSignature);
    }

    function test_skip_compact_64_byte_signature() public {
        TestFill memory f = _standardCallFill(ONE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _digest(f.maker));
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        f.makerSignature = abi.encodePacked(r, vs);
        _expectSkip(f, IExchange.SkipReason.MakerBadSignature);
    }

    function test_skip_MakerInsufficientFunds() public {
        OrderLib.Order memory mk = _order(carol, callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, 100e6, 10 * ONE, 1);
        _expectSkip(_fill(mk, carolKey, tk, bobKey, ONE), IExchange.SkipReason.MakerInsufficientFunds);
    }

    function test_skip_TakerInsufficientFunds() public {
        OrderLib.Order memory mk = _order(alice, callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(carol, callId, true, 100e6, 10 * ONE, 1);
        _expectSkip(_fill(mk, aliceKey, tk, carolKey, ONE), IExchange.SkipReason.TakerInsufficientFunds);
    }

    function test_skip_TakerInsufficientFunds_for_put_collateral() public {
        _fund(carol, usdc, 100e6);
        OrderLib.Order memory mk = _order(alice, putId, true, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(carol, putId, false, 100e6, 10 * ONE, 1);
        _expectSkip(_fill(mk, aliceKey, tk, carolKey, ONE), IExchange.SkipReason.TakerInsufficientFunds);
    }

    // ---- signers

    function test_erc1271_contract_maker_fills() public {
        ERC1271Wallet wallet = new ERC1271Wallet(carol);
        weth.mint(address(wallet), 10 * ONE);
        vm.startPrank(carol);
        wallet.approve(weth, address(exchange), 10 * ONE);
        wallet.execute(address(exchange), abi.encodeCall(exchange.deposit, (address(weth), 10 * ONE)));
        vm.stopPrank();
        OrderLib.Order memory mk = _order(address(wallet), callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, 100e6, 10 * ONE, 1);
        _submitOne(_fill(mk, carolKey, tk, bobKey, ONE));
        assertEq(exchange.positionOf(address(wallet), callId), -int256(ONE));
    }

    /// @dev Signatures the ECDSA fast path cannot decide (a delegate, ERC-1271, a stranger's key)
    ///      leave the fill loop for `_isValidSignature` and resume at the same fill: every fill
    ///      before and after applies exactly once, a verdict is reused by later fills, and a bad
    ///      verdict skips only its own fills.
    function test_slow_signature_checks_in_the_middle_of_a_batch_apply_each_fill_once() public {
        (address hot, uint256 hotKey) = makeAddrAndKey("hot");
        vm.prank(alice);
        exchange.setDelegate(hot, T0 + 1 days);
        ERC1271Wallet wallet = new ERC1271Wallet(carol);
        usdc.mint(address(wallet), 1_000e6);
        vm.startPrank(carol);
        wallet.approve(usdc, address(exchange), 1_000e6);
        wallet.execute(address(exchange), abi.encodeCall(exchange.deposit, (address(usdc), 1_000e6)));
        vm.stopPrank();

        OrderLib.Order memory own = _order(alice, callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory delegated = _order(alice, callId, false, 100e6, 10 * ONE, 2);
        OrderLib.Order memory stranger = _order(alice, callId, false, 100e6, 10 * ONE, 3);
        OrderLib.Order memory bobBuys = _order(bob, callId, true, 100e6, 10 * ONE, 1);
        OrderLib.Order memory walletBuys = _order(address(wallet), callId, true, 100e6, 10 * ONE, 1);
        SignedOrder[] memory orders = new SignedOrder[](5);
        orders[0] = SignedOrder(own, _sign(aliceKey, own));
        orders[1] = SignedOrder(delegated, _sign(hotKey, delegated)); // slow path: valid
        orders[2] = SignedOrder(stranger, _sign(carolKey, stranger)); // slow path: invalid
        orders[3] = SignedOrder(bobBuys, _sign(bobKey, bobBuys));
        orders[4] = SignedOrder(walletBuys, _sign(carolKey, walletBuys)); // ERC-1271: valid
        BatchFill[] memory fills = new BatchFill[](6);
        fills[0] = BatchFill(0, 3, ONE, 0, 0);
        fills[1] = BatchFill(1, 3, ONE, 0, 0);
        fills[2] = BatchFill(2, 3, ONE, 0, 0);
        fills[3] = BatchFill(1, 4, ONE, 0, 0);
        fills[4] = BatchFill(2, 4, ONE, 0, 0);
        fills[5] = BatchFill(0, 4, ONE, 0, 0);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 2, uint8(IExchange.SkipReason.MakerBadSignature));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 4, uint8(IExchange.SkipReason.MakerBadSignature));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.BatchSettled(1, 4, 2);
        vm.prank(operator);
        exchange.settleBatch(1, Batches.pack(orders, fills));

        assertEq(exchange.positionOf(alice, callId), -4 * int256(ONE));
        assertEq(exchange.positionOf(bob, callId), 2 * int256(ONE));
        assertEq(exchange.positionOf(address(wallet), callId), 2 * int256(ONE));
        (uint256 filledOwn,) = exchange.orderState(alice, _digest(own));
        (uint256 filledDelegated,) = exchange.orderState(alice, _digest(delegated));
        (uint256 filledStranger,) = exchange.orderState(alice, _digest(stranger));
        assertEq(filledOwn, 2 * ONE);
        assertEq(filledDelegated, 2 * ONE);
        assertEq(filledStranger, 0);
        assertEq(_free(address(wallet), usdc), 1_000e6 - 200e6);
    }

    function test_erc1271_contract_maker_with_wrong_signer_is_skipped() public {
        ERC1271Wallet wallet = new ERC1271Wallet(carol);
        OrderLib.Order memory mk = _order(address(wallet), callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, 100e6, 10 * ONE, 1);
        _expectSkip(_fill(mk, aliceKey, tk, bobKey, ONE), IExchange.SkipReason.MakerBadSignature);
    }

    function test_delegate_key_signs_for_maker_until_expiry() public {
        (address hot, uint256 hotKey) = makeAddrAndKey("hot");
        vm.prank(alice);
        exchange.setDelegate(hot, T0 + 100);
        TestFill memory f = _standardCallFill(ONE);
        f.makerSignature = _sign(hotKey, f.maker);
        _submitOne(f);
        assertEq(exchange.positionOf(alice, callId), -int256(ONE));

        vm.warp(T0 + 100); // expiry is exclusive
        f.maker.nonce = 9;
        f.makerSignature = _sign(hotKey, f.maker);
        _expectSkip(f, IExchange.SkipReason.MakerBadSignature);
    }

    function test_revoked_delegate_cannot_sign() public {
        (address hot, uint256 hotKey) = makeAddrAndKey("hot");
        vm.startPrank(alice);
        exchange.setDelegate(hot, T0 + 100);
        exchange.revokeDelegate(hot);
        vm.stopPrank();
        TestFill memory f = _standardCallFill(ONE);
        f.makerSignature = _sign(hotKey, f.maker);
        _expectSkip(f, IExchange.SkipReason.MakerBadSignature);
    }

    // ---- fuzz

    /// @dev Whatever the amount and prices, a fill conserves USDC and WETH inside the vault and
    ///      leaves locked == required(position).
    function testFuzz_fill_conserves_value(uint256 amount, uint256 price, uint256 takerPrice, bool makerBuys, bool call)
        public
    {
        amount = bound(amount, 1, 10 * ONE);
        price = bound(price, 0, 5_000e6);
        takerPrice = makerBuys ? bound(takerPrice, 0, price) : bound(takerPrice, price, 10_000e6);
        bytes32 sid = call ? callId : putId;
        OrderLib.Order memory mk = _order(alice, sid, makerBuys, price, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, sid, !makerBuys, takerPrice, 10 * ONE, 1);
        _submitOne(_fill(mk, aliceKey, tk, bobKey, amount));

        uint256 totalUsdc = _free(alice, usdc) + _locked(alice, usdc) + _free(bob, usdc) + _locked(bob, usdc)
            + exchange.accruedFees(address(usdc));
        assertEq(totalUsdc, 2_000_000e6);
        uint256 totalWeth = _free(alice, weth) + _locked(alice, weth) + _free(bob, weth) + _locked(bob, weth);
        assertEq(totalWeth, 200 * ONE);
        assertEq(exchange.positionOf(alice, sid) + exchange.positionOf(bob, sid), 0);
        address seller = makerBuys ? bob : alice;
        uint256 req = exchange.requiredCollateral(call, STRIKE, ONE, exchange.positionOf(seller, sid));
        assertEq(call ? _locked(seller, weth) : _locked(seller, usdc), req);
    }
}
