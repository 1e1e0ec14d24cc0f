"""`strikebook keys ...`: manage encrypted keys and admin API credentials from the command line.

Passwords come from `--password-env VAR`, `--password-file PATH`, or a hidden prompt. Private
keys are read from `--key-file` (or `-` for stdin) or a hidden prompt, never from the command line
(it would land in shell history and `ps`). Nothing here ever prints or logs key material.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from .admin_actions import AdminAction
from .admin_client import AdminCredentials
from .api_keys import ApiKeyFile, generate_api_key
from .audit import verify_audit_log
from .errors import KeysError, PasswordSourceError
from .keystore import (
    DEFAULT_SCRYPT_N,
    KEYSTORE_DIR_ENV,
    KeyInfo,
    KeyRole,
    Keystore,
    default_keystore_dir,
    parse_private_key,
)
from .passwords import EnvPassword, FilePassword, PasswordSource, PromptPassword
from .totp import Totp

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class KeysCliConfig:
    """Settings a caller may pass as click's `obj` (tests pass a light scrypt work factor here)."""

    scrypt_n: int = DEFAULT_SCRYPT_N


def _config() -> KeysCliConfig:
    obj = click.get_current_context().find_object(KeysCliConfig)
    return obj if obj is not None else KeysCliConfig()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn library errors into a one-line `Error: ...` and exit status 1."""
    try:
        yield
    except KeysError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from None


def _keystore(keystore_dir: Path | None) -> Keystore:
    return Keystore(keystore_dir or default_keystore_dir(), scrypt_n=_config().scrypt_n)


def _password_source(env: str | None, file: Path | None, what: str = "--password") -> PasswordSource:
    if env and file:
        raise click.UsageError(f"give at most one of {what}-env and {what}-file")
    if env:
        return EnvPassword(env)
    if file:
        return FilePassword(file)
    return PromptPassword()


_KEYSTORE_DIR_OPTION = click.option(
    "--keystore-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=KEYSTORE_DIR_ENV,
    show_envvar=True,
    help="Directory of encrypted keys (default ~/.strikebook/keys).",
)


def keystore_options(func: F) -> F:
    """--keystore-dir, --password-env and --password-file, shared by the key commands."""
    func = click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the keystore password from the first line of this file.",
    )(func)
    func = click.option(
        "--password-env", metavar="VAR", help="Read the keystore password from this environment variable."
    )(func)
    return _KEYSTORE_DIR_OPTION(func)


def _describe(info: KeyInfo) -> dict[str, Any]:
    created = datetime.fromtimestamp(info.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": info.name, "role": info.role.value, "address": info.address, "created": created}


_ROLE = click.Choice([r.value for r in KeyRole])


@click.group("keys", context_settings={"help_option_names": ["-h", "--help"]})
def keys() -> None:
    """Encrypted keys (operator, oracle, maker, delegate) and admin API credentials.

    Keys are Web3 Secret Storage v3 files (scrypt), mode 0600 in a 0700 directory.
    """


@keys.command("create")
@click.argument("name")
@click.option("--role", type=_ROLE, required=True, help="What the key is for.")
@keystore_options
def create_cmd(
    name: str, role: str, keystore_dir: Path | None, password_env: str | None, password_file: Path | None
) -> None:
    """Generate a new key NAME and store it encrypted. Prints only its address."""
    with _errors():
        store = _keystore(keystore_dir)
        password = _password_source(password_env, password_file).get(f"new password for key {name!r}", confirm=True)
        info = store.create(name, KeyRole(role), password)
    log.info("created key %s role=%s address=%s", info.name, info.role.value, info.address)
    click.echo(f"created {info.name} ({info.role.value}) {info.address}")


def _read_private_key(key_file: Path | None) -> str:
    if key_file is None:
        value: str = click.prompt("Private key (hex, input hidden)", hide_input=True, show_default=False)
        return value
    text = sys.stdin.read() if str(key_file) == "-" else key_file.read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    if not lines:
        raise click.ClickException("the key file is empty")
    return lines[0]


@keys.command("import")
@click.argument("name")
@click.option("--role", type=_ROLE, required=True, help="What the key is for.")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="File holding the private key as hex ('-' for stdin). Without it, a hidden prompt asks.",
)
@click.option(
    "--from-keystore",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Import another tool's v3 keystore file instead (geth, Clef, MetaMask export).",
)
@click.option("--from-password-env", metavar="VAR", help="Password of the --from-keystore file, from this variable.")
@click.option(
    "--from-password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Password of the --from-keystore file, from this file.",
)
@keystore_options
def import_cmd(
    name: str,
    role: str,
    key_file: Path | None,
    from_keystore: Path | None,
    from_password_env: str | None,
    from_password_file: Path | None,
    keystore_dir: Path | None,
    password_env: str | None,
    password_file: Path | None,
) -> None:
    """Import an existing private key as NAME, encrypted under a new password."""
    if key_file is not None and from_keystore is not None:
        raise click.UsageError("give --key-file or --from-keystore, not both")
    with _errors():
        store = _keystore(keystore_dir)
        if from_keystore is not None:
            old = _password_source(from_password_env, from_password_file, "--from-password")
            old_password = old.get(f"password of {from_keystore.name}")
            password = _password_source(password_env, password_file).get(f"new password for {name!r}", confirm=True)
            info = store.import_keyfile(name, KeyRole(role), from_keystore, old_password, password)
        else:
            private_key = parse_private_key(_read_private_key(key_file))  # refuse bad input before any prompt
            password = _password_source(password_env, password_file).get(f"new password for {name!r}", confirm=True)
            info = store.import_key(name, KeyRole(role), private_key, password)
    log.info("imported key %s role=%s address=%s", info.name, info.role.value, info.address)
    click.echo(f"imported {info.name} ({info.role.value}) {info.address}")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_KEYSTORE_DIR_OPTION
def list_cmd(as_json: bool, keystore_dir: Path | None) -> None:
    """List stored keys: name, role, address, creation time (no password needed)."""
    with _errors():
        infos = [_describe(i) for i in _keystore(keystore_dir).list()]
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    if not infos:
        click.echo("no keys")
        return
    width = max(len(i["name"]) for i in infos)
    for i in infos:
        click.echo(f"{i['name']:<{width}}  {i['role']:<8}  {i['address']}  {i['created']}")


@keys.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_KEYSTORE_DIR_OPTION
def show_cmd(name: str, as_json: bool, keystore_dir: Path | None) -> None:
    """Show the address and role of key NAME (no password needed)."""
    with _errors():
        info = _describe(_keystore(keystore_dir).info(name))
    click.echo(json.dumps(info, indent=2) if as_json else info["address"])


@keys.command("passwd")
@click.argument("name")
@click.option("--new-password-env", metavar="VAR", help="Read the new password from this environment variable.")
@click.option(
    "--new-password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the new password from this file.",
)
@keystore_options
def passwd_cmd(
    name: str,
    new_password_env: str | None,
    new_password_file: Path | None,
    keystore_dir: Path | None,
    password_env: str | None,
    password_file: Path | None,
) -> None:
    """Change the password of key NAME (re-encrypts with a fresh salt; atomic)."""
    with _errors():
        store = _keystore(keystore_dir)
        store.info(name)
        old = _password_source(password_env, password_file).get(f"current password for {name!r}")
        new = _password_source(new_password_env, new_password_file, "--new-password").get(
            f"new password for {name!r}", confirm=True
        )
        if new == old:
            raise PasswordSourceError("the new password is the same as the current one")
        info = store.change_password(name, old, new)
    log.info("changed password of key %s", info.name)
    click.echo(f"password changed for {info.name} {info.address}")


@keys.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_KEYSTORE_DIR_OPTION
def delete_cmd(name: str, yes: bool, keystore_dir: Path | None) -> None:
    """Delete key NAME for good. There is no undo: back up keys that hold funds first."""
    with _errors():
        store = _keystore(keystore_dir)
        info = store.info(name)
        if not yes:
            click.confirm(f"Delete {info.name} ({info.role.value}, {info.address})? This cannot be undone", abort=True)
        store.delete(name)
    log.info("deleted key %s address=%s", info.name, info.address)
    click.echo(f"deleted {info.name} {info.address}")


# --- admin API keys ------------------------------------------------------------------------------


@keys.group("api-key")
def api_key() -> None:
    """Admin API keys for the relayer's admin endpoints (HMAC secret + TOTP second factor)."""


