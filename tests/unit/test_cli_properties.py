"""Property tests: every command, driven with generated rules, budgets, paths and arguments.

Whatever the input, three things hold: the exit code is one of the documented
table, no traceback reaches the user, and the commands that promise to change
nothing (``decide``, ``generate --check``, ``apply --dry-run``) write nothing.
The corpus (test_bad_inputs.py) pins down known cases in a subprocess; this
explores the space around them in-process, hundreds of inputs per command.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartrestart.budget.keys import KEY_NAMES as BUDGET_KEYS
from smartrestart.cli.main import cli
from smartrestart.errors import EXIT_CODES, ActionLedger, ExitCode
from smartrestart.rules.schema import ACTION_KEYS

EXAMPLES = 150
CODES = {int(code) for code in EXIT_CODES}
TREE = {
    "src/lib/__init__.py": "",
    "src/lib/db.py": "import os\n",
    "src/api/__init__.py": "",
    "src/api/server.py": "from lib import db\n",
    "src/worker/jobs.py": "import lib.db\nx = f'{1}'\n",
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(["api", "worker", "migrate+seed", "web", "x y", ""]) | st.text(max_size=6)
units = st.sampled_from(
    ["api.service", "sshd.service", "db@17-main.service", "worker@.service", "app.socket", "bad"]
) | st.text(max_size=10)
spans = (
    st.sampled_from(
        ["5s", "1min 30s", "0", "99999999999999999999y", "600000y", ".5s", "infinity", "-1s"]
    )
    | st.integers(min_value=-5, max_value=2**66)
    | st.floats(allow_nan=True, allow_infinity=True)
)


def documents(noisy: bool, *, budgets_only: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Rules documents: plausible throughout, or with any part replaced by anything.

    Plausible documents get past the first checks and reach the deep ones
    (budget values at systemd's limits); noisy ones try every early check.
    """

    def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(value, value, value, yaml_values) if noisy else value

    def with_junk(
        mapping: st.SearchStrategy[dict[str, Any]], keys: list[str]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """``mapping`` with, sometimes, one more key: a known one with any value, or a typo."""
        if not noisy:
            return mapping
        junk = st.one_of(
            *[st.just({})] * 5, st.dictionaries(st.sampled_from(keys), yaml_values, max_size=1)
        )
        return st.builds(lambda known, extra: {**known, **extra}, mapping, junk)

    action_names = names if noisy else st.sampled_from(["api", "worker", "migrate+seed"])
    roots = ["src", "src/lib", "/var/tmp", "nowhere", "rules.yaml", ""]
    unit_names = units if noisy else st.sampled_from(["api.service", "db@17-main.service"])
    actions = st.dictionaries(
        action_names,
        st.none()
        | with_junk(
            st.fixed_dictionaries(
                {},
                optional={
                    "order": maybe(st.integers(-10, 1000)),
                    "units": maybe(st.lists(unit_names, max_size=3, unique=True)),
                    "mode": maybe(st.sampled_from(["restart", "reload", "try-restart", "start"])),
                    "description": maybe(st.text(max_size=10)),
                },
            ),
            [*ACTION_KEYS, "unit", "extra"],
        ),
        max_size=3,
    )
    rules = st.lists(
        st.fixed_dictionaries(
            {"pattern": maybe(st.sampled_from(["src/**", "**/*.md", "/usr/**", "**/**/x"]))},
            optional={"actions": maybe(st.lists(action_names, max_size=3))},
        ),
        max_size=4,
    )
    backoff = st.fixed_dictionaries(
        {"base": spans, "max": spans},
        optional={"multiplier": maybe(st.floats(allow_nan=True, allow_infinity=True))},
    )
    escalations = st.sampled_from(["none", "stop app.target", "restart x@.service", "restart"])
    budget = with_junk(
        st.fixed_dictionaries(
            {},
            optional={
                "restart": maybe(st.sampled_from(["permanent", "transient", "temporary"])),
                "intensity": maybe(st.integers(-1, 2**33)),
                "period": spans,
                "backoff": maybe(backoff),
                "watchdog": spans,
                "startup_timeout": spans,
                "stop_timeout": spans,
                "fatal_exit_codes": maybe(st.lists(st.integers(-1, 300), max_size=3)),
                "non_retryable_exit_codes": maybe(st.lists(st.integers(-1, 300), max_size=3)),
                "on_exhausted": maybe(escalations),
                "cooldown": spans,
                "max_cooldown_cycles": maybe(st.integers(-1, 2**40)),
            },
        ),
        [*BUDGET_KEYS, "intensty"],
    )
    if budgets_only:
        return st.fixed_dictionaries({"budgets": st.dictionaries(unit_names, budget, max_size=2)})
    return with_junk(
        st.fixed_dictionaries(
            {},
            optional={
                "actions": maybe(actions),
                "rules": maybe(rules),
                "fallback": maybe(st.sampled_from(["none", "all", ["api"], "some"])),
                "budgets": maybe(st.dictionaries(unit_names, maybe(budget), max_size=3)),
                "import_roots": maybe(st.lists(st.sampled_from(roots), max_size=2)),
            },
        ),
        ["actions", "rules", "import_roots", "extra"],
    )


@st.composite
def rules_texts(draw: st.DrawFn, *, budgets_only: bool = False) -> str:
    """A rules file: a generated document, sometimes damaged as a hand edit might."""
    document = draw(documents(noisy=draw(st.booleans()), budgets_only=budgets_only))
    text = yaml.safe_dump(document, allow_unicode=True)
    damage = draw(st.sampled_from(["none", "none", "cut", "insert"]))
    if damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "insert":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["[", "{", ":", "- ", "\t", "&a ", "*a", "<<: "]))
            + text[at:]
        )
    return text


