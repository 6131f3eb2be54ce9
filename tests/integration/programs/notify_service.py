"""A test service written with smartrestart.notify; its behaviour is chosen by argv[1].

ready SECONDS STATUS   sleep, then ready(status); idle
watchdog HEALTH_FILE   ready; pings while HEALTH_FILE exists and does not hold our PID
drain SECONDS          ready; on SIGTERM a component drains for SECONDS
fdstore PORT           serve PORT on a listening socket kept in the fd store
counter                count starts in a StateStore (STATE_DIRECTORY)
burst                  save a StateStore as fast as possible, forever
fatal [LENGTH]         raise an exception run() maps to the fatal exit status,
                       its message padded to LENGTH characters
long-ready LENGTH      ready(status=<LENGTH characters, some of them multi-byte>); idle
raw-refusals           send raw messages systemd would ignore; ready(status=<what happened>)
reload SECONDS         Type=notify-reload: on SIGHUP reloading(), work SECONDS, ready("reloads=N")
trigger FILE           ready; once FILE exists, watchdog_trigger()
fdstore-remove         store two sockets ("keep", "drop"), remove "drop"; ready(<names passed in>)
errno NUMBER           errno(NUMBER) and ready
oserror NUMBER         raise OSError(NUMBER): run() sends ERRNO= and exits 1
async-watchdog FILE    asyncio: ready, then Watchdog.start_task() pings while FILE exists
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from smartrestart import notify


def idle() -> None:
    while True:
        time.sleep(3600)


def ready_after(seconds: str, text: str) -> None:
    time.sleep(float(seconds))
    notify.ready(text)
    idle()


def watchdog(health_file: str) -> None:
    """Healthy while HEALTH_FILE exists and does not name this process's PID."""
    path = Path(health_file)
    me = str(os.getpid())

    def healthy() -> bool:
        return path.exists() and path.read_text().strip() != me

    notify.ready("watching")
    with notify.Watchdog(health_check=healthy):
        idle()


def drain(seconds: str) -> None:
    shutdown = notify.GracefulShutdown()
    shutdown.install()
    finished = threading.Event()

    def work() -> None:
        shutdown.requested.wait()
        time.sleep(float(seconds))  # finishing in-flight work
        finished.set()

    worker = threading.Thread(target=work)
    worker.start()
    shutdown.register("worker", stop=lambda: None, join=finished.wait, timeout=float(seconds) + 3)
    notify.ready("draining on stop")
    shutdown.wait()
    reports = shutdown.shutdown()
    print(
        f"drain finished: {[(r.name, round(r.seconds, 1), r.overran) for r in reports]}", flush=True
    )


def fdstore(port: str) -> None:
    passed = notify.listen_fds()
    if "http" in passed:
        server = socket.socket(fileno=passed["http"][0])
        origin = "from the fd store"
    else:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", int(port)))
        server.listen(128)
        notify.fdstore(server.fileno(), "http")
        origin = "new"
    inode = os.fstat(server.fileno()).st_ino
    # On SIGTERM finish the connection in hand, then stop accepting: whatever
    # waits in the backlog is served by the next process, from the same socket.
    shutdown = notify.GracefulShutdown()
    shutdown.install()
    server.settimeout(0.05)
    notify.ready(f"inode={inode} {origin}")
    while not shutdown.requested.is_set():
        try:
            client, _ = server.accept()
        except TimeoutError:
            continue
        with client:
            client.sendall(f"{os.getpid()}\n".encode())
    notify.stopping()


def counter() -> None:
    store = notify.StateStore("counter.json")
    state = store.load({"starts": 0})
    state["starts"] += 1
    store.save(state)
    notify.ready(f"starts={state['starts']}")
    idle()


def burst() -> None:
    store = notify.StateStore("burst.json")
    notify.ready("writing")
    n = 0
    while True:
        n += 1
        store.save({"n": n, "padding": "x" * (4096 + n % 5000)})


class ConfigurationMissing(Exception):
    """The kind of failure a restart cannot fix."""


def fatal(length: str = "0") -> None:
    message = "DATABASE_URL is not set"
    raise ConfigurationMissing(message.ljust(int(length), "x"))


def long_status(length: int) -> str:
    """``length`` characters, multi-byte ones among them so the cut meets a boundary."""
    return ("warm caches ✓ loaded; " * length)[:length]


def long_ready(length: str) -> None:
    notify.ready(status=long_status(int(length)))
    idle()


def raw_refusals() -> None:
    """Each raw message systemd would drop is refused here, and says why."""
    results = []
    for name, message in (
        ("nul", b"STATUS=a\0b"),
        ("oversize", b"X_PAD=" + b"y" * 5000),
    ):
        sent = notify.notify(message)
        error = notify.default_notifier().last_error
        results.append(f"{name}: sent={sent} errno={error.errno if error else None}")
    notify.ready(status="; ".join(results))
    idle()


def reload(seconds: str) -> None:
    """Type=notify-reload: systemd sends SIGHUP and waits for RELOADING=1, then READY=1."""
    requested = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: requested.set())
    notify.ready("reloads=0")
    reloads = 0
    while True:
        requested.wait()
        requested.clear()
        notify.reloading()
        time.sleep(float(seconds))  # re-reading configuration
        reloads += 1
        notify.ready(f"reloads={reloads}")


def trigger(path: str) -> None:
    notify.ready("waiting for the trigger")
    while not Path(path).exists():
        time.sleep(0.05)
    notify.watchdog_trigger()
    idle()


def fdstore_remove() -> None:
    passed = notify.listen_fds()
    if not passed:
        # Listening sockets: systemd drops a stored descriptor that hangs up,
        # as either end of a socketpair does once the other is closed.
        kept, dropped = (socket.create_server(("127.0.0.1", 0)) for _ in range(2))
        notify.fdstore(kept.fileno(), "keep")
        notify.fdstore(dropped.fileno(), "drop")
        notify.fdstore_remove("drop")
    notify.ready("passed=" + ",".join(sorted(passed)))
    idle()


def send_errno(number: str) -> None:
    notify.errno(int(number))
    notify.ready(f"errno={number}")
    idle()


def raise_oserror(number: str) -> None:
    raise OSError(int(number), os.strerror(int(number)))


def async_watchdog(health_file: str) -> None:
    async def serve() -> None:
        notify.ready("watching from asyncio")
        watchdog = notify.Watchdog(health_check=Path(health_file).exists)
        await watchdog.start_task()

    asyncio.run(serve())


def main() -> int | None:
    mode, *args = sys.argv[1:]
    if mode == "ready":
        ready_after(*args)
    elif mode == "watchdog":
        watchdog(*args)
    elif mode == "drain":
        drain(*args)
    elif mode == "fdstore":
        fdstore(*args)
    elif mode == "counter":
        counter()
    elif mode == "burst":
        burst()
    elif mode == "fatal":
        fatal(*args)
    elif mode == "long-ready":
        long_ready(*args)
    elif mode == "raw-refusals":
        raw_refusals()
    elif mode == "reload":
        reload(*args)
    elif mode == "trigger":
        trigger(*args)
    elif mode == "fdstore-remove":
        fdstore_remove()
    elif mode == "errno":
        send_errno(*args)
    elif mode == "oserror":
        raise_oserror(*args)
    elif mode == "async-watchdog":
        async_watchdog(*args)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    notify.run(main, fatal=(ConfigurationMissing,))
