// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrikebookTest} from "../utils/StrikebookTest.sol";
import {OrderLib} from "../../src/libraries/OrderLib.sol";

/// @dev Exposes the calldata hashing path.
contract OrderLibHarness {
    function hashCalldata(OrderLib.Order calldata order, bytes32 domainSep) external pure returns (bytes32) {
        return OrderLib.hashCalldata(order, domainSep);
    }

    function structHashCalldata(OrderLib.Order calldata order) external pure returns (bytes32) {
        return OrderLib.structHashCalldata(order);
    }
}

/// @notice OrderLib: precomputed hashes against their preimages, memory vs calldata hashing,
///         the exchange's digest, and the test-vector file the Python order model reproduces.
contract OrderLibHashTest is StrikebookTest {
    /// @dev Fixed vector domain: Anvil's chain id and the address Anvil gives the first contract
    ///      deployed by its first default account. Ganache (1337) vectors use the same address.
    uint256 internal constant VECTOR_CHAIN_ID = 31337;
    address internal constant VECTOR_CONTRACT = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    /// @dev A public test key (Anvil default account 0); never use it for value.
    uint256 internal constant VECTOR_KEY = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    OrderLibHarness internal harness;

    function setUp() public override {
        super.setUp();
        harness = new OrderLibHarness();
    }

    function test_type_hash_matches_preimage() public pure {
        assertEq(OrderLib.TYPE_HASH, keccak256(bytes(OrderLib.TYPE_STRING)));
        assertEq(
            keccak256(bytes(OrderLib.TYPE_STRING)),
            keccak256(
                "Order(address maker,bytes32 series,bool isBuy,uint256 price,uint256 amount,uint256 maxFee,uint256 nonce,uint256 expiry)"
            )
        );
        assertEq(
            OrderLib.DOMAIN_TYPE_HASH,
            keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
        );
    }

    function test_exchange_domain_is_strikebook_v1() public view {
        assertEq(exchange.domainSeparator(), OrderLib.domainSeparator(block.chainid, address(exchange)));
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = exchange.eip712Domain();
        assertEq(name, "Strikebook");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(exchange));
    }

    function test_domain_follows_chain_id() public {
        vm.chainId(1337);
        assertEq(exchange.domainSeparator(), OrderLib.domainSeparator(1337, address(exchange)));
    }

    function test_series_id_is_abi_encoded_fields() public pure {
        assertEq(
            OrderLib.seriesId(address(1), address(2), 3, 4, true),
            keccak256(abi.encode(address(1), address(2), uint256(3), uint256(4), true))
        );
    }

    function testFuzz_calldata_and_memory_hashes_agree(OrderLib.Order memory o, bytes32 ds) public view {
        assertEq(harness.structHashCalldata(o), OrderLib.structHash(o));
        assertEq(harness.hashCalldata(o, ds), OrderLib.hash(o, ds));
        assertEq(
            OrderLib.hash(o, ds), keccak256(abi.encodePacked(hex"1901", ds, OrderLib.structHash(o)))
        );
    }

    function testFuzz_exchange_hashOrder_is_the_digest(OrderLib.Order memory o) public view {
        assertEq(exchange.hashOrder(o), OrderLib.hash(o, exchange.domainSeparator()));
    }

    // ---- test vectors

    function _vectorOrders() internal pure returns (OrderLib.Order[] memory os) {
        address signer = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266; // address of VECTOR_KEY
        bytes32 series = keccak256(
            abi.encode(
                0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0,
                0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9,
                uint256(2_000e6),
                uint256(1_767_225_600),
                true
            )
        );
        os = new OrderLib.Order[](5);
        os[0] = OrderLib.Order(signer, series, true, 100e6, 1e18, 1e6, 1, 1_767_000_000);
        os[1] = OrderLib.Order(signer, series, false, 95_500_000, 25e17, 0, 2, 1_767_000_000);
        os[2] = OrderLib.Order(address(0), bytes32(0), false, 0, 0, 0, 0, 0);
        os[3] = OrderLib.Order(
            signer,
            bytes32(type(uint256).max),
            true,
            type(uint256).max,
            type(uint256).max,
            type(uint256).max,
            type(uint256).max,
            type(uint256).max
        );
        os[4] = OrderLib.Order(
            0x70997970C51812dc3A010C7d01b50e0d17dc79C8, series, true, 1, 1, 1, 1 << 200, 1_767_225_599
        );
    }

    function _entry(string memory name, uint256 chainId, address verifying, OrderLib.Order memory o)
        internal
        view
        returns (string memory)
    {
        bytes32 ds = OrderLib.domainSeparator(chainId, verifying);
        string memory head = string.concat(
            '{"name":"', name,
            '","chainId":', vm.toString(chainId),
            ',"verifyingContract":"', vm.toString(verifying),
            '","domainSeparator":"', vm.toString(ds)
        );
        return string.concat(head, _orderFields(o), _hashes(o, ds));
    }

    function _orderFields(OrderLib.Order memory o) internal pure returns (string memory) {
        string memory a = string.concat(
            '","maker":"', vm.toString(o.maker),
            '","series":"', vm.toString(o.series),
            '","isBuy":', o.isBuy ? "true" : "false"
        );
        return string.concat(
            a,
            ',"price":"', vm.toString(o.price),
            '","amount":"', vm.toString(o.amount),
            '","maxFee":"', vm.toString(o.maxFee),
            '","nonce":"', vm.toString(o.nonce),
            '","expiry":"', vm.toString(o.expiry)
        );
    }

    function _hashes(OrderLib.Order memory o, bytes32 ds) internal pure returns (string memory) {
        bytes32 digest = OrderLib.hash(o, ds);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(VECTOR_KEY, digest);
        return string.concat(
            '","structHash":"', vm.toString(OrderLib.structHash(o)),
            '","digest":"', vm.toString(digest),
            '","signatureByTestKey0":"', vm.toString(abi.encodePacked(r, s, v)), '"}'
        );
    }

    /// @notice Writes test-vectors/orders.json. Domain: chainId 31337 (Anvil) or 1337 (Ganache),
    ///         verifyingContract 0x5FbDB2315678afecb367f032d93F642f64180aa3 (first vectors) and
    ///         0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512. `signatureByTestKey0` is the r‖s‖v
    ///         signature of the digest by Anvil's public test key 0 (RFC 6979, low s).
    function test_write_order_vectors() public {
        OrderLib.Order[] memory os = _vectorOrders();
        string memory json = "[\n";
        string[5] memory names = ["buy call", "sell call, zero fee", "all zero", "all max", "second maker, big nonce"];
        for (uint256 i; i < os.length; ++i) {
            json = string.concat(json, "  ", _entry(names[i], VECTOR_CHAIN_ID, VECTOR_CONTRACT, os[i]), ",\n");
        }
        json = string.concat(
            json, "  ", _entry("buy call on ganache", 1337, VECTOR_CONTRACT, os[0]), ",\n"
        );
        json = string.concat(
            json, "  ", _entry("buy call, other exchange address", VECTOR_CHAIN_ID, 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512, os[0]), "\n]\n"
        );
        vm.writeFile(string.concat(vm.projectRoot(), "/test-vectors/orders.json"), json);

        // the file is what the contracts compute
        assertEq(OrderLib.hash(os[0], OrderLib.domainSeparator(VECTOR_CHAIN_ID, VECTOR_CONTRACT)),
            OrderLib.toTypedDataHash(OrderLib.domainSeparator(VECTOR_CHAIN_ID, VECTOR_CONTRACT), OrderLib.structHash(os[0])));
        assertEq(vm.addr(VECTOR_KEY), os[0].maker);
    }
}
