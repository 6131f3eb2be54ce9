"""Everything ``generate`` does, from rules to drop-ins on disk, without the CLI."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from smartrestart.budget.dropin import render_dropin
from smartrestart.budget.translate import translate
from smartrestart.errors import ActionLedger, ConfigError, SystemdUnavailable, UsageError
from smartrestart.generate.dropins import apply_plans, plan_dropins
from smartrestart.generate.model import Change, FilePlan, GenerateOutcome, Target
from smartrestart.generate.ownership import Owner, Ownership
from smartrestart.generate.unitdir import check_unit_dir
from smartrestart.rules.schema import load_rule_set
from smartrestart.rules.sources import fragment_dirs, rules_sources
from smartrestart.unitname import UnitNameKind, unit_name_kind

if TYPE_CHECKING:
    from smartrestart.budget.model import Budget
    from smartrestart.systemd.backend import SystemdBackend

ETC_UNIT_DIR = Path("etc/systemd/system")
RUNTIME_UNIT_DIR = Path("/run/systemd/system")
_SHARED_LIBRARY = re.compile(r"libsystemd-shared-(\d+)")
# Where an image keeps libsystemd-shared-N.so: Debian 12 and 13 under
# usr/lib/<multiarch>/systemd/, Arch under usr/lib/systemd/, Fedora under
# usr/lib64/systemd/, images without merged /usr under lib/systemd/.
_LIBRARY_DIRS = ("usr/lib/systemd", "usr/lib/*-linux-*/systemd", "usr/lib64/systemd", "lib/systemd")


def unit_dir_for(
    unit_dir: Path | None, runtime: bool, root: Path | None, user: bool = False
) -> Target:
    """``--unit-dir``, ``--runtime`` or ``--root`` (exclusive); default /etc/systemd/system.

    With ``--user``: the user manager's ``~/.config/systemd/user`` (``--runtime``:
    ``$XDG_RUNTIME_DIR/systemd/user``), as ``systemctl --user edit`` writes them.
    """
    if sum((unit_dir is not None, runtime, root is not None)) > 1:
        raise UsageError("--unit-dir, --runtime and --root are exclusive")
    if user:
        if unit_dir is not None or root is not None:
            raise UsageError(
                "--user writes to the user manager's own directory: no --unit-dir or --root"
            )
        return Target(_user_unit_dir(runtime), live=True)
    if unit_dir is not None:
        return Target(unit_dir, live=False)
    if runtime:
        return Target(RUNTIME_UNIT_DIR, live=True)
    if root is not None:
        return Target(root / ETC_UNIT_DIR, live=False, image=root)
    return Target(Path("/") / ETC_UNIT_DIR, live=True)


def _user_unit_dir(runtime: bool) -> Path:
    if runtime:
        base = os.environ.get("XDG_RUNTIME_DIR")
        if not base:
            raise UsageError("--user --runtime needs XDG_RUNTIME_DIR (the user's /run/user/UID)")
        return Path(base) / "systemd/user"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd/user"


def image_systemd_version(root: Path) -> int | None:
    """The systemd version of an image, from its ``libsystemd-shared-NNN.so``.

    Directories that lead out of the image through a symlink are skipped, so
    an image's absolute ``lib -> /usr/lib`` never reports the host's version.
    """
    inside = root.resolve()
    versions: list[int] = []
    for pattern in _LIBRARY_DIRS:
        for directory in sorted(root.glob(pattern)):
            try:
                if not directory.resolve().is_relative_to(inside):
                    continue
                names = [p.name for p in directory.iterdir()]
            except OSError:
                continue
            versions.extend(int(m.group(1)) for m in map(_SHARED_LIBRARY.match, names) if m)
    return max(versions) if versions else None


def resolve_unit_ids(
    budgets: Mapping[str, Budget], backend: SystemdBackend | None
) -> dict[str, str]:
    """Budget name -> the unit's own name, asking the manager about aliases.

    A drop-in under an alias's directory (``sshd.service.d/``) is loaded only
    while the alias symlink exists: Debian removes ``sshd.service`` when ssh
    is disabled, and the budget would silently vanish while ``ssh.service``
    runs on. So drop-ins go under the unit's own name. Two budgets for one unit
    under two names are an error. Templates have no unit to ask about.
    """
    ids = {name: name for name in budgets}
    if backend is None:
        return ids
    for name in budgets:
        if unit_name_kind(name) is not UnitNameKind.TEMPLATE:
            ids[name] = backend.unit_id(name)
    seen: dict[str, str] = {}
    for name in sorted(budgets, key=lambda n: budgets[n].location):
        unit = ids[name]
        if unit in seen:
            first = seen[unit]
            raise ConfigError(
                budgets[name].location,
                f"budgets.{name}",
                f"{name} and {first} (at {budgets[first].location}) are the same unit, "
                f"{unit}; keep one budget",
            )
        seen[unit] = name
    return ids


class GenerateRequest(NamedTuple):
    """The inputs of ``generate``, as the command line gives them."""

    rules_files: Sequence[str] = ()
    config_root: str = "/"
    unit_dir: Path | None = None
    runtime: bool = False
    root: Path | None = None
    systemd_version: int | None = None
    check: bool = False
    reload: bool | None = None  # None: reload the manager's own directories only
    remove_orphans: bool = False
    user: bool = False  # the calling user's own manager and ~/.config/systemd/user


def run_generate(
    request: GenerateRequest,
    cwd: Path,
    *,
    connect: Callable[[], AbstractContextManager[SystemdBackend]] | None = None,
) -> GenerateOutcome:
    """Plan the drop-ins; unless ``check``, write them and reload the manager as asked.

    The running manager is reached before anything is written, when it is
    needed (to learn the version, to reload) or useful (to resolve aliases in
    its own directories), so an unreachable systemd leaves the unit directory
    untouched. Everything that can refuse (rules, the unit directory,
    conflicts with other rules files) is checked before the first write.
    ``connect`` is :func:`smartrestart.systemd.connect` unless a test gives
    another.
    """
    target = unit_dir_for(request.unit_dir, request.runtime, request.root, request.user)
    reload = _wants_reload(request.reload, target.live, request.root)
    with contextlib.ExitStack() as stack:
        manager, version, warnings = _reach_manager(
            stack,
            target,
            request.systemd_version,
            reload and not request.check,
            connect or (_user_connect if request.user else None),
        )
        if request.user and manager is not None:
            warnings.extend(_user_handler_warning(manager))
        outcome = _plan_and_write(request, cwd, target, version, manager, reload, warnings)
    if outcome.applied:
        _log(outcome)
    return outcome


def _plan_and_write(
    request: GenerateRequest,
    cwd: Path,
    target: Target,
    systemd_version: int,
    manager: SystemdBackend | None,
    reload: bool,
    warnings: list[str],
) -> GenerateOutcome:
    sources = rules_sources(request.rules_files, request.config_root, str(cwd))
    rule_set = load_rule_set(sources)
    check_unit_dir(target.unit_dir, image=target.image, writing=not request.check)
    ids = resolve_unit_ids(rule_set.budgets, manager)
    translations = [translate(b, systemd_version) for _, b in sorted(rule_set.budgets.items())]
    texts = {
        ids[t.unit]: render_dropin(
            t, _source_text(rule_set.budgets[t.unit].location.file), unit_id=ids[t.unit]
        )
        for t in translations
    }
    ownership = Ownership.of(sources, fragment_dirs(request.config_root))
    plans = plan_dropins(target.unit_dir, texts, ownership, remove_orphans=request.remove_orphans)
    changed = any(plan.change in (Change.WRITE, Change.REMOVE) for plan in plans)
    applied = reloaded = False
    if changed and not request.check:
        apply_plans(plans)
        ActionLedger.record(f"writing drop-ins under {target.unit_dir}")
        applied = True
        if reload and manager is not None:
            manager.reload_manager()
            reloaded = True
    return GenerateOutcome(
        unit_dir=target.unit_dir,
        systemd_version=systemd_version,
        translations=translations,
        plans=plans,
        rules_files=list(sources),
        budget_names={unit: name for name, unit in ids.items()},
        applied=applied,
        reloaded=reloaded,
        why_no_reload=target.why_no_reload,
        warnings=[
            *warnings,
            *(w for t in translations for w in t.warnings),
            *_ownership_warnings(plans, ownership),
        ],
    )


def _source_text(path: str) -> str:
    """The rules file as the header records it: one line, or the header could not be read back."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise UsageError(f"{path!r}: a rules file name with control characters cannot be recorded")
    return path


