"""Watchdog pings on time, and only while the service is healthy.

With ``WatchdogSec=`` set, systemd kills a service that stays silent for that
long and (with ``Restart=``) starts it again. Pinging from a thread that runs
regardless of the service's state would defeat that, so a health check can
gate the pings: when it fails (or raises), pings stop and systemd ends the
hung or unhealthy service.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

from smartrestart.notify import protocol
from smartrestart.notify.sender import Notifier, default_notifier

if TYPE_CHECKING:  # asyncio costs ~20 ms and MBs: imported by the asyncio variant only
    import asyncio

HealthCheck = Callable[[], bool]


def watchdog_interval() -> float | None:
    """Seconds between pings (half of ``WATCHDOG_USEC``), or None when not for us.

    As in sd_watchdog_enabled(3): ``WATCHDOG_PID``, when set, must be this process.
    """
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000


class Watchdog:
    """Sends ``WATCHDOG=1`` every half watchdog interval while ``health_check()`` passes.

    Use it as a thread (``start()``/``stop()`` or ``with Watchdog(...):``) or as
    an asyncio task (``await watchdog.run()`` or ``start_task()``).
    """

    def __init__(
        self,
        health_check: HealthCheck | None = None,
        *,
        interval: float | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.health_check = health_check
        self.interval = interval if interval is not None else watchdog_interval()
        self.notifier = notifier if notifier is not None else default_notifier()
        self.unhealthy_since_ping = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.interval is not None and self.notifier.enabled

    def healthy(self) -> bool:
        if self.health_check is None:
            return True
        try:
            return bool(self.health_check())
        except Exception:  # a check that raises is a failed check
            return False

    def ping(self) -> bool:
        """One ping, if healthy; True when it was sent."""
        if not self.healthy():
            if not self.unhealthy_since_ping:
                self.unhealthy_since_ping = True
                self.notifier.send(protocol.status("health check failing: watchdog pings stopped"))
            return False
        self.unhealthy_since_ping = False
        return self.notifier.send(protocol.WATCHDOG)

    # --- thread ---------------------------------------------------------------

    def start(self) -> Watchdog:
        """Ping from a daemon thread; a no-op when the watchdog is not enabled."""
        if self.enabled and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sd-watchdog", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _loop(self) -> None:
        assert self.interval is not None
        self.ping()
        while not self._stop.wait(self.interval):
            self.ping()

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- asyncio -------------------------------------------------------------------

    async def run(self) -> None:
        """Ping from the running event loop until cancelled (returns at once if not enabled).

        A health check here runs in the loop, so a blocked loop stops the pings
        too, which is usually what a watchdog should notice.
        """
        if not self.enabled:
            return
        assert self.interval is not None
        while True:
            self.ping()
            await _asyncio().sleep(self.interval)

    def start_task(self) -> asyncio.Task[None]:
        """``run()`` as a task of the running loop; ``stop()`` cancels it."""
        self._task = _asyncio().get_running_loop().create_task(self.run(), name="sd-watchdog")
        return self._task


def _asyncio() -> ModuleType:
    import asyncio

    return asyncio
