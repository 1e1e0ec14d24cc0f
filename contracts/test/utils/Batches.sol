// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @notice A fill spelled out with both signed orders, as tests think of it; {Batches.encode}
///         turns a list of them into the order list and index fills of a batch, {Batches.pack}
///         into `settleBatch`'s packed bytes.
struct TestFill {
    OrderLib.Order maker;
    bytes makerSignature;
    OrderLib.Order taker;
    bytes takerSignature;
    uint256 amount;
    uint256 makerFee;
    uint256 takerFee;
}

/// @notice A signed order as a batch lists it (once, however many fills use it).
struct SignedOrder {
    OrderLib.Order order;
    bytes signature;
}

/// @notice A fill of a batch: indexes into its order list, amount and fee rates.
struct BatchFill {
    uint256 makerOrder;
    uint256 takerOrder;
    uint256 amount;
    uint256 makerFee;
    uint256 takerFee;
}

/// @notice Encodes test batches the way `settlement/batch.py` does: each distinct (order, signature)
///         once, in order of first use, fills referencing them by index, and the packed layout of
///         docs/PROTOCOL.md ("Batch encoding"): series table in order of first use.
library Batches {
    function encode(TestFill[] memory tf) internal pure returns (SignedOrder[] memory orders, BatchFill[] memory fills) {
        SignedOrder[] memory buf = new SignedOrder[](2 * tf.length);
        bytes32[] memory keys = new bytes32[](2 * tf.length);
        uint256 n;
        fills = new BatchFill[](tf.length);
        for (uint256 i; i < tf.length; ++i) {
            uint256 mi;
            uint256 ti;
            (mi, n) = _index(buf, keys, n, tf[i].maker, tf[i].makerSignature);
            (ti, n) = _index(buf, keys, n, tf[i].taker, tf[i].takerSignature);
            fills[i] = BatchFill(mi, ti, tf[i].amount, tf[i].makerFee, tf[i].takerFee);
        }
        orders = new SignedOrder[](n);
        for (uint256 j; j < n; ++j) {
            orders[j] = buf[j];
        }
    }

    /// @notice `encode` then `pack`.
    function packFills(TestFill[] memory tf) internal pure returns (bytes memory) {
        (SignedOrder[] memory orders, BatchFill[] memory fills) = encode(tf);
        return pack(orders, fills);
    }

    /// @notice The packed `batch` argument of `settleBatch`. Indexes above 0xffff are written as
    ///         0xffff (still out of range for any batch a test builds).
    function pack(SignedOrder[] memory orders, BatchFill[] memory fills) internal pure returns (bytes memory out) {
        bytes32[] memory series = new bytes32[](orders.length);
        uint256 nSeries;
        uint256[] memory seriesIndex = new uint256[](orders.length);
        for (uint256 i; i < orders.length; ++i) {
            bytes32 id = orders[i].order.series;
            uint256 j;
            while (j < nSeries && series[j] != id) ++j;
            if (j == nSeries) series[nSeries++] = id;
            seriesIndex[i] = j;
        }
        out = abi.encodePacked(uint16(nSeries), uint16(orders.length), uint16(fills.length));
        for (uint256 j; j < nSeries; ++j) {
            out = bytes.concat(out, series[j]);
        }
        for (uint256 i; i < orders.length; ++i) {
            out = bytes.concat(out, packOrder(orders[i], seriesIndex[i]));
        }
        for (uint256 i; i < fills.length; ++i) {
            BatchFill memory f = fills[i];
            out = bytes.concat(
                out,
                abi.encodePacked(
                    _u16(f.makerOrder), _u16(f.takerOrder), uint128(f.amount), uint128(f.makerFee), uint128(f.takerFee)
                )
            );
        }
    }

    /// @notice One order record: maker, series index, flags, five words, signature.
    function packOrder(SignedOrder memory so, uint256 seriesIndex) internal pure returns (bytes memory) {
        OrderLib.Order memory o = so.order;
        bool ecdsa = so.signature.length == 65;
        uint8 flags = (o.isBuy ? 1 : 0) | (ecdsa ? 0 : 2);
        bytes memory head = abi.encodePacked(
            o.maker, uint16(seriesIndex), flags, o.price, o.amount, o.maxFee, o.nonce, o.expiry
        );
        if (ecdsa) return bytes.concat(head, so.signature);
        return bytes.concat(head, abi.encodePacked(uint16(so.signature.length)), so.signature);
    }

    function _u16(uint256 x) private pure returns (uint16) {
        return x > 0xffff ? 0xffff : uint16(x);
    }

    function _index(
        SignedOrder[] memory buf,
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
        buf[n] = SignedOrder(o, sig);
        return (n, n + 1);
    }
}
