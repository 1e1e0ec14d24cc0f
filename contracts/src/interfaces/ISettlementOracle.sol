// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISettlementOracle
/// @notice Final settlement prices per (underlying, expiry), attested by M of N registered signers.
/// @dev A price is quote base units per whole unit of underlying (the quote the registry pins to
///      that underlying), the same scale as a series strike. EIP-712 domain: name
///      "Strikebook Oracle", version "1", chainId, verifyingContract = this oracle.
///      Report type: `PriceReport(address underlying,uint256 expiry,uint256 price)`.
///      Roles: ORACLE_ADMIN_ROLE manages signers and the threshold; DEFAULT_ADMIN_ROLE (two-step) grants roles.
interface ISettlementOracle {
    /// @notice A signer was added.
    event SignerAdded(address indexed signer);
    /// @notice A signer was removed.
    event SignerRemoved(address indexed signer);
    /// @notice The threshold M changed.
    event ThresholdSet(uint256 threshold);
    /// @notice The price for (underlying, expiry) became final; `signers` is how many attested it.
    event PriceFinalized(address indexed underlying, uint256 indexed expiry, uint256 price, uint256 signers);

    /// @notice `signer` is the zero address or already registered.
    error InvalidSigner(address signer);
    /// @notice `signer` is not registered.
    error UnknownSigner(address signer);
    /// @notice The threshold must satisfy 1 <= threshold <= signerCount.
    error InvalidThreshold(uint256 threshold, uint256 signerCount);
    /// @notice The price is zero or does not fit in 128 bits.
    error InvalidPrice(uint256 price);
    /// @notice Reports are accepted only once `block.timestamp >= expiry`.
    error ExpiryNotReached(uint256 expiry, uint256 nowTs);
    /// @notice The price for (underlying, expiry) is already final (at `price`); it never changes.
    error AlreadyFinal(address underlying, uint256 expiry, uint256 price);
    /// @notice Signature `index` is malformed (length, high s, bad v) or recovers no one.
    error InvalidSignature(uint256 index);
    /// @notice Signers must be strictly increasing by address (which also rules out duplicates).
    error SignersNotSorted(uint256 index);
    /// @notice Fewer signatures than the threshold.
    error InsufficientSignatures(uint256 count, uint256 threshold);

    /// @notice Finalizes the price of (underlying, expiry) from `signatures` over the EIP-712
    ///         PriceReport. Anyone may submit. Every signature must be a registered signer's, sorted by
    ///         signer address ascending, and there must be at least `threshold` of them.
    /// @param price Quote base units per whole underlying, 0 < price < 2**128.
    function submitPrice(address underlying, uint256 expiry, uint256 price, bytes[] calldata signatures) external;

    /// @notice Registers `signer`. Only ORACLE_ADMIN_ROLE.
    function addSigner(address signer) external;
    /// @notice Unregisters `signer`; reverts if the threshold would exceed the remaining signers. Only ORACLE_ADMIN_ROLE.
    function removeSigner(address signer) external;
    /// @notice Sets the threshold M. Only ORACLE_ADMIN_ROLE.
    function setThreshold(uint256 newThreshold) external;

    /// @notice The final price of (underlying, expiry), and whether it is final (price 0 if not).
    function finalPrice(address underlying, uint256 expiry) external view returns (uint256 price, bool isFinal);
    /// @notice The EIP-712 digest a signer signs for this report.
    function reportDigest(address underlying, uint256 expiry, uint256 price) external view returns (bytes32);
    /// @notice Whether `signer` is registered.
    function isSigner(address signer) external view returns (bool);
    /// @notice Number of registered signers N.
    function signerCount() external view returns (uint256);
    /// @notice Threshold M.
    function threshold() external view returns (uint256);
}
