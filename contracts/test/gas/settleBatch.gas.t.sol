// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {console2} from "forge-std/console2.sol";
import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @notice The issue's gas figure: one batch of 100 fills, 5 makers already known to the vault
///         (deposited), 100 distinct takers each trading for the first time (deposited quote, no
///         position, fresh order). Prints gas per fill: execution, calldata and the 21,000 base
///         share, and records them with `snapshotValue` so `forge snapshot` reviews see changes.
contract GasPerFillTest is StrikebookTest {
    uint256 internal constant MAKERS = 5;
    uint256 internal constant FILLS = 100;

    IExchange.Fill[] internal fills;
    uint256[] internal takerKeys;

    function setUp() public override {
        super.setUp();
        uint256[] memory makerKeys = new uint256[](MAKERS);
        OrderLib.Order[] memory makerOrders = new OrderLib.Order[](MAKERS);
        bytes[] memory makerSigs = new bytes[](MAKERS);
        for (uint256 m; m < MAKERS; ++m) {
            (address maker, uint256 key) = makeAddrAndKey(string.concat("maker", vm.toString(m)));
            makerKeys[m] = key;
            _fund(maker, weth, 1_000 * ONE);
            _fund(maker, usdc, 1_000_000e6);
            makerOrders[m] = _order(maker, callId, false, 100e6, 1_000 * ONE, 1);
            makerSigs[m] = _sign(key, makerOrders[m]);
        }
        for (uint256 t; t < FILLS; ++t) {
            (address taker, uint256 key) = makeAddrAndKey(string.concat("taker", vm.toString(t)));
            _fund(taker, usdc, 10_000e6);
            takerKeys.push(key);
            OrderLib.Order memory tk = _order(taker, callId, true, 105e6, ONE, 1);
            IExchange.Fill storage f = fills.push();
            f.maker = makerOrders[t % MAKERS];
            f.makerSignature = makerSigs[t % MAKERS];
            f.taker = tk;
            f.takerSignature = _sign(key, tk);
            f.amount = ONE;
            f.makerFee = 1e6;
            f.takerFee = 2e6;
        }
    }

    /// @dev The same batch when every fill fails its very last check (the taker's funds): all reads,
    ///      hashing and signature checks, no writes and no Trade events. The difference to the
    ///      executed batch is what writing state and emitting Trade cost.
    function test_gas_validation_only_100_fills() public {
        IExchange.Fill[] memory batch = fills;
        for (uint256 i; i < FILLS; ++i) {
            batch[i].amount = 200 * ONE; // 20,000 USDC of premium: more than any taker has
            batch[i].taker.amount = 200 * ONE;
            batch[i].takerSignature = _sign(takerKeys[i], batch[i].taker);
        }
        vm.prank(operator);
        uint256 before = gasleft();
        exchange.settleBatch(1, batch);
        uint256 execution = before - gasleft();
        console2.log("validation-only execution gas per fill", execution / FILLS);
        vm.snapshotValue("settleBatch_100_fills_validation_only_execution_gas_per_fill", execution / FILLS);
    }

    function test_gas_per_fill_100_fills_5_makers_100_new_takers() public {
        IExchange.Fill[] memory batch = fills;
        bytes memory data = abi.encodeCall(IExchange.settleBatch, (1, batch));
        uint256 calldataGas;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        vm.prank(operator);
        uint256 before = gasleft();
        exchange.settleBatch(1, batch);
        uint256 execution = before - gasleft();
        uint256 total = 21_000 + calldataGas + execution;

        assertEq(exchange.lastSeq(), 1);
        for (uint256 t; t < FILLS; t += 17) {
            assertEq(exchange.positionOf(batch[t].taker.maker, callId), int256(ONE));
        }
        console2.log("calldata bytes per fill", data.length / FILLS);
        console2.log("execution gas per fill", execution / FILLS);
        console2.log("calldata gas per fill", calldataGas / FILLS);
        console2.log("total gas per fill (incl. 21000 base / 100)", total / FILLS);
        vm.snapshotValue("settleBatch_100_fills_total_gas_per_fill", total / FILLS);
        vm.snapshotValue("settleBatch_100_fills_execution_gas_per_fill", execution / FILLS);
    }
}
