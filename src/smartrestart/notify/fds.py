"""The file-descriptor store and socket activation: descriptors that survive a restart.

A service hands a listening socket to systemd with :func:`fdstore`; on the
next start systemd passes it back (``LISTEN_FDS``, ``LISTEN_PID``,
``LISTEN_FDNAMES``), so the socket never closes and clients connecting during
the restart wait in its backlog instead of being refused. Socket-activated
services receive their sockets the same way.
"""

from __future__ import annotations

import os

from smartrestart.notify import protocol
from smartrestart.notify.sender import default_notifier

SD_LISTEN_FDS_START = 3


def fdstore(fd: int, name: str | None = None) -> bool:
    """Keep ``fd`` in the unit's store under ``name`` (needs ``FileDescriptorStoreMax=`` > 0)."""
    return default_notifier().send(protocol.fdstore(name), (fd,))


def fdstore_remove(name: str) -> bool:
    """Drop the descriptors stored under ``name``."""
    return default_notifier().send(protocol.fdstore_remove(name))


def listen_fds(*, unset_environment: bool = True) -> dict[str, list[int]]:
    """Descriptors systemd passed to this process, by name, in order.

    Empty unless ``LISTEN_PID`` is this process (the variables may have been
    inherited from a parent). Unnamed descriptors are listed under
    ``unknown``, as sd_listen_fds_with_names(3) does. The descriptors are
    marked close-on-exec, and by default the variables are removed so that
    child processes do not believe the descriptors are theirs.
    """
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
        pid = int(os.environ.get("LISTEN_PID", "0"))
    except ValueError:
        return {}
    names = os.environ.get("LISTEN_FDNAMES", "")
    if unset_environment:
        for key in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            os.environ.pop(key, None)
    if pid != os.getpid() or count <= 0:
        return {}
    labels = names.split(":") if names else []
    passed: dict[str, list[int]] = {}
    for index in range(count):
        fd = SD_LISTEN_FDS_START + index
        os.set_inheritable(fd, False)
        label = labels[index] if index < len(labels) and labels[index] else "unknown"
        passed.setdefault(label, []).append(fd)
    return passed
