"""A file that anyone but root could write never makes root run anything (real systemd)."""

from __future__ import annotations

import textwrap

from tests.integration.helpers import apply, apply_json, invocation, make_app, one_unit_rules
from tests.testbed import TestBed


def run_rules(marker: str, user: str = "") -> str:
    as_user = f", user: {user}" if user else ""
    return textwrap.dedent(
        f"""\
        actions:
          who: {{run: "id -u > {marker}"{as_user}}}
        rules:
          - {{pattern: "**", actions: [who]}}
        """
    )


def transient_run_units(bed: TestBed) -> str:
    return bed.systemctl(
        "list-units", "--all", "--plain", "--no-legend", "smartrestart-run-*"
    ).stdout


def test_rules_owned_by_nobody_are_refused_and_nothing_runs(bed: TestBed, unit_name: str) -> None:
    marker = f"/var/tmp/{unit_name}.who"
    app = make_app(bed, unit_name, run_rules(marker))
    bed.run("chown", "nobody:nogroup", f"{app}/restart-rules.yaml")
    before = transient_run_units(bed)
    result = apply(bed, app, "x")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"refusing the rules file {app}/restart-rules.yaml: it is owned by nobody" in (
        result.stderr
    )
    assert bed.read(marker) == ""
    assert transient_run_units(bed) == before


def test_roots_rules_in_a_directory_nobody_can_write_are_refused(
    bed: TestBed, unit_name: str
) -> None:
    marker = f"/var/tmp/{unit_name}.who"
    app = make_app(bed, unit_name, run_rules(marker))
    bed.run("chown", "nobody:nogroup", app)
    result = apply(bed, app, "x")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"its directory {app} is owned by nobody" in result.stderr
    assert bed.read(marker) == ""


def test_a_world_writable_fragment_is_refused_by_every_command(
    bed: TestBed, unit_name: str
) -> None:
    fragment = f"/etc/smartrestart/rules.d/{unit_name}.yaml"
    bed.write(fragment, one_unit_rules("nothing.service"), mode=0o666)
    try:
        for command in (
            ["decide", "x"],
            ["apply", "x"],
            ["generate", "--check", "--unit-dir", f"/var/tmp/{unit_name}"],
        ):
            result = bed.smartrestart(*command, cwd="/")
            assert result.returncode == 2, (command, result.stdout, result.stderr)
            assert f"refusing the rules file {fragment}: it is writable by group or others" in (
                result.stderr
            ), command
    finally:
        bed.run("rm", "-f", fragment)


def test_a_run_action_runs_as_the_user_it_names(bed: TestBed, unit_name: str) -> None:
    marker = f"/var/tmp/{unit_name}.who"
    bed.run("install", "-d", "-m", "1777", "/var/tmp")
    app = make_app(bed, unit_name, run_rules(marker, user="nobody"))
    code, report = apply_json(bed, app, "x")
    assert code == 0, report
    assert report["decision"]["actions"][0]["user"] == "nobody"
    assert bed.read(marker) == "65534\n"


def test_a_lock_another_user_planted_in_run_lock_changes_nothing(
    bed: TestBed, unit_name: str
) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    bed.systemctl("start", unit)
    before = invocation(bed, unit)
    bed.run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "touch",
            "/run/lock/smartrestart.lock")  # fmt: skip
    assert bed.run("stat", "-c", "%U", "/run/lock/smartrestart.lock").stdout == "nobody\n"
    app = make_app(bed, unit_name, one_unit_rules(unit))
    code, report = apply_json(bed, app, "x")
    assert code == 0, report
    assert invocation(bed, unit) != before
    mode = bed.run("stat", "-c", "%a %U", "/run/smartrestart").stdout
    assert mode == "755 root\n"


def test_a_cache_another_user_could_write_is_ignored_and_the_decision_holds(
    bed: TestBed, unit_name: str
) -> None:
    app = make_app(
        bed,
        unit_name,
        """\
        actions:
          restart_api: {units: [api.service]}
        rules:
          - {pattern: "src/api/**", actions: [restart_api]}
        """,
    )
    for path, text in {
        "src/lib/__init__.py": "",
        "src/lib/db.py": "X = 1\n",
        "src/api/__init__.py": "",
        "src/api/server.py": "from lib import db\n",
    }.items():
        bed.write(f"{app}/{path}", text)
    decide = ["decide", "--config-root", "/nonexistent", "--root", "src", "src/lib/db.py"]
    fresh = bed.smartrestart(*decide, "--no-cache", cwd=app)
    assert (fresh.returncode, fresh.stdout) == (0, "restart_api\n"), fresh.stderr
    bed.smartrestart(*decide, cwd=app)  # writes root's cache
    bed.run("chmod", "0777", "/var/cache/smartrestart")
    try:
        poisoned = bed.smartrestart(*decide, cwd=app)
        assert (poisoned.returncode, poisoned.stdout) == (0, fresh.stdout)
        assert "import cache /var/cache/smartrestart not used" in poisoned.stderr
        assert "writable by group or others" in poisoned.stderr
    finally:
        bed.run("chmod", "0700", "/var/cache/smartrestart")
