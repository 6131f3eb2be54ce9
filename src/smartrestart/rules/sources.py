"""Which rules files to read: ``--rules`` files plus ``rules.d`` fragments.

Fragments follow systemd's configuration-directory precedence, so every
Debian package can ship its own fragment in /usr/lib and an administrator can
override or mask it from /etc without editing the package's file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from smartrestart.errors import UsageError

# Highest precedence first, as in systemd's conf-files lookup.
FRAGMENT_DIRS = (
    Path("etc/smartrestart/rules.d"),
    Path("run/smartrestart/rules.d"),
    Path("usr/lib/smartrestart/rules.d"),
)
FRAGMENT_SUFFIX = ".yaml"
DEFAULT_RULES_FILE = Path("restart-rules.yaml")


def fragment_dirs(config_root: Path) -> list[Path]:
    """The three fragment directories under ``config_root`` (``/`` on a live system)."""
    return [config_root / d for d in FRAGMENT_DIRS]


def find_fragments(config_root: Path) -> list[Path]:
    """Fragments in file-name order; a name in a higher directory masks lower ones.

    A fragment that is a symlink to /dev/null masks the name and is not read.
    """
    chosen: dict[str, Path] = {}
    for directory in fragment_dirs(config_root):
        try:
            entries = sorted(directory.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError as exc:
            raise UsageError(f"cannot list {directory}: {exc.strerror}") from None
        for entry in entries:
            if entry.suffix != FRAGMENT_SUFFIX or entry.name in chosen:
                continue
            chosen[entry.name] = entry
    return [path for name, path in sorted(chosen.items()) if not _is_masked(path)]


def _is_masked(path: Path) -> bool:
    return path.is_symlink() and Path(path.readlink()) == Path("/dev/null")


def rules_sources(explicit: Sequence[Path], config_root: Path, cwd: Path) -> list[Path]:
    """Explicit files first (in the given order), then the fragments.

    Without ``--rules``, ``restart-rules.yaml`` in the working directory is read
    when present, as the original smart-restart did.
    """
    files = [cwd / path for path in explicit]  # absolute: locations name the real file
    if not files and (cwd / DEFAULT_RULES_FILE).is_file():
        files.append(cwd / DEFAULT_RULES_FILE)
    files.extend(find_fragments(config_root))
    if not files:
        dirs = ", ".join(str(d) for d in fragment_dirs(config_root))
        raise UsageError(
            f"no rules: give --rules FILE, create {DEFAULT_RULES_FILE} here, "
            f"or put *.yaml fragments in {dirs}"
        )
    return files
