// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {Echo} from "../../src/Echo.sol";

contract EchoSetTest is Test {
    Echo internal echo;

    function setUp() public {
        echo = new Echo();
    }

    function test_set_stores_value_and_returns_double() public {
        uint256 doubled = echo.set(21);
        assertEq(echo.value(), 21);
        assertEq(doubled, 42);
    }

    function testFuzz_set_doubles_without_overflow(uint256 x) public {
        x = bound(x, 0, type(uint256).max / 2);
        assertEq(echo.set(x), x * 2);
    }

    function test_set_reverts_on_overflow() public {
        vm.expectRevert();
        echo.set(type(uint256).max);
    }
}
