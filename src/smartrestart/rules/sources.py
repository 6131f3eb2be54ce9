"""Which rules files to read: ``--rules`` files plus ``rules.d`` fragments.

Fragments follow systemd's configuration-directory precedence, so every
Debian package can ship its own fragment in /usr/lib and an administrator can
override or mask it from /etc without editing the package's file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from smartrestart import pathnames
from smartrestart.errors import UsageError
from smartrestart.trust import load_policy, require_trusted

# Highest precedence first, as in systemd's conf-files lookup.
FRAGMENT_DIRS = (
    "etc/smartrestart/rules.d",
    "run/smartrestart/rules.d",
    "usr/lib/smartrestart/rules.d",
)
FRAGMENT_SUFFIX = ".yaml"
DEFAULT_RULES_FILE = "restart-rules.yaml"


def fragment_dirs(config_root: str) -> list[str]:
    """The three fragment directories under ``config_root`` (``/`` on a live system)."""
    return [pathnames.join(config_root, d) for d in FRAGMENT_DIRS]


def find_fragments(config_root: str) -> list[str]:
    """Fragments in file-name order; a name in a higher directory masks lower ones.

    A fragment that is /dev/null (a symlink to it, absolute or relative) or an
    empty file masks the name and is not read, as in systemd's
    ``null_or_empty_path()``.
    """
    chosen: dict[str, str] = {}
    for directory in fragment_dirs(config_root):
        try:
            names = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError as exc:
            raise UsageError(f"cannot list {directory}: {exc.strerror}") from None
        for name in names:
            if not _is_fragment_name(name) or name in chosen:
                continue
            chosen[name] = pathnames.join(directory, name)
    return [path for name, path in sorted(chosen.items()) if not _is_masked(path)]


def _is_fragment_name(name: str) -> bool:
    """Whether the name's suffix is ``.yaml``: not ``.yaml`` itself, a hidden name without one."""
    return name.endswith(FRAGMENT_SUFFIX) and len(name) > len(FRAGMENT_SUFFIX)


def _is_masked(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False  # a broken link: reading it reports the problem
    if stat.S_ISREG(st.st_mode):
        return st.st_size == 0
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == _dev_null_rdev()


def _dev_null_rdev() -> int:
    try:
        return os.stat("/dev/null").st_rdev
    except OSError:  # pragma: no cover - every Linux has /dev/null
        return os.makedev(1, 3)


def rules_sources(
    explicit: Sequence[str], config_root: str, cwd: str, *, required: bool = True
) -> list[str]:
    """Explicit files first (in the given order), then the fragments; each one trusted.

    Without ``--rules``, ``restart-rules.yaml`` in the working directory is read
    when present, as the original smart-restart did. A file that a user other
    than root, the invoker or a trusted owner could change is refused
    (:mod:`smartrestart.trust`): the rules say what root runs. No file at all
    is an error unless not ``required`` (``status UNIT`` needs no rules).
    """
    # Absolute: locations name the real file.
    files = [pathnames.join(cwd, path) for path in explicit]
    default = pathnames.join(cwd, DEFAULT_RULES_FILE)
    if not files and os.path.lexists(default):  # a FIFO or a broken link is reported on read
        files.append(default)
    files.extend(find_fragments(config_root))
    if not files and not required:
        return []
    if not files:
        dirs = ", ".join(fragment_dirs(config_root))
        raise UsageError(
            f"no rules: give --rules FILE, create {DEFAULT_RULES_FILE} here, "
            f"or put *.yaml fragments in {dirs}"
        )
    policy = load_policy(config_root)
    for path in files:
        require_trusted(path, policy, what="the rules file")
    return files
