"""Whose files may make us act: OpenSSH's StrictModes, for rules files and caches.

apply, generate and the failure handler run as root (maintainer scripts,
Ansible with become, sudo in deploy scripts). A rules file says what root runs
(``run:``), which units it restarts or stops, and which restart budgets
systemd enforces; whoever can write it, or replace it by writing a directory on
its path, can make root do those things. So a file we act on must be owned by
a trusted user and not writable by group or others, and so must every
directory on its path up to ``/`` (a sticky directory owned by root, like
``/tmp``, is fine for a trusted owner's file: nobody else can replace it).

Trusted are root and the invoking user; an administrator may add owners in
root's own configuration, ``/etc/smartrestart/trust.yaml`` (``trusted_owners:
[deploy]``), never on the untrusted file itself.
"""

from __future__ import annotations

import os
import stat

from smartrestart import pathnames
from smartrestart.errors import ConfigError, Location, UsageError
from smartrestart.records import NamedTuple

TRUST_FILE = "etc/smartrestart/trust.yaml"
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


class UntrustedFile(UsageError):
    """A file we would act on, or a directory on its path, is not a trusted user's own."""


class TrustPolicy(NamedTuple):
    """The owners whose files and directories we accept, by uid."""

    uids: frozenset[int]

    @classmethod
    def for_invoker(cls, extra: frozenset[int] = frozenset()) -> TrustPolicy:
        return cls(frozenset({0, os.geteuid()}) | extra)


def owner_name(uid: int) -> str:
    import pwd  # only on the error path

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def untrusted_reason(path: str | os.PathLike[str], policy: TrustPolicy) -> str | None:
    """Why ``path`` may not be trusted, or None; a file that cannot be stat'ed is None.

    Checks the file (symlinks followed), every directory on its path as
    written (so a symlinked ``current`` cannot be repointed by another user)
    and every directory on its resolved path.
    """
    absolute = os.path.abspath(path)
    try:
        st = os.stat(absolute)
    except OSError:
        return None  # missing or unreadable: the reader reports that
    if not stat.S_ISREG(st.st_mode):
        return None  # a device or a FIFO is never read: the reader reports that
    problem = _owner_problem(st, policy, what=str(path))
    if problem:
        return problem
    directories = [*_parents(absolute), *_parents(os.path.realpath(absolute))]
    return _directories_problem(directories, policy)


def untrusted_directory(directory: str | os.PathLike[str], policy: TrustPolicy) -> str | None:
    """Why ``directory`` (and every directory above it) may not be trusted, or None."""
    absolute = os.path.abspath(directory)
    real = os.path.realpath(absolute)
    chain = [absolute, *_parents(absolute), real, *_parents(real)]
    return _directories_problem(chain, policy)


def _directories_problem(directories: list[str], policy: TrustPolicy) -> str | None:
    """The first of ``directories`` another user could write, or that is not trusted.

    A sticky directory owned by root (``/tmp``) is fine: nobody can replace
    another user's entry in it, and the entry below it is checked in turn.
    """
    for directory in dict.fromkeys(directories):
        try:
            dst = os.stat(directory)
        except OSError:
            continue
        sticky_root = dst.st_uid == 0 and dst.st_mode & stat.S_ISVTX
        if dst.st_mode & _WRITABLE_BY_OTHERS and not sticky_root:
            return (
                f"its directory {directory} is writable by group or others "
                f"(mode {stat.S_IMODE(dst.st_mode):04o}, owner {owner_name(dst.st_uid)}); "
                f"fix: chmod go-w {directory}"
            )
        if dst.st_uid not in policy.uids:
            return (
                f"its directory {directory} is owned by {owner_name(dst.st_uid)}; "
                f"fix: chown root {directory}"
            )
    return None


def _owner_problem(st: os.stat_result, policy: TrustPolicy, *, what: str) -> str:
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid not in policy.uids:
        return (
            f"it is owned by {owner_name(st.st_uid)} (mode {mode:04o}); fix: chown root:root {what}"
        )
    if st.st_mode & _WRITABLE_BY_OTHERS:
        return f"it is writable by group or others (mode {mode:04o}); fix: chmod go-w {what}"
    return ""


def _parents(absolute: str) -> list[str]:
    parents: list[str] = []
    directory = os.path.dirname(absolute)
    while True:
        parents.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            return parents
        directory = parent


def require_trusted(path: str, policy: TrustPolicy, *, what: str) -> None:
    """Refuse to read ``path`` for acting on it unless its owners are trusted."""
    reason = untrusted_reason(path, policy)
    if reason:
        trusted = ", ".join(owner_name(uid) for uid in sorted(policy.uids))
        raise UntrustedFile(
            f"refusing {what} {path}: {reason}",
            hint=f"files smartrestart acts on must belong to {trusted}; to trust another "
            f"owner, name it in /{TRUST_FILE} (trusted_owners: [NAME]), owned by root",
        )


def load_policy(config_root: str) -> TrustPolicy:
    """Root, the invoking user, and the owners ``trust.yaml`` names (itself root's own)."""
    path = pathnames.join(config_root, TRUST_FILE)
    if not os.path.lexists(path):
        return TrustPolicy.for_invoker()
    root_only = TrustPolicy(frozenset({0, os.geteuid()}))
    require_trusted(path, root_only, what="the trust configuration")
    from smartrestart.configfields import check_keys, require_map, require_str_list
    from smartrestart.yamlsource import load_yaml_file

    data = require_map(load_yaml_file(path), Location(path, 1), "")
    check_keys(data, ("trusted_owners",), "")
    owners: set[int] = set()
    if "trusted_owners" in data:
        where = data.location_of("trusted_owners")
        for name, name_where in require_str_list(data["trusted_owners"], where, "trusted_owners"):
            owners.add(_uid_of(name, name_where))
    return TrustPolicy.for_invoker(frozenset(owners))


def _uid_of(name: str, where: Location) -> int:
    import pwd

    if name.isdigit():
        return int(name)
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise ConfigError(where, "trusted_owners", f"no such user {name!r}") from None
