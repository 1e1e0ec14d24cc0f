"""`strikebook deploy`: deploy the contract suite and write the deployment manifest."""

from __future__ import annotations

import os
from pathlib import Path

import click

from keys.signer import LocalSigner, Signer

from .chain import Chain
from .deploy import DeployConfig
from .deploy import deploy as deploy_suite
from .errors import SettlementError

DEFAULT_KEY_ENV = "STRIKEBOOK_OPERATOR_KEY"


def load_signer(key_env: str, keystore_name: str | None, keystore_dir: Path | None, password_env: str | None) -> Signer:
    """The deployer/operator signer: a keystore key when `keystore_name` is given, else a raw key from `key_env`."""
    if keystore_name is not None:
        from keys.keystore import Keystore
        from keys.passwords import EnvPassword, PromptPassword

        source = EnvPassword(password_env) if password_env else PromptPassword()
        password = source.get(f"password for key {keystore_name!r}")
        return Keystore(keystore_dir).unlock(keystore_name, password)
    value = os.environ.get(key_env)
    if not value:
        raise click.UsageError(f"no key: set ${key_env} to a hex private key, or pass --keystore NAME")
    try:
        return LocalSigner(value.strip())
    except Exception as exc:  # eth-account's errors name the bad input, never echo the key
        raise click.UsageError(f"${key_env} does not hold a valid private key ({type(exc).__name__})") from None


@click.command(
    "deploy",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--rpc",
    envvar="STRIKEBOOK_RPC",
    default="http://127.0.0.1:8545",
    show_default=True,
    help="JSON-RPC endpoint to deploy to (env STRIKEBOOK_RPC).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("manifest.json"),
    show_default=True,
    help="Where to write the deployment manifest every component reads.",
)
@click.option(
    "--key-env",
    default=DEFAULT_KEY_ENV,
    show_default=True,
    help="Environment variable holding the deployer's hex private key.",
)
@click.option("--keystore", "keystore_name", help="Use this key from the encrypted keystore instead of --key-env.")
@click.option("--keystore-dir", type=click.Path(file_okay=False, path_type=Path), help="Keystore directory.")
@click.option("--password-env", help="Environment variable holding the keystore password (else prompt).")
@click.option("--operator", "operators", multiple=True, help="OPERATOR_ROLE holder (repeatable; default: deployer).")
@click.option("--pauser", "pausers", multiple=True, help="PAUSER_ROLE holder (repeatable; default: deployer).")
@click.option("--lister", "listers", multiple=True, help="LISTER_ROLE holder (repeatable; default: deployer).")
@click.option("--oracle-admin", "oracle_admins", multiple=True, help="ORACLE_ADMIN_ROLE holder (default: deployer).")
@click.option("--oracle-signer", "oracle_signers", multiple=True, help="Oracle price signer (repeatable).")
@click.option("--oracle-threshold", type=click.IntRange(min=1), help="Signatures needed per price (default 1).")
@click.option("--fee-recipient", help="Receives collected fees (default: deployer).")
@click.option(
    "--admin-delay",
    type=click.IntRange(min=0),
    help="Seconds a default-admin transfer waits (default: 0 on a local chain, 2 days elsewhere).",
)
@click.option("--asset", "assets", multiple=True, help="Existing ERC-20 to add as a collateral asset (repeatable).")
@click.option(
    "--test-tokens/--no-test-tokens",
    default=None,
    help="Deploy a 6-decimal quote and an 18-decimal underlying test token (default: only on chain 31337/1337).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing manifest file.")
def deploy(
    rpc: str,
    out: Path,
    key_env: str,
    keystore_name: str | None,
    keystore_dir: Path | None,
    password_env: str | None,
    operators: tuple[str, ...],
    pausers: tuple[str, ...],
    listers: tuple[str, ...],
    oracle_admins: tuple[str, ...],
    oracle_signers: tuple[str, ...],
    oracle_threshold: int | None,
    fee_recipient: str | None,
    admin_delay: int | None,
    assets: tuple[str, ...],
    test_tokens: bool | None,
    force: bool,
) -> None:
    """Deploy the Strikebook suite (series registry, settlement oracle, exchange with its margin
    vault) to the chain at --rpc and write the manifest (chain id, addresses, deployment block,
    role holders) to --out.

    The deployer becomes each contract's default admin and, unless told otherwise, holds every
    role. Example against a local Anvil:

    \b
        export STRIKEBOOK_OPERATOR_KEY=0xac09...ff80
        strikebook deploy --rpc http://127.0.0.1:8545 --out manifest.json
    """
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to overwrite it")
    signer = load_signer(key_env, keystore_name, keystore_dir, password_env)
    config = DeployConfig(
        operators=operators,
        pausers=pausers,
        listers=listers,
        oracle_admins=oracle_admins,
        oracle_signers=oracle_signers,
        oracle_threshold=oracle_threshold,
        fee_recipient=fee_recipient,
        admin_delay=admin_delay,
        test_tokens=test_tokens,
        extra_assets=assets,
    )
    try:
        chain = Chain.from_url(rpc)
        click.echo(f"deploying to chain {chain.chain_id()} at {rpc} as {signer.address}", err=True)
        manifest = deploy_suite(chain, signer, config, log=lambda msg: click.echo(f"  {msg}", err=True))
        manifest.save(out)
    except SettlementError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, address in manifest.contracts.items():
        click.echo(f"{name:<17} {address}")
    for key, token in manifest.tokens.items():
        click.echo(f"{token.symbol:<17} {token.address}  ({key}, {token.decimals} decimals)")
    click.echo(f"manifest          {out}  (deployment block {manifest.deployment_block})")
