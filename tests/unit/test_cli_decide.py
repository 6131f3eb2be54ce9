"""`smartrestart decide` end to end, in a subprocess as deploy scripts run it."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, write_rules, write_tree

EXAMPLE = FIXTURES / "multi-service"


def run(
    *args: str, cwd: Path, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "smartrestart", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / ".cache"), **(env or {})},
        check=False,
    )
    return subprocess.CompletedProcess(
        completed.args, completed.returncode, completed.stdout.decode(), completed.stderr.decode()
    )


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target)
    return target


def test_original_multi_service_example_with_root(example: Path) -> None:
    result = run(
        "decide",
        "-r",
        "restart-rules.yaml",
        "--config-root",
        str(example / "none"),
        "--root",
        "src",
        "--show-expanded",
        cwd=example,
        stdin=b"src/lib/auth.py\ndocs/security.md\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "restart_api\nrestart_worker\n"
    assert result.stderr == (
        "INFO: import-chain expansion added 3 file(s):\n"
        "  + src/api/handlers.py\n"
        "  + src/api/server.py\n"
        "  + src/worker/jobs.py\n"
    )


def test_original_multi_service_example_without_root_is_a_silent_miss(example: Path) -> None:
    result = run(
        "decide",
        "--config-root",
        str(example / "none"),
        "src/lib/auth.py",
        "docs/security.md",
        cwd=example,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_original_basic_example_show_unmatched(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """\
        actions:
          pip_install: {order: 10}
          restart_api: {order: 20}
        rules:
          - {pattern: "requirements.txt", actions: [pip_install, restart_api]}
          - {pattern: "src/**", actions: [restart_api]}
          - {pattern: "**/*.md", actions: []}
        fallback: [restart_api]
        """,
        "restart-rules.yaml",
    )
    result = run(
        "decide",
        "--config-root",
        str(tmp_path / "none"),
        "--show-unmatched",
        cwd=tmp_path,
        stdin=b"src/api.py\nREADME.md\nrequirements.txt\nconfig.toml\n",
    )
    assert result.stdout == "pip_install\nrestart_api\n"
    assert (
        result.stderr
        == "INFO: 1 unmatched file(s):\n  - config.toml\nINFO: fallback policy applied\n"
    )


def test_nul_separated_stdin(example: Path) -> None:
    result = run(
        "decide",
        "--config-root",
        "none",
        "-z",
        cwd=example,
        stdin=b"src/worker/jobs.py\0src/api/odd\nname.py\0",
    )
    assert result.stdout == "restart_api\nrestart_worker\n"


def test_git_range_includes_both_names_of_a_rename(example: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=example, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "0")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "1")
    git("mv", "src/lib/db.py", "src/lib/database.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "2")
    result = run(
        "decide",
        "--config-root",
        "none",
        "--root",
        "src",
        "--json",
        "--git",
        "HEAD~1..HEAD",
        cwd=example,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(data["changed"]) == ["src/lib/database.py", "src/lib/db.py"]
    assert [a["name"] for a in data["actions"]] == ["restart_worker"]


def test_json_carries_reasons_and_chain(example: Path) -> None:
    result = run(
        "decide", "--config-root", "none", "--root", "src", "--json", "src/lib/db.py", cwd=example
    )
    data = json.loads(result.stdout)
    (action,) = data["actions"]
    assert action["name"] == "restart_worker"
    assert action["units"] == ["example-worker.service"]
    assert action["mode"] == "restart"
    (reason,) = action["reasons"]
    assert reason["file"] == "src/worker/jobs.py"
    assert reason["rule"]["pattern"] == "src/worker/**"
    assert reason["rule"]["source"].endswith("restart-rules.yaml:21")
    assert reason["chain"] == ["src/lib/db.py", "src/worker/jobs.py"]
    assert data["expanded"] == [
        {"file": "src/worker/jobs.py", "chain": ["src/lib/db.py", "src/worker/jobs.py"]}
    ]
    assert data["graph"]["files"] == 11


def test_explain(example: Path) -> None:
    result = run(
        "decide",
        "--config-root",
        "none",
        "--root",
        "src",
        "--explain",
        "src/lib/db.py",
        cwd=example,
    )
    assert "restart_worker [order 20] (restart example-worker.service)" in result.stdout
    assert "src/lib/db.py <- src/worker/jobs.py" in result.stdout


def test_config_error_exit_2_with_file_line_field(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, "actions:\n  a: {ordr: 1}\n")
    result = run("decide", "-r", str(rules), "--config-root", "none", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"smartrestart: error: {rules}:2: actions.a.ordr: unknown key "
        "(known keys: order, units, mode, run, user, description)\n"
        "smartrestart: hint: did you mean 'order'?\n"
    )
    assert "Traceback" not in result.stderr


def test_no_rules_is_exit_2(tmp_path: Path) -> None:
    result = run("decide", "--config-root", "none", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert "no rules" in result.stderr


def test_bad_git_range_is_exit_2(example: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=example, check=True)
    result = run("decide", "--config-root", "none", "--git", "nope..nada", cwd=example)
    assert result.returncode == 2
    assert result.stderr.startswith("smartrestart: error: --git:")


def test_fragments_from_config_root(tmp_path: Path) -> None:
    write_rules(
        tmp_path / "img/usr/lib/smartrestart/rules.d",
        "actions: {web: {}}\nrules: [{pattern: 'www/**', actions: [web]}]\n",
        "web.yaml",
    )
    result = run("decide", "--config-root", str(tmp_path / "img"), "www/index.html", cwd=tmp_path)
    assert result.stdout == "web\n"


def test_syntax_error_in_changed_file_is_a_warning(example: Path) -> None:
    """requires-python says this interpreter's verdict is the project's."""
    (example / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.9"\n')
    (example / "src/worker/jobs.py").write_text("def broken(:\n")
    result = run(
        "decide", "--config-root", "none", "--root", "src", "src/worker/jobs.py", cwd=example
    )
    assert result.returncode == 0
    assert result.stdout == "restart_worker\n"
    assert "src/worker/jobs.py:1: syntax error: invalid syntax" in result.stderr


def test_syntax_checked_by_the_interpreter_given(example: Path) -> None:
    (example / "src/worker/jobs.py").write_text("def broken(:\n")
    result = run(
        "decide", "--config-root", "none", "--root", "src", "--python", sys.executable,
        "src/worker/jobs.py", cwd=example,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "restart_worker\n")
    assert "src/worker/jobs.py:1: syntax error: invalid syntax" in result.stderr


def test_code_for_a_newer_python_is_not_reported_as_a_syntax_error(example: Path) -> None:
    """type X = ... is Python 3.12: on an older interpreter it is "not checked", never an error."""
    (example / "src/worker/jobs.py").write_text("type Jobs = list[int]\n")
    result = run(
        "decide", "--config-root", "none", "--root", "src", "src/worker/jobs.py", cwd=example
    )
    assert (result.returncode, result.stdout) == (0, "restart_worker\n")
    assert "syntax error" not in result.stderr
    if sys.version_info < (3, 12):
        assert "src/worker/jobs.py:1: syntax not checked: not valid Python 3." in result.stderr
        assert "give --python PATH" in result.stderr
    (example / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.14"\n')
    result = run(
        "decide", "--config-root", "none", "--root", "src", "src/worker/jobs.py", cwd=example
    )
    assert "syntax error" not in result.stderr
    if sys.version_info < (3, 14):
        assert "syntax of 1 changed Python file(s) not checked: the project requires" in (
            result.stderr
        )


def test_decide_does_not_import_pystemd(example: Path) -> None:
    code = (
        "import sys; from smartrestart.cli.main import cli\n"
        "try:\n    cli(['decide', '--config-root', 'none', '--root', 'src', 'src/lib/db.py'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pystemd', 'lxml')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=example, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith("[]")


# Imported by pathlib (with ntpath and fnmatch): about 3 ms of a warm decide.
PATHLIB_AND_ITS_IMPORTS = ("pathlib", "urllib.parse", "ipaddress")
# The console script's entry, reporting at its os._exit which of those it imported.
REPORTING_ENTRY = """
import os, sys
real_exit = os._exit
def exit_reporting(code):
    imported = sorted(m for m in {watched!r} if m in sys.modules)
    print("imported:", imported, file=sys.stderr, flush=True)
    real_exit(code)
