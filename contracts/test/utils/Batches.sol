// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../../src/interfaces/IExchange.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @notice A fill spelled out with both signed orders, as tests think of it; {Batches.encode}
///         turns a list of them into `settleBatch`'s (orders, fills) arguments.
struct TestFill {
    OrderLib.Order maker;
    bytes makerSignature;
    OrderLib.Order taker;
    bytes takerSignature;
    uint256 amount;
    uint256 makerFee;
    uint256 takerFee;
}

/// @notice Encodes test fills the way `settlement/batch.py` does: each distinct (order, signature)
///         once in `orders`, in order of first use, and fills that reference them by index.
library Batches {
    function encode(TestFill[] memory tf)
        internal
        pure
        returns (IExchange.SignedOrder[] memory orders, IExchange.Fill[] memory fills)
    {
        IExchange.SignedOrder[] memory buf = new IExchange.SignedOrder[](2 * tf.length);
        bytes32[] memory keys = new bytes32[](2 * tf.length);
        uint256 n;
        fills = new IExchange.Fill[](tf.length);
        for (uint256 i; i < tf.length; ++i) {
            uint256 mi;
            uint256 ti;
            (mi, n) = _index(buf, keys, n, tf[i].maker, tf[i].makerSignature);
            (ti, n) = _index(buf, keys, n, tf[i].taker, tf[i].takerSignature);
            fills[i] = IExchange.Fill(mi, ti, tf[i].amount, tf[i].makerFee, tf[i].takerFee);
        }
        orders = new IExchange.SignedOrder[](n);
        for (uint256 j; j < n; ++j) {
            orders[j] = buf[j];
        }
    }

    function _index(
        IExchange.SignedOrder[] memory buf,
        bytes32[] memory keys,
        uint256 n,
        OrderLib.Order memory o,
        bytes memory sig
    ) private pure returns (uint256, uint256) {
        bytes32 key = keccak256(abi.encode(o, sig));
        for (uint256 j; j < n; ++j) {
            if (keys[j] == key) return (j, n);
        }
        keys[n] = key;
        buf[n] = IExchange.SignedOrder(o, sig);
        return (n, n + 1);
    }
}