def _ownership_warnings(plans: list[FilePlan], ownership: Ownership) -> list[str]:
    warnings: list[str] = []
    for plan in plans:
        taken_over = plan.change is Change.WRITE and plan.old is not None
        if taken_over and ownership.owner(plan.source, os.path.exists) is Owner.ORPHAN:
            warnings.append(
                f"{plan.path}: taking it over from {plan.source or 'an unreadable header'}, "
                "a rules file that no longer exists"
            )
        elif plan.change is Change.ORPHAN:
            warnings.append(
                f"{plan.path}: generated from {plan.source or 'an unreadable header'}, which no "
                "longer exists; kept (--remove-orphans removes it)"
            )
    return warnings


def _user_connect() -> AbstractContextManager[SystemdBackend]:
    from smartrestart import systemd

    return systemd.connect(user=True)


def _user_handler_warning(manager: SystemdBackend) -> list[str]:
    """Budgets name smartrestart-failure@%n.service: say when the user manager lacks it."""
    probe = "smartrestart-failure@check.service"
    if manager.unit_states([probe])[probe].load_state == "loaded":
        return []
    return [
        "the user manager has no smartrestart-failure@.service: on_exhausted and cooldown "
        "will not act (copy units/smartrestart-failure@.service and "
        "smartrestart-cooldown@.service to ~/.config/systemd/user)"
    ]


