"""``python3 -m smartrestart.rules FILE...`` (dh_smartrestart's check of a package's fragment):
its usage, the units it prints, and its errors with smartrestart's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.errors import ExitCode
from smartrestart.rules import __main__ as rules_main
from smartrestart.rules.__main__ import main
from tests.helpers import write_rules

USAGE = "usage: python3 -m smartrestart.rules FILE...\n"


@pytest.mark.parametrize("argv", [[], ["--help"], ["rules.yaml", "-v"]])
def test_no_file_or_an_option_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == ExitCode.USAGE
    assert capsys.readouterr() == ("", USAGE)


def test_each_unit_the_actions_name_is_printed_once_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = """\
        actions:
          a:
            units: [b.service, a.service]
          c:
            units: [a.service, c.socket]
          m:
            run: /bin/true
        rules:
          - pattern: "**"
            actions: [a, c, m]
        """
    path = write_rules(tmp_path, rules)
    assert main([str(path)]) == ExitCode.OK
    assert capsys.readouterr() == ("b.service\na.service\nc.socket\n", "")


def test_a_mistake_is_one_line_with_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rules(tmp_path, "rules: []\nactoins: {}\n")
    assert main([str(path)]) == ExitCode.USAGE  # nothing acted
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"smartrestart: error: {path}:2: actoins: unknown key")
    missing = tmp_path / "missing.yaml"
    assert main([str(missing)]) == ExitCode.USAGE
    assert capsys.readouterr() == (
        "",
        f"smartrestart: error: {missing}: cannot read: No such file or directory\n",
    )


def test_an_os_error_the_loader_lets_through_is_named_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreadable(paths: object) -> object:
        raise PermissionError(13, "Permission denied", "/etc/smartrestart/rules.yaml")

    monkeypatch.setattr(rules_main, "load_rule_set", unreadable)
    assert main(["/etc/smartrestart/rules.yaml"]) == ExitCode.USAGE
    assert capsys.readouterr() == (
        "",
        "smartrestart: error: /etc/smartrestart/rules.yaml: Permission denied\n",
    )
