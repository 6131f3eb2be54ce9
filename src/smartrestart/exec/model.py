"""``exec``'s pure parts: probes as data, the options, and the decisions of its loop.

Nothing here touches a socket, a process or a signal: :mod:`.run` does, and
asks these functions what to do. So the state machine (which probe to wait
for, when to extend the start timeout, when a program counts as unhealthy,
what exit status to pass on) is tested without a program or a systemd.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import urlsplit

from smartrestart.errors import UsageError


class ProbeKind(StrEnum):
    TCP = "tcp"
    UNIX = "unix"
    HTTP = "http"
    HTTPS = "https"
    FILE = "file"
    CMD = "cmd"
    LOG = "log"


PROBE_FORMS = (
    "tcp:HOST:PORT",
    "unix:PATH",
    "http://HOST[:PORT]/PATH",
    "https://HOST[:PORT]/PATH",
    "file:PATH",
    "cmd:COMMAND",
    "log:REGEX",
)


class Probe(NamedTuple):
    """One readiness or health check, as given on the command line."""

    kind: ProbeKind
    text: str  # as the user wrote it: what STATUS= and the journal show
    host: str = ""  # tcp, http(s)
    port: int = 0  # tcp, http(s)
    path: str = ""  # unix (a leading @ is the abstract namespace), file, http(s) request path
    argv: tuple[str, ...] = ()  # cmd
    pattern: re.Pattern[str] | None = None  # log: a line; http(s): the body (--ready-body)


def parse_probe(text: str, option: str) -> Probe:
    """``text`` as a :class:`Probe`, or a :class:`UsageError` naming ``option`` and the forms."""
    kind_text, sep, rest = text.partition(":")
    forms = ", ".join(PROBE_FORMS)
    if not sep or kind_text not in ProbeKind.__members__.values():
        raise UsageError(f"{option} {text!r}: not a probe (one of {forms})")
    kind = ProbeKind(kind_text)
    if kind in (ProbeKind.HTTP, ProbeKind.HTTPS):
        return _parse_url(text, kind, option)
    if not rest:
        raise UsageError(f"{option} {text!r}: nothing after {kind_text}: (one of {forms})")
    if kind is ProbeKind.TCP:
        host, port = _host_port(rest, text, option)
        return Probe(kind, text, host=host, port=port)
    if kind in (ProbeKind.UNIX, ProbeKind.FILE):
        return Probe(kind, text, path=rest)
    if kind is ProbeKind.CMD:
        try:
            argv = tuple(shlex.split(rest))
        except ValueError as exc:
            raise UsageError(f"{option} {text!r}: {exc}") from None
        if not argv:
            raise UsageError(f"{option} {text!r}: no command")
        return Probe(kind, text, argv=argv)
    return Probe(kind, text, pattern=compile_regex(rest, f"{option} {text!r}"))


def compile_regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"{where}: not a regular expression: {exc}") from None


def _host_port(rest: str, text: str, option: str) -> tuple[str, int]:
    host, sep, port_text = rest.rpartition(":")
    if not sep or not host:
        raise UsageError(f"{option} {text!r}: expected tcp:HOST:PORT")
    if host.startswith("[") and host.endswith("]"):  # [::1]
        host = host[1:-1]
    return host, _port(port_text, text, option)


def _port(port_text: str, text: str, option: str) -> int:
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"{option} {text!r}: the port must be a number from 1 to 65535")
    return int(port_text)


def _parse_url(text: str, kind: ProbeKind, option: str) -> Probe:
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None
    if not url.hostname:
        raise UsageError(f"{option} {text!r}: no host in the URL")
    if port == 0:
        raise UsageError(f"{option} {text!r}: the port must be a number from 1 to 65535")
    default_port = 443 if kind is ProbeKind.HTTPS else 80
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    if any(ord(c) < 33 or ord(c) == 127 for c in path):
        raise UsageError(f"{option} {text!r}: the path has spaces or control characters")
    return Probe(kind, text, host=url.hostname, port=port or default_port, path=path)


class ExecOptions(NamedTuple):
    """Everything ``smartrestart exec`` was asked to do; durations in seconds."""

    argv: tuple[str, ...]
    ready: tuple[Probe, ...] = ()
    health: Probe | None = None
    ready_timeout: float = 90.0
    ready_interval: float = 0.1
    health_interval: float = 5.0
    health_timeout: float = 1.0
    health_retries: int = 3
    stop_timeout: float = 10.0  # after --ready-timeout: SIGTERM, then SIGKILL this much later


def build_options(
    argv: tuple[str, ...],
    ready: tuple[str, ...] = (),
    ready_body: str | None = None,
    health: str | None = None,
    **timing: float,
) -> ExecOptions:
    """Check and combine the command line's values (a :class:`UsageError` for any mistake)."""
    if not argv:
        raise UsageError("no PROGRAM to run (smartrestart exec [OPTIONS] -- PROGRAM [ARGS]...)")
    probes = tuple(parse_probe(text, "--ready") for text in ready)
    if ready_body is not None:
        body = compile_regex(ready_body, f"--ready-body {ready_body!r}")
        if not any(p.kind in (ProbeKind.HTTP, ProbeKind.HTTPS) for p in probes):
            raise UsageError("--ready-body needs an http:// or https:// --ready probe")
        probes = tuple(
            p._replace(pattern=body) if p.kind in (ProbeKind.HTTP, ProbeKind.HTTPS) else p
            for p in probes
        )
    health_probe = parse_probe(health, "--health") if health is not None else None
    if health_probe is not None and health_probe.kind is ProbeKind.LOG:
        raise UsageError(
            "--health cannot be a log: probe (a line printed once says nothing about later)"
        )
    unknown = set(timing) - set(ExecOptions._fields)
    if unknown:
        raise TypeError(f"build_options: unknown {', '.join(sorted(unknown))}")
    values = {**ExecOptions._field_defaults, **timing}
    return ExecOptions(
        argv,
        probes,
        health_probe,
        ready_timeout=values["ready_timeout"],
        ready_interval=values["ready_interval"],
        health_interval=values["health_interval"],
        health_timeout=values["health_timeout"],
        health_retries=int(values["health_retries"]),
        stop_timeout=values["stop_timeout"],
    )


