"""Operator key rotation through the admin API, on Anvil: the next batch is sent by the new key.

The route is `POST /v1/admin/rotate_operator_key` (HMAC + TOTP). It loads an operator key from the
relayer's keystore, checks OPERATOR_ROLE on-chain, and swaps the submitter's signer between batches.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from keys.admin_actions import AdminAction
from keys.admin_client import AdminCredentials, sign_admin_request
from keys.api_keys import ApiKey, MemoryApiKeyStore, generate_api_key
from keys.audit import AuditLog
from keys.keystore import INSECURE_TEST_SCRYPT_N, KeyRole, Keystore
from keys.passwords import StaticPassword
from keys.signer import LocalSigner
from keys.totp import Totp
from relayer.operator_key import BatchInFlight, RotatableSubmitter, has_operator_role
from settlement.abi import contract_abi
from settlement.journal import Attempt, SQLiteSubmitJournal
from settlement.submitter import Submitter
from settlement.transactions import Fees, send_and_wait
from tests.api.support import Rig, api_rig, running_authenticator
from tests.settlement.venue import OPTION
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import eventually

PATH = "/v1/admin/rotate_operator_key"
PASSWORD = "rotation test password"


async def _rotate(rig: Rig, key: ApiKey, name: str) -> tuple[int, dict[str, object]]:
    body = json.dumps({"key": name}).encode()
    assert key.totp_secret is not None
    totp = Totp(key.totp_secret).code_at(time.time())
    headers = {"Content-Type": "application/json"}
    headers |= sign_admin_request(AdminCredentials.for_key(key), "POST", PATH, body, totp=totp)
    status, answer, _ = await rig.request("POST", PATH, data=body, headers=headers)
    return status, answer


def _grant_operator(deployed: ChainVenue, address: str) -> None:
    exchange = contract_abi("Exchange")
    (role,) = exchange.decode_output(
        "OPERATOR_ROLE", deployed.chain.call(deployed.manifest.exchange, exchange.encode_call("OPERATOR_ROLE"))
    )
    send_and_wait(
        deployed.chain,
        deployed.operator,
        deployed.manifest.exchange,
        exchange.encode_call("grantRole", role, address),
        nonce=deployed.chain.nonce(deployed.operator.address, "pending"),
    )


async def _trade_and_sender(rig: Rig, seq: int) -> str:
    """Cross two orders, wait for batch `seq` to settle, return the `from` of its transaction."""
    alice, bob = rig.makers[0], rig.makers[1]
    status, _ = await rig.post_order(alice.order(is_buy=False, amount=OPTION))
    assert status == 201
    status, body = await rig.post_order(bob.order(is_buy=True, amount=OPTION), timeInForce="ioc")
    assert status == 201 and body["results"][0]["status"] == "filled"

    async def settled() -> bool:
        status, batch = await rig.get(f"/v1/batches/{seq}")
        return status == 200 and batch["status"] == "settled"

    await eventually(settled)
    _, batch = await rig.get(f"/v1/batches/{seq}")
    tx = rig.chain.chain.transaction(bytes.fromhex(batch["txHash"][2:]))
    assert tx is not None
    return str(tx["from"]).lower()


async def test_rotation_swaps_the_batch_sender_and_refusals_change_nothing(
    deployed: ChainVenue, tmp_path: Path
) -> None:
    keystore = Keystore(tmp_path / "keys", scrypt_n=INSECURE_TEST_SCRYPT_N)
    new_op = keystore.import_key("op2", KeyRole.OPERATOR, deployed.node.keys[7], PASSWORD)
    roleless = keystore.import_key("op3", KeyRole.OPERATOR, deployed.node.keys[8], PASSWORD)
    keystore.import_key("mk", KeyRole.MAKER, deployed.node.keys[9], PASSWORD)
    _grant_operator(deployed, new_op.address)
    exchange = deployed.manifest.exchange
    assert has_operator_role(deployed.chain, exchange, new_op.address)
    assert not has_operator_role(deployed.chain, exchange, roleless.address)

    from relayer.operator_key import OperatorKeyLoader

    loader = OperatorKeyLoader(keystore, StaticPassword(PASSWORD))
    # a TOTP step is usable once per API key: one key per rotation attempt
    keys = [generate_api_key(f"rotate-{i}", [AdminAction.ROTATE_OPERATOR_KEY]) for i in range(5)]
    pause_only = generate_api_key("pause-only", [AdminAction.PAUSE])
    authenticator = running_authenticator(MemoryApiKeyStore([*keys, pause_only]), AuditLog(tmp_path / "audit.log"))
    old = deployed.operator.address.lower()

    async with api_rig(deployed, tmp_path, authenticator=authenticator, operator_keys=loader) as rig:
        assert await _trade_and_sender(rig, 1) == old

        # refused: no role on-chain, unknown key, a maker key, a key not scoped to rotation
        status, body = await _rotate(rig, keys[0], "op3")
        assert (status, body["code"]) == (422, "operator_role_missing"), body
        status, body = await _rotate(rig, keys[1], "nope")
        assert (status, body["code"]) == (404, "unknown_key"), body
        status, body = await _rotate(rig, keys[2], "mk")
        assert (status, body["code"]) == (422, "wrong_key_role"), body
        status, body = await _rotate(rig, pause_only, "op2")
        assert (status, body["code"]) == (403, "forbidden_action"), body
        # ... and changed nothing: the next batch still comes from the old key
        assert rig.venue.operator_key.signer.address.lower() == old
        assert await _trade_and_sender(rig, 2) == old

        status, body = await _rotate(rig, keys[3], "op2")
        assert status == 200, body
        assert body["previous"] == deployed.operator.address and body["operator"] == new_op.address
        assert await _trade_and_sender(rig, 3) == new_op.address.lower()
        assert await _trade_and_sender(rig, 4) == new_op.address.lower()
        assert deployed.last_seq() == 4

    # every attempt, refused or not, is in the audit log with its outcome
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    outcomes = [e["status"] for e in lines if e.get("event") == "admin_outcome"]
    assert outcomes == [422, 404, 422, 200]
    refused = [e for e in lines if e.get("event") == "admin_request" and e.get("decision") != "allowed"]
    assert [e["code"] for e in refused] == ["forbidden_action"]
    assert not any(PASSWORD in json.dumps(e) for e in lines)


def _attempt(nonce: int) -> Attempt:
    return Attempt(bytes([nonce]) * 32, b"\x02raw", nonce, Fees(max_fee=2, priority_fee=1), 100_000)


async def test_rotation_waits_for_a_batch_whose_transaction_is_in_flight(deployed: ChainVenue) -> None:
    """A batch with a journaled, unfinished transaction belongs to the key that signed it."""
    journal = SQLiteSubmitJournal(":memory:")
    inner = Submitter(deployed.chain, deployed.operator, deployed.manifest.exchange, journal)
    submitter = RotatableSubmitter(inner)
    new_key = LocalSigner(deployed.node.keys[7])
    journal.add_attempt(7, b"f" * 32, _attempt(3))
    assert submitter.in_flight()
    assert submitter.try_replace(new_key) is None
    with pytest.raises(BatchInFlight):
        await submitter.replace(new_key, timeout_s=0.1, poll_s=0.02)
    assert submitter.signer is deployed.operator
    journal.mark_final(7, _attempt(3).tx_hash)
    previous = await submitter.replace(new_key, timeout_s=1.0)
    assert previous is deployed.operator and submitter.signer is new_key
    journal.close()
