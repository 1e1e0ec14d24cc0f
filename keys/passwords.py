"""Where keystore passwords come from: a prompt, an environment variable, or a file.

Every source returns the password as a `str` and never logs it. Each has a repr that names the
source (variable name, path) and never the value, so a source can be logged or shown in errors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import click

from .errors import PasswordSourceError


@runtime_checkable
class PasswordSource(Protocol):
    """Supplies a password. `purpose` is shown to a human (e.g. "password for key 'op'")."""

    def get(self, purpose: str, *, confirm: bool = False) -> str:
        """Return the password; `confirm` asks a human to type a new password twice."""
        ...


def _non_empty(password: str, where: str) -> str:
    if not password:
        raise PasswordSourceError(f"the password from {where} is empty; an empty password protects nothing")
    return password


class EnvPassword:
    """The password is the value of an environment variable (for services and CI)."""

    __slots__ = ("_environ", "variable")

    def __init__(self, variable: str, environ: dict[str, str] | None = None) -> None:
        self.variable = variable
        self._environ = environ

    def __repr__(self) -> str:
        return f"EnvPassword({self.variable!r})"

    def get(self, purpose: str, *, confirm: bool = False) -> str:
        env = os.environ if self._environ is None else self._environ
        value = env.get(self.variable)
        if value is None:
            raise PasswordSourceError(f"environment variable {self.variable} is not set ({purpose})")
        return _non_empty(value, f"${self.variable}")


class FilePassword:
    """The password is the first line of a file (trailing newline removed), e.g. a mounted secret."""

    __slots__ = ("path",)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"FilePassword({str(self.path)!r})"

    def get(self, purpose: str, *, confirm: bool = False) -> str:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PasswordSourceError(f"cannot read password file {self.path}: {exc.strerror}") from None
        first_line = text.splitlines()[0] if text else ""
        return _non_empty(first_line, f"file {self.path}")


class PromptPassword:
    """Ask a human on the terminal, input hidden; new passwords are typed twice."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PromptPassword()"

    def get(self, purpose: str, *, confirm: bool = False) -> str:
        try:
            value: str = click.prompt(
                purpose.capitalize(),
                hide_input=True,
                confirmation_prompt=confirm,
                show_default=False,
            )
        except click.Abort:
            raise PasswordSourceError(f"no password entered ({purpose})") from None
        return _non_empty(value, "the prompt")


class StaticPassword:
    """A password already in memory (library callers that fetched it from a secret manager)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = _non_empty(value, "the caller")

    def __repr__(self) -> str:
        return "StaticPassword(<hidden>)"

    def get(self, purpose: str, *, confirm: bool = False) -> str:
        return self._value
