"""`strikebook keys ...` through click's CliRunner: the whole operator flow, and no key material ever shown.

The demo flow creates, imports, lists, shows, re-passwords and deletes keys, creates admin API keys,
and hits the error paths; then every byte of CLI output and every captured log record is scanned
for each private key's hex (any case, with or without 0x). None may appear.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account import Account

from keys.admin_client import AdminCredentials
from keys.api_keys import ApiKeyFile
from keys.audit import AuditLog
from keys.cli import KeysCliConfig
from keys.keystore import INSECURE_TEST_SCRYPT_N
from relayer.cli import cli

from .conftest import TEST_ADDRESS, TEST_KEY_HEX

PW = "op-password-1"
PW2 = "second-password-2"
PROMPT_KEY_HEX = "8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"
LIGHT = KeysCliConfig(scrypt_n=INSECURE_TEST_SCRYPT_N)


class Session:
    """Runs commands, keeps everything they printed, and fails loudly on unexpected exit codes."""

    def __init__(self, tmp_path: Path) -> None:
        self.runner = CliRunner()
        self.dir = tmp_path / "keys"
        self.env = {"SB_PW": PW, "STRIKEBOOK_KEYSTORE_DIR": str(self.dir)}
        self.transcript: list[str] = []

    def run(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        result = self.runner.invoke(cli, ["keys", *args], input=input, env=self.env, obj=LIGHT)
        self.transcript.append(result.output)
        self.transcript.append(result.stderr)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            self.transcript.append(repr(result.exception))
        assert result.exit_code == code, (args, result.output, result.exception)
        return result


def _hex_of(path: Path, password: str) -> str:
    return bytes(Account.decrypt(path.read_text(), password)).hex()


def test_operator_flow_never_reveals_key_material(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    s = Session(tmp_path)
    key_file = tmp_path / "maker.hex"
    key_file.write_text("0x" + TEST_KEY_HEX.upper() + "\n")
    pw_file = tmp_path / "pw.txt"
    pw_file.write_text(PW2 + "\n")
    foreign = tmp_path / "geth.json"
    foreign_key = Account.create()
    foreign.write_text(json.dumps(Account.encrypt(foreign_key.key, "geth-pw", kdf="scrypt", iterations=2**10)))
    foreign_pw = tmp_path / "geth-pw.txt"
    foreign_pw.write_text("geth-pw")
    secret_hexes = [TEST_KEY_HEX, PROMPT_KEY_HEX, foreign_key.key.hex()]

    # create: password from the environment, then from a hidden prompt typed twice
    out = s.run("create", "op", "--role", "operator", "--password-env", "SB_PW").output
    assert out.startswith("created op (operator) 0x")
    s.run("create", "oracle1", "--role", "oracle", input=f"{PW}\n{PW}\n")
    # import: from a key file, from a hidden prompt, from another tool's keystore
    assert TEST_ADDRESS in s.run("import", "maker1", "--role", "maker", "--key-file", str(key_file),
                                 "--password-file", str(pw_file)).output  # fmt: skip
    s.run("import", "maker2", "--role", "maker", input=f"{PROMPT_KEY_HEX}\n{PW}\n{PW}\n")
    s.run("import", "geth", "--role", "delegate", "--from-keystore", str(foreign),
          "--from-password-file", str(foreign_pw), "--password-env", "SB_PW")  # fmt: skip
    secret_hexes += [_hex_of(s.dir / "op.json", PW), _hex_of(s.dir / "oracle1.json", PW)]

    listed = json.loads(s.run("list", "--json").output)
    assert [(k["name"], k["role"]) for k in listed] == [
        ("geth", "delegate"), ("maker1", "maker"), ("maker2", "maker"), ("op", "operator"), ("oracle1", "oracle"),
    ]  # fmt: skip
    assert ["maker1", "maker", TEST_ADDRESS] in [line.split()[:3] for line in s.run("list").output.splitlines()]
    assert s.run("show", "maker1").output.strip() == TEST_ADDRESS
    assert json.loads(s.run("show", "geth", "--json").output)["address"] == foreign_key.address

    # passwd: the old password stops working, the new one works
    s.run("passwd", "op", "--password-env", "SB_PW", "--new-password-file", str(pw_file))
    out = s.run("passwd", "op", "--password-env", "SB_PW", "--new-password-file", str(pw_file), code=1).output
    assert "wrong password" in out and "[wrong_password]" in out
    secret_hexes.append(_hex_of(s.dir / "op.json", PW2))

    # delete: asks first; "n" keeps the key, "y" and --yes remove it
    assert "Aborted" in s.run("delete", "maker2", input="n\n", code=1).output
    assert (s.dir / "maker2.json").exists()
    s.run("delete", "maker2", input="y\n")
    s.run("delete", "oracle1", "--yes")
    assert not (s.dir / "maker2.json").exists() and not (s.dir / "oracle1.json").exists()

    # error paths print clear one-line errors
    assert "no key named 'nope'" in s.run("show", "nope", code=1).output
    assert "[duplicate_key]" in s.run("create", "op", "--role", "operator", "--password-env", "SB_PW", code=1).output
    assert "[invalid_private_key]" in s.run("import", "bad", "--role", "maker", input="0x1234\n", code=1).output
    assert "SB_MISSING is not set" in s.run("create", "x", "--role", "maker", "--password-env", "SB_MISSING",
                                            code=1).output  # fmt: skip

    # file modes after all of it
    assert stat.S_IMODE(os.stat(s.dir).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in s.dir.iterdir())

    everything = ("\n".join(s.transcript) + "\n" + caplog.text).lower()
    assert "created key op" in caplog.text  # the logs were captured, so scanning them means something
    for secret in secret_hexes:
        assert len(secret) == 64
        assert secret.lower() not in everything
    for password in (PW, PW2, "geth-pw"):
        assert password.lower() not in everything


def test_api_key_commands_keep_the_secret_off_the_screen(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    s = Session(tmp_path)
    store = tmp_path / "relayer" / "api-keys.json"
    creds_path = tmp_path / "alice.json"

    out = s.run("api-key", "create", "alice", "--action", "pause", "--action", "unpause",
                "--store", str(store), "--credentials-out", str(creds_path)).output  # fmt: skip
    creds = AdminCredentials.load(creds_path)
    [key] = ApiKeyFile(store).list()

    assert f"created API key {creds.key_id}" in out
    assert key.secret == creds.secret and key.totp_secret == creds.totp_secret
    assert {a.value for a in key.actions} == {"pause", "unpause"}
    assert stat.S_IMODE(os.stat(store).st_mode) == stat.S_IMODE(os.stat(creds_path).st_mode) == 0o600
    assert "totp  pause,unpause" in s.run("api-key", "list", "--store", str(store)).output
    assert "--no-totp cannot be used" in s.run("api-key", "create", "job", "--action", "unpause", "--no-totp",
                                              "--store", str(store), "--credentials-out", str(tmp_path / "j.json"),
                                              code=2).output  # fmt: skip
    s.run("api-key", "revoke", creds.key_id, "--store", str(store))
    assert ApiKeyFile(store).get(creds.key_id) is None

    everything = "\n".join(s.transcript) + caplog.text
    assert creds.secret.hex() not in everything
    assert str(creds.totp_secret) not in everything


def test_totp_uri_is_shown_only_when_asked(tmp_path: Path) -> None:
    s = Session(tmp_path)
    store = tmp_path / "r" / "api-keys.json"

    out = s.run("api-key", "create", "bob", "--action", "drain_maker_orders", "--store", str(store),
                "--credentials-out", str(tmp_path / "bob.json"), "--show-totp-uri").output  # fmt: skip

    seed = AdminCredentials.load(tmp_path / "bob.json").totp_secret
    assert seed is not None and f"secret={seed}" in out and out.count("otpauth://") == 1


def test_audit_verify_reports_ok_and_tampering(tmp_path: Path) -> None:
    s = Session(tmp_path)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append({"event": "a"})
    log.append({"event": "b"})

    assert f"ok: 2 entries, head {log.head}" in s.run("audit-verify", str(path)).output
    path.write_text(path.read_text().replace('"event":"a"', '"event":"x"'))
    assert "line 2 does not chain" in s.run("audit-verify", str(path), code=1).output


def test_insecure_keystore_directory_is_refused_with_the_fix(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.run("create", "op", "--role", "operator", "--password-env", "SB_PW")
    os.chmod(s.dir, 0o755)

    out = s.run("list", code=1).output

    assert "chmod 700" in out and "[insecure_permissions]" in out


@pytest.mark.parametrize(
    "command",
    [[], ["create"], ["import"], ["list"], ["show"], ["passwd"], ["delete"], ["api-key", "create"], ["audit-verify"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, ["keys", *command, "--help"])

    assert result.exit_code == 0
    assert "Usage: cli keys" in result.output or "Usage: strikebook keys" in result.output
    assert len(result.output.splitlines()) > 4
