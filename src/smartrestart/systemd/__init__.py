"""The systemd side: one small interface, one implementation on pystemd.

Every command that talks to systemd does so through :func:`connect`::

    with systemd.connect() as manager:
        manager.unit_states(["app.service"])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartrestart.systemd.backend import SystemdBackend


@contextlib.contextmanager
def connect(*, user: bool = False, private: bool = False) -> Iterator[SystemdBackend]:
    """The system manager over D-Bus (``DBUS_SYSTEM_BUS_ADDRESS`` selects another bus).

    ``user``: the calling user's own manager (``systemctl --user``) on the user
    bus, ``$DBUS_SESSION_BUS_ADDRESS`` or ``$XDG_RUNTIME_DIR/bus``.
    ``private``: as root, and unless ``DBUS_SYSTEM_BUS_ADDRESS`` is set, talk
    to the system manager over its own socket, as systemctl does as root:
    without the bus broker in between each call takes half the time
    (``status`` reads ten properties per unit).

    pystemd is imported here, on first use: it costs tens of milliseconds
    that ``decide`` and ``generate --root`` never need to pay.
    """
    from smartrestart.systemd.dbus import PystemdBackend

    backend = PystemdBackend(user=user, private=private)
    try:
        yield backend
    finally:
        backend.close()
