// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Batches, BatchFill, SignedOrder, TestFill} from "../utils/Batches.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @notice The packed batch: structural faults revert {MalformedBatch} and change nothing; the
///         length-prefixed signature form carries any signature length.
contract ExchangeBatchEncodingTest is StrikebookTest {
    function setUp() public override {
        super.setUp();
        _fund(alice, weth, 100 * ONE);
        _fund(bob, usdc, 1_000_000e6);
    }

    function _good() internal view returns (bytes memory) {
        return Batches.packFills(_one(_standardCallFill(ONE)));
    }

    function _expectMalformed(bytes memory batch, uint256 offset) internal {
        vm.expectRevert(abi.encodeWithSelector(IExchange.MalformedBatch.selector, offset));
        vm.prank(operator);
        exchange.settleBatch(1, batch);
        assertEq(exchange.lastSeq(), 0);
    }

    function test_good_batch_applies() public {
        bytes memory b = _good();
        vm.prank(operator);
        exchange.settleBatch(1, b);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    /// @dev Offsets in `_good()`: header 8, one series id, one fee pair, then the two orders.
    uint256 internal constant FIRST = 8 + 32 + 32;

    function _orders() internal view returns (SignedOrder[] memory orders, BatchFill[] memory fills) {
        return Batches.encode(_one(_standardCallFill(ONE)));
    }

    function _second() internal view returns (uint256) {
        (SignedOrder[] memory orders,) = _orders();
        return FIRST + Batches.packOrder(orders[0], 0).length;
    }

    function _fillsAt() internal view returns (uint256) {
        (SignedOrder[] memory orders,) = _orders();
        return _second() + Batches.packOrder(orders[1], 0).length;
    }

    function test_short_header_reverts() public {
        _expectMalformed(hex"00010002000100", 0);
    }

    function test_truncated_fill_reverts() public {
        bytes memory b = _good();
        assertEq(b.length, _fillsAt() + 22);
        assembly {
            mstore(b, sub(mload(b), 1))
        }
        _expectMalformed(b, _fillsAt());
    }

    function test_trailing_byte_reverts() public {
        _expectMalformed(bytes.concat(_good(), hex"00"), _fillsAt());
    }

    function test_series_index_out_of_range_reverts() public {
        bytes memory b = _good();
        b[FIRST + 21] = 0x01; // first order's series index = 1, but the table has one entry
        _expectMalformed(b, FIRST);
    }

    function test_unknown_flag_bits_revert() public {
        bytes memory b = _good();
        b[_second() + 22] = 0x09; // second order: flag bit 3
        _expectMalformed(b, _second());
    }

    function test_tables_past_the_end_revert() public {
        _expectMalformed(abi.encodePacked(uint16(3), uint16(0), uint16(0), uint16(0), callId), 8 + 3 * 32);
        _expectMalformed(abi.encodePacked(uint16(1), uint16(0), uint16(0), uint16(2), callId, bytes32(0)), 8 + 3 * 32);
    }

    function test_truncated_order_reverts() public {
        bytes memory b = abi.encodePacked(uint16(1), uint16(1), uint16(0), uint16(0), callId, bytes20(alice));
        _expectMalformed(b, 8 + 32);
    }

    function test_compact_integer_longer_than_32_bytes_reverts() public {
        bytes memory b = _good();
        b[FIRST + 23] = bytes1(uint8(33)); // the first order's price length byte
        _expectMalformed(b, FIRST + 23);
    }

    function test_compact_integer_past_the_end_reverts() public {
        // an order whose expiry claims 32 bytes where the batch ends after 3
        bytes memory b = bytes.concat(
            abi.encodePacked(uint16(1), uint16(1), uint16(0), uint16(0), callId, bytes20(alice), uint16(0), uint8(0)),
            hex"0101", hex"0101", hex"0101", hex"0101", hex"20010203"
        );
        _expectMalformed(b, 8 + 32 + 23 + 8);
        // and one that stops before its last length byte
        bytes memory c = bytes.concat(
            abi.encodePacked(uint16(1), uint16(1), uint16(0), uint16(0), callId, bytes20(alice), uint16(0), uint8(0)),
            hex"0101", hex"0101", hex"0101", hex"0101"
        );
        _expectMalformed(c, 8 + 32 + 23 + 8);
    }

    function test_compact_integers_decode_to_the_signed_order() public {
        // A zero-length integer is 0 and a 32-byte one the full word: an order signed with maxFee 0
        // and expiry 2**256 - 1 still fills, and a one-shot nonce (flag bit 2) keeps its digest.
        TestFill memory f = _standardCallFill(ONE);
        f.taker.maxFee = 0;
        f.taker.expiry = type(uint256).max;
        f.taker.nonce = (1 << 255) | 7;
        f.takerSignature = _sign(bobKey, f.taker);
        (SignedOrder[] memory orders, BatchFill[] memory fills) = Batches.encode(_one(f));
        fills[0].takerFee = 0;
        bytes memory b = Batches.pack(orders, fills);
        bytes memory taker = Batches.packOrder(orders[1], 0);
        assertEq(uint8(taker[22]), 1 | 4); // isBuy, one-shot
        vm.prank(operator);
        exchange.settleBatch(1, b);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
        assertTrue(exchange.isOneShotSpent(bob, callId, 7));
    }

    function test_skip_BadFeeIndex_after_BadOrderIndex() public {
        (SignedOrder[] memory orders, BatchFill[] memory fills) = _orders();
        BatchFill[] memory three = new BatchFill[](3);
        BatchFill memory f = fills[0];
        three[0] = BatchFill(f.makerOrder, f.takerOrder, f.amount, f.makerFee, f.takerFee);
        three[1] = BatchFill(f.makerOrder, 5, f.amount, f.makerFee, f.takerFee);
        three[2] = BatchFill(f.makerOrder, f.takerOrder, f.amount, f.makerFee, f.takerFee);
        bytes memory b = Batches.pack(orders, three);
        uint256 at = _fillsAt();
        b[at + 4] = 0x00; // fill 0: fee index 1 of a one-entry table
        b[at + 5] = 0x01;
        b[at + 22 + 4] = 0x00; // fill 1: bad fee index and bad order index: 23 first
        b[at + 22 + 5] = 0x01;
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 0, uint8(IExchange.SkipReason.BadFeeIndex));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(1, 1, uint8(IExchange.SkipReason.BadOrderIndex));
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.BatchSettled(1, 1, 2);
        vm.prank(operator);
        exchange.settleBatch(1, b);
        assertEq(exchange.positionOf(bob, callId), int256(ONE));
    }

    function test_signature_past_the_end_reverts() public {
        // an order with five one-byte integers, then its signature section: the offset is where
        // the signature (or its length prefix) starts
        bytes memory head = bytes.concat(
            abi.encodePacked(uint16(1), uint16(1), uint16(0), uint16(0), callId, bytes20(alice), uint16(0)),
            abi.encodePacked(uint8(2)), // flag bit 1: length-prefixed signature
            hex"0101", hex"0101", hex"0101", hex"0101", hex"0101"
        );
        uint256 sigAt = 8 + 32 + 23 + 10;
        _expectMalformed(bytes.concat(head, hex"00"), sigAt); // one byte of the two-byte length
        _expectMalformed(bytes.concat(head, hex"0003", hex"aabb"), sigAt + 2); // 3 bytes claimed, 2 there
        // the 65-byte form with 64 bytes
        bytes memory plain = bytes.concat(
            abi.encodePacked(uint16(1), uint16(1), uint16(0), uint16(0), callId, bytes20(alice), uint16(0), uint8(0)),
            hex"0101", hex"0101", hex"0101", hex"0101", hex"0101", new bytes(64)
        );
        _expectMalformed(plain, sigAt);
    }

    function test_length_prefixed_signature_carries_a_64_byte_ecdsa_form() public {
        // EIP-2098 compact signatures are not accepted: 64 bytes go through the length-prefixed
        // form and fail verification like any unknown signature, skipping the fill.
        TestFill memory f = _standardCallFill(ONE);
        bytes memory sig = f.takerSignature;
        bytes memory compact = new bytes(64);
        for (uint256 i; i < 64; ++i) {
            compact[i] = sig[i];
        }
        f.takerSignature = compact;
        _expectSkip(f, IExchange.SkipReason.TakerBadSignature);
    }
}
