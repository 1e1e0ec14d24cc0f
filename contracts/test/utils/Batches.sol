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
    ///         0xffff (still out of range for any batch a test builds). Fee pairs go to the fee
    ///         table once each, in order of first use.
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
        uint256[] memory fees = new uint256[](fills.length);
        uint256 nFees;
        uint256[] memory feeIndex = new uint256[](fills.length);
        for (uint256 i; i < fills.length; ++i) {
            uint256 pair = (uint256(uint128(fills[i].makerFee)) << 128) | uint128(fills[i].takerFee);
            uint256 j;
            while (j < nFees && fees[j] != pair) ++j;
            if (j == nFees) fees[nFees++] = pair;
            feeIndex[i] = j;
        }
        out = abi.encodePacked(uint16(nSeries), uint16(orders.length), uint16(fills.length), uint16(nFees));
        for (uint256 j; j < nSeries; ++j) {
            out = bytes.concat(out, series[j]);
        }
        for (uint256 j; j < nFees; ++j) {
            out = bytes.concat(out, bytes32(fees[j]));
        }
        for (uint256 i; i < orders.length; ++i) {
            out = bytes.concat(out, packOrder(orders[i], seriesIndex[i]));
        }
        for (uint256 i; i < fills.length; ++i) {
            BatchFill memory f = fills[i];
            out = bytes.concat(
                out, abi.encodePacked(_u16(f.makerOrder), _u16(f.takerOrder), uint16(feeIndex[i]), uint128(f.amount))
            );
        }
    }

    /// @notice One order record: maker, series index, flags, five compact integers, signature.
    function packOrder(SignedOrder memory so, uint256 seriesIndex) internal pure returns (bytes memory) {
        OrderLib.Order memory o = so.order;
        bool ecdsa = so.signature.length == 65;
        bool oneShot = o.nonce >= 1 << 255;
        uint8 flags = (o.isBuy ? 1 : 0) | (ecdsa ? 0 : 2) | (oneShot ? 4 : 0);
        bytes memory head = bytes.concat(
            abi.encodePacked(o.maker, uint16(seriesIndex), flags),
            compact(o.price),
            compact(o.amount),
            compact(o.maxFee),
            compact(oneShot ? o.nonce - (1 << 255) : o.nonce),
            compact(o.expiry)
        );
        if (ecdsa) return bytes.concat(head, so.signature);
        return bytes.concat(head, abi.encodePacked(uint16(so.signature.length)), so.signature);
    }

    /// @notice A compact integer: one length byte, then that many big-endian bytes (minimal).
    function compact(uint256 x) internal pure returns (bytes memory out) {
        uint256 len;
        for (uint256 y = x; y != 0; y >>= 8) ++len;
        out = new bytes(1 + len);
        out[0] = bytes1(uint8(len));
        for (uint256 i; i < len; ++i) {
            out[1 + i] = bytes1(uint8(x >> (8 * (len - 1 - i))));
        }
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
