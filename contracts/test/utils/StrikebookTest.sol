// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "./Test.sol";
import {Batches, TestFill} from "./Batches.sol";
import {SeriesRegistry} from "../../src/SeriesRegistry.sol";
import {SettlementOracle} from "../../src/SettlementOracle.sol";
import {Exchange} from "../../src/Exchange.sol";
import {IExchange} from "../../src/interfaces/IExchange.sol";
import {ISeriesRegistry} from "../../src/interfaces/ISeriesRegistry.sol";
import {ISettlementOracle} from "../../src/interfaces/ISettlementOracle.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";
import {TestToken} from "../../src/test/TestToken.sol";

/// @notice Shared fixture: a deployed Strikebook (registry, oracle, exchange/vault), WETH (18
///         decimals) and USDC (6 decimals), one call and one put series, funded traders, and
///         helpers to build, sign and submit fills.
abstract contract StrikebookTest is Test {
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant EXPIRY = T0 + 30 days;
    uint256 internal constant STRIKE = 2_000e6; // 2,000 USDC per WETH
    uint256 internal constant ONE = 1e18; // one option = one WETH
    uint256 internal constant SECP256K1_HALF_N =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    SeriesRegistry internal registry;
    SettlementOracle internal oracle;
    Exchange internal exchange;
    TestToken internal weth;
    TestToken internal usdc;

    address internal admin;
    address internal operator;
    address internal lister;
    address internal pauser;
    address internal oracleAdmin;
    address internal feeSink;

    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;
    address internal carol;
    uint256 internal carolKey;

    bytes32 internal callId;
    bytes32 internal putId;
    uint64 internal nextSeq = 1;

    function setUp() public virtual {
        vm.warp(T0);
        admin = makeAddr("admin");
        operator = makeAddr("operator");
        lister = makeAddr("lister");
        pauser = makeAddr("pauser");
        oracleAdmin = makeAddr("oracleAdmin");
        feeSink = makeAddr("feeSink");
        (alice, aliceKey) = makeAddrAndKey("alice");
        (bob, bobKey) = makeAddrAndKey("bob");
        (carol, carolKey) = makeAddrAndKey("carol");

        registry = new SeriesRegistry(0, admin);
        oracle = new SettlementOracle(0, admin);
        exchange = new Exchange(registry, oracle, feeSink, 0, admin);
        weth = new TestToken("Wrapped Ether", "WETH", 18);
        usdc = new TestToken("USD Coin", "USDC", 6);

        vm.startPrank(admin);
        registry.grantRole(registry.LISTER_ROLE(), lister);
        registry.grantRole(registry.PAUSER_ROLE(), pauser);
        oracle.grantRole(oracle.ORACLE_ADMIN_ROLE(), oracleAdmin);
        exchange.grantRole(exchange.OPERATOR_ROLE(), operator);
        exchange.grantRole(exchange.PAUSER_ROLE(), pauser);
        vm.stopPrank();

        vm.startPrank(lister);
        registry.addAsset(address(weth));
        registry.addAsset(address(usdc));
        callId = registry.listSeries(address(weth), address(usdc), STRIKE, EXPIRY, true);
        putId = registry.listSeries(address(weth), address(usdc), STRIKE, EXPIRY, false);
        vm.stopPrank();
    }

    // ---- funding

    function _fund(address who, TestToken token, uint256 amount) internal {
        token.mint(who, amount);
        vm.startPrank(who);
        token.approve(address(exchange), amount);
        exchange.deposit(address(token), amount);
        vm.stopPrank();
    }

    function _free(address who, TestToken token) internal view returns (uint256 free) {
        (free,) = exchange.balanceOf(who, address(token));
    }

    function _locked(address who, TestToken token) internal view returns (uint256 locked) {
        (, locked) = exchange.balanceOf(who, address(token));
    }

    // ---- orders

    function _order(address maker, bytes32 series, bool isBuy, uint256 price, uint256 amount, uint256 nonce)
        internal
        pure
        returns (OrderLib.Order memory)
    {
        return OrderLib.Order({
            maker: maker,
            series: series,
            isBuy: isBuy,
            price: price,
            amount: amount,
            maxFee: 5e6,
            nonce: nonce,
            expiry: EXPIRY - 1 days
        });
    }

    function _digest(OrderLib.Order memory o) internal view returns (bytes32) {
        return OrderLib.hash(o, exchange.domainSeparator());
    }

    function _sign(uint256 key, OrderLib.Order memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(o));
        return abi.encodePacked(r, s, v);
    }

    function _fill(
        OrderLib.Order memory mk,
        uint256 mkKey,
        OrderLib.Order memory tk,
        uint256 tkKey,
        uint256 amount
    ) internal view returns (TestFill memory f) {
        f.maker = mk;
        f.makerSignature = _sign(mkKey, mk);
        f.taker = tk;
        f.takerSignature = _sign(tkKey, tk);
        f.amount = amount;
        f.makerFee = 1e6;
        f.takerFee = 2e6;
    }

    function _one(TestFill memory f) internal pure returns (TestFill[] memory fills) {
        fills = new TestFill[](1);
        fills[0] = f;
    }

    /// @dev Calls `settleBatch(seq, ...)` with `fills` encoded as (orders, fills).
    function _settleBatch(uint64 seq, TestFill[] memory fills) internal {
        exchange.settleBatch(seq, Batches.packFills(fills));
    }

    /// @dev Submits `fills` as the next batch.
    function _submit(TestFill[] memory fills) internal {
        vm.prank(operator);
        _settleBatch(nextSeq++, fills);
    }

    function _submitOne(TestFill memory f) internal {
        _submit(_one(f));
    }

    /// @dev Submits one fill and asserts it was skipped with `reason`.
    function _expectSkip(TestFill memory f, IExchange.SkipReason reason) internal {
        vm.expectEmit(true, false, false, true, address(exchange));
        emit IExchange.FillSkipped(nextSeq, 0, uint8(reason));
        _submitOne(f);
    }

    /// @dev A standard trade: alice (maker) sells `amount` calls to bob (taker) at 100 USDC.
    function _standardCallFill(uint256 amount) internal view returns (TestFill memory) {
        OrderLib.Order memory mk = _order(alice, callId, false, 100e6, 10 * ONE, 1);
        OrderLib.Order memory tk = _order(bob, callId, true, 110e6, 10 * ONE, 1);
        return _fill(mk, aliceKey, tk, bobKey, amount);
    }

    // ---- oracle

    function _setupOracle(uint256 signers, uint256 threshold) internal returns (uint256[] memory keys) {
        keys = new uint256[](signers);
        vm.startPrank(oracleAdmin);
        for (uint256 i; i < signers; ++i) {
            (address a, uint256 k) = makeAddrAndKey(string.concat("oracle", vm.toString(i)));
            keys[i] = k;
            oracle.addSigner(a);
        }
        oracle.setThreshold(threshold);
        vm.stopPrank();
        // sort keys by address ascending (insertion sort; few signers)
        for (uint256 i = 1; i < keys.length; ++i) {
            uint256 k = keys[i];
            uint256 j = i;
            while (j > 0 && vm.addr(keys[j - 1]) > vm.addr(k)) {
                keys[j] = keys[j - 1];
                --j;
            }
            keys[j] = k;
        }
    }

    function _reportSigs(uint256[] memory keys, uint256 n, address underlying, uint256 expiry, uint256 price)
        internal
        view
        returns (bytes[] memory sigs)
    {
        bytes32 d = oracle.reportDigest(underlying, expiry, price);
        sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], d);
            sigs[i] = abi.encodePacked(r, s, v);
        }
    }

    function _finalize(uint256 price) internal {
        uint256[] memory keys = _setupOracle(3, 2);
        vm.warp(EXPIRY);
        oracle.submitPrice(address(weth), EXPIRY, price, _reportSigs(keys, 2, address(weth), EXPIRY, price));
    }

    function _ids(bytes32 a) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = a;
    }

    function _ids(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](2);
        ids[0] = a;
        ids[1] = b;
    }
}