paths = st.lists(
    st.sampled_from(
        [
            "src/lib/db.py",
            "src/api/server.py",
            "README.md",
            "../x.py",
            "/etc/hostname",
            "src/../src/lib/db.py",
        ]
    )
    | st.text(alphabet="ab/._-*?[] \u00e9", min_size=1, max_size=20),
    max_size=4,
)
decide_flags = st.lists(
    st.sampled_from(
        [
            ["--root", "src"],
            ["--json"],
            ["--explain"],
            ["--show-expanded"],
            ["--show-unmatched"],
            ["--include-type-checking"],
            ["--no-cache"],
            ["-z"],
            ["--git", "HEAD~1..HEAD"],
            ["--git", ""],
            ["--from-dpkg", ""],
            ["--from-dpkg", "no-such-package-smartrestart"],
            ["--root", "nowhere"],
        ]
    ),
    max_size=3,
)


@contextlib.contextmanager
def workspace(rules_text: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as outer:
        directory = Path(outer, "work")
        for relative, content in TREE.items():
            (directory / relative).parent.mkdir(parents=True, exist_ok=True)
            (directory / relative).write_text(content)
        (directory / "rules.yaml").write_text(rules_text)
        (directory / "units").mkdir()
        with contextlib.chdir(directory):
            yield directory


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.lstat().st_size, path.lstat().st_mtime_ns) for path in directory.rglob("*")
    }


def invoke(directory: Path, args: list[str], stdin: str = "") -> tuple[int, str]:
    ActionLedger.reset()
    env = {
        "XDG_CACHE_HOME": str(directory.parent / "cache"),
        "PWD": str(directory),
        # Never a real manager: a bus address where nothing listens.
        "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={directory.parent}/no-bus",
    }
    result = CliRunner().invoke(cli, args, input=stdin, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}\n{result.stderr}"
    )
    assert result.exit_code in CODES, f"{args}: exit {result.exit_code}\n{result.stderr}"
    # 70 is documented, but it means a bug of ours met this input.
    assert result.exit_code != ExitCode.INTERNAL, f"{args}:\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{args}:\n{result.stderr}"
    return result.exit_code, result.stderr


property_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@property_settings
@given(text=rules_texts(), flags=decide_flags, changed=paths)
def test_decide_exits_with_a_documented_code_and_writes_nothing(
    text: str, flags: list[list[str]], changed: list[str]
) -> None:
    with workspace(text) as directory:
        before = snapshot(directory)
        args = ["decide", "-r", "rules.yaml", "--config-root", "none"]
        args += [word for flag in flags for word in flag]
        separator = "\0" if ["-z"] in flags else "\n"
        invoke(directory, [*args, *changed] if changed else args, separator.join(changed))
        assert snapshot(directory) == before


