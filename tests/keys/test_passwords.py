"""Password sources: environment, file, prompt; clear errors; reprs never show the password."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from keys.errors import PasswordSourceError
from keys.passwords import EnvPassword, FilePassword, PasswordSource, PromptPassword, StaticPassword


def test_env_password_reads_the_variable_and_names_it_when_missing() -> None:
    assert EnvPassword("PW", {"PW": "s3cret"}).get("unlock") == "s3cret"
    with pytest.raises(PasswordSourceError, match="PW is not set"):
        EnvPassword("PW", {}).get("unlock")


def test_file_password_is_the_first_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret with spaces \nsecond line\n")

    assert FilePassword(path).get("unlock") == "s3cret with spaces "


def test_missing_password_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PasswordSourceError, match="cannot read password file"):
        FilePassword(tmp_path / "absent").get("unlock")


@pytest.mark.parametrize("source", [EnvPassword("PW", {"PW": ""}), "empty-file"])
def test_empty_passwords_are_refused(tmp_path: Path, source: PasswordSource | str) -> None:
    if source == "empty-file":
        (tmp_path / "pw").write_text("\n")
        source = FilePassword(tmp_path / "pw")
    assert not isinstance(source, str)

    with pytest.raises(PasswordSourceError, match="empty"):
        source.get("unlock")
    with pytest.raises(PasswordSourceError):
        StaticPassword("")


def test_prompt_asks_twice_for_new_passwords_and_hides_input() -> None:
    got: list[str] = []

    @click.command()
    def cmd() -> None:
        got.append(PromptPassword().get("new password", confirm=True))

    result = CliRunner().invoke(cmd, input="abc\nxyz\nhunter2\nhunter2\n")

    assert result.exit_code == 0
    assert got == ["hunter2"]
    assert "hunter2" not in result.output and "Error: The two entered values do not match." in result.output


def test_reprs_name_the_source_never_the_value(tmp_path: Path) -> None:
    sources = [EnvPassword("PW", {"PW": "s3cret"}), FilePassword(tmp_path / "pw"), StaticPassword("s3cret")]

    assert [repr(s) for s in sources] == ["EnvPassword('PW')", f"FilePassword('{tmp_path / 'pw'}')",
                                          "StaticPassword(<hidden>)"]  # fmt: skip
    assert all(isinstance(s, PasswordSource) for s in [*sources, PromptPassword()])
