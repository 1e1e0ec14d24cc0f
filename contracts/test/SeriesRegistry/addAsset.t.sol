// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {ISeriesRegistry} from "../../src/interfaces/ISeriesRegistry.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract SeriesRegistryAddAssetTest is StrikebookTest {
    function test_addAsset_records_decimals() public {
        TestToken wbtc = new TestToken("Wrapped BTC", "WBTC", 8);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISeriesRegistry.AssetAdded(address(wbtc), 8);
        vm.prank(lister);
        registry.addAsset(address(wbtc));
        assertTrue(registry.isAsset(address(wbtc)));
        assertEq(registry.assetDecimals(address(wbtc)), 8);
        assertEq(registry.assetDecimals(address(usdc)), 6);
        assertEq(registry.assetDecimals(alice), 0);
    }

    function test_addAsset_zero_decimals_token() public {
        TestToken t = new TestToken("Zero", "Z", 0);
        vm.prank(lister);
        registry.addAsset(address(t));
        assertTrue(registry.isAsset(address(t)));
        assertEq(registry.assetDecimals(address(t)), 0);
    }

    function test_addAsset_rejects_duplicates() public {
        vm.prank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.AssetAlreadyAdded.selector, address(weth)));
        registry.addAsset(address(weth));
    }

    function test_addAsset_rejects_non_tokens() public {
        vm.startPrank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidAsset.selector, address(0)));
        registry.addAsset(address(0));
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidAsset.selector, alice));
        registry.addAsset(alice); // no code
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidAsset.selector, address(oracle)));
        registry.addAsset(address(oracle)); // code, no decimals()
        vm.stopPrank();
    }

    function test_addAsset_rejects_more_than_36_decimals() public {
        TestToken t = new TestToken("Many", "M", 37);
        vm.prank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidAsset.selector, address(t)));
        registry.addAsset(address(t));
    }

    function test_addAsset_only_lister() public {
        bytes32 role = registry.LISTER_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        registry.addAsset(address(1));
    }
}