@property_settings
@given(text=rules_texts(), flags=decide_flags, changed=paths)
def test_apply_dry_run_exits_with_a_documented_code_and_writes_nothing(
    text: str, flags: list[list[str]], changed: list[str]
) -> None:
    with workspace(text) as directory:
        before = snapshot(directory)
        args = ["apply", "--dry-run", "-r", "rules.yaml", "--config-root", "none"]
        args += [word for flag in flags for word in flag if flag != ["--explain"]]
        invoke(directory, [*args, *changed] if changed else args, "\n".join(changed))
        assert snapshot(directory) == before


records = st.lists(
    st.one_of(
        st.builds(
            lambda package, files: (
                "smartrestart-pending 1\npackage "
                + package
                + "\nfrom 1.0\nto 1.1\n\n"
                + "".join(f"{f}\n" for f in files)
            ),
            st.sampled_from(["hello-api", "x y", ""]),
            st.lists(st.sampled_from(["/work/src/api/server.py", "/etc/x", "relative", "/"])),
        ),
        st.text(max_size=60),
    ),
    max_size=3,
)


@property_settings
@given(text=rules_texts(), spooled=records, trigger=st.booleans())
def test_apply_pending_dry_run_exits_with_a_documented_code_and_writes_nothing(
    text: str, spooled: list[str], trigger: bool
) -> None:
    with workspace(text) as directory:
        spool = directory / "image/var/lib/smartrestart/pending"
        spool.mkdir(parents=True, mode=0o700)
        (directory / "image/usr/lib/smartrestart/rules.d").mkdir(parents=True)
        (directory / "image/usr/lib/smartrestart/rules.d/app.yaml").write_text(text)
        for index, record in enumerate(spooled):
            (spool / f"app.{index}.list").write_text(record.replace("/work", str(directory)))
        before = snapshot(directory)
        mode = "--trigger" if trigger else "--pending"
        invoke(directory, ["apply", mode, "--dry-run", "--config-root", "image"])
        assert snapshot(directory) == before


@property_settings
@given(
    text=rules_texts() | rules_texts(budgets_only=True),
    version=st.sampled_from(["252", "254", "257", "200", "99999"]),
    extra=st.lists(st.sampled_from([["--diff"], ["--json"]]), max_size=2),
)
def test_generate_check_exits_with_a_documented_code_and_writes_nothing(
    text: str, version: str, extra: list[list[str]]
) -> None:
    with workspace(text) as directory:
        before = snapshot(directory)
        args = ["generate", "-r", "rules.yaml", "--config-root", "none", "--unit-dir", "units"]
        args += ["--systemd-version", version, "--check", *(w for flag in extra for w in flag)]
        invoke(directory, args)
        assert snapshot(directory) == before


@property_settings
@given(text=rules_texts(budgets_only=True), version=st.sampled_from(["252", "257"]))
def test_generate_writes_only_under_its_unit_directory(text: str, version: str) -> None:
    with workspace(text) as directory:
        before = {p for p in snapshot(directory) if "/units" not in p}
        args = ["generate", "-r", "rules.yaml", "--config-root", "none", "--unit-dir", "units"]
        invoke(directory, [*args, "--systemd-version", version])
        assert {p for p in snapshot(directory) if "/units" not in p} == before


@property_settings
@given(
    verb=st.sampled_from(["failure", "cooldown", "nothing"]),
    unit=units | st.text(max_size=30),
)
def test_handle_exits_with_a_documented_code(verb: str, unit: str) -> None:
    with workspace("") as directory:
        invoke(directory, ["handle", verb, unit])


probe_texts = st.one_of(
    st.text(max_size=20),
    st.builds(
        lambda kind, rest: f"{kind}:{rest}",
        st.sampled_from(["tcp", "unix", "file", "cmd", "log", "http", "https", "ftp", ""]),
        st.text(max_size=16),
    ),
    st.builds(lambda rest: f"http://{rest}", st.text(max_size=16)),
)
spans = st.one_of(st.text(max_size=8), st.sampled_from(["nan", "-1s", "0", "1h 2min", "9" * 30]))


