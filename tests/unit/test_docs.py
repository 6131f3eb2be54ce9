"""The man page, --help and README stay true to the code: checked against its tables."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from smartrestart.cli.main import cli
from smartrestart.errors import EXIT_CODES
from smartrestart.journal.events import EVENTS
from tests.testbed import PROJECT

MAN = PROJECT / "man/smartrestart.1"
PAGES = [
    PROJECT / "man" / page
    for page in ("smartrestart.1", "smartrestart.yaml.5", "smartrestart.notify.3")
]


def man_text(page: Path = MAN) -> str:
    """The page with roff escapes undone, so plain text can be searched."""
    text = page.read_text().replace("\\-", "-")
    return re.sub(r"\\f[RIB]", "", text)


def test_the_committed_pages_are_what_the_generator_makes_now() -> None:
    """As systemd's update-dbus-docs --test: a command, option or table entry added since fails."""
    from smartrestart.manpages.__main__ import main
    from smartrestart.manpages.pages import PAGES as GENERATED

    assert [PROJECT / "man" / page for page in GENERATED] == PAGES
    assert main(["--check", str(PROJECT)]) == 0, "run: python -m smartrestart.manpages"


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_man_page_renders_without_warnings(page: Path) -> None:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=False,
    )
    assert result.returncode == 0
    assert result.stderr == ""


def test_man_page_lists_every_exit_code() -> None:
    text = " ".join(man_text().split())
    for code, meaning in EXIT_CODES.items():
        assert f".B {int(code)} {meaning}" in text


def test_man_page_lists_every_message_id() -> None:
    text = man_text()
    for event in EVENTS.values():
        assert event.message_id in text


def subcommands() -> dict[str, click.Command | None]:
    """Every subcommand the lazy group lists, loaded by the name it lists."""
    context = click.Context(cli)
    return {name: cli.get_command(context, name) for name in cli.list_commands(context)}


def test_man_page_documents_every_option() -> None:
    text = man_text()
    for name, command in subcommands().items():
        assert command is not None, name
        for param in command.params:
            if isinstance(param, click.Option):
                longest = max(param.opts, key=len)
                assert re.search(rf"\B{re.escape(longest)}\b", text), f"{name} {longest}"


@pytest.mark.parametrize("name", ["decide", "apply", "generate", "status", "logs", "graph"])
def test_help_has_examples_and_exit_codes(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    for code, meaning in EXIT_CODES.items():
        assert f"{int(code)}  {meaning}" in result.output


def test_readme_commands_exist() -> None:
    readme = (PROJECT / "README.md").read_text()
    makefile = (PROJECT / "Makefile").read_text()
    for target in re.findall(r"^    make ([\w-]+)", readme, re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert "make test" in (PROJECT / ".ci/run").read_text()


def test_lazy_commands_carry_the_names_they_are_listed_under() -> None:
    for name, command in subcommands().items():
        assert command is not None and command.name == name
    assert cli.get_command(click.Context(cli), "no-such-command") is None


def test_readme_lists_every_exit_code_as_the_table_says() -> None:
    readme = (PROJECT / "README.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"| {int(code)} | {meaning} |" in readme


def between(text: str, start: str, end: str) -> str:
    head = text.index(start)
    return text[text.index("\n", head) + 1 : text.index(end)]


def test_the_budget_key_tables_are_the_ones_the_key_declarations_make() -> None:
    """README and smartrestart.yaml(5) list every budget key, as budget/keys.py declares them."""
    from smartrestart.budget.keys import KEY_NAMES, markdown_table, roff_list

    readme = (PROJECT / "README.md").read_text()
    assert between(readme, "<!-- budget keys:", "<!-- end of budget keys -->") == markdown_table()
    assert roff_list() in (PROJECT / "man/smartrestart.yaml.5").read_text()
    for name in KEY_NAMES:
        assert f"| `{name}` |" in readme


def test_the_rules_file_page_lists_every_key_the_parser_accepts() -> None:
    from smartrestart.rules.schema import ACTION_KEYS, RULE_KEYS, TOP_LEVEL_KEYS

    text = (PROJECT / "man/smartrestart.yaml.5").read_text()
    for key in (*TOP_LEVEL_KEYS, *ACTION_KEYS, *RULE_KEYS):
        assert f".B {key}\n" in text, key


def test_the_notify_page_documents_every_public_name() -> None:
    from smartrestart import notify

    text = man_text(PROJECT / "man/smartrestart.notify.3")
    for name in notify.__all__:
        assert re.search(rf"^\.B {name}\b", text, re.MULTILINE), name
