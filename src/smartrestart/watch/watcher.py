"""Settled batches of changed files, from watchfiles (the Rust ``notify`` crate's inotify).

watchfiles groups changes itself: a batch is yielded once no change came for
``settle`` (its ``step``), and at the latest ``ceiling`` (its ``debounce``)
after the first, so a ``git checkout`` of thousands of files is one batch.
Changes that arrive while the caller is busy with a batch (an apply in
flight) are collected by the Rust side and make the next batch.

Running out of inotify watches is said, with the sysctl to raise, and the
watch goes on by polling: it never stops silently (werkzeug's reloader
swallowed this error and stopped reloading).

The watcher is watchfiles' ``RustNotify``, used as ``watchfiles.watch`` uses
it (the same six arguments and ``watch(debounce, step, timeout, stop)`` in
Debian 13's 0.24 and PyPI's 1.x): ``watch()`` would only start watching at
the first ``next()``, and "watching" must not be said before it is true, or a
change made right after the message is lost.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from types import FrameType, ModuleType
from typing import Any

from smartrestart.errors import UsageError
from smartrestart.watch.model import is_ignored

WATCHES_SYSCTL = "fs.inotify.max_user_watches"
INSTANCES_SYSCTL = "fs.inotify.max_user_instances"
POLL_DELAY_MS = 500
# Rust returns to Python at least this often without changes (a no-op here).
RUST_TIMEOUT_MS = 60_000


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the watch as Ctrl-C does (KeyboardInterrupt), cleanly.

    watchfiles checks for signals while it waits in Rust and turns one into
    KeyboardInterrupt; ``systemctl stop`` of a watch service then ends it with
    exit 0, not as an interrupted command.
    """

    def stop(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for number in STOP_SIGNALS:
        signal.signal(number, stop)


def import_watchfiles() -> ModuleType:
    try:
        import watchfiles
    except ImportError:
        raise UsageError(
            "smartrestart watch needs watchfiles, which is not installed",
            hint="pip install 'smartrestart[watch]' (or watchfiles); "
            "on Debian 13: apt-get install python3-watchfiles",
        ) from None
    return watchfiles


def watch_limit_message(error: BaseException) -> str | None:
    """The explanation when ``error`` is inotify running out of watches or instances."""
    text = f"{type(error).__name__} {error}"
    if "MaxFilesWatch" in text or "No space left on device" in text:
        limit = _sysctl(WATCHES_SYSCTL)
        return (
            f"inotify watches ran out ({WATCHES_SYSCTL} = {limit}); raise it, e.g. "
            f"sysctl -w {WATCHES_SYSCTL}=524288 (persist it in /etc/sysctl.d/)"
        )
    if "Too many open files" in text:
        limit = _sysctl(INSTANCES_SYSCTL)
        return (
            f"inotify instances ran out ({INSTANCES_SYSCTL} = {limit}); raise it, e.g. "
            f"sysctl -w {INSTANCES_SYSCTL}=1024"
        )
    return None


def _sysctl(name: str) -> str:
    try:
        with open(f"/proc/sys/{name.replace('.', '/')}") as handle:  # noqa: PTH123
            return handle.read().strip()
    except OSError:
        return "?"


def settled_batches(
    directories: Sequence[str],
    *,
    settle_ms: int,
    ceiling_ms: int,
    warn: Callable[[str], None],
    watching: Callable[[], None] = lambda: None,
    rust_notify: Any = None,
) -> Iterator[list[str]]:
    """Sorted absolute paths changed in each settled batch (noise filtered out).

    ``watching`` is called once the watches are in place.
    """
    notify_class = rust_notify or import_watchfiles().main.RustNotify
    polling = False
    while True:
        try:
            # paths, debug, force_polling, poll_delay_ms, recursive, ignore_permission_denied
            with notify_class(
                list(directories), False, polling, POLL_DELAY_MS, True, False
            ) as watcher:
                watching()
                while True:
                    raw = watcher.watch(ceiling_ms, settle_ms, RUST_TIMEOUT_MS, None)
                    if raw == "signal":  # a signal handler ran and raised in Rust's check
                        raise KeyboardInterrupt
                    if raw == "stop":
                        return
                    if raw == "timeout":
                        continue
                    paths = sorted({os.path.abspath(p) for _, p in raw if not is_ignored(p)})  # noqa: PTH100
                    if paths:
                        yield paths
        except (OSError, RuntimeError) as exc:
            message = watch_limit_message(exc)
            if message is None or polling:
                raise
            warn(
                f"{message}; watching on by polling every {POLL_DELAY_MS} ms meanwhile "
                "(changes made while switching may be missed: save again)"
            )
            polling = True
