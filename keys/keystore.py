"""Encrypted key files for operator, oracle and maker keys: Web3 Secret Storage v3 with scrypt.

One key per file, `<name>.json`, in a private directory (0700, files 0600). The file is a
standard v3 keystore (geth, Clef and Web3Signer can read it) with one extra top-level object,
`"strikebook": {"name", "role", "created"}`, that other tools ignore. Reading the name, role and
address never needs the password; only `unlock` and `change_password` decrypt.

Why scrypt with n = 2**18: that is the Web3 Secret Storage default, about half a second per
guess on a laptop. Lighter parameters exist only for tests and must be asked for by name
(`Keystore(..., scrypt_n=INSECURE_TEST_SCRYPT_N)`).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EthKeysValidationError

from . import _fs
from .errors import (
    CorruptKeystoreError,
    DuplicateKeyError,
    InvalidKeyNameError,
    InvalidPrivateKeyError,
    KeystoreError,
    UnknownKeyError,
    WrongPasswordError,
)
from .signer import LocalSigner

#: scrypt work factor written into new key files (the Web3 Secret Storage default).
DEFAULT_SCRYPT_N = 2**18
#: Lightest work factor accepted at all; only tests should ever use it.
INSECURE_TEST_SCRYPT_N = 2**10

#: Environment variable that overrides the default keystore directory.
KEYSTORE_DIR_ENV = "STRIKEBOOK_KEYSTORE_DIR"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class KeyRole(StrEnum):
    """What a key is for; shown by `keys list` and checked by components that load keys."""

    OPERATOR = "operator"  # submits settlement batches, runs admin transactions
    ORACLE = "oracle"  # signs oracle price reports
    MAKER = "maker"  # a market maker's order-signing (and collateral-owning) key
    DELEGATE = "delegate"  # a maker's hot key registered on-chain with an expiry


def default_keystore_dir() -> Path:
    """`$STRIKEBOOK_KEYSTORE_DIR`, else `~/.strikebook/keys`."""
    override = os.environ.get(KEYSTORE_DIR_ENV)
    return Path(override).expanduser() if override else Path.home() / ".strikebook" / "keys"


@dataclass(frozen=True)
class KeyInfo:
    """The public facts about a stored key: never the key itself."""

    name: str
    role: KeyRole
    address: ChecksumAddress
    path: Path
    created: int  # unix seconds


def _validate_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise InvalidKeyNameError(
            f"invalid key name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def parse_private_key(private_key: bytes | str) -> bytes:
    """32 raw bytes from bytes or hex (with or without 0x); the message never repeats the input."""
    if isinstance(private_key, str):
        text = private_key.strip()
        text = text[2:] if text[:2].lower() == "0x" else text
        if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
            raise InvalidPrivateKeyError("a private key must be 32 bytes written as 64 hex digits")
        raw = bytes.fromhex(text)
    else:
        raw = bytes(private_key)
        if len(raw) != 32:
            raise InvalidPrivateKeyError(f"a private key must be 32 bytes, got {len(raw)}")
    if not 0 < int.from_bytes(raw, "big") < _SECP256K1_N:
        raise InvalidPrivateKeyError("the private key is outside the secp256k1 range")
    return raw


class Keystore:
    """A directory of encrypted keys. All writes are atomic; nothing is overwritten by mistake."""

    def __init__(self, directory: str | Path | None = None, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        if scrypt_n < INSECURE_TEST_SCRYPT_N or scrypt_n & (scrypt_n - 1):
            raise KeystoreError(f"scrypt_n must be a power of two >= {INSECURE_TEST_SCRYPT_N}")
        self.directory = Path(directory).expanduser() if directory is not None else default_keystore_dir()
        self.scrypt_n = scrypt_n

    def __repr__(self) -> str:
        return f"Keystore({str(self.directory)!r})"

    # --- paths and reading -------------------------------------------------------------------

    def path_for(self, name: str) -> Path:
        """The file that holds key `name` (whether or not it exists)."""
        return self.directory / f"{_validate_name(name)}.json"

    def _existing_path(self, name: str) -> Path:
        path = self.path_for(name)
        if not self.directory.exists():
            raise UnknownKeyError(f"no key named {name!r}: keystore directory {self.directory} does not exist")
        _fs.check_private_dir(self.directory)
        if not path.exists() and not path.is_symlink():
            raise UnknownKeyError(f"no key named {name!r} in {self.directory} (see `strikebook keys list`)")
        _fs.check_private_file(path)
        return path

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CorruptKeystoreError(f"{path} is not valid JSON; restore it from a backup") from None
        if not isinstance(data, dict):
            raise CorruptKeystoreError(f"{path} is not a keystore object; restore it from a backup")
        return data

    @staticmethod
    def _info_from(path: Path, data: dict[str, Any]) -> KeyInfo:
        try:
            if data.get("version") != 3 or "crypto" not in data:
                raise ValueError("not a v3 keystore")
            address = to_checksum_address("0x" + str(data["address"]).removeprefix("0x"))
        except (ValueError, TypeError, KeyError):
            raise CorruptKeystoreError(
                f"{path} is not a valid Web3 Secret Storage v3 file; restore it from a backup"
            ) from None
        try:
            meta = data["strikebook"]
            role = KeyRole(meta["role"])
            name = str(meta["name"])
            created = int(meta["created"])
        except (ValueError, TypeError, KeyError):
            raise CorruptKeystoreError(
                f"{path} has no valid strikebook name/role record; if it is another tool's keystore, "
                "bring it in with `strikebook keys import --from-keystore`"
            ) from None
        if name != path.stem:
            raise CorruptKeystoreError(f"{path} says its name is {name!r}; the file was renamed or edited")
        return KeyInfo(name=name, role=role, address=address, path=path, created=created)

    def info(self, name: str) -> KeyInfo:
        """Name, role and address of one key, without decrypting it."""
        path = self._existing_path(name)
        return self._info_from(path, self._read_json(path))

    def list(self) -> list[KeyInfo]:
        """Every key in the directory, sorted by name. A corrupt file raises `CorruptKeystoreError`."""
        if not self.directory.exists():
            return []
        _fs.check_private_dir(self.directory)
        infos = []
        for path in sorted(self.directory.glob("*.json")):
            _fs.check_private_file(path)
            infos.append(self._info_from(path, self._read_json(path)))
        return infos

    # --- writing -----------------------------------------------------------------------------

    def _encrypt(self, raw_key: bytes, password: str, name: str, role: KeyRole, created: int) -> bytes:
        keyfile = Account.encrypt(raw_key, password, kdf="scrypt", iterations=self.scrypt_n)
        keyfile["strikebook"] = {"name": name, "role": role.value, "created": created}
        return (json.dumps(keyfile, indent=2, sort_keys=True) + "\n").encode()

    def _store_new(self, name: str, role: KeyRole, raw_key: bytes, password: str) -> KeyInfo:
        path = self.path_for(name)
        _fs.ensure_private_dir(self.directory)
        address = Account.from_key(raw_key).address
        for other in self.list():
            if other.name == name:
                raise DuplicateKeyError(f"a key named {name!r} already exists ({other.address}); nothing was written")
            if other.address == address:
                raise DuplicateKeyError(
                    f"address {address} is already stored as {other.name!r}; one key, one name and role"
                )
        created = int(time.time())
        _fs.write_new_file(path, self._encrypt(raw_key, password, name, role, created))
        return KeyInfo(name=name, role=role, address=address, path=path, created=created)

    def create(self, name: str, role: KeyRole, password: str) -> KeyInfo:
        """Generate a fresh key from the OS CSPRNG, encrypt it under `password` and store it."""
        _validate_name(name)
        return self._store_new(name, role, bytes(Account.create().key), password)

    def import_key(self, name: str, role: KeyRole, private_key: bytes | str, password: str) -> KeyInfo:
        """Store an existing raw private key (bytes or hex) under a new name."""
        _validate_name(name)
        return self._store_new(name, role, parse_private_key(private_key), password)

    def import_keyfile(self, name: str, role: KeyRole, keyfile: Path, old_password: str, password: str) -> KeyInfo:
        """Import another tool's v3 keystore file: decrypt with its password, re-encrypt under `password`."""
        _validate_name(name)
        data = self._read_json(keyfile)
        raw = self._decrypt(keyfile, data, old_password)
        return self._store_new(name, role, raw, password)

    @staticmethod
    def _decrypt(path: Path, data: dict[str, Any], password: str) -> bytes:
        try:
            raw = bytes(Account.decrypt(data, password))
        except ValueError as exc:
            if "MAC mismatch" in str(exc):
                raise WrongPasswordError(
                    f"wrong password for {path.name} (or its ciphertext is damaged); nothing was changed"
                ) from None
            raise CorruptKeystoreError(f"{path} cannot be decrypted: {type(exc).__name__}") from None
        except (KeyError, TypeError, EthKeysValidationError) as exc:
            raise CorruptKeystoreError(f"{path} is missing or has malformed fields ({type(exc).__name__})") from None
        try:
            address = Account.from_key(raw).address
            stored = to_checksum_address("0x" + str(data["address"]).removeprefix("0x"))
        except (ValueError, KeyError, EthKeysValidationError):
            raise CorruptKeystoreError(f"{path} decrypts to an invalid key or has a bad address field") from None
        if address != stored:
            raise CorruptKeystoreError(f"{path} decrypts to a key for another address than {stored}; file edited?")
        return raw

    def unlock(self, name: str, password: str) -> LocalSigner:
        """Decrypt key `name` into an in-memory signer."""
        path = self._existing_path(name)
        data = self._read_json(path)
        self._info_from(path, data)
        return LocalSigner(self._decrypt(path, data, password))

    def change_password(self, name: str, old_password: str, new_password: str) -> KeyInfo:
        """Re-encrypt key `name` under a new password (fresh salt and IV); atomic replace."""
        path = self._existing_path(name)
        data = self._read_json(path)
        info = self._info_from(path, data)
        raw = self._decrypt(path, data, old_password)
        _fs.replace_file(path, self._encrypt(raw, new_password, info.name, info.role, info.created))
        return info

    def delete(self, name: str) -> KeyInfo:
        """Remove key `name` for good (there is no undo: keep a backup of keys that hold funds)."""
        path = self._existing_path(name)
        info = self._info_from(path, self._read_json(path))
        _fs.remove_file(path)
        return info