os._exit = exit_reporting
sys.argv = ["smartrestart", *sys.argv[1:]]
from smartrestart.cli.entry import main
main()
"""


def imported_by_decide(*args: str, cwd: Path) -> list[str]:
    """Which of :data:`PATHLIB_AND_ITS_IMPORTS` ``smartrestart decide ARGS`` imported."""
    code = REPORTING_ENTRY.format(watched=PATHLIB_AND_ITS_IMPORTS)
    # Coverage's start-up in a measured subprocess imports pathlib itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    result = subprocess.run(
        [sys.executable, "-c", code, "decide", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "restart_app\n"
    last = result.stderr.splitlines()[-1]
    assert last.startswith("imported: "), result.stderr
    return list(ast.literal_eval(last.removeprefix("imported: ")))


def test_decide_does_not_import_pathlib_plain_or_warm(tmp_path: Path) -> None:
    """pathlib costs a warm decide about 3 ms of start-up: its usual paths do without it."""
    rules = write_rules(
        tmp_path,
        "actions:\n  restart_app: {units: [app.service]}\n"
        "rules:\n  - {pattern: '**', actions: [restart_app]}\n",
    )
    tree = write_tree(
        tmp_path / "tree",
        {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n", "pkg/b.py": "from pkg import a\n"},
    )
    leaf = str(tree / "pkg/a.py")
    assert imported_by_decide("-r", rules, leaf, cwd=tmp_path) == []
    graph = ("--config-root", str(tmp_path / "none"), "-r", rules, "--root", str(tree))
    cache = tmp_path / "cache"
    imported_by_decide(*graph, "--cache-dir", str(cache), leaf, cwd=tmp_path)  # cold
    assert any(cache.iterdir()), "the cold run wrote the cache"
    assert imported_by_decide(*graph, "--cache-dir", str(cache), leaf, cwd=tmp_path) == []


def test_version_and_help() -> None:
    version = run("--version", cwd=Path.cwd())
    assert version.stdout.startswith("smartrestart, version ")
    for command in ("decide", "completion"):
        helped = run(command, "--help", cwd=Path.cwd())
        assert helped.returncode == 0
        assert "Usage: smartrestart " + command in helped.stdout


def test_completion_script() -> None:
    result = run("completion", "bash", cwd=Path.cwd())
    assert "_SMARTRESTART_COMPLETE" in result.stdout


def test_from_dpkg_takes_the_files_of_an_installed_package(tmp_path: Path) -> None:
    """dpkg lists /bin/hostname; on merged /usr its canonical path is /usr/bin/hostname.

    The pattern is written as dpkg spells it and still matches: absolute
    patterns are resolved the way the paths are.
    """
    write_rules(
        tmp_path,
        "actions: {host: {}}\nrules:\n  - {pattern: '/bin/hostname', actions: [host]}\n",
        "restart-rules.yaml",
    )
    result = run(
        "decide", "--config-root", "none", "--json", "--from-dpkg", "hostname", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert os.path.realpath("/bin") + "/hostname" in data["changed"]
    assert all(not p.endswith("/") for p in data["changed"])  # directories are left out
    assert [a["name"] for a in data["actions"]] == ["host"]


def test_from_dpkg_unknown_package_is_exit_2(tmp_path: Path) -> None:
    write_rules(tmp_path, "actions: {}\n", "restart-rules.yaml")
    result = run(
        "decide", "--config-root", "none", "--from-dpkg", "no-such-package-xyz", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--from-dpkg no-such-package-xyz" in result.stderr


def test_import_roots_in_a_fragment_expand_like_root(example: Path) -> None:
    """A package fragment asks for the import graph itself: no --root on the command line."""
    fragments = example / "config/etc/smartrestart/rules.d"
    fragments.mkdir(parents=True)
    rules = (example / "restart-rules.yaml").read_text()
    (example / "restart-rules.yaml").unlink()
    (fragments / "app.yaml").write_text(rules + f"import_roots: [{example / 'src'}]\n")
    result = run("decide", "--config-root", str(example / "config"), "src/lib/auth.py", cwd=example)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "restart_api\nrestart_worker\n"


def test_an_import_root_that_is_no_directory_is_exit_2_with_file_and_line(example: Path) -> None:
    rules = (example / "restart-rules.yaml").read_text()
    (example / "restart-rules.yaml").write_text(rules + "import_roots: [src, nowhere]\n")
    result = run("decide", "--config-root", str(example / "none"), "src/lib/auth.py", cwd=example)
    assert result.returncode == 2
    assert f"restart-rules.yaml:{len(rules.splitlines()) + 1}: import_roots[1]: " in result.stderr
    assert f"{example.resolve()}/nowhere is not a directory" in result.stderr


def test_from_the_root_directory_absolute_patterns_match(tmp_path: Path) -> None:
    """Where maintainer scripts and the dpkg trigger run: the paths stay absolute."""
    rules = write_rules(
        tmp_path,
        "actions: {a: {units: [a.service]}}\nrules: [{pattern: '/usr/lib/app/**', actions: [a]}]\n",
    )
    result = run(
        "decide",
        "-r",
        str(rules),
        "--config-root",
        str(tmp_path / "none"),
        "/usr/lib/app/x.py",
        cwd=Path("/"),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert (result.returncode, result.stdout) == (0, "a\n"), result.stderr


def test_a_file_name_that_is_not_utf8_goes_out_as_it_came_in(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "pkg/a.py").write_text("")
    (tmp_path / os.fsdecode(b"pkg/caf\xe9.py")).write_text("import pkg.a\n")
    rules = write_rules(tmp_path, "actions:\n  x: {}\nrules:\n  - {pattern: '**', actions: [x]}\n")
    decide = ["decide", "--config-root", "none", "-r", rules, "--root", "."]
    completed = subprocess.run(
        [sys.executable, "-m", "smartrestart", *decide, "--show-expanded", "pkg/a.py"],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / ".cache")},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == b"x\n"
    assert b"pkg/caf\xe9.py" in completed.stderr  # the name's own bytes, as ls prints them
