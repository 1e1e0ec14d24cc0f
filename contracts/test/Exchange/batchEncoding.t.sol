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

    function test_short_header_reverts() public {
        _expectMalformed(hex"00010002", 0);
    }

    function test_truncated_fill_reverts() public {
        bytes memory b = _good();
        assembly {
            mstore(b, sub(mload(b), 1))
        }
        _expectMalformed(b, 6 + 32 + 2 * 248);
    }

    function test_trailing_byte_reverts() public {
        _expectMalformed(bytes.concat(_good(), hex"00"), 6 + 32 + 2 * 248);
    }

    function test_series_index_out_of_range_reverts() public {
        bytes memory b = _good();
        b[6 + 32 + 21] = 0x01; // first order's series index = 1, but the table has one entry
        _expectMalformed(b, 6 + 32);
    }

    function test_unknown_flag_bits_revert() public {
        bytes memory b = _good();
        b[6 + 32 + 248 + 22] = 0x05; // second order: flag bit 2
        _expectMalformed(b, 6 + 32 + 248);
    }

    function test_series_table_past_the_end_reverts() public {
        _expectMalformed(abi.encodePacked(uint16(3), uint16(0), uint16(0), callId), 6 + 3 * 32);
    }

    function test_truncated_order_reverts() public {
        bytes memory b = abi.encodePacked(uint16(1), uint16(1), uint16(0), callId, bytes20(alice));
        _expectMalformed(b, 6 + 32);
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