# --- the start --------------------------------------------------------------------------

# How often EXTEND_TIMEOUT_USEC goes out while ready probes are tried, and how
# far each one reaches: systemd fails the start if the next one is late.
EXTEND_EVERY = 5.0
EXTEND_SPAN = 2 * EXTEND_EVERY
# Our own --ready-timeout comes first, so the reason is ours, not systemd's.
EXTEND_GRACE = 5.0


def extend_span(now: float, ready_deadline: float) -> float:
    """How far the next ``EXTEND_TIMEOUT_USEC`` reaches: never past our deadline plus grace."""
    return max(0.001, min(EXTEND_SPAN, ready_deadline + EXTEND_GRACE - now))


def waiting_status(probe: Probe, index: int, total: int) -> str:
    position = f" ({index + 1} of {total})" if total > 1 else ""
    return f"waiting for {probe.text}{position}"


def ready_status(probes: tuple[Probe, ...], seconds: float) -> str:
    if not probes:
        return "ready (no --ready probe: started)"
    return f"ready: {', '.join(p.text for p in probes)} passed after {seconds:.1f} s"


# --- liveness -------------------------------------------------------------------------


class Health(NamedTuple):
    """Consecutive failures of the health probe, as Kubernetes' failureThreshold counts them."""

    retries: int
    failures: int = 0
    last_error: str = ""

    def after(self, passed: bool, error: str = "") -> Health:
        return (
            self._replace(failures=0, last_error="")
            if passed
            else self._replace(failures=self.failures + 1, last_error=error)
        )

    @property
    def failed(self) -> bool:
        """``retries`` failures in a row: stop the pings, trigger the watchdog."""
        return self.failures >= self.retries

    @property
    def pinging(self) -> bool:
        """Whether watchdog pings still go out (fewer than ``retries`` failures in a row)."""
        return not self.failed


def health_status(probe: Probe, health: Health, watchdog: bool) -> str:
    if health.failures == 0:
        return f"ready; healthy ({probe.text})"
    text = (
        f"unhealthy: {probe.text} failed {health.failures} of {health.retries} times "
        f"({health.last_error})"
    )
    if health.failed:
        text += "; watchdog triggered" if watchdog else "; no WatchdogSec=, so nothing acts"
    return text


# --- the end ----------------------------------------------------------------------------


class Ending(NamedTuple):
    """How the program ended: an exit code, or the signal that killed it."""

    code: int | None = None
    signal: int | None = None

    @property
    def shell_status(self) -> int:
        """The status a shell reports: the code, or 128 + the signal number."""
        return self.code if self.code is not None else 128 + (self.signal or 0)

    def describe(self) -> str:
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = f"signal {self.signal}"
            return f"was killed by {name}"
        return f"exited with status {self.code}"


def ending_from_wait_status(status: int) -> Ending:
    code = os.waitstatus_to_exitcode(status)
    return Ending(code=code) if code >= 0 else Ending(signal=-code)


def not_ready_exit(ending: Ending) -> int:
    """Our exit status when the program ended before it was ready: never 0 (it failed to start)."""
    status = ending.shell_status
    return status if status != 0 else 1


# The signals passed on to the program (systemctl stop, reload, kill -s USR1 ...).
FORWARDED_SIGNALS = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
