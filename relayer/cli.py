"""`strikebook`: the one command-line entry point for operators, makers and auditors.

Each subsystem contributes a click group; this module only assembles them, so
`strikebook --help` always lists what the installed code can do.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

import click

#: (module, attribute) of each subcommand group; a group whose module is not
#: present yet is simply absent from --help.
_GROUPS: tuple[tuple[str, str], ...] = (
    ("pricing.cli", "pricing"),
    ("settlement.cli", "deploy"),
    ("settlement.audit_cli", "audit"),
    ("keys.cli", "keys"),
    ("relayer.relayer_cli", "relayer"),
)


def _package_version() -> str:
    try:
        return version("strikebook")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_package_version(), prog_name="strikebook")
def cli() -> None:
    """Strikebook: signed option orders matched off-chain, settled on-chain."""


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


_register_groups()


def main() -> None:
    """Console-script entry point."""
    cli()
