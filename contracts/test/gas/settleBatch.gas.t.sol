// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {console2} from "forge-std/console2.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {Batches, BatchFill, SignedOrder} from "../utils/Batches.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @notice The issue's gas figure: one batch of 100 fills, 5 makers already known to the vault
///         (deposited), 100 distinct takers each trading for the first time (deposited quote, no
///         position, fresh order). Prints gas per fill: execution, calldata and the 21,000 base
///         share, and records them with `snapshotValue` so `forge snapshot` reviews see changes.
///         The measured batch is the venue's second: a first batch between two other accounts has
///         settled in `setUp`, as on any venue but a brand-new one. A venue's very first batch also
///         creates `lastSeq` and the quote asset's `accruedFees` slot (about 390 gas per fill
///         here, once in the venue's life); `test_gas_first_batch_ever` records that case.
contract GasPerFillTest is StrikebookTest {
    uint256 internal constant MAKERS = 5;
    uint256 internal constant FILLS = 100;
    uint256 internal constant ONE_SHOT = 1 << 255;

    SignedOrder[] internal orders; // 5 maker orders, then the 100 taker orders
    BatchFill[] internal fills;
    uint256[] internal takerKeys;

    function setUp() public override {
        super.setUp();
        _fund(alice, weth, 10 * ONE);
        _fund(bob, usdc, 10_000e6);
        for (uint256 m; m < MAKERS; ++m) {
            (address maker, uint256 key) = makeAddrAndKey(string.concat("maker", vm.toString(m)));
            _fund(maker, weth, 1_000 * ONE);
            _fund(maker, usdc, 1_000_000e6);
            OrderLib.Order memory mk = _order(maker, callId, false, 100e6, 1_000 * ONE, 1);
            orders.push(SignedOrder(mk, _sign(key, mk)));
        }
        for (uint256 t; t < FILLS; ++t) {
            (address taker, uint256 key) = makeAddrAndKey(string.concat("taker", vm.toString(t)));
            _fund(taker, usdc, 10_000e6);
            takerKeys.push(key);
            OrderLib.Order memory tk = _order(taker, callId, true, 105e6, ONE, ONE_SHOT | 1); // an IOC taker: one-shot
            orders.push(SignedOrder(tk, _sign(key, tk)));
            fills.push(BatchFill(t % MAKERS, MAKERS + t, ONE, 1e6, 2e6));
        }
    }

    /// @dev The same batch when every fill fails its very last check (the taker's funds): all reads,
    ///      hashing and signature checks, no writes and no Trade events. The difference to the
    ///      executed batch is what writing state and emitting Trade cost.
    function test_gas_validation_only_100_fills() public {
        _submitOne(_standardCallFill(ONE)); // the venue's first batch, between alice and bob
        SignedOrder[] memory os = orders;
        BatchFill[] memory batch = fills;
        for (uint256 i; i < FILLS; ++i) {
            batch[i].amount = 200 * ONE; // 20,000 USDC of premium: more than any taker has
            os[MAKERS + i].order.amount = 200 * ONE;
            os[MAKERS + i].signature = _sign(takerKeys[i], os[MAKERS + i].order);
        }
        uint256 execution = _execute(abi.encodeCall(IExchange.settleBatch, (nextSeq, Batches.pack(os, batch))));
        assertEq(exchange.lastSeq(), nextSeq);
        console2.log("validation-only execution gas per fill", execution / FILLS);
        vm.snapshotValue("settleBatch_100_fills_validation_only_execution_gas_per_fill", execution / FILLS);
    }

    function test_gas_per_fill_100_fills_5_makers_100_new_takers() public {
        _submitOne(_standardCallFill(ONE)); // the venue's first batch, between alice and bob
        (uint256 total, uint256 execution) = _measure(nextSeq);
        assertEq(exchange.lastSeq(), 2);
        vm.snapshotValue("settleBatch_100_fills_total_gas_per_fill", total / FILLS);
        vm.snapshotValue("settleBatch_100_fills_execution_gas_per_fill", execution / FILLS);
    }

    /// @dev The same batch as the venue's very first: it also creates `lastSeq` and the quote
    ///      asset's `accruedFees` slot, a cost paid once in a venue's life.
    function test_gas_first_batch_ever() public {
        (uint256 total,) = _measure(1);
        assertEq(exchange.lastSeq(), 1);
        vm.snapshotValue("settleBatch_100_fills_first_batch_ever_total_gas_per_fill", total / FILLS);
    }

    /// @dev Settles the benchmark batch as `seq`, checks it executed and prints gas per fill.
    function _measure(uint64 seq) internal returns (uint256 total, uint256 execution) {
        SignedOrder[] memory os = orders;
        BatchFill[] memory batch = fills;
        bytes memory data = abi.encodeCall(IExchange.settleBatch, (seq, Batches.pack(os, batch)));
        uint256 calldataGas;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        execution = _execute(data);
        total = 21_000 + calldataGas + execution;

        for (uint256 t; t < FILLS; t += 17) {
            assertEq(exchange.positionOf(os[MAKERS + t].order.maker, callId), int256(ONE));
        }
        console2.log("calldata bytes per fill", data.length / FILLS);
        console2.log("execution gas per fill", execution / FILLS);
        console2.log("calldata gas per fill", calldataGas / FILLS);
        console2.log("total gas per fill (incl. 21000 base / 100)", total / FILLS);
    }

    /// @dev Gas the exchange spends executing `data` as the operator. The CALL reads the already
    ///      encoded calldata in place (assembly), so the figure holds the callee's execution plus
    ///      the CALL itself, and not this test contract's ABI encoding of the arguments and its
    ///      memory growth (a high-level call copies ~60 KB past this contract's large memory,
    ///      which charged ~1,800 gas per fill to the measurement before).
    function _execute(bytes memory data) internal returns (uint256 execution) {
        address target = address(exchange);
        bool ok;
        vm.prank(operator);
        uint256 before = gasleft();
        assembly ("memory-safe") {
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
        }
        execution = before - gasleft();
        assertTrue(ok, "settleBatch reverted");
    }
}
