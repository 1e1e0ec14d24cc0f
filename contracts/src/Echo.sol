// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Echo
/// @notice Toolchain smoke contract: proves forge builds, Python deploys and both local chains run it.
contract Echo {
    /// @notice Emitted whenever the stored value changes.
    event ValueSet(address indexed by, uint256 value);

    /// @notice The last value stored.
    uint256 public value;

    /// @notice Stores `newValue` and returns it doubled (checked arithmetic).
    function set(uint256 newValue) external returns (uint256 doubled) {
        value = newValue;
        emit ValueSet(msg.sender, newValue);
        return newValue * 2;
    }
}
