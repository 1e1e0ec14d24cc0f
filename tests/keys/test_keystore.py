"""Keystores: round trips, wrong passwords, corrupted files, permissions, atomicity."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from keys import _fs
from keys.errors import (
    CorruptKeystoreError,
    DuplicateKeyError,
    InsecurePermissionsError,
    InvalidKeyNameError,
    InvalidPrivateKeyError,
    KeysError,
    UnknownKeyError,
    WrongPasswordError,
)
from keys.keystore import DEFAULT_SCRYPT_N, INSECURE_TEST_SCRYPT_N, KEYSTORE_DIR_ENV, KeyRole, Keystore
from keys.keystore import default_keystore_dir as default_dir

from .conftest import PASSWORD, TEST_ADDRESS, TEST_KEY_HEX


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_created_key_round_trips_and_is_stored_private(keystore: Keystore) -> None:
    info = keystore.create("op", KeyRole.OPERATOR, PASSWORD)

    signer = keystore.unlock("op", PASSWORD)

    assert signer.address == info.address
    assert _mode(keystore.directory) == 0o700
    assert _mode(info.path) == 0o600
    assert keystore.info("op") == info
    data = json.loads(info.path.read_text())
    assert data["version"] == 3 and data["crypto"]["kdf"] == "scrypt"
    assert data["strikebook"] == {"name": "op", "role": "operator", "created": info.created}


def test_imported_key_keeps_its_address_and_key(keystore: Keystore) -> None:
    info = keystore.import_key("maker1", KeyRole.MAKER, "0x" + TEST_KEY_HEX.upper(), PASSWORD)

    assert info.address == TEST_ADDRESS
    assert keystore.unlock("maker1", PASSWORD).sign_digest(b"\x01" * 32) == bytes(
        Account.from_key(TEST_KEY_HEX).unsafe_sign_hash(b"\x01" * 32).signature
    )


def test_key_file_is_standard_v3_readable_without_strikebook(keystore: Keystore) -> None:
    info = keystore.import_key("oracle", KeyRole.ORACLE, TEST_KEY_HEX, PASSWORD)

    raw = Account.decrypt(info.path.read_text(), PASSWORD)

    assert raw.hex() == TEST_KEY_HEX


def test_list_shows_every_key_with_role_sorted_by_name(keystore: Keystore) -> None:
    keystore.create("zeta", KeyRole.ORACLE, PASSWORD)
    keystore.import_key("alpha", KeyRole.MAKER, TEST_KEY_HEX, PASSWORD)

    listed = keystore.list()

    assert [(k.name, k.role) for k in listed] == [("alpha", KeyRole.MAKER), ("zeta", KeyRole.ORACLE)]
    assert listed[0].address == TEST_ADDRESS


def test_list_of_missing_directory_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "absent", scrypt_n=INSECURE_TEST_SCRYPT_N)

    assert store.list() == []
    assert not (tmp_path / "absent").exists()


def test_wrong_password_is_a_clear_error_and_changes_nothing(keystore: Keystore) -> None:
    info = keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)
    before = info.path.read_bytes()

    with pytest.raises(WrongPasswordError, match=r"wrong password for op\.json"):
        keystore.unlock("op", "not the password")
    with pytest.raises(WrongPasswordError):
        keystore.change_password("op", "not the password", "new password")

    assert info.path.read_bytes() == before


def test_change_password_reencrypts_and_old_password_stops_working(keystore: Keystore) -> None:
    info = keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)
    old_salt = json.loads(info.path.read_text())["crypto"]["kdfparams"]["salt"]

    keystore.change_password("op", PASSWORD, "a new passphrase")

    assert keystore.unlock("op", "a new passphrase").address == TEST_ADDRESS
    with pytest.raises(WrongPasswordError):
        keystore.unlock("op", PASSWORD)
    data = json.loads(info.path.read_text())
    assert data["crypto"]["kdfparams"]["salt"] != old_salt
    assert data["strikebook"]["role"] == "operator"
    assert _mode(info.path) == 0o600


def test_delete_removes_the_key(keystore: Keystore) -> None:
    info = keystore.create("tmp", KeyRole.MAKER, PASSWORD)

    keystore.delete("tmp")

    assert not info.path.exists()
    with pytest.raises(UnknownKeyError, match="no key named 'tmp'"):
        keystore.info("tmp")


def test_unknown_key_is_a_clear_error(keystore: Keystore) -> None:
    keystore.create("op", KeyRole.OPERATOR, PASSWORD)

    with pytest.raises(UnknownKeyError, match="keys list"):
        keystore.unlock("nope", PASSWORD)


def test_duplicate_name_is_refused_and_existing_file_untouched(keystore: Keystore) -> None:
    info = keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)
    before = info.path.read_bytes()

    with pytest.raises(DuplicateKeyError, match="already exists"):
        keystore.create("op", KeyRole.OPERATOR, PASSWORD)

    assert info.path.read_bytes() == before


def test_same_key_under_a_second_name_is_refused(keystore: Keystore) -> None:
    keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)

    with pytest.raises(DuplicateKeyError, match="already stored as 'op'"):
        keystore.import_key("op2", KeyRole.ORACLE, TEST_KEY_HEX, PASSWORD)

    assert [k.name for k in keystore.list()] == ["op"]


def test_atomic_create_never_overwrites_a_file_that_appears_concurrently(keystore: Keystore) -> None:
    _fs.ensure_private_dir(keystore.directory)
    target = keystore.path_for("op")

    _fs.write_new_file(target, b"first")
    with pytest.raises(DuplicateKeyError):
        _fs.write_new_file(target, b"second")

    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in keystore.directory.iterdir()) == ["op.json"]


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "UPPER", "x" * 65, "op.json/.."])
def test_names_that_could_escape_or_confuse_are_refused(keystore: Keystore, name: str) -> None:
    with pytest.raises(InvalidKeyNameError):
        keystore.create(name, KeyRole.MAKER, PASSWORD)


@pytest.mark.parametrize("bad", ["0x1234", "zz" * 32, "00" * 32, "ff" * 32, b"\x01" * 31])
def test_invalid_private_keys_are_refused_without_echoing_them(keystore: Keystore, bad: str | bytes) -> None:
    with pytest.raises(InvalidPrivateKeyError) as excinfo:
        keystore.import_key("k", KeyRole.MAKER, bad, PASSWORD)

    text = str(excinfo.value)
    assert (bad if isinstance(bad, str) else bad.hex()) not in text


def test_insecure_directory_is_refused_with_the_fix(keystore: Keystore) -> None:
    keystore.create("op", KeyRole.OPERATOR, PASSWORD)
    os.chmod(keystore.directory, 0o755)

    with pytest.raises(InsecurePermissionsError, match="chmod 700"):
        keystore.unlock("op", PASSWORD)
    with pytest.raises(InsecurePermissionsError):
        keystore.create("other", KeyRole.OPERATOR, PASSWORD)


def test_group_readable_key_file_is_refused(keystore: Keystore) -> None:
    info = keystore.create("op", KeyRole.OPERATOR, PASSWORD)
    os.chmod(info.path, 0o640)

    with pytest.raises(InsecurePermissionsError, match="chmod 600"):
        keystore.unlock("op", PASSWORD)


def test_symlinked_key_file_is_refused(keystore: Keystore, tmp_path: Path) -> None:
    info = keystore.create("op", KeyRole.OPERATOR, PASSWORD)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(info.path.read_bytes())
    os.chmod(elsewhere, 0o600)
    info.path.unlink()
    info.path.symlink_to(elsewhere)

    with pytest.raises(InsecurePermissionsError, match="symlink"):
        keystore.unlock("op", PASSWORD)


def _edit(path: Path, edit: str) -> None:
    data = json.loads(path.read_text())
    if edit == "truncate":
        path.write_text(path.read_text()[:40])
        return
    if edit == "ciphertext":
        ct = data["crypto"]["ciphertext"]
        data["crypto"]["ciphertext"] = ("0" if ct[0] != "0" else "1") + ct[1:]
    elif edit == "address":
        data["address"] = "00" * 20
    elif edit == "no-crypto":
        del data["crypto"]
    elif edit == "kdfparams":
        del data["crypto"]["kdfparams"]["salt"]
    elif edit == "no-metadata":
        del data["strikebook"]
    elif edit == "renamed":
        data["strikebook"]["name"] = "someone-else"
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        ("truncate", CorruptKeystoreError),
        ("ciphertext", WrongPasswordError),  # a MAC cannot tell a bad password from a flipped bit
        ("address", CorruptKeystoreError),
        ("no-crypto", CorruptKeystoreError),
        ("kdfparams", CorruptKeystoreError),
        ("no-metadata", CorruptKeystoreError),
        ("renamed", CorruptKeystoreError),
    ],
)
def test_corrupted_file_gives_a_clear_error_and_is_never_overwritten(
    keystore: Keystore, edit: str, error: type[KeysError]
) -> None:
    info = keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)
    _edit(info.path, edit)
    damaged = info.path.read_bytes()

    with pytest.raises(error):
        keystore.unlock("op", PASSWORD)
    with pytest.raises(error):
        keystore.change_password("op", PASSWORD, "new password")

    assert info.path.read_bytes() == damaged
    assert sorted(p.name for p in keystore.directory.iterdir()) == ["op.json"]


def test_failed_rename_leaves_the_old_file_and_no_temp_file(
    keystore: Keystore, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)
    before = info.path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        keystore.change_password("op", PASSWORD, "new password")

    assert info.path.read_bytes() == before
    assert sorted(p.name for p in keystore.directory.iterdir()) == ["op.json"]


def test_import_of_another_tools_keyfile_reencrypts_under_the_new_password(keystore: Keystore, tmp_path: Path) -> None:
    foreign = tmp_path / "geth-key.json"
    keyfile = Account.encrypt(bytes.fromhex(TEST_KEY_HEX), "geth pw", kdf="scrypt", iterations=2**10)
    foreign.write_text(json.dumps(keyfile))

    with pytest.raises(WrongPasswordError):
        keystore.import_keyfile("imported", KeyRole.MAKER, foreign, "wrong", PASSWORD)
    info = keystore.import_keyfile("imported", KeyRole.MAKER, foreign, "geth pw", PASSWORD)

    assert info.address == TEST_ADDRESS
    assert keystore.unlock("imported", PASSWORD).address == TEST_ADDRESS


def test_default_work_factor_is_the_strong_one(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "k")

    info = store.create("op", KeyRole.OPERATOR, PASSWORD)

    assert store.scrypt_n == DEFAULT_SCRYPT_N == 2**18
    assert json.loads(info.path.read_text())["crypto"]["kdfparams"]["n"] == 2**18


@pytest.mark.parametrize("n", [2**9, 3000])
def test_work_factors_below_the_test_floor_or_not_powers_of_two_are_refused(tmp_path: Path, n: int) -> None:
    with pytest.raises(KeysError, match="power of two"):
        Keystore(tmp_path, scrypt_n=n)


def test_default_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEYSTORE_DIR_ENV, str(tmp_path / "custom"))
    assert default_dir() == tmp_path / "custom"

    monkeypatch.delenv(KEYSTORE_DIR_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_dir() == tmp_path / ".strikebook" / "keys"


def test_reprs_and_errors_never_contain_the_key(keystore: Keystore) -> None:
    keystore.import_key("op", KeyRole.OPERATOR, TEST_KEY_HEX, PASSWORD)
    signer = keystore.unlock("op", PASSWORD)

    texts = [repr(signer), str(signer), repr(keystore), repr(keystore.info("op"))]
    with pytest.raises(WrongPasswordError) as excinfo:
        keystore.unlock("op", "bad")
    texts.append(str(excinfo.value))

    for text in texts:
        assert TEST_KEY_HEX not in text.lower()
        assert PASSWORD not in text