@property_settings
@given(
    ready=st.lists(probe_texts, max_size=3),
    health=st.none() | probe_texts,
    body=st.none() | st.text(max_size=6),
    span=spans,
)
def test_exec_options_exit_with_a_documented_code_and_run_nothing(
    ready: list[str], health: str | None, body: str | None, span: str
) -> None:
    # No PROGRAM: every path ends in exit 2 before anything could run.
    args = ["exec", *(w for probe in ready for w in ("--ready", probe))]
    args += ["--health", health] if health is not None else []
    args += ["--ready-body", body] if body is not None else []
    with workspace("") as directory:
        code, _ = invoke(directory, [*args, "--ready-timeout", span])
    assert code == ExitCode.USAGE


@property_settings
@given(text=probe_texts)
def test_a_probe_parses_or_is_a_usage_error(text: str) -> None:
    from smartrestart.errors import UsageError
    from smartrestart.exec.model import parse_probe

    try:
        probe = parse_probe(text, "--ready")
    except UsageError as exc:
        assert exc.message.startswith(f"--ready {text!r}")
    else:
        assert probe.text == text


@property_settings
@given(argv=st.lists(st.text(max_size=10), max_size=4), path=st.text(max_size=30))
def test_watch_entry_and_noise_never_raise_anything_else(argv: list[str], path: str) -> None:
    from smartrestart.errors import UsageError
    from smartrestart.watch.model import entry_from_argv, is_ignored

    is_ignored(path)
    with contextlib.suppress(UsageError):
        entry_from_argv(argv)


@property_settings
@given(
    text=rules_texts() | rules_texts(budgets_only=True),
    named=st.lists(units, max_size=3),
    as_json=st.booleans(),
)
def test_status_exits_with_a_documented_code_and_writes_nothing(
    text: str, named: list[str], as_json: bool
) -> None:
    with workspace(text) as directory:
        before = snapshot(directory)
        args = ["status", "-r", "rules.yaml", "--config-root", "none"]
        # After "--" a name is a unit even when it is "--help" (Hypothesis tries it).
        code, _ = invoke(directory, [*args, *(["--json"] if as_json else []), "--", *named])
        assert code != ExitCode.OK  # no manager here: never a report that all is well
        assert snapshot(directory) == before


@property_settings
@given(
    unit=st.none() | units,
    deploy=st.none() | st.sampled_from(["0123456789abcdef", "0123", "ZZZZZZZZZZZZZZZZ"]),
    since=st.none()
    | st.sampled_from(["-1h", "today", "@0", "2025-11-22 10:30", "soon", "-", "1min ago"])
    | st.text(max_size=12),
)
def test_logs_exits_with_a_documented_code(
    unit: str | None, deploy: str | None, since: str | None
) -> None:
    args = ["logs", "--json"]
    for option, value in (("--unit", unit), ("--deploy", deploy), ("--since", since)):
        if value is not None:
            args += [option, value]
    with workspace("") as directory:
        invoke(directory, args)


@property_settings
@given(
    text=rules_texts(),
    changed=paths,
    form=st.sampled_from(["dot", "mermaid"]),
    root=st.booleans(),
)
def test_graph_exits_with_a_documented_code_writes_nothing_and_draws_valid_text(
    text: str, changed: list[str], form: str, root: bool
) -> None:
    from click.testing import CliRunner

    from tests.graphcheck import mermaid_problems

    with workspace(text) as directory:
        before = snapshot(directory)
        args = ["graph", "-r", "rules.yaml", "--config-root", "none", "--format", form]
        args += ["--root", "src", "--no-cache"] if root else []
        code, _ = invoke(directory, [*args, *changed])
        assert snapshot(directory) == before
        if code == 0 and form == "mermaid":
            ActionLedger.reset()
            drawn = CliRunner().invoke(cli, [*args, *changed], env={"PWD": str(directory)})
            assert mermaid_problems(drawn.stdout) == []