def _wants_reload(reload: bool | None, live: bool, root: Path | None) -> bool:
    """An explicit directory means no reload unless asked; an image has no manager to reload."""
    if reload and root is not None:
        raise UsageError("--reload with --root: an image has no running manager to reload")
    return live if reload is None else reload


def _reach_manager(
    stack: contextlib.ExitStack[bool | None],
    target: Target,
    version: int | None,
    must_reload: bool,
    connect: Callable[[], AbstractContextManager[SystemdBackend]] | None,
) -> tuple[SystemdBackend | None, int, list[str]]:
    """The running manager when it is needed or useful, the systemd version, and warnings.

    Needed: to learn the version, or to reload. Useful: in the manager's own
    directories, to resolve aliases (then an unreachable manager is a warning).
    The connection closes with ``stack``.
    """
    from smartrestart import systemd

    root = target.image
    if version is None and root is not None:
        version = image_systemd_version(root)
        if version is None:
            raise UsageError(f"cannot tell the systemd version of {root}: give --systemd-version")
    if version is not None and not must_reload and not target.live:
        return None, version, []
    try:
        manager = stack.enter_context((connect or systemd.connect)())
    except SystemdUnavailable as exc:
        if version is None or must_reload:
            raise
        return None, version, [f"{exc.message}: unit aliases not resolved"]
    return manager, version if version is not None else manager.version(), []


def _log(outcome: GenerateOutcome) -> None:
    from smartrestart.journal.writer import log_event

    touched = [p.unit for p in outcome.plans if p.change.value in ("write", "remove")]
    log_event(
        "dropins-generated",
        f"generate: drop-ins changed for {', '.join(touched)}",
        {
            "SMARTRESTART_UNITS": " ".join(touched),
            "SMARTRESTART_RULES": " ".join(str(p) for p in outcome.rules_files),
            "SMARTRESTART_UNIT_DIR": str(outcome.unit_dir),
            "SMARTRESTART_RELOADED": "yes" if outcome.reloaded else "no",
        },
    )
