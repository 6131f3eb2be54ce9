"""``smartrestart exec``'s loop: start the program, wait until ready, watch its health, end with it.

One thread and one ``select``: it sleeps until the next thing is due (a ready
attempt, an ``EXTEND_TIMEOUT_USEC``, a health probe, a watchdog ping) or until
a signal, the program's end or its output wakes it. Idle, with a health probe
every second, it wakes about twice a second and does nothing else.

The sd_notify side is :mod:`smartrestart.notify`'s: its :class:`Notifier`
sends (never blocking, every message fit for systemd), its :mod:`protocol`
builds the messages, and its :class:`Watchdog` decides when a ping is due for
us (``WATCHDOG_PID``) and pings only while the health gate passes.
"""

from __future__ import annotations

import select
import selectors
import signal
import time

from smartrestart.errors import ExitCode
from smartrestart.exec import output
from smartrestart.exec.checks import check
from smartrestart.exec.child import Child, OutputRelay, Signals, become_subreaper, die_like
from smartrestart.exec.model import (
    EXTEND_EVERY,
    ExecOptions,
    Health,
    ProbeKind,
    extend_span,
    health_status,
    not_ready_exit,
    ready_status,
    waiting_status,
)
from smartrestart.notify import protocol
from smartrestart.notify.sender import Notifier, default_notifier
from smartrestart.notify.watchdog_pings import Watchdog

# How often a start that keeps failing a probe is reported (each attempt is not).
WAITING_REPORT_EVERY = 10.0


def run_exec(options: ExecOptions, notifier: Notifier | None = None) -> int:
    """Run the program under ``options``; the exit status to end with."""
    return ExecLoop(options, notifier or default_notifier()).run()


