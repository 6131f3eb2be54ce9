"""State that survives a restart: JSON under ``$STATE_DIRECTORY``, written atomically.

The document is a :class:`~smartrestart.statefile.JsonFile`: a reader (or the
next start after a ``kill -9`` mid-write) sees the old state or the new one,
never half, and a file that does not parse is set aside and the service
starts fresh.

With ``StateDirectory=myapp`` in the unit, systemd creates
``/var/lib/myapp`` owned by the service's user and sets ``$STATE_DIRECTORY``.
Without it (a terminal, a test, a unit that forgot the setting) the state
goes where the XDG base directory spec puts it: ``$XDG_STATE_HOME/APP``, else
``~/.local/state/APP``. APP is ``app=`` when given, else the program's name
(the script's or console script's file name, or the module run with ``-m``).
Passing ``directory=`` overrides all of this.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from smartrestart.statefile import JsonFile


class StateError(Exception):
    """No usable state directory."""


def state_directory(app: str | None = None) -> Path:
    """Where state lives: ``$STATE_DIRECTORY`` (its first entry), else the XDG state home.

    Inside a service that lacks ``StateDirectory=``, the fallback is used but
    named on stderr, since it is in the home of the service's user, which
    ``ProtectHome=`` or ``DynamicUser=`` may hide.
    """
    configured = os.environ.get("STATE_DIRECTORY", "")
    if configured:
        return Path(configured.split(":")[0])  # several StateDirectory= entries: the first
    name = app if app is not None else program_name()
    if name is None:
        raise StateError(
            "no state directory: set StateDirectory= in the unit, "
            "or pass app= (for ~/.local/state/APP) or directory="
        )
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"app name {name!r} must be a plain directory name")
    xdg = Path(os.environ.get("XDG_STATE_HOME", ""))
    if xdg.is_absolute():  # the spec: a relative value is invalid and ignored
        base = xdg
    else:
        try:
            base = Path.home() / ".local" / "state"
        except RuntimeError as exc:  # no $HOME and no passwd entry
            raise StateError(f"no state directory: {exc}; pass directory=") from None
    fallback = base / name
    if os.environ.get("INVOCATION_ID"):  # started by systemd as a unit
        print(
            f"state: $STATE_DIRECTORY is not set (no StateDirectory= in the unit); "
            f"using {fallback}",
            file=sys.stderr,
        )
    return fallback


def program_name() -> str | None:
    """The running program's name: ``-m pkg`` gives pkg, ``/usr/bin/tool`` gives tool.

    None for ``python -c`` and the interactive interpreter, which have none.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    module = getattr(spec, "name", None)
    # -m pkg runs pkg.__main__; a directory or zipapp runs as plain "__main__": use its path.
    if isinstance(module, str) and module and module != "__main__":
        return module.removesuffix(".__main__")
    argv = getattr(sys, "argv", None) or [""]
    if argv[0] in ("", "-c", "-"):
        return None
    return Path(argv[0]).stem or None


class StateStore(JsonFile):
    """The service's JSON state, in the directory :func:`state_directory` picks."""

    def __init__(
        self,
        name: str = "state.json",
        directory: str | os.PathLike[str] | None = None,
        *,
        app: str | None = None,
    ) -> None:
        super().__init__(directory if directory is not None else state_directory(app), name)
