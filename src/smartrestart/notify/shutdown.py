"""Graceful shutdown: stop components in reverse order while keeping systemd's stop timeout open.

On SIGTERM the service sends ``STOPPING=1``, then stops what it registered,
last registered first (a server before the pool it uses), and waits for each
to drain. While one drains, ``EXTEND_TIMEOUT_USEC`` keeps pushing systemd's
``TimeoutStopSec=`` forward by that component's own allowance, so a drain
longer than the unit's stop timeout still completes instead of ending in
SIGKILL, while a component that hangs past its allowance is reported and
left behind rather than keeping the service alive forever.

The unit needs ``NotifyAccess=main`` (implied by ``Type=notify``), or systemd
ignores the messages.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

from smartrestart.notify import protocol
from smartrestart.notify.sender import Notifier, default_notifier

# join(seconds) -> True once drained; or an async function of no arguments.
BlockingJoin = Callable[[float], bool]
Join = BlockingJoin | Callable[[], Awaitable[Any]]


@dataclass
class Component:
    name: str
    stop: Callable[[], Any]
    join: Join | None
    timeout: float


@dataclass(frozen=True)
class ComponentReport:
    """How one component's shutdown went."""

    name: str
    seconds: float
    overran: bool
    error: str | None = None


class GracefulShutdown:
    """Registry of components and the signal handling that stops them."""

    def __init__(
        self,
        *,
        notifier: Notifier | None = None,
        extend_margin: float = 1.0,
        extend_every: float = 0.5,
    ) -> None:
        self.notifier = notifier if notifier is not None else default_notifier()
        self.extend_margin = extend_margin
        self.extend_every = extend_every
        self.components: list[Component] = []
        self.requested = threading.Event()
        self.signal_received: int | None = None
        self._async_requested: asyncio.Event | None = None

    def register(
        self,
        name: str,
        stop: Callable[[], Any],
        join: Join | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Add a component: ``stop()`` asks it to finish, ``join`` waits (at most ``timeout``)."""
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.components.append(Component(name, stop, join, timeout))

    # --- triggering -------------------------------------------------------------

    def install(self, signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
        """Handle ``signals`` by setting :attr:`requested` (call from the main thread)."""
        for signum in signals:
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal_received = signum
        self.requested.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a shutdown signal arrived (True) or ``timeout`` passed (False)."""
        return self.requested.wait(timeout)

    def install_asyncio(
        self, signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)
    ) -> asyncio.Event:
        """Handle ``signals`` in the running event loop; returns the event they set."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._async_requested = event
        for signum in signals:
            loop.add_signal_handler(signum, self._on_async_signal, signum)
        return event

    def _on_async_signal(self, signum: int) -> None:
        self.signal_received = signum
        self.requested.set()
        if self._async_requested is not None:
            self._async_requested.set()

    # --- stopping ------------------------------------------------------------------

    def _extend(self, seconds: float) -> None:
        if seconds + self.extend_margin > 0:  # a deadline already passed needs no extension
            self.notifier.send(protocol.extend_timeout(seconds + self.extend_margin))

    def _begin(self) -> None:
        self.notifier.send(protocol.compose(protocol.STOPPING, status="stopping"))

    def _report(self, reports: list[ComponentReport]) -> None:
        overran = [r.name for r in reports if r.overran]
        for report in reports:
            if report.overran:
                print(
                    f"shutdown: component {report.name!r} did not finish within its "
                    f"{self._timeout_of(report.name):g} s; continuing without it",
                    file=sys.stderr,
                )
            elif report.error:
                print(
                    f"shutdown: component {report.name!r} failed to stop: {report.error}",
                    file=sys.stderr,
                )
        if overran:
            self.notifier.send(protocol.status(f"stopped; overran: {', '.join(overran)}"))

    def _timeout_of(self, name: str) -> float:
        return next(c.timeout for c in self.components if c.name == name)

    def shutdown(self) -> list[ComponentReport]:
        """Stop every component, last registered first; report each."""
        self._begin()
        reports = [self._stop_one(c) for c in reversed(self.components)]
        self._report(reports)
        return reports

    def _stop_one(self, component: Component) -> ComponentReport:
        started = time.monotonic()
        deadline = started + component.timeout
        self._extend(component.timeout)
        error = None
        try:
            component.stop()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        overran = False
        if component.join is not None:
            if inspect.iscoroutinefunction(component.join):
                raise TypeError(f"{component.name}: an async join needs shutdown_async()")
            overran = self._join_blocking(cast(BlockingJoin, component.join), deadline)
        return ComponentReport(component.name, time.monotonic() - started, overran, error)

    def _join_blocking(self, join: BlockingJoin, deadline: float) -> bool:
        """Call ``join`` in slices until it reports done; True when ``deadline`` passed first.

        Between slices, systemd's stop timeout is pushed to this component's
        own deadline (plus a margin), so the unit's TimeoutStopSec= does not
        cut a drain that is within its allowance.
        """
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            if join(min(self.extend_every, remaining)):
                return False
            self._extend(deadline - time.monotonic())

    async def shutdown_async(self) -> list[ComponentReport]:
        """:meth:`shutdown` for asyncio: ``stop`` and ``join`` may be coroutine functions."""
        self._begin()
        reports = [await self._stop_one_async(c) for c in reversed(self.components)]
        self._report(reports)
        return reports

    async def _stop_one_async(self, component: Component) -> ComponentReport:
        started = time.monotonic()
        deadline = started + component.timeout
        self._extend(component.timeout)
        error = None
        try:
            result = component.stop()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        overran = False
        if component.join is not None:
            if inspect.iscoroutinefunction(component.join):
                task = asyncio.ensure_future(component.join())
                while not task.done():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        overran = True
                        task.cancel()
                        break
                    await asyncio.wait({task}, timeout=min(self.extend_every, remaining))
                    if not task.done():
                        self._extend(deadline - time.monotonic())
            else:
                join = cast(BlockingJoin, component.join)
                loop = asyncio.get_running_loop()
                overran = await loop.run_in_executor(None, self._join_blocking, join, deadline)
        return ComponentReport(component.name, time.monotonic() - started, overran, error)
