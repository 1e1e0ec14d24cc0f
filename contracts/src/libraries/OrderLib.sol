// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OrderLib
/// @notice The Strikebook order: struct, EIP-712 type hash and hashing. The Python order model in
///         `settlement/` mirrors this library function for function; `test-vectors/orders.json`
///         (written by `test/OrderLib/hash.t.sol`) pins both to the same digests.
/// @dev Units (see docs/PROTOCOL.md):
///      - `amount`: options, in underlying base units (10**underlyingDecimals = one option).
///      - `price`:  premium per whole option, in quote base units.
///      - `maxFee`: the most fee per whole option the signer accepts, in quote base units.
///      - `nonce`:  any number; orders with `nonce < minNonce[maker]` are cancelled.
///      - `expiry`: unix seconds; the order can fill while `block.timestamp <= expiry`.
library OrderLib {
    /// @notice A signed option order. Field order and types are part of the EIP-712 type.
    struct Order {
        address maker;
        bytes32 series;
        bool isBuy;
        uint256 price;
        uint256 amount;
        uint256 maxFee;
        uint256 nonce;
        uint256 expiry;
    }

    /// @notice The EIP-712 type string of {Order}; {TYPE_HASH} is its keccak256.
    string internal constant TYPE_STRING =
        "Order(address maker,bytes32 series,bool isBuy,uint256 price,uint256 amount,uint256 maxFee,uint256 nonce,uint256 expiry)";

    /// @dev keccak256(TYPE_STRING), precomputed; `test/OrderLib/hash.t.sol` checks it against the preimage.
    bytes32 internal constant TYPE_HASH = 0x6b167b049f1b8fdfef9185edd2957e66589ba33f96b6b24fcff527d281a06eae;

    /// @dev keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    bytes32 internal constant DOMAIN_TYPE_HASH = 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f;

    /// @notice The EIP-712 domain name and version of the exchange.
    string internal constant DOMAIN_NAME = "Strikebook";
    string internal constant DOMAIN_VERSION = "1";

    /// @notice The EIP-712 struct hash of `order` (memory copy).
    function structHash(Order memory order) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TYPE_HASH,
                order.maker,
                order.series,
                order.isBuy,
                order.price,
                order.amount,
                order.maxFee,
                order.nonce,
                order.expiry
            )
        );
    }

    /// @notice The EIP-712 struct hash of `order` read straight from calldata (no memory copy).
    /// @dev The eight fields are eight static 32-byte words in calldata, laid out exactly as
    ///      `abi.encode` lays them out, so one calldatacopy after TYPE_HASH gives the preimage.
    ///      The fields are validated (address and bool cleanliness) before use, so a dirty word
    ///      can only produce a digest no one signed.
    function structHashCalldata(Order calldata order) internal pure returns (bytes32 h) {
        bytes32 typeHash = TYPE_HASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), order, 0x100)
            h := keccak256(ptr, 0x120)
        }
    }

    /// @notice The EIP-712 struct hash of an order given field by field (the packed batch carries
    ///         no ABI-laid-out struct), hashed in scratch memory past the free pointer.
    function structHashOf(
        address maker,
        bytes32 series,
        bool isBuy,
        uint256 price,
        uint256 amount,
        uint256 maxFee,
        uint256 nonce,
        uint256 expiry
    ) internal pure returns (bytes32 h) {
        bytes32 typeHash = TYPE_HASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), and(maker, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x40), series)
            mstore(add(ptr, 0x60), iszero(iszero(isBuy)))
            mstore(add(ptr, 0x80), price)
            mstore(add(ptr, 0xa0), amount)
            mstore(add(ptr, 0xc0), maxFee)
            mstore(add(ptr, 0xe0), nonce)
            mstore(add(ptr, 0x100), expiry)
            h := keccak256(ptr, 0x120)
        }
    }

    /// @notice The EIP-712 domain separator for `chainId` and `verifyingContract`.
    function domainSeparator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPE_HASH,
                keccak256(bytes(DOMAIN_NAME)),
                keccak256(bytes(DOMAIN_VERSION)),
                chainId,
                verifyingContract
            )
        );
    }

    /// @notice The order id: the EIP-712 digest keccak256("\x19\x01" ‖ domainSeparator ‖ structHash).
    function hash(Order memory order, bytes32 domainSep) internal pure returns (bytes32) {
        return toTypedDataHash(domainSep, structHash(order));
    }

    /// @notice {hash} for an order in calldata.
    function hashCalldata(Order calldata order, bytes32 domainSep) internal pure returns (bytes32) {
        return toTypedDataHash(domainSep, structHashCalldata(order));
    }

    /// @dev keccak256("\x19\x01" ‖ domainSep ‖ sHash), without allocating memory.
    function toTypedDataHash(bytes32 domainSep, bytes32 sHash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSep)
            mstore(add(ptr, 0x22), sHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    /// @notice The series id: keccak256(abi.encode(underlying, quote, strike, expiry, isCall)).
    function seriesId(address underlying, address quote, uint256 strike, uint256 expiry, bool isCall)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(underlying, quote, strike, expiry, isCall));
    }
}
