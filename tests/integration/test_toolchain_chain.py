"""The toolchain end to end: a forge-built contract deployed by web3.py on both local chains."""

from __future__ import annotations

from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3

from settlement.artifacts import load_artifact
from tests.support.chain import ChainNode


def _deploy_echo(node: ChainNode) -> tuple[Web3, ChecksumAddress]:
    w3 = node.w3
    artifact = load_artifact("Echo")
    deployer = Account.from_key(node.keys[0])
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor().build_transaction(
        {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address), "chainId": node.chain_id}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1
    address = receipt["contractAddress"]
    assert address is not None
    return w3, Web3.to_checksum_address(address)


def test_forge_built_contract_deploys_and_answers_on_each_chain(chain: ChainNode) -> None:
    w3, address = _deploy_echo(chain)
    echo = w3.eth.contract(address=address, abi=load_artifact("Echo").abi)
    sender = Account.from_key(chain.keys[1])

    assert w3.eth.chain_id == chain.chain_id
    assert echo.functions.set(21).call({"from": sender.address}) == 42

    tx = echo.functions.set(21).build_transaction(
        {"from": sender.address, "nonce": w3.eth.get_transaction_count(sender.address), "chainId": chain.chain_id}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    )

    assert receipt["status"] == 1
    assert echo.functions.value().call() == 21
    (event,) = echo.events.ValueSet().process_receipt(receipt)
    assert event["args"]["by"] == sender.address
    assert event["args"]["value"] == 21


def test_checked_arithmetic_reverts_on_each_chain(chain: ChainNode) -> None:
    w3, address = _deploy_echo(chain)
    echo = w3.eth.contract(address=address, abi=load_artifact("Echo").abi)

    try:
        echo.functions.set(2**256 - 1).call()
    except Exception as exc:  # web3 raises ContractPanicError / ContractLogicError by node
        assert "0x11" in str(exc) or "overflow" in str(exc).lower() or "revert" in str(exc).lower()
    else:
        raise AssertionError("an overflowing set() must revert")
    assert echo.functions.value().call() == 0


def test_both_chains_fund_the_same_deterministic_accounts(anvil: ChainNode, ganache: ChainNode) -> None:
    assert anvil.addresses == ganache.addresses
    for node in (anvil, ganache):
        balance = node.w3.eth.get_balance(Web3.to_checksum_address(node.addresses[0]))
        assert balance >= 10**24
