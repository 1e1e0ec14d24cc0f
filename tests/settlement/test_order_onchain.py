"""The Python order model against the exchange's own on-chain digest and signature check, and the
contracts' test-vector file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.signer import LocalSigner
from settlement.abi import contract_abi
from settlement.chain import Chain
from settlement.deploy import deploy
from settlement.manifest import Manifest
from settlement.order import Order, SignedOrder, hash_order, make_domain, struct_hash
from settlement.signing import SECP256K1_N, SignatureCheck, key_address, recover, sign_digest, sign_order, verify_order
from tests.settlement.strategies import orders, private_keys
from tests.support.chain import derive_keys, run_anvil
from tests.support.procs import REPO_ROOT

EXCHANGE = contract_abi("Exchange")
VECTORS = REPO_ROOT / "contracts" / "test-vectors" / "orders.json"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chain, Manifest]]:
    with run_anvil(tmp_path_factory.mktemp("anvil-digest")) as node:
        chain = Chain.from_url(node.rpc_url)
        yield chain, deploy(chain, LocalSigner(node.keys[0]))


def _on_chain_digest(chain: Chain, manifest: Manifest, order: Order) -> bytes:
    (digest,) = EXCHANGE.decode_output(
        "hashOrder", chain.call(manifest.exchange, EXCHANGE.encode_call("hashOrder", order.as_tuple()))
    )
    return bytes(digest)


def _on_chain_valid(chain: Chain, manifest: Manifest, signed: SignedOrder) -> bool:
    data = EXCHANGE.encode_call("isValidSignature", signed.order.as_tuple(), signed.signature)
    (valid,) = EXCHANGE.decode_output("isValidSignature", chain.call(manifest.exchange, data))
    return bool(valid)


@settings(max_examples=150, deadline=None)
@given(order=orders())
def test_digest_equals_the_exchanges_hash_order_for_random_orders(
    deployed: tuple[Chain, Manifest], order: Order
) -> None:
    chain, manifest = deployed
    assert _on_chain_digest(chain, manifest, order) == hash_order(order, manifest.domain)


@settings(max_examples=40, deadline=None)
@given(key=private_keys, data=st.data())
def test_the_exchange_accepts_exactly_the_signatures_the_model_accepts(
    deployed: tuple[Chain, Manifest], key: bytes, data: st.DataObject
) -> None:
    chain, manifest = deployed
    order = data.draw(orders(maker=key_address(key)))
    signed = sign_order(order, manifest.domain, key)
    s = int.from_bytes(signed.signature[32:64], "big")
    twin = SignedOrder(
        order,
        signed.signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((55 - signed.signature[64],)),
    )
    bad_v = SignedOrder(order, signed.signature[:64] + bytes((signed.signature[64] - 27,)))

    assert verify_order(signed, manifest.domain) is SignatureCheck.VALID
    assert _on_chain_valid(chain, manifest, signed)
    for rejected in (twin, bad_v):
        assert verify_order(rejected, manifest.domain) is SignatureCheck.NOT_MAKER_EOA_SIGNATURE
        assert not _on_chain_valid(chain, manifest, rejected)


def test_python_matches_every_entry_of_the_contracts_test_vectors() -> None:
    vectors = json.loads(Path(VECTORS).read_text())
    key0 = bytes.fromhex(derive_keys()[0][2:])
    assert len(vectors) >= 5

    for entry in vectors:
        fields = {k: entry[k] for k in ("maker", "series", "isBuy", "price", "amount", "maxFee", "nonce", "expiry")}
        order = Order.from_json_dict(fields)
        domain = make_domain(entry["chainId"], entry["verifyingContract"])
        digest = hash_order(order, domain)

        assert "0x" + domain.separator.hex() == entry["domainSeparator"].lower(), entry["name"]
        assert "0x" + struct_hash(order).hex() == entry["structHash"].lower(), entry["name"]
        assert "0x" + digest.hex() == entry["digest"].lower(), entry["name"]
        assert "0x" + sign_digest(key0, digest).hex() == entry["signatureByTestKey0"].lower(), entry["name"]
        assert recover(digest, bytes.fromhex(entry["signatureByTestKey0"][2:])) == key_address(key0)
