// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Cheats
/// @notice The forge cheatcodes the Strikebook tests use, declared by selector.
/// @dev forge-std on npm stops at 1.1.2, whose Test.sol needs ds-test (not on npm) and whose
///      Vm interface predates the assertion and invariant cheatcodes. Cheatcodes are dispatched
///      by selector, so declaring the ones we use here is all forge needs.
interface Cheats {
    // ---- environment
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function fee(uint256 newBasefee) external;
    function chainId(uint256 newChainId) external;
    function deal(address who, uint256 newBalance) external;
    function etch(address who, bytes calldata code) external;
    function load(address target, bytes32 slot) external view returns (bytes32);
    function store(address target, bytes32 slot, bytes32 value) external;
    function getNonce(address account) external view returns (uint64);

    // ---- callers
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;

    // ---- keys and signatures
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function label(address account, string calldata newLabel) external;

    // ---- expectations
    function expectRevert() external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function expectEmit() external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function assume(bool condition) external pure;

    // ---- snapshots and gas
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
    function snapshotValue(string calldata name, uint256 value) external;
    function snapshotGasLastCall(string calldata name) external returns (uint256 gasUsed);
    function pauseGasMetering() external;
    function resumeGasMetering() external;

    // ---- files and formatting
    function projectRoot() external view returns (string memory path);
    function writeFile(string calldata path, string calldata data) external;
    function readFile(string calldata path) external view returns (string memory data);
    function toString(uint256 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function toString(bytes32 value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
    function toString(bool value) external pure returns (string memory);

    // ---- assertions (revert on failure, which is how forge 1.x fails a test)
    function assertTrue(bool condition, string calldata error) external pure;
    function assertFalse(bool condition, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(int256 left, int256 right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertEq(bool left, bool right, string calldata error) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata error) external pure;
    function assertEq(string calldata left, string calldata right, string calldata error) external pure;
    function assertNotEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertLt(uint256 left, uint256 right, string calldata error) external pure;
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGt(uint256 left, uint256 right, string calldata error) external pure;
    function assertGe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGe(int256 left, int256 right, string calldata error) external pure;
    function assertLe(int256 left, int256 right, string calldata error) external pure;
    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string calldata error) external pure;

    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }
}
