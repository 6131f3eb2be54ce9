"""pystemd's D-Bus errors as smartrestart's own, with messages a person can act on.

pystemd raises one exception class per D-Bus error name it knows and a
generic one otherwise, and the two pystemd versions smartrestart supports
name some of them differently: matching goes by class name, error name,
message and errno together.
"""

from __future__ import annotations

import errno

from smartrestart.errors import JobFailed, SystemdUnavailable, UsageError
from smartrestart.systemd.dbus_status import bus_text as _text
from smartrestart.systemd.pystemdlib import DBusBaseError

PERMISSION_HINT = "run as root or grant polkit rights (org.freedesktop.systemd1.manage-units)"


def error_text(exc: DBusBaseError) -> str:
    """Class, D-Bus error name and message of a pystemd error, for matching."""
    return " ".join(_text(part) for part in (type(exc).__name__, exc.err_name, exc.err_message))


def is_unit_exists(exc: DBusBaseError) -> bool:
    text = error_text(exc)
    return "UnitExists" in text or "already exists" in text


def is_access_denied(exc: DBusBaseError) -> bool:
    name = type(exc).__name__
    return (
        "AccessDenied" in name
        or "InteractiveAuthorizationRequired" in name
        or "AuthFailed" in name
        or exc.errno in (-errno.EACCES, -errno.EPERM)
    )


def translate(exc: DBusBaseError, doing: str) -> Exception:
    """A pystemd error as one of ours, with a message a person can act on."""
    detail = exc.err_message.decode() if isinstance(exc.err_message, bytes) else exc.err_message
    detail = detail or type(exc).__name__
    if is_access_denied(exc):
        return SystemdUnavailable(
            f"{doing}: access denied by systemd ({detail})", hint=PERMISSION_HINT
        )
    if "InvalidArgs" in type(exc).__name__:
        return UsageError(f"{doing}: systemd refused the request ({detail})")
    return JobFailed(f"{doing}: {detail}")
