"""apply on units nobody here wrote: Debian 13's own openssh-server, nginx and postgresql.

The debian13 bed boots only basic.target, so each test starts the server it
needs first. Aliases (sshd.service is ssh.service), reloadable daemons
(nginx keeps its MainPID across a reload), template instances
(postgresql@17-main.service), and package file lists (--from-dpkg) are what
real deploys meet and what unit files written for tests do not show.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import jsonschema
import pytest

from tests.integration.helpers import apply_json, invocation, make_app, one_unit_rules
from tests.testbed import PROJECT, TestBed

SCHEMA = json.loads((PROJECT / "src/smartrestart/schemas/apply-report.schema.json").read_text())


def started(bed: TestBed, unit: str) -> None:
    bed.systemctl("start", unit)
    assert bed.show(unit, "ActiveState")["ActiveState"] == "active"


def only_step(report: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(report, SCHEMA)
    (step,) = report["steps"]
    assert isinstance(step, dict)
    return step


def test_sshd_alias_restarts_ssh_and_reports_under_the_name_asked(
    debian13: TestBed, unit_name: str
) -> None:
    started(debian13, "ssh.service")
    assert "sshd.service" in debian13.show("ssh.service", "Names")["Names"].split()
    before = invocation(debian13, "ssh.service")
    app = make_app(debian13, unit_name, one_unit_rules("sshd.service"))
    code, report = apply_json(debian13, app, "sshd_config")
    step = only_step(report)
    assert code == 0, report
    assert (step["unit"], step["unit_id"], step["result"]) == (
        "sshd.service",
        "ssh.service",
        "restarted",
    )
    assert step["old_invocation_id"] == before != invocation(debian13, "ssh.service")
    assert step["new_invocation_id"] == invocation(debian13, "ssh.service")
    entries = debian13.journal("-o", "json", "SMARTRESTART_UNIT=sshd.service")
    assert '"SMARTRESTART_RESULT":"restarted"' in entries.replace(" ", "")


def test_ssh_and_sshd_in_one_group_is_one_restart(debian13: TestBed, unit_name: str) -> None:
    started(debian13, "ssh.service")
    app = make_app(
        debian13,
        unit_name,
        """\
        actions:
          by_alias: {order: 10, units: [sshd.service]}
          by_id: {order: 10, units: [ssh.service], mode: reload-or-restart}
        rules:
          - {pattern: "**", actions: [by_alias, by_id]}
        """,
    )
    code, report = apply_json(debian13, app, "x")
    step = only_step(report)
    assert code == 0, report
    assert step["actions"] == ["by_alias", "by_id"]
    assert step["mode"] == "restart"
    assert step["result"] == "restarted"


def test_nginx_reload_keeps_its_main_process(debian13: TestBed, unit_name: str) -> None:
    started(debian13, "nginx.service")
    before = debian13.show("nginx.service", "MainPID", "InvocationID")
    app = make_app(
        debian13,
        unit_name,
        """\
        actions:
          reload_web: {units: [nginx.service], mode: reload}
        rules:
          - {pattern: "**", actions: [reload_web]}
        """,
    )
    code, report = apply_json(debian13, app, "site.conf")
    step = only_step(report)
    assert code == 0, report
    assert step["result"] == "reloaded"
    after = debian13.show("nginx.service", "MainPID", "InvocationID")
    assert after == before
    assert int(after["MainPID"]) > 0


def test_postgresql_instance_restarts_by_instance_name(debian13: TestBed, unit_name: str) -> None:
    instance = "postgresql@17-main.service"
    started(debian13, instance)
    before = invocation(debian13, instance)
    app = make_app(debian13, unit_name, one_unit_rules(instance))
    code, report = apply_json(debian13, app, "schema.sql")
    step = only_step(report)
    assert code == 0, report
    assert (step["unit"], step["unit_id"], step["result"]) == (instance, instance, "restarted")
    assert invocation(debian13, instance) not in ("", before)
    assert debian13.show(instance, "ActiveState")["ActiveState"] == "active"


def test_try_restart_of_a_failed_unit_leaves_it_failed(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sh -c 'exit 3'\n")
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: bed.show(unit, "ActiveState")["ActiveState"] == "failed")
    app = make_app(
        bed,
        unit_name,
        f"actions:\n  a: {{units: [{unit}], mode: try-restart}}\n"
        "rules:\n  - {pattern: '**', actions: [a]}\n",
    )
    code, report = apply_json(bed, app, "x")
    step = only_step(report)
    assert code == 0, report
    assert step["result"] == "not-running"
    assert bed.show(unit, "ActiveState", "Result") == {
        "ActiveState": "failed",
        "Result": "exit-code",
    }
    assert unit in bed.systemctl("--failed", "--plain", "--no-legend").stdout


def test_a_run_action_whose_name_systemd_would_refuse(bed: TestBed, unit_name: str) -> None:
    marker = f"/var/tmp/{unit_name}.migrated"
    app = make_app(
        bed,
        unit_name,
        f"""\
        actions:
          migrate+seed: {{run: "echo migrating; id -u > {marker}"}}
        rules:
          - {{pattern: "**", actions: [migrate+seed]}}
        """,
    )
    code, report = apply_json(bed, app, "db/schema.sql")
    step = only_step(report)
    assert code == 0, report
    assert step["result"] == "succeeded"
    assert step["unit"].startswith("smartrestart-run-migrate\\x2bseed-")
    assert bed.read(marker) == "0\n"
    assert "migrating" in bed.journal("-u", step["unit"], "-o", "cat")


def test_from_dpkg_with_an_absolute_rule_reloads_nginx(debian13: TestBed, unit_name: str) -> None:
    started(debian13, "nginx.service")
    main_pid = debian13.show("nginx.service", "MainPID")["MainPID"]
    app = make_app(
        debian13,
        unit_name,
        """\
        actions:
          reload_web: {units: [nginx.service], mode: reload}
        rules:
          - {pattern: "/etc/nginx/**", actions: [reload_web]}
          - {pattern: "/**", actions: []}
        """,
    )
    code, report = apply_json(debian13, app, "--from-dpkg", "nginx-common")
    step = only_step(report)
    assert code == 0, report
    assert step["result"] == "reloaded"
    assert "/etc/nginx/nginx.conf" in step["trigger"]
    assert debian13.show("nginx.service", "MainPID")["MainPID"] == main_pid


CAPISTRANO_RULES = """\
actions:
  restart_api: {units: [UNIT]}
