"""The CLI's one error handler: every way a command can end is one line and a true exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from smartrestart.cli.main import DEBUG_VARIABLE, cli
from smartrestart.errors import EXIT_CODES, ActionLedger, ExitCode, SystemdUnavailable


def decide_raising(
    error: BaseException,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    env: dict[str, str] | None = None,
    acted_first: str = "",
) -> Result:
    def explode(*_: object) -> None:
        if acted_first:
            ActionLedger.record(acted_first)
        raise error

    monkeypatch.setattr("smartrestart.decide.run.run_decide", explode)
    return CliRunner().invoke(cli, [*args, "decide", "x.py"], env=env or {})


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (ValueError("boom"), ExitCode.INTERNAL, "internal error: ValueError: boom"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "interrupted"),
        (RecursionError(), ExitCode.USAGE, "input nested too deeply"),
        (MemoryError(), ExitCode.USAGE, "out of memory"),
        (PermissionError(13, "Permission denied", "/etc/x"), ExitCode.USAGE, "/etc/x: Permission"),
        (SystemdUnavailable("no bus"), ExitCode.SYSTEMD, "no bus"),
    ],
)
def test_every_error_is_one_line_and_a_documented_code(
    error: BaseException, code: ExitCode, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = decide_raising(error, monkeypatch)
    assert result.exit_code == code
    assert code in EXIT_CODES
    assert result.stderr.startswith(f"smartrestart: error: {message}")
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_internal_error_says_where_to_report_it(monkeypatch: pytest.MonkeyPatch) -> None:
    result = decide_raising(ValueError("boom"), monkeypatch)
    assert f"please report it with the output of {DEBUG_VARIABLE}=1" in result.stderr


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "option":
        result = decide_raising(ValueError("boom"), monkeypatch, "--debug")
    else:
        result = decide_raising(ValueError("boom"), monkeypatch, env={DEBUG_VARIABLE: "1"})
    assert result.exit_code == ExitCode.INTERNAL
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: boom" in result.stderr


def test_after_something_acted_no_error_claims_that_nothing_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = decide_raising(
        SystemdUnavailable("no bus"), monkeypatch, acted_first="the job for api.service"
    )
    assert result.exit_code == ExitCode.FAILED
    assert "(after the job for api.service had already acted)" in result.stderr


def test_usage_errors_of_click_keep_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["decide", "--no-such-option"])
    assert result.exit_code == ExitCode.USAGE
    assert "No such option" in result.stderr
