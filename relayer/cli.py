"""`strikebook`: the one command-line entry point for operators, makers and auditors.

Each subsystem contributes a click group; this module only assembles them, so
`strikebook --help` always lists what the installed code can do.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

#: (module, attribute) of each subcommand group; a group whose module is not
#: present yet is simply absent from --help.
_GROUPS: tuple[tuple[str, str], ...] = (
    ("pricing.cli", "pricing"),
    ("settlement.cli", "deploy"),
    ("settlement.audit_cli", "audit"),
    ("keys.cli", "keys"),
    ("relayer.relayer_cli", "relayer"),
    ("relayer.operator_cli", "chain"),
    ("relayer.operator_cli", "series"),
    ("relayer.operator_cli", "batches"),
    ("relayer.operator_cli", "oracle"),
    ("relayer.operator_cli", "settle"),
)


def _package_version() -> str:
    try:
        return version("strikebook")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_package_version(), prog_name="strikebook")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="STRIKEBOOK_CONFIG",
    help="TOML file with command defaults (env STRIKEBOOK_CONFIG; default ./strikebook.toml if present).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Strikebook: signed option orders matched off-chain, settled on-chain."""
    from relayer import operator_config

    ctx.default_map = operator_config.default_map(cli, operator_config.load(config_path))


def _register_groups() -> None:
    for module_name, attr in _GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        command = getattr(module, attr)
        if isinstance(command, click.Command):
            cli.add_command(command)
    relayer_group = cli.commands.get("relayer")
    if isinstance(relayer_group, click.Group) and "status" not in relayer_group.commands:
        from relayer.operator_cli import relayer_status

        relayer_group.add_command(relayer_status)


_register_groups()


def main() -> None:
    """Console-script entry point: library errors become one line on stderr, not a traceback."""
    from keys.errors import KeysError
    from relayer.errors import RelayerError
    from settlement.errors import SettlementError

    try:
        cli.main(prog_name="strikebook")
    except (SettlementError, RelayerError, KeysError, OSError) as exc:
        click.echo(f"Error: {_one_line(exc)}", err=True)
        sys.exit(1)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "connection refused" in text.lower() or "failed to establish" in text.lower():
        return f"cannot reach the JSON-RPC endpoint or service ({text[:200]})"
    return text


if __name__ == "__main__":
    main()
