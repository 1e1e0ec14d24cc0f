"""`strikebook --config FILE`: command defaults from a TOML file, overridden by environment variables.

    # strikebook.toml
    rpc = "http://127.0.0.1:8545"          # every command with --rpc
    manifest = ".strikebook/manifest.json"  # every command with --manifest
    api = "http://127.0.0.1:8080"          # every command with --api

    [relayer.start]                        # one command's own options, by its option names
    port = 8081
    batch_ms = 100

Order of precedence: the command line, then environment variables (STRIKEBOOK_RPC,
STRIKEBOOK_MANIFEST, STRIKEBOOK_API), then the file, then each option's default. Without
`--config`, `./strikebook.toml` is read when it exists.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import click

#: Top-level keys that apply to every command having an option of that name, and their env vars.
SHARED = {"rpc": "STRIKEBOOK_RPC", "manifest": "STRIKEBOOK_MANIFEST", "api": "STRIKEBOOK_API"}
DEFAULT_FILE = Path("strikebook.toml")


def load(path: Path | None) -> dict[str, Any]:
    """The parsed file ({} when no file is named and ./strikebook.toml is absent); one-line errors."""
    if path is None:
        if not DEFAULT_FILE.exists():
            return {}
        path = DEFAULT_FILE
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise click.ClickException(f"config file {path} not found") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"config file {path} is not valid TOML: {exc}") from None


def _param_names(command: click.Command) -> dict[str, str]:
    """Config key (option name with - or _) -> the parameter's name."""
    out: dict[str, str] = {}
    for p in command.params:
        if p.name is None:
            continue
        out[p.name] = p.name
        for opt in getattr(p, "opts", []):
            out[opt.lstrip("-").replace("-", "_")] = p.name
    return out


def _is_flag(command: click.Command, name: str) -> bool:
    return any(p.name == name and bool(getattr(p, "is_flag", False)) for p in command.params)


def default_map(root: click.Group, config: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    """click's `default_map` for the whole command tree from `config` and the shared env vars."""
    env = dict(os.environ) if env is None else env
    shared = {k: v for k, v in config.items() if k in SHARED and not isinstance(v, dict)}
    for key, var in SHARED.items():
        if env.get(var):
            shared[key] = env[var]

    def build(command: click.Command, section: dict[str, Any]) -> dict[str, Any]:
        names = _param_names(command)
        out: dict[str, Any] = {}
        for key, value in shared.items():
            # a shared URL never sets a boolean flag of the same name (`relayer start --api/--no-api`)
            if key in names and not _is_flag(command, names[key]):
                out[names[key]] = value
        for key, value in section.items():
            if isinstance(value, dict):
                continue
            if key not in names:
                raise click.ClickException(f"config: {command.name} has no option {key!r}")
            out[names[key]] = value
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                sub_section = section.get(name, {})
                if not isinstance(sub_section, dict):
                    raise click.ClickException(f"config: [{name}] must be a table")
                out[name] = build(sub, sub_section)
        return out

    top = {k: v for k, v in config.items() if k not in SHARED}
    return build(root, top)
