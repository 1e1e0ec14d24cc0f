// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ISettlementOracle} from "./interfaces/ISettlementOracle.sol";

/// @title SettlementOracle
/// @notice M-of-N signed settlement prices. A final price never changes.
contract SettlementOracle is ISettlementOracle, AccessControlDefaultAdminRules, EIP712 {
    /// @notice Manages signers and the threshold.
    bytes32 public constant ORACLE_ADMIN_ROLE = keccak256("ORACLE_ADMIN_ROLE");

    /// @notice EIP-712 type string of a price report; {REPORT_TYPE_HASH} is its keccak256.
    string public constant REPORT_TYPE_STRING = "PriceReport(address underlying,uint256 expiry,uint256 price)";
    /// @dev keccak256(REPORT_TYPE_STRING), checked against the preimage in the tests.
    bytes32 public constant REPORT_TYPE_HASH = 0xf52d4d6328c876765e1b0fc359d058a36810ad7a850fe9badca70d6fccb1c753;

    /// @inheritdoc ISettlementOracle
    mapping(address signer => bool) public isSigner;
    /// @inheritdoc ISettlementOracle
    uint256 public signerCount;
    /// @inheritdoc ISettlementOracle
    uint256 public threshold;
    mapping(bytes32 key => uint256 price) internal _final;

    /// @param initialAdminDelay Seconds the two-step admin transfer waits.
    /// @param admin Initial DEFAULT_ADMIN_ROLE holder; grants ORACLE_ADMIN_ROLE.
    constructor(uint48 initialAdminDelay, address admin)
        AccessControlDefaultAdminRules(initialAdminDelay, admin)
        EIP712("Strikebook Oracle", "1")
    {}

    /// @inheritdoc ISettlementOracle
    function submitPrice(address underlying, uint256 expiry, uint256 price, bytes[] calldata signatures) external {
        if (price == 0 || price > type(uint128).max) revert InvalidPrice(price);
        if (block.timestamp < expiry) revert ExpiryNotReached(expiry, block.timestamp);
        bytes32 key = _key(underlying, expiry);
        uint256 existing = _final[key];
        if (existing != 0) revert AlreadyFinal(underlying, expiry, existing);
        uint256 m = threshold;
        if (m == 0 || signatures.length < m) revert InsufficientSignatures(signatures.length, m);
        bytes32 digest = reportDigest(underlying, expiry, price);
        address previous = address(0);
        for (uint256 i; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError || errArg != bytes32(0)) revert InvalidSignature(i);
            if (!isSigner[signer]) revert UnknownSigner(signer);
            if (signer <= previous) revert SignersNotSorted(i);
            previous = signer;
        }
        _final[key] = price;
        emit PriceFinalized(underlying, expiry, price, signatures.length);
    }

    /// @inheritdoc ISettlementOracle
    function addSigner(address signer) external onlyRole(ORACLE_ADMIN_ROLE) {
        if (signer == address(0) || isSigner[signer]) revert InvalidSigner(signer);
        isSigner[signer] = true;
        ++signerCount;
        emit SignerAdded(signer);
    }

    /// @inheritdoc ISettlementOracle
    function removeSigner(address signer) external onlyRole(ORACLE_ADMIN_ROLE) {
        if (!isSigner[signer]) revert UnknownSigner(signer);
        uint256 n = signerCount - 1;
        if (threshold > n) revert InvalidThreshold(threshold, n);
        isSigner[signer] = false;
        signerCount = n;
        emit SignerRemoved(signer);
    }

    /// @inheritdoc ISettlementOracle
    function setThreshold(uint256 newThreshold) external onlyRole(ORACLE_ADMIN_ROLE) {
        if (newThreshold == 0 || newThreshold > signerCount) revert InvalidThreshold(newThreshold, signerCount);
        threshold = newThreshold;
        emit ThresholdSet(newThreshold);
    }

    /// @inheritdoc ISettlementOracle
    function finalPrice(address underlying, uint256 expiry) external view returns (uint256 price, bool isFinal) {
        price = _final[_key(underlying, expiry)];
        isFinal = price != 0;
    }

    /// @inheritdoc ISettlementOracle
    function reportDigest(address underlying, uint256 expiry, uint256 price) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(REPORT_TYPE_HASH, underlying, expiry, price)));
    }

    function _key(address underlying, uint256 expiry) internal pure returns (bytes32) {
        return keccak256(abi.encode(underlying, expiry));
    }
}
