"""Every Signer implementation produces the same bytes, and they verify to the signer's address.

The remote signer runs as a real separate process (`python -m keys.remote_server`) holding a key
unlocked from a keystore; a real transaction it signs is mined by a real Anvil node.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.errors import RemoteSignerError, SignerError, UnsupportedSigningError
from keys.keystore import KeyRole, Keystore
from keys.keystore_signer import KeystoreSigner
from keys.passwords import StaticPassword
from keys.remote_server import build_app
from keys.remote_signer import RemoteSigner
from keys.signer import LocalSigner, Signer
from keys.verify import SECP256K1_N, check_signature_shape, recover_digest, recover_transaction, recover_typed_data
from tests.support.chain import ChainNode

from .conftest import PASSWORD, TEST_ADDRESS, TEST_KEY_HEX
from .remote_process import RemoteSignerProcess, run_remote_signer

CHAIN_ID = 31337
EXCHANGE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def order_typed_data(chain_id: int = CHAIN_ID, amount: int = 10**18) -> dict[str, Any]:
    """An order-shaped EIP-712 message (the real Order type lives in settlement/)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [
                {"name": "maker", "type": "address"},
                {"name": "series", "type": "bytes32"},
                {"name": "isBuy", "type": "bool"},
                {"name": "limitPrice", "type": "uint256"},
                {"name": "amount", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "expiry", "type": "uint64"},
            ],
        },
        "primaryType": "Order",
        "domain": {"name": "Strikebook", "version": "1", "chainId": chain_id, "verifyingContract": EXCHANGE},
        "message": {
            "maker": TEST_ADDRESS,
            "series": "0x" + "ab" * 32,
            "isBuy": True,
            "limitPrice": 1_250_000,
            "amount": amount,
            "nonce": 7,
            "expiry": 1_900_000_000,
        },
    }