class ExecLoop:
    def __init__(self, options: ExecOptions, notifier: Notifier) -> None:
        self.options = options
        self.notifier = notifier
        self.health = Health(options.health_retries)
        self.watchdog = Watchdog(notifier=notifier)  # its interval: WATCHDOG_USEC, if ours
        self.started = time.monotonic()
        self.ready = False
        self.stopping = False
        self.probe_index = 0
        self.matched: set[str] = set()  # log: probes whose line was seen
        self.last_status = ""
        self.last_error = ""
        self.ready_deadline = self.started + options.ready_timeout
        self.next_probe = self.started
        self.next_extend = self.started
        self.next_report = self.started + WAITING_REPORT_EVERY
        self.next_health = 0.0
        self.next_ping = self.started

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> int:
        signals = Signals(self._on_signal)
        become_subreaper()
        log_probes = [p for p in self.options.ready if p.kind is ProbeKind.LOG]
        try:
            child = Child(self.options.argv, capture=bool(log_probes))
        except OSError as exc:  # nothing ran: a usage error, as for a bad probe
            reason = f"cannot run {self.options.argv[0]}: {exc.strerror or exc}"
            output.log_not_ready(self.options.argv, "-", reason)
            return int(ExitCode.USAGE)
        signals.attach(child)
        relay = OutputRelay(self._on_line)
        selector = selectors.DefaultSelector()
        selector.register(signals.read_end, selectors.EVENT_READ)
        for source in child.outputs:
            selector.register(source, selectors.EVENT_READ)
        if not self.options.ready:
            self._become_ready()
        ending = None
        while ending is None:
            timeout = max(0.0, self._next_due() - time.monotonic())
            for key, _ in selector.select(timeout):
                if key.fd == signals.read_end:
                    signals.drain()
                elif not relay.pump(key.fd, child.outputs[key.fd]):
                    selector.unregister(key.fd)
            ending = child.reap()
            if ending is None and not self._tick(time.monotonic()):
                return self._give_up(child, signals)
        for source in list(child.outputs):  # what the program wrote last
            if source in selector.get_map():
                while relay.pump(source, child.outputs[source]):
                    pass
        if self.ready or self.stopping:
            output.say(output.PRIORITY_INFO, f"{self._name()} {ending.describe()}")
            return die_like(ending)
        waiting = self.options.ready[self.probe_index].text
        output.log_not_ready(
            self.options.argv, waiting, f"it {ending.describe()} before {waiting} passed"
        )
        return not_ready_exit(ending)

    def _next_due(self) -> float:
        if self.stopping:
            return time.monotonic() + 3600.0
        due = [self.next_ping] if self.watchdog.enabled else []
        if not self.ready:
            due += [self.next_probe, self.ready_deadline]
            if self.notifier.enabled:
                due.append(self.next_extend)
        elif self.options.health is not None:
            due.append(self.next_health)
        return min(due, default=time.monotonic() + 3600.0)

    def _tick(self, now: float) -> bool:
        """Do what is due at ``now``; False when the program missed its ready deadline."""
        if self.stopping:
            return True
        if self.watchdog.enabled and now >= self.next_ping:
            if self.health.pinging:  # after --health-retries failures: silence, then trigger
                self.watchdog.ping()
            assert self.watchdog.interval is not None
            self.next_ping = now + self.watchdog.interval
        if not self.ready:
            return self._tick_starting(now)
        if self.options.health is not None and now >= self.next_health:
            self._probe_health()
            self.next_health = time.monotonic() + self.options.health_interval
        return True

    # --- the start --------------------------------------------------------------------

    def _tick_starting(self, now: float) -> bool:
        if now >= self.ready_deadline:
            return False
        if self.notifier.enabled and now >= self.next_extend:
            self.notifier.send(protocol.extend_timeout(extend_span(now, self.ready_deadline)))
            self.next_extend = now + EXTEND_EVERY
        if now >= self.next_probe:
            self._try_ready_probes()
            self.next_probe = time.monotonic() + self.options.ready_interval
        if not self.ready and now >= self.next_report:
            self.next_report = now + WAITING_REPORT_EVERY
            probe = self.options.ready[self.probe_index]
            output.say(
                output.PRIORITY_INFO,
                f"still waiting for {probe.text} after {now - self.started:.0f} s"
                + (f": {self.last_error}" if self.last_error else ""),
            )
        return True

    def _try_ready_probes(self) -> None:
        probes = self.options.ready
        while self.probe_index < len(probes):
            probe = probes[self.probe_index]
            self._set_status(waiting_status(probe, self.probe_index, len(probes)))
            if probe.kind is ProbeKind.LOG:
                error = "" if probe.text in self.matched else "no such line yet"
            else:
                remaining = self.ready_deadline - time.monotonic()
                error = check(probe, max(0.001, min(self.options.health_timeout, remaining)))
            if error:
                self.last_error = error
                return
            output.say(
                output.PRIORITY_INFO,
                f"{probe.text} passed after {time.monotonic() - self.started:.1f} s",
            )
            self.probe_index += 1
            self.last_error = ""
        self._become_ready()

    def _become_ready(self) -> None:
        self.ready = True
        text = ready_status(self.options.ready, time.monotonic() - self.started)
        self.last_status = text
        self.notifier.send(protocol.ready(text))
        output.say(output.PRIORITY_INFO, text)
        self.next_health = time.monotonic() + self.options.health_interval

    def _give_up(self, child: Child, signals: Signals) -> int:
        """The ready deadline passed: say why, stop the program, fail the start."""
        probe = self.options.ready[self.probe_index]
        reason = f"{probe.text} did not pass within {self.options.ready_timeout:g} s" + (
            f" (last: {self.last_error})" if self.last_error else ""
        )
        output.log_not_ready(self.options.argv, probe.text, reason)
        self._set_status(f"not ready: {reason}")
        child.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.options.stop_timeout
        while child.reap() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                child.signal(signal.SIGKILL)
                deadline = time.monotonic() + 3600.0
            select.select([signals.read_end], [], [], max(0.0, min(remaining, 1.0)))
            signals.drain()
        return 1

    # --- liveness -------------------------------------------------------------------------

    def _probe_health(self) -> None:
        probe = self.options.health
        assert probe is not None
        was_failed = self.health.failed
        error = check(probe, self.options.health_timeout)
        previous = self.health
        self.health = self.health.after(not error, error)
        if error:
            output.say(
                output.PRIORITY_WARNING,
                f"health probe {probe.text} failed ({self.health.failures} of "
                f"{self.health.retries}): {error}",
            )
        elif previous.failures:
            output.say(output.PRIORITY_INFO, f"health probe {probe.text} passes again")
        if self.health.failed and not was_failed:
            if self.watchdog.enabled:
                action = "stopped the watchdog pings and sent WATCHDOG=trigger"
                self.notifier.send(protocol.WATCHDOG_TRIGGER)
            else:
                action = "no watchdog (WatchdogSec=) to act on it"
            output.log_unhealthy(self.options.argv, probe.text, self.health.failures, error, action)
        self._set_status(health_status(probe, self.health, self.watchdog.enabled))

    # --- helpers --------------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        if text != self.last_status:
            self.last_status = text
            self.notifier.send(protocol.status(text))

    def _on_line(self, line: str) -> None:
        for probe in self.options.ready:
            if probe.kind is ProbeKind.LOG and probe.text not in self.matched:
                assert probe.pattern is not None
                if probe.pattern.search(line):
                    self.matched.add(probe.text)
                    self.next_probe = time.monotonic()

    def _on_signal(self, number: int) -> None:
        """Runs in the signal handler, after the signal went on to the program."""
        if number == signal.SIGTERM and not self.stopping:
            self.stopping = True
            self.notifier.send(protocol.compose(protocol.STOPPING, status="stopping"))

    def _name(self) -> str:
        return output.program_name(self.options.argv)
