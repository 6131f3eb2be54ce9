"""smartrestart.notify: what a Python service tells systemd, done properly.

Readiness, status, reload and stop notices, timeout extension, watchdog pings
gated by a health check, the file-descriptor store, graceful shutdown, state
that survives restarts, and exit codes that restart budgets understand.

Everything is a silent no-op returning False outside systemd (no
``NOTIFY_SOCKET``), so the same service runs in a terminal. Importing this
package loads the standard library and sdnotify only: no click, yaml or pystemd.

    from smartrestart import notify

    notify.ready(status="listening on :8080")
    with notify.Watchdog(health_check=db.is_alive):
        serve_forever()
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smartrestart.notify.fds import fdstore, fdstore_remove, listen_fds
    from smartrestart.notify.messages import (
        errno,
        exit_status,
        extend_timeout,
        notify,
        ready,
        reloading,
        status,
        stopping,
        watchdog,
        watchdog_trigger,
    )
    from smartrestart.notify.runner import FATAL_EXIT, NON_RETRYABLE_EXIT, exit_code_for, run
    from smartrestart.notify.sender import Notifier, default_notifier, reset_default_notifier
    from smartrestart.notify.shutdown import ComponentReport, GracefulShutdown
    from smartrestart.notify.state import StateError, StateStore
    from smartrestart.notify.watchdog_pings import Watchdog, watchdog_interval

# Each name is imported from its module on first use (PEP 562): a program that
# needs only the sender (``smartrestart exec``, a service pinging from a
# thread) does not pay for asyncio, threads of shutdown handling or json.
_MODULE_OF = {
    **dict.fromkeys(("fdstore", "fdstore_remove", "listen_fds"), "fds"),
    **dict.fromkeys(
        (
            "errno",
            "exit_status",
            "extend_timeout",
            "notify",
            "ready",
            "reloading",
            "status",
            "stopping",
            "watchdog",
            "watchdog_trigger",
        ),
        "messages",
    ),
    **dict.fromkeys(("FATAL_EXIT", "NON_RETRYABLE_EXIT", "exit_code_for", "run"), "runner"),
    **dict.fromkeys(("Notifier", "default_notifier", "reset_default_notifier"), "sender"),
    **dict.fromkeys(("ComponentReport", "GracefulShutdown"), "shutdown"),
    **dict.fromkeys(("StateError", "StateStore"), "state"),
    **dict.fromkeys(("Watchdog", "watchdog_interval"), "watchdog_pings"),
}


def __getattr__(name: str) -> Any:
    module_name = _MODULE_OF.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value


__all__ = [
    "FATAL_EXIT",
    "NON_RETRYABLE_EXIT",
    "ComponentReport",
    "GracefulShutdown",
    "Notifier",
    "StateError",
    "StateStore",
    "Watchdog",
    "default_notifier",
    "errno",
    "exit_code_for",
    "exit_status",
    "extend_timeout",
    "fdstore",
    "fdstore_remove",
    "listen_fds",
    "notify",
    "ready",
    "reloading",
    "reset_default_notifier",
    "run",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval",
    "watchdog_trigger",
]