TRANSACTIONS: dict[str, dict[str, Any]] = {
    "legacy": {
        "to": EXCHANGE, "value": 5, "gas": 21_000, "gasPrice": 10**9, "nonce": 0, "chainId": CHAIN_ID,
    },
    "eip1559-with-data": {
        "to": EXCHANGE, "value": 0, "gas": 100_000, "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9,
        "nonce": 3, "chainId": CHAIN_ID, "data": b"\x12\x34\x56\x78" + b"\x00" * 32, "type": 2,
    },
    "eip2930-access-list": {
        "to": EXCHANGE, "value": 1, "gas": 60_000, "gasPrice": 2 * 10**9, "nonce": 9, "chainId": CHAIN_ID,
        "type": 1, "accessList": [{"address": EXCHANGE, "storageKeys": ["0x" + "00" * 31 + "01"]}],
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = Keystore(tmp_path_factory.mktemp("signers") / "keys", scrypt_n=2**10)
    store.import_key("maker", KeyRole.MAKER, TEST_KEY_HEX, PASSWORD)
    return store.directory


@pytest.fixture(scope="module")
def remote_process(key_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteSignerProcess]:
    with run_remote_signer(key_dir, "maker", PASSWORD, tmp_path_factory.mktemp("logs"), "--chain-id", "31337") as p:
        yield p


@pytest.fixture(scope="module")
def signers(key_dir: Path, remote_process: RemoteSignerProcess) -> dict[str, Signer]:
    return {
        "local": LocalSigner(TEST_KEY_HEX),
        "keystore": KeystoreSigner(Keystore(key_dir), "maker", StaticPassword(PASSWORD)),
        "remote": RemoteSigner(remote_process.url),
    }


def test_every_implementation_satisfies_the_protocol_and_has_the_same_address(signers: dict[str, Signer]) -> None:
    for signer in signers.values():
        assert isinstance(signer, Signer)
        assert signer.address == TEST_ADDRESS


def test_typed_data_signatures_agree_byte_for_byte_and_recover(signers: dict[str, Signer]) -> None:
    typed = order_typed_data()

    signatures = {name: s.sign_typed_data(copy.deepcopy(typed)) for name, s in signers.items()}

    assert len(set(signatures.values())) == 1
    signature = signatures["remote"]
    check_signature_shape(signature)
    assert recover_typed_data(typed, signature) == TEST_ADDRESS


@pytest.mark.parametrize("kind", sorted(TRANSACTIONS))
def test_transaction_signatures_agree_byte_for_byte_and_recover(signers: dict[str, Signer], kind: str) -> None:
    tx = TRANSACTIONS[kind]

    raws = {name: s.sign_transaction(dict(tx)) for name, s in signers.items()}

    assert len(set(raws.values())) == 1
    assert recover_transaction(raws["remote"]) == TEST_ADDRESS


@settings(max_examples=40, deadline=None)
@given(digest=st.binary(min_size=32, max_size=32))
def test_digest_signatures_are_canonical_and_agree(signers: dict[str, Signer], digest: bytes) -> None:
    local = signers["local"].sign_digest(digest)

    assert signers["keystore"].sign_digest(digest) == local
    check_signature_shape(local)
    assert int.from_bytes(local[32:64], "big") <= SECP256K1_N // 2
    assert recover_digest(digest, local) == TEST_ADDRESS


def test_remote_signer_refuses_blind_digest_signing(signers: dict[str, Signer]) -> None:
    with pytest.raises(UnsupportedSigningError, match="sign_typed_data"):
        signers["remote"].sign_digest(b"\x00" * 32)


def test_remote_signer_policy_refuses_other_chains(signers: dict[str, Signer]) -> None:
    with pytest.raises(RemoteSignerError, match="only signs for 31337"):
        signers["remote"].sign_typed_data(order_typed_data(chain_id=1))
    with pytest.raises(RemoteSignerError, match="only signs for 31337"):
        signers["remote"].sign_transaction({**TRANSACTIONS["legacy"], "chainId": 1})


def test_remote_signer_refuses_chainless_transactions(signers: dict[str, Signer]) -> None:
    tx = {k: v for k, v in TRANSACTIONS["legacy"].items() if k != "chainId"}

    with pytest.raises(RemoteSignerError, match="without chainId"):
        signers["remote"].sign_transaction(tx)


def test_remote_signer_for_an_address_it_does_not_hold_is_refused(remote_process: RemoteSignerProcess) -> None:
    other = Account.create().address

    with pytest.raises(RemoteSignerError, match="does not hold"):
        RemoteSigner(remote_process.url, other)


def test_unreachable_remote_signer_is_a_clear_error() -> None:
    with pytest.raises(RemoteSignerError, match=re.escape("cannot reach remote signer at http://127.0.0.1:9/")):
        RemoteSigner("http://user:secret@127.0.0.1:9/", timeout=2)


def test_remote_signer_url_credentials_never_show_in_reprs(remote_process: RemoteSignerProcess) -> None:
    url = remote_process.url.replace("http://", "http://user:hunter2@")

    signer = RemoteSigner(url)

    assert "hunter2" not in repr(signer)


def test_remote_server_log_never_contains_the_key(
    signers: dict[str, Signer], remote_process: RemoteSignerProcess
) -> None:
    signers["remote"].sign_typed_data(order_typed_data())

    log = remote_process.log_path.read_text().lower()

    assert "signed via eth_signtypeddata_v4" in log
    assert TEST_KEY_HEX not in log


def test_transaction_from_the_remote_signer_is_mined_by_anvil(anvil: ChainNode, key_dir: Path, tmp_path: Path) -> None:
    w3 = anvil.w3
    anvil.rpc("anvil_setBalance", TEST_ADDRESS, hex(10**18))
    recipient = Account.create().address
    with run_remote_signer(key_dir, "maker", PASSWORD, tmp_path, "--chain-id", str(anvil.chain_id)) as proc:
        signer = RemoteSigner(proc.url, TEST_ADDRESS)
        block = w3.eth.get_block("latest")
        tx = {
            "to": recipient, "value": 12345, "gas": 21_000, "nonce": w3.eth.get_transaction_count(TEST_ADDRESS),
            "maxFeePerGas": 2 * int(block["baseFeePerGas"]) + 10**9, "maxPriorityFeePerGas": 10**9,
            "chainId": anvil.chain_id, "type": 2,
        }  # fmt: skip

        raw = signer.sign_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=30)

    assert receipt["status"] == 1
    assert receipt["from"] == TEST_ADDRESS
    assert w3.eth.get_balance(recipient) == 12345


# --- a misbehaving signer: the client must not pass on what does not verify ---------------------


class _ImpostorSigner:
    """Claims one address but signs with another key (a misconfigured or compromised signer)."""

    def __init__(self, claimed: str, actual: LocalSigner, v_offset: int = 0) -> None:
        self.address = claimed
        self._actual = actual
        self._v_offset = v_offset

    def sign_digest(self, digest: bytes) -> bytes:
        return self._actual.sign_digest(digest)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        sig = self._actual.sign_typed_data(typed_data)
        return sig[:64] + bytes([sig[64] - self._v_offset])

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return self._actual.sign_transaction(tx)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/"


async def test_signatures_by_another_key_are_rejected_by_the_client() -> None:
    impostor = _ImpostorSigner(TEST_ADDRESS, LocalSigner(Account.create().key))
    runner, url = await _serve(build_app(impostor))  # type: ignore[arg-type]
    try:
        signer = await asyncio.to_thread(RemoteSigner, url)
        with pytest.raises(RemoteSignerError, match="not by " + TEST_ADDRESS):
            await asyncio.to_thread(signer.sign_typed_data, order_typed_data())
        with pytest.raises(RemoteSignerError, match="not by " + TEST_ADDRESS):
            await asyncio.to_thread(signer.sign_transaction, dict(TRANSACTIONS["legacy"]))
    finally:
        await runner.cleanup()


async def test_signers_answering_v_as_0_or_1_are_normalised_to_27_or_28() -> None:
    runner, url = await _serve(build_app(_ImpostorSigner(TEST_ADDRESS, LocalSigner(TEST_KEY_HEX), v_offset=27)))  # type: ignore[arg-type]
    try:
        signer = await asyncio.to_thread(RemoteSigner, url)
        signature = await asyncio.to_thread(signer.sign_typed_data, order_typed_data())
    finally:
        await runner.cleanup()

    assert signature == LocalSigner(TEST_KEY_HEX).sign_typed_data(order_typed_data())


async def test_clef_style_transaction_answers_are_understood_and_checked() -> None:
    local = LocalSigner(TEST_KEY_HEX)

    async def clef(request: web.Request) -> web.Response:
        body = await request.json()
        if body["method"] == "eth_accounts":
            result: Any = [TEST_ADDRESS.lower()]
        else:
            raw = local.sign_transaction(dict(TRANSACTIONS["legacy"]))
            result = {"raw": "0x" + raw.hex(), "tx": {}}
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": result})

    app = web.Application()
    app.router.add_post("/", clef)
    runner, url = await _serve(app)
    try:
        signer = await asyncio.to_thread(RemoteSigner, url)
        raw = await asyncio.to_thread(signer.sign_transaction, dict(TRANSACTIONS["legacy"]))
    finally:
        await runner.cleanup()

    assert raw == local.sign_transaction(dict(TRANSACTIONS["legacy"]))


async def test_bearer_token_is_required_when_configured() -> None:
    runner, url = await _serve(build_app(LocalSigner(TEST_KEY_HEX), auth_token="s3cret-token"))
    try:
        with pytest.raises(RemoteSignerError, match="HTTP 401"):
            await asyncio.to_thread(RemoteSigner, url)
        with pytest.raises(RemoteSignerError, match="HTTP 401"):
            await asyncio.to_thread(lambda: RemoteSigner(url, auth_token="wrong"))
        signer = await asyncio.to_thread(lambda: RemoteSigner(url, auth_token="s3cret-token"))
    finally:
        await runner.cleanup()

    assert signer.address == TEST_ADDRESS


def test_malformed_signatures_fail_the_shape_check() -> None:
    good = LocalSigner(TEST_KEY_HEX).sign_digest(b"\x05" * 32)
    s = int.from_bytes(good[32:64], "big")
    high_s = good[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - good[64]])

    for bad in (good[:64], good[:64] + b"\x01", high_s):
        with pytest.raises(SignerError):
            check_signature_shape(bad)
