"""Validation of rules files into a :class:`RuleSet`.

A strict superset of the original smart-restart ``restart-rules.yaml``: every
file it accepted keeps its meaning, and the keys ``apply`` and ``generate``
need (``units``, ``mode``, ``run``, ``user``, ``description``, ``budgets``) are part of
the schema, so they never trip the unknown-key check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from smartrestart.configfields import (
    check_keys,
    did_you_mean,
    field_path,
    require_choice,
    require_int,
    require_list,
    require_map,
    require_str,
    require_str_list,
)
from smartrestart.errors import ConfigError, Location
from smartrestart.rules.model import (
    DEFAULT_ORDER,
    Action,
    Fallback,
    FallbackKind,
    ImportRoot,
    Mode,
    Rule,
    RuleSet,
)
from smartrestart.unitname import UnitNameKind, unit_name_kind, unit_name_problem
from smartrestart.yamlsource import YamlMap, load_yaml_file

if TYPE_CHECKING:
    from smartrestart.budget.model import Budget

# Every key a rules file may hold, with what it means: the parser accepts
# exactly these, and smartrestart.yaml(5) documents them from here.
TOP_LEVEL_KEYS: dict[str, str] = {
    "actions": "a mapping of action names to their settings (below); "
    "an action with no settings is only printed by decide",
    "rules": "a list of {pattern, actions}, tried top-down: the first rule whose pattern "
    "matches a changed file gives its actions, later rules are not consulted for it",
    "fallback": "what a file no rule matches needs: none (the default), all, "
    "or a list of action names",
    "budgets": "a mapping of service names (plain, template or instance) to restart "
    "budgets, which generate turns into drop-ins (see BUDGETS)",
    "import_roots": "directories (as --root gives them) whose reverse Python import graph "
    "expands the changed files; a package fragment names "
    "/usr/lib/python3/dist-packages so that a changed library restarts its importers",
}
ACTION_KEYS: dict[str, str] = {
    "order": "an integer (default 100): actions run in ascending order, equal orders "
    "form one group whose jobs run at once",
    "units": "the units apply acts on (valid unit names; a template needs an instance)",
    "mode": "what apply does to the units: "
    + ", ".join(mode.value for mode in Mode)
    + " (default restart)",
    "run": "a command apply runs as a transient oneshot unit instead: a string runs "
    "through /bin/sh -c, a list is an argv with an absolute program",
    "user": "the account a run command runs as (User=); root when absent",
    "description": "free text, shown by decide --explain",
}
RULE_KEYS: dict[str, str] = {
    "pattern": "a glob: `**` spans directories (`**/` also matches none), `*` and `?` stay "
    "within one path segment; relative to the working directory, or absolute",
    "actions": "the action names this file needs; an empty list is an explicit skip",
}

# Action names are printed one per line and used in journal fields.
_ACTION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+-]*\Z")
# systemd's valid_user_group_name() in its relaxed form, or a numeric uid.
_USER_NAME = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?|[0-9]{1,10})\Z")


class _Partial:
    """What one file contributes before merging (a plain class: cheap to define)."""

    __slots__ = ("actions", "budgets", "fallback", "import_roots", "path", "references", "rules")

    def __init__(self, path: str) -> None:
        self.path = path
        self.actions: dict[str, Action] = {}
        self.rules: list[Rule] = []
        self.fallback: Fallback | None = None
        self.budgets: dict[str, Budget] = {}
        self.import_roots: list[ImportRoot] = []
        # Action names referenced by rules and fallback, checked after merging.
        self.references: list[tuple[str, Location, str]] = []


def load_rule_set(paths: Sequence[str]) -> RuleSet:
    """Load and merge ``paths`` in order; any problem is a ConfigError."""
    return merge([_load_file(path) for path in paths])


def _load_file(path: str) -> _Partial:
    data = load_yaml_file(path)
    if data is None:
        raise ConfigError(
            Location(path, 1), "", "file is empty; expected a mapping with 'actions' and 'rules'"
        )
    top = require_map(data, Location(path, 1), "")
    check_keys(top, TOP_LEVEL_KEYS, "")
    partial = _Partial(path)
    if "actions" in top:
        _parse_actions(top["actions"], top.location_of("actions"), partial)
    if "rules" in top:
        _parse_rules(top["rules"], top.location_of("rules"), partial)
    if "fallback" in top:
        partial.fallback = _parse_fallback(top["fallback"], top.location_of("fallback"), partial)
    if "budgets" in top:
        # Only files with budgets pay for importing their validation.
        from smartrestart.budget.schema import parse_budgets

        partial.budgets = parse_budgets(top["budgets"], top.location_of("budgets"))
    if "import_roots" in top:
        partial.import_roots = _parse_import_roots(
            top["import_roots"], top.location_of("import_roots")
        )
    return partial


def _parse_import_roots(value: Any, where: Location) -> list[ImportRoot]:
    """``import_roots``: directories, checked to exist when a decision uses them."""
    roots: list[ImportRoot] = []
    for index, (path, path_where) in enumerate(require_str_list(value, where, "import_roots")):
        if not path.strip() or "\0" in path:  # blank, or a NUL no path can hold
            raise ConfigError(path_where, f"import_roots[{index}]", "is not a directory name")
        roots.append(ImportRoot(path, path_where))
    return roots


def _parse_actions(value: Any, where: Location, partial: _Partial) -> None:
    if value is None:
        return
    actions = require_map(value, where, "actions")
    for name, spec in actions.items():
        name_where = actions.location_of(name)
        text = require_str(name, name_where, "actions")
        if not _ACTION_NAME.match(text):
            raise ConfigError(
                name_where,
                f"actions.{text}",
                "action names may use letters, digits and _ . : @ + - only",
            )
        partial.actions[text] = _parse_action(text, spec, name_where)


def _parse_action(name: str, value: Any, where: Location) -> Action:
    context = f"actions.{name}"
    if value is None:  # the original accepted `name:` with no settings
        return Action(name=name, location=where)
    spec = require_map(value, where, context)
    check_keys(spec, ACTION_KEYS, context)
    order = DEFAULT_ORDER
    if "order" in spec:
        order = require_int(spec["order"], spec.location_of("order"), f"{context}.order")
    units = _parse_units(spec, context)
    mode = Mode.RESTART
    if "mode" in spec:
        mode = require_choice(spec["mode"], spec.location_of("mode"), f"{context}.mode", Mode)
        if not units:
            raise ConfigError(
                spec.location_of("mode"), f"{context}.mode", "has no effect without 'units'"
            )
    run = (
        _parse_run(spec["run"], spec.location_of("run"), f"{context}.run")
        if "run" in spec
        else None
    )
    if run is not None and units:
        raise ConfigError(
            spec.location_of("run"),
            f"{context}.run",
            "an action has either 'units' or 'run', not both",
            hint="split it into two actions and order them",
        )
    user = _parse_user(spec, context, has_run=run is not None)
    description = None
    if "description" in spec:
        description = require_str(
            spec["description"], spec.location_of("description"), f"{context}.description"
        )
    return Action(
        name=name,
        location=where,
        order=order,
        units=units,
        mode=mode,
        run=run,
        user=user,
        description=description,
    )


def _parse_units(spec: YamlMap, context: str) -> tuple[str, ...]:
    if "units" not in spec:
        return ()
    where = spec.location_of("units")
    units: list[str] = []
    for index, (unit, unit_where) in enumerate(
        require_str_list(spec["units"], where, f"{context}.units")
    ):
        name = f"{context}.units[{index}]"
        problem = unit_name_problem(unit)
        if problem:
            raise ConfigError(unit_where, name, problem)
        if unit_name_kind(unit) is UnitNameKind.TEMPLATE:
            raise ConfigError(
                unit_where,
                name,
                f"{unit!r} is a template; name an instance such as {unit.replace('@.', '@1.')!r}",
            )
        if unit in units:
            raise ConfigError(unit_where, name, f"{unit!r} is listed twice")
        units.append(unit)
    return tuple(units)


def _parse_user(spec: YamlMap, context: str, *, has_run: bool) -> str | None:
    """``user:``: the account a ``run:`` command runs as (``User=``); root when absent."""
    if "user" not in spec:
        return None
    where = spec.location_of("user")
    field = f"{context}.user"
    if not has_run:
        raise ConfigError(where, field, "has no effect without 'run'")
    value = spec["user"]
    user = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    user = require_str(user, where, field)
    if not _USER_NAME.match(user):
        raise ConfigError(where, field, f"{user!r} is not a valid user name or uid")
    return user


def _parse_run(value: Any, where: Location, name: str) -> tuple[str, ...]:
    """``run: "cmd args"`` runs through /bin/sh -c; ``run: [argv...]`` runs argv as is."""
    if isinstance(value, str):
        return ("/bin/sh", "-c", require_str(value, where, name))
    argv = [item for item, _ in require_str_list(value, where, name)]
    if not argv:
        raise ConfigError(where, name, "must not be empty")
    if not argv[0].startswith("/"):
        raise ConfigError(
            where, f"{name}[0]", "the program must be an absolute path, as systemd requires"
        )
    return tuple(argv)


def _parse_rules(value: Any, where: Location, partial: _Partial) -> None:
    if value is None:
        return
    rules = require_list(value, where, "rules")
    for index, item in enumerate(rules):
        item_where = rules.location_of(index)
        context = f"rules[{index}]"
        spec = require_map(item, item_where, context)
        check_keys(spec, RULE_KEYS, context)
        if "pattern" not in spec:
            raise ConfigError(item_where, field_path(context, "pattern"), "is required")
        pattern = require_str(spec["pattern"], spec.location_of("pattern"), f"{context}.pattern")
        names: list[str] = []
        if "actions" in spec and spec["actions"] is not None:
            for i, (name, name_where) in enumerate(
                require_str_list(spec["actions"], spec.location_of("actions"), f"{context}.actions")
            ):
                partial.references.append((name, name_where, f"{context}.actions[{i}]"))
                if name not in names:
                    names.append(name)
        partial.rules.append(Rule(pattern=pattern, actions=tuple(names), location=item_where))


def _parse_fallback(value: Any, where: Location, partial: _Partial) -> Fallback:
    if value is None:
        return Fallback(location=where)
    if isinstance(value, str):
        if value in (FallbackKind.NONE, FallbackKind.ALL):
            return Fallback(kind=FallbackKind(value), location=where)
        raise ConfigError(
            where,
            "fallback",
            f"{value!r} is not 'none', 'all' or a list of action names",
            hint=did_you_mean(value, ["none", "all"]),
        )
    names: list[str] = []
    for i, (name, name_where) in enumerate(require_str_list(value, where, "fallback")):
        partial.references.append((name, name_where, f"fallback[{i}]"))
        if name not in names:
            names.append(name)
    return Fallback(kind=FallbackKind.LIST, actions=tuple(names), location=where)


def merge(partials: Sequence[_Partial]) -> RuleSet:
    """Merge files in order: actions and budgets must be unique, rules and import roots add up.

    Fallbacks combine as a union, so every package's fragment can add the
    actions its own unmatched files need: ``all`` wins over lists, lists unite.
    """
    actions: dict[str, Action] = {}
    budgets: dict[str, Budget] = {}
    rules: list[Rule] = []
    import_roots: dict[str, ImportRoot] = {}
    fallback = Fallback()
    for partial in partials:
        _add_unique(actions, partial.actions, "action")
        _add_unique(budgets, partial.budgets, "budget")
        rules.extend(partial.rules)
        for root in partial.import_roots:  # several packages' fragments may name one root
            import_roots.setdefault(root.path, root)
        if partial.fallback is not None:
            fallback = _union(fallback, partial.fallback)
    for partial in partials:
        for name, where, field_name in partial.references:
            if name not in actions:
                raise ConfigError(
                    where,
                    field_name,
                    f"names undeclared action {name!r}",
                    hint=did_you_mean(name, actions) or "declare it under 'actions:'",
                )
    return RuleSet(
        actions=actions,
        rules=tuple(rules),
        fallback=fallback,
        budgets=budgets,
        sources=tuple(p.path for p in partials),
        import_roots=tuple(import_roots.values()),
    )


class _Located(Protocol):
    @property
    def location(self) -> Location: ...


Declared = TypeVar("Declared", bound=_Located)


def _add_unique(merged: dict[str, Declared], more: dict[str, Declared], kind: str) -> None:
    """Add ``more`` to ``merged``; a name declared in two files is an error naming both."""
    for name, item in more.items():
        if name in merged:
            raise ConfigError(
                item.location,
                f"{kind}s.{name}",
                f"duplicate {kind} (already declared at {merged[name].location})",
            )
        merged[name] = item


def _union(left: Fallback, right: Fallback) -> Fallback:
    if left.kind is FallbackKind.NONE:
        return right
    if right.kind is FallbackKind.NONE:
        return left
    if FallbackKind.ALL in (left.kind, right.kind):
        return left if left.kind is FallbackKind.ALL else right
    merged = left.actions + tuple(a for a in right.actions if a not in left.actions)
    return Fallback(kind=FallbackKind.LIST, actions=merged, location=left.location)