rules:
  - {pattern: "src/api/**", actions: [restart_api]}
"""


def capistrano(bed: TestBed, unit_name: str) -> tuple[str, str]:
    """/srv/NAME/current -> releases/2, whose api imports lib.db; returns (current, unit)."""
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    bed.systemctl("start", unit)
    base = f"/srv/{unit_name}"
    release = f"{base}/releases/2"
    bed.write(f"{release}/restart-rules.yaml", CAPISTRANO_RULES.replace("UNIT", unit))
    for path, text in {
        "src/lib/__init__.py": "",
        "src/lib/db.py": "X = 1\n",
        "src/api/__init__.py": "",
        "src/api/server.py": "from lib import db\n",
    }.items():
        bed.write(f"{release}/{path}", text)
    bed.run("ln", "-s", "releases/2", f"{base}/current")
    return f"{base}/current", unit


def apply_from(bed: TestBed, cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    return bed.run(
        "env",
        f"PWD={cwd}",
        bed.python,
        "-m",
        "smartrestart",
        "apply",
        "--config-root",
        "/nonexistent",
        "--json",
        *args,
        cwd=cwd,
        check=False,
    )


def test_capistrano_layout_with_root_restarts_the_importer(bed: TestBed, unit_name: str) -> None:
    current, unit = capistrano(bed, unit_name)
    before = invocation(bed, unit)
    result = apply_from(bed, current, "--root", "src", "src/lib/db.py")
    assert result.returncode == 0, result.stderr
    step = only_step(json.loads(result.stdout))
    assert (step["unit"], step["result"]) == (unit, "restarted")
    assert step["trigger"] == ["src/api/server.py"]
    assert invocation(bed, unit) != before


def test_capistrano_layout_with_git_restarts_the_importer(
    debian12: TestBed, unit_name: str
) -> None:
    """git is on the host's /usr, which the 252 bed boots from."""
    current, unit = capistrano(debian12, unit_name)
    release = current.replace("current", "releases/2")
    git = ["git", "-C", release, "-c", "user.name=t", "-c", "user.email=t@t"]
    debian12.run(*git, "init", "-q")
    debian12.run(*git, "add", "-A")
    debian12.run(*git, "commit", "-qm", "one")
    debian12.write(f"{release}/src/lib/db.py", "X = 2\n")
    debian12.run(*git, "commit", "-qam", "two")
    before = invocation(debian12, unit)
    result = apply_from(debian12, current, "--root", "src", "--git", "HEAD~1..HEAD")
    assert result.returncode == 0, result.stderr
    step = only_step(json.loads(result.stdout))
    assert (step["unit"], step["result"]) == (unit, "restarted")
    assert invocation(debian12, unit) != before


@pytest.mark.parametrize("mode", ["restart", "start"])
def test_a_deploy_clears_the_start_counter_only_of_units_it_starts(
    bed: TestBed, unit_name: str, mode: str
) -> None:
    """A unit one start away from its start limit: restart clears the counter, so the
    deploy's start is not refused; start of a running unit starts nothing and clears
    nothing."""
    unit = f"{unit_name}.service"
    limited = "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=1h\n"
    bed.install_unit(unit, limited + "[Service]\nExecStart=/bin/sleep infinity\n")
    bed.systemctl("start", unit)
    bed.systemctl("restart", unit)  # two starts: the limit is reached
    app = make_app(
        bed,
        unit_name,
        f"actions:\n  a: {{units: [{unit}], mode: {mode}}}\n"
        "rules:\n  - {pattern: '**', actions: [a]}\n",
    )
    code, report = apply_json(bed, app, "x")
    step = only_step(report)
    assert code == 0, report
    assert step["result"] == ("restarted" if mode == "restart" else "already-active")
    # Without the reset, a third start inside the hour would have been refused.
    refused = bed.systemctl("restart", unit, check=False).returncode != 0
    assert refused is (mode == "start")


def test_syntax_of_newer_python_is_checked_with_the_projects_interpreter(
    debian13: TestBed, unit_name: str
) -> None:
    """Debian 13's python3.13 accepts `type X = ...`; a real error is still one."""
    app = make_app(debian13, unit_name, one_unit_rules("nothing.service"))
    debian13.write(f"{app}/src/new.py", "type Jobs = list[int]\nprint(f'{'nested'}')\n")
    debian13.write(f"{app}/src/bad.py", "def broken(:\n")
    result = debian13.smartrestart(
        "decide", "--config-root", "/nonexistent", "--root", "src", "--python",
        "/usr/bin/python3.13", "src/new.py", "src/bad.py", cwd=app,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "src/new.py" not in result.stderr
    assert "src/bad.py:1: syntax error: invalid syntax" in result.stderr
