// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Cheats} from "./Cheats.sol";

/// @title Test
/// @notice Shared base for every Strikebook forge test: cheatcodes, assertions, bounded
///         fuzz inputs, labelled keys and the invariant-target hooks forge calls by name.
abstract contract Test {
    /// @dev forge recognises test contracts by this flag.
    bool public constant IS_TEST = true;

    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    address[] private _targetContracts;
    address[] private _excludeSenders;
    FuzzSelector[] private _targetSelectors;

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    // ---- assertions
    function assertTrue(bool c) internal pure { vm.assertTrue(c, ""); }
    function assertTrue(bool c, string memory err) internal pure { vm.assertTrue(c, err); }
    function assertFalse(bool c) internal pure { vm.assertFalse(c, ""); }
    function assertFalse(bool c, string memory err) internal pure { vm.assertFalse(c, err); }
    function assertEq(uint256 a, uint256 b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(uint256 a, uint256 b, string memory err) internal pure { vm.assertEq(a, b, err); }
    function assertEq(int256 a, int256 b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(int256 a, int256 b, string memory err) internal pure { vm.assertEq(a, b, err); }
    function assertEq(address a, address b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(address a, address b, string memory err) internal pure { vm.assertEq(a, b, err); }
    function assertEq(bytes32 a, bytes32 b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(bytes32 a, bytes32 b, string memory err) internal pure { vm.assertEq(a, b, err); }
    function assertEq(bool a, bool b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(bool a, bool b, string memory err) internal pure { vm.assertEq(a, b, err); }
    function assertEq(bytes memory a, bytes memory b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(string memory a, string memory b) internal pure { vm.assertEq(a, b, ""); }
    function assertNotEq(uint256 a, uint256 b) internal pure { vm.assertNotEq(a, b, ""); }
    function assertLt(uint256 a, uint256 b) internal pure { vm.assertLt(a, b, ""); }
    function assertLe(uint256 a, uint256 b) internal pure { vm.assertLe(a, b, ""); }
    function assertLe(uint256 a, uint256 b, string memory err) internal pure { vm.assertLe(a, b, err); }
    function assertGt(uint256 a, uint256 b) internal pure { vm.assertGt(a, b, ""); }
    function assertGe(uint256 a, uint256 b) internal pure { vm.assertGe(a, b, ""); }
    function assertGe(int256 a, int256 b) internal pure { vm.assertGe(a, b, ""); }
    function assertLe(int256 a, int256 b) internal pure { vm.assertLe(a, b, ""); }
    function assertGe(uint256 a, uint256 b, string memory err) internal pure { vm.assertGe(a, b, err); }
    function assertApproxEqAbs(uint256 a, uint256 b, uint256 d) internal pure { vm.assertApproxEqAbs(a, b, d, ""); }

    // ---- fuzz helpers
    /// @dev Maps any `x` into [lo, hi] without discarding runs (uniform enough for fuzzing).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo;
        if (size == type(uint256).max) return x;
        return lo + (x % (size + 1));
    }

    /// @dev A deterministic labelled address and its private key, derived from `name`.
    function makeAddrAndKey(string memory name) internal returns (address account, uint256 key) {
        key = uint256(keccak256(abi.encodePacked(name))) % SECP256K1_N;
        if (key == 0) key = 1;
        account = vm.addr(key);
        vm.label(account, name);
    }

    function makeAddr(string memory name) internal returns (address account) {
        (account,) = makeAddrAndKey(name);
    }

    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // ---- invariant targeting (forge calls these by selector)
    function targetContract(address target) internal { _targetContracts.push(target); }
    function excludeSender(address sender) internal { _excludeSenders.push(sender); }
    function targetSelector(FuzzSelector memory sel) internal { _targetSelectors.push(sel); }

    function targetContracts() public view returns (address[] memory) { return _targetContracts; }
    function excludeSenders() public view returns (address[] memory) { return _excludeSenders; }
    function targetSelectors() public view returns (FuzzSelector[] memory) { return _targetSelectors; }
}
