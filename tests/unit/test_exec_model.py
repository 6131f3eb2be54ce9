"""exec's pure parts: probes from the command line, the health count, the exit status."""

from __future__ import annotations

import signal

import pytest

from smartrestart.errors import UsageError
from smartrestart.exec.model import (
    EXTEND_GRACE,
    EXTEND_SPAN,
    Ending,
    Health,
    ProbeKind,
    build_options,
    ending_from_wait_status,
    extend_span,
    health_status,
    not_ready_exit,
    parse_probe,
)


def test_probes_parse_into_their_parts() -> None:
    assert parse_probe("tcp:127.0.0.1:8080", "--ready")[2:4] == ("127.0.0.1", 8080)
    assert parse_probe("tcp:[::1]:80", "--ready")[2:4] == ("::1", 80)
    http = parse_probe("http://localhost:8080/health?deep=1", "--ready")
    assert (http.kind, http.host, http.port, http.path) == (
        ProbeKind.HTTP,
        "localhost",
        8080,
        "/health?deep=1",
    )
    assert parse_probe("https://example.test", "--ready")[2:5] == ("example.test", 443, "/")
    assert parse_probe("unix:@abstract", "--ready").path == "@abstract"
    assert parse_probe("cmd:pg_isready -q -h '/run/postgresql'", "--ready").argv == (
        "pg_isready",
        "-q",
        "-h",
        "/run/postgresql",
    )
    log = parse_probe("log:listening on \\d+", "--ready")
    assert log.pattern is not None and log.pattern.search("listening on 80")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8080", "not a probe"),
        ("ftp://x", "not a probe"),
        ("tcp:localhost", "expected tcp:HOST:PORT"),
        ("tcp:localhost:0", "from 1 to 65535"),
        ("tcp:localhost:99999", "from 1 to 65535"),
        ("tcp:localhost:\uff18\uff10", "from 1 to 65535"),  # fullwidth digits
        ("http://:80/", "no host"),
        ("http://h:x/", "Port could not be cast"),
        ("http://h/a b", "spaces or control"),
        ("cmd:", "nothing after"),
        ("cmd:'unclosed", "No closing quotation"),
        ("log:(", "not a regular expression"),
        ("file:", "nothing after"),
    ],
)
def test_bad_probes_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        parse_probe(text, "--ready")
    assert raised.value.message.startswith(f"--ready {text!r}")


def test_options_check_what_combines() -> None:
    with pytest.raises(UsageError, match="no PROGRAM"):
        build_options(())
    with pytest.raises(UsageError, match="needs an http"):
        build_options(("x",), ("tcp:h:1",), ready_body="ok")
    with pytest.raises(UsageError, match="cannot be a log"):
        build_options(("x",), health="log:x")
    options = build_options(
        ("x",), ("tcp:h:1", "http://h/"), ready_body="ok", health_retries=5, ready_timeout=3.0
    )
    assert options.ready[0].pattern is None
    assert options.ready[1].pattern is not None
    assert (options.health_retries, options.ready_timeout) == (5, 3.0)


def test_health_counts_consecutive_failures_like_failure_threshold() -> None:
    health = Health(retries=3)
    health = health.after(False, "refused").after(False, "refused")
    assert (health.failures, health.pinging) == (2, True)
    assert health.after(True).failures == 0  # one success resets the count
    health = health.after(False, "timeout")
    assert (health.failed, health.pinging, health.last_error) == (True, False, "timeout")


def test_health_status_says_what_acts() -> None:
    probe = parse_probe("tcp:h:1", "--health")
    failed = Health(2).after(False, "refused").after(False, "refused")
    assert health_status(probe, Health(2), True) == "ready; healthy (tcp:h:1)"
    assert health_status(probe, failed, True).endswith("; watchdog triggered")
    assert "nothing acts" in health_status(probe, failed, False)


def test_the_start_timeout_is_extended_no_further_than_our_own_deadline() -> None:
    assert extend_span(now=0.0, ready_deadline=90.0) == EXTEND_SPAN
    assert extend_span(now=88.0, ready_deadline=90.0) == pytest.approx(2.0 + EXTEND_GRACE)
    assert extend_span(now=200.0, ready_deadline=90.0) > 0  # never zero: systemd rejects it


def test_an_ending_is_passed_on_as_a_shell_reports_it() -> None:
    assert ending_from_wait_status(7 << 8) == Ending(code=7)
    killed = ending_from_wait_status(signal.SIGTERM)
    assert (killed.signal, killed.shell_status) == (signal.SIGTERM, 143)
    assert killed.describe() == "was killed by SIGTERM"
    assert not_ready_exit(Ending(code=0)) == 1  # ended "successfully" before ready: a failure
    assert not_ready_exit(Ending(code=3)) == 3
