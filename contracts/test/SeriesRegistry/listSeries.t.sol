// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {ISeriesRegistry} from "../../src/interfaces/ISeriesRegistry.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";
import {TestToken} from "../../src/test/TestToken.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @notice listSeries, getSeries/seriesOf, pause.
contract SeriesRegistryListSeriesTest is StrikebookTest {
    function test_listSeries_stores_fields_and_id() public {
        ISeriesRegistry.Series memory s = registry.getSeries(callId);
        assertEq(s.underlying, address(weth));
        assertEq(s.quote, address(usdc));
        assertEq(s.strike, STRIKE);
        assertEq(s.expiry, EXPIRY);
        assertTrue(s.isCall);
        assertEq(s.underlyingUnit, 1e18);
        assertEq(callId, keccak256(abi.encode(address(weth), address(usdc), STRIKE, EXPIRY, true)));
        assertEq(registry.seriesId(address(weth), address(usdc), STRIKE, EXPIRY, true), callId);
        assertTrue(registry.isListed(callId));
        assertEq(registry.quoteOf(address(weth)), address(usdc));
    }

    function test_listSeries_emits() public {
        bytes32 id = OrderLib.seriesId(address(weth), address(usdc), 3_000e6, EXPIRY, true);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ISeriesRegistry.SeriesListed(id, address(weth), address(usdc), 3_000e6, EXPIRY, true);
        vm.prank(lister);
        registry.listSeries(address(weth), address(usdc), 3_000e6, EXPIRY, true);
    }

    function test_listSeries_rejects_duplicates() public {
        vm.prank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.SeriesExists.selector, callId));
        registry.listSeries(address(weth), address(usdc), STRIKE, EXPIRY, true);
    }

    function test_listSeries_rejects_past_or_present_expiry() public {
        vm.startPrank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidExpiry.selector, T0, T0));
        registry.listSeries(address(weth), address(usdc), STRIKE, T0, true);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidExpiry.selector, T0 - 1, T0));
        registry.listSeries(address(weth), address(usdc), STRIKE, T0 - 1, true);
        uint256 far = uint256(type(uint64).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidExpiry.selector, far, T0));
        registry.listSeries(address(weth), address(usdc), STRIKE, far, true);
        vm.stopPrank();
    }

    function test_listSeries_rejects_zero_or_huge_strike() public {
        vm.startPrank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidStrike.selector, 0));
        registry.listSeries(address(weth), address(usdc), 0, EXPIRY, true);
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.InvalidStrike.selector, huge));
        registry.listSeries(address(weth), address(usdc), huge, EXPIRY, true);
        vm.stopPrank();
    }

    function test_listSeries_rejects_unknown_assets() public {
        TestToken other = new TestToken("Other", "OTH", 8);
        vm.startPrank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.UnknownAsset.selector, address(other)));
        registry.listSeries(address(other), address(usdc), STRIKE, EXPIRY, true);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.UnknownAsset.selector, address(other)));
        registry.listSeries(address(weth), address(other), STRIKE, EXPIRY, true);
        vm.stopPrank();
    }

    function test_listSeries_rejects_same_asset() public {
        vm.prank(lister);
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.SameAsset.selector, address(weth)));
        registry.listSeries(address(weth), address(weth), STRIKE, EXPIRY, true);
    }

    function test_listSeries_pins_one_quote_per_underlying() public {
        TestToken dai = new TestToken("Dai", "DAI", 18);
        vm.startPrank(lister);
        registry.addAsset(address(dai));
        vm.expectRevert(
            abi.encodeWithSelector(ISeriesRegistry.QuoteMismatch.selector, address(weth), address(usdc), address(dai))
        );
        registry.listSeries(address(weth), address(dai), STRIKE, EXPIRY, true);
        vm.stopPrank();
    }

    function test_listSeries_only_lister() public {
        bytes32 role = registry.LISTER_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        registry.listSeries(address(weth), address(usdc), 1, EXPIRY, true);
    }

    function test_pause_stops_listing_only() public {
        vm.prank(pauser);
        registry.pause();
        vm.prank(lister);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.listSeries(address(weth), address(usdc), 1, EXPIRY, true);
        assertTrue(registry.isListed(callId)); // reads go on
        vm.prank(pauser);
        registry.unpause();
        vm.prank(lister);
        registry.listSeries(address(weth), address(usdc), 1, EXPIRY, true);
    }

    function test_pause_only_pauser() public {
        bytes32 role = registry.PAUSER_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        registry.pause();
    }

    function test_getSeries_reverts_for_unknown_and_seriesOf_returns_zero() public {
        vm.expectRevert(abi.encodeWithSelector(ISeriesRegistry.UnknownSeries.selector, bytes32("x")));
        registry.getSeries(bytes32("x"));
        assertEq(registry.seriesOf(bytes32("x")).underlying, address(0));
    }

    function testFuzz_series_id_matches_abi_encoding(uint256 strike, uint256 expiry, bool isCall) public {
        strike = bound(strike, 1, type(uint128).max);
        expiry = bound(expiry, T0 + 1, type(uint64).max);
        vm.assume(!(strike == STRIKE && expiry == EXPIRY));
        vm.prank(lister);
        bytes32 id = registry.listSeries(address(weth), address(usdc), strike, expiry, isCall);
        assertEq(id, keccak256(abi.encode(address(weth), address(usdc), strike, expiry, isCall)));
    }
}