_STORE_OPTION = click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The relayer's API key file (secret: mode 0600, in a 0700 directory).",
)


@api_key.command("create")
@click.argument("label")
@click.option(
    "--action",
    "actions",
    type=click.Choice([a.value for a in AdminAction]),
    multiple=True,
    required=True,
    help="An admin action this key may perform (repeat the option).",
)
@click.option("--no-totp", is_flag=True, help="No second factor (only for unattended jobs with no TOTP actions).")
@click.option(
    "--credentials-out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="New 0600 file for the operator's client: key id, secret and TOTP seed.",
)
@click.option("--show-totp-uri", is_flag=True, help="Print the otpauth:// URI once, to enrol an authenticator app.")
@_STORE_OPTION
def api_key_create(
    label: str, actions: tuple[str, ...], no_totp: bool, credentials_out: Path, show_totp_uri: bool, store: Path
) -> None:
    """Create an admin API key LABEL; the secret goes only to --credentials-out, never to the screen."""
    chosen = {AdminAction(a) for a in actions}
    needs_totp = sorted(a.value for a in chosen if a.requires_totp)
    if no_totp and needs_totp:
        raise click.UsageError(f"--no-totp cannot be used with actions that need TOTP: {', '.join(needs_totp)}")
    with _errors():
        key = generate_api_key(label, chosen, with_totp=not no_totp)
        AdminCredentials.for_key(key, include_totp=True).save(credentials_out)
        ApiKeyFile(store).add(key)
    log.info("created admin API key %s label=%s actions=%s", key.key_id, label, ",".join(sorted(actions)))
    click.echo(f"created API key {key.key_id} ({label}); credentials written to {credentials_out}")
    if key.totp_secret is not None:
        if show_totp_uri:
            click.echo(Totp(key.totp_secret).provisioning_uri(f"{label} ({key.key_id})"))
        click.echo("Enrol the TOTP seed in an authenticator app, then remove it from the credentials file.")


@api_key.command("list")
@_STORE_OPTION
def api_key_list(store: Path) -> None:
    """List admin API keys: id, label, actions, whether TOTP is enrolled."""
    with _errors():
        keys_ = ApiKeyFile(store).list()
    for k in keys_:
        totp = "totp" if k.totp_secret else "no-totp"
        click.echo(f"{k.key_id}  {k.label}  {totp}  {','.join(sorted(a.value for a in k.actions))}")
    if not keys_:
        click.echo("no API keys")


@api_key.command("revoke")
@click.argument("key_id")
@_STORE_OPTION
def api_key_revoke(key_id: str, store: Path) -> None:
    """Revoke KEY_ID; the relayer refuses it from its next request on."""
    with _errors():
        ApiKeyFile(store).revoke(key_id)
    log.info("revoked admin API key %s", key_id)
    click.echo(f"revoked {key_id}")


@keys.command("audit-verify")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def audit_verify(path: Path) -> None:
    """Check the hash chain of an admin audit log; print its entry count and head hash."""
    with _errors():
        summary = verify_audit_log(path)
    click.echo(f"ok: {summary.entries} entries, head {summary.head}")
