"""State that survives a restart: JSON under ``$STATE_DIRECTORY``, written atomically.

``save()`` writes a temporary file in the same directory, fsyncs it, renames
it over the old one and fsyncs the directory: a reader (or the next start
after a ``kill -9`` mid-write) sees the old state or the new one, never half.
``load()`` never returns half-read state either: a file that does not parse is
reported, set aside for inspection, and the service starts fresh.

With ``StateDirectory=myapp`` in the unit, systemd creates
``/var/lib/myapp`` owned by the service's user and sets ``$STATE_DIRECTORY``.
Without it (a terminal, a test, a unit that forgot the setting) the state
goes where the XDG base directory spec puts it: ``$XDG_STATE_HOME/APP``, else
``~/.local/state/APP``. APP is ``app=`` when given, else the program's name
(the script's or console script's file name, or the module run with ``-m``).
Passing ``directory=`` overrides all of this.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from smartrestart.atomicfile import open_directory, read_in, write_in


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


class StateStore:
    """One JSON document kept in a file."""

    def __init__(
        self,
        name: str = "state.json",
        directory: str | os.PathLike[str] | None = None,
        *,
        app: str | None = None,
    ) -> None:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"state file name {name!r} must be a plain file name")
        self.directory = Path(directory) if directory is not None else state_directory(app)
        self.name = name
        self.load_error: str | None = None

    @property
    def path(self) -> Path:
        return self.directory / self.name

    def load(self, default: Any = None) -> Any:
        """The saved state, or ``default`` when there is none or it is unreadable."""
        self.load_error = None
        try:
            dir_fd = open_directory(self.directory, create=True, mode=0o700)
        except OSError as exc:
            return self._fresh(default, f"cannot open {self.directory}: {exc.strerror or exc}")
        try:
            self._remove_leftovers(dir_fd)
            try:
                raw = read_in(dir_fd, self.name)
            except OSError as exc:
                return self._fresh(default, f"cannot read {self.path}: {exc.strerror or exc}")
            if raw is None:
                return default
            try:
                return json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                aside = f"{self.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}"
                os.rename(self.name, aside, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                return self._fresh(default, f"{self.path} is corrupt ({exc}); kept as {aside}")
        finally:
            os.close(dir_fd)

    def save(self, state: Any) -> None:
        """Replace the saved state atomically (and durably: fsync'ed)."""
        data = (json.dumps(state, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        dir_fd = open_directory(self.directory, create=True, mode=0o700)
        try:
            write_in(dir_fd, self.name, data, mode=0o600)
        finally:
            os.close(dir_fd)

    def _fresh(self, default: Any, problem: str) -> Any:
        self.load_error = f"{problem}; starting with fresh state"
        print(f"state: {self.load_error}", file=sys.stderr)
        return default

    def _remove_leftovers(self, dir_fd: int) -> None:
        """Temporary files of a save that was killed before its rename."""
        prefix = f".{self.name}."
        for entry in os.listdir(dir_fd):
            if entry.startswith(prefix) and entry.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry, dir_fd=dir_fd)
