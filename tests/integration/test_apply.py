"""`smartrestart apply` against a real systemd: exactly the decided units, in order, verified."""

from __future__ import annotations

import json
import subprocess
import time

import jsonschema

from tests.integration.helpers import (
    apply,
    apply_json,
    invocation,
    make_app,
    notify_service,
    one_unit_rules,
)
from tests.testbed import PROJECT, TestBed

SCHEMA = json.loads((PROJECT / "src/smartrestart/schemas/apply-report.schema.json").read_text())


def three_services(bed: TestBed, name: str) -> tuple[str, str, str, str]:
    """api and worker in order group 20, web in group 30; all started."""
    api, worker, web = (f"{name}-{part}.service" for part in ("api", "worker", "web"))
    for unit in (api, worker, web):
        bed.install_unit(unit, notify_service(0.1), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", api, worker, web)
    app = make_app(
        bed,
        name,
        f"""\
        actions:
          restart_api: {{order: 20, units: [{api}]}}
          restart_worker: {{order: 20, units: [{worker}]}}
          reload_web: {{order: 30, units: [{web}], mode: restart}}
        rules:
          - {{pattern: "api/**", actions: [restart_api]}}
          - {{pattern: "worker/**", actions: [restart_worker]}}
          - {{pattern: "web/**", actions: [reload_web]}}
          - {{pattern: "**/*.md", actions: []}}
        """,
    )
    return app, api, worker, web


def test_restarts_exactly_the_matching_unit(bed: TestBed, unit_name: str) -> None:
    app, api, worker, web = three_services(bed, unit_name)
    before = {u: invocation(bed, u) for u in (api, worker, web)}
    code, report = apply_json(bed, app, "worker/jobs.py", "README.md")
    assert code == 0
    jsonschema.validate(report, SCHEMA)
    assert report["changed"] is True
    (step,) = report["steps"]
    assert (step["unit"], step["result"], step["ok"]) == (worker, "restarted", True)
    assert step["old_invocation_id"] == before[worker]
    assert step["new_invocation_id"] == invocation(bed, worker) != before[worker]
    assert invocation(bed, api) == before[api]
    assert invocation(bed, web) == before[web]


def test_groups_run_in_order(bed: TestBed, unit_name: str) -> None:
    app, api, worker, web = three_services(bed, unit_name)
    code, report = apply_json(bed, app, "web/index.html", "api/x.py", "worker/y.py")
    assert code == 0
    assert [(s["order"], s["unit"]) for s in report["steps"]] == [
        (20, api),
        (20, worker),
        (30, web),
    ]
    times = {
        u: int(bed.show(u, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])
        for u in (api, worker, web)
    }
    assert max(times[api], times[worker]) <= times[web]


def test_waits_for_ready_of_notify_units(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, notify_service(2.0))
    bed.systemctl("start", unit)
    app = make_app(
        bed,
        unit_name,
        one_unit_rules(unit),
    )
    started = time.monotonic()
    code, report = apply_json(bed, app, "anything")
    elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed >= 2.0
    assert report["steps"][0]["seconds"] >= 2.0
    assert bed.show(unit, "ActiveState")["ActiveState"] == "active"
    # The unit was ready (READY=1 received) when apply returned, not merely started.
    enter = int(bed.show(unit, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])
    exit_enter = int(
        bed.show(unit, "InactiveExitTimestampMonotonic")["InactiveExitTimestampMonotonic"]
    )
    assert enter - exit_enter >= 2_000_000


def test_failed_start_stops_before_next_group(bed: TestBed, unit_name: str) -> None:
    broken, later = f"{unit_name}-broken.service", f"{unit_name}-later.service"
    bed.install_unit(
        broken,
        "[Service]\nType=notify\nExecStart=/bin/sh -c 'echo boom >&2; exit 3'\n",
        reload=False,
    )
    bed.install_unit(later, notify_service(0.0), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", later)
    later_before = invocation(bed, later)
    app = make_app(
        bed,
        unit_name,
        f"""\
        actions:
          first: {{order: 10, units: [{broken}]}}
          second: {{order: 20, units: [{later}]}}
        rules:
          - {{pattern: '**', actions: [first, second]}}
        """,
    )
    code, report = apply_json(bed, app, "x")
    jsonschema.validate(report, SCHEMA)
    assert code == 1
    assert report["failed"] == [broken]
    first, second = report["steps"]
    assert (first["unit"], first["result"], first["job_result"]) == (broken, "failed", "failed")
    assert first["unit_result"] == "exit-code"
    assert (second["unit"], second["result"]) == (later, "not-run")
    assert invocation(bed, later) == later_before

    code, report = apply_json(bed, app, "--keep-going", "x")
    assert code == 1
    assert report["steps"][1]["result"] == "restarted"


def test_unknown_unit_stops_before_anything_restarts(bed: TestBed, unit_name: str) -> None:
    real = f"{unit_name}-real.service"
    bed.install_unit(real, notify_service(0.0))
    bed.systemctl("start", real)
    before = invocation(bed, real)
    app = make_app(
        bed,
        unit_name,
        f"""\
        actions:
          real: {{order: 10, units: [{real}]}}
          ghost: {{order: 20, units: [{unit_name}-ghost.service]}}
        rules:
          - {{pattern: '**', actions: [real, ghost]}}
        """,
    )
    result = apply(bed, app, "x")
    assert result.returncode == 2
    assert f"{unit_name}-ghost.service: no such unit" in result.stderr
    assert "nothing was restarted" in result.stderr
    assert invocation(bed, real) == before


def test_masked_unit_is_refused(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.run("ln", "-sf", "/dev/null", f"/etc/systemd/system/{unit}")
    bed.systemctl("daemon-reload")
    app = make_app(
        bed,
        unit_name,
        one_unit_rules(unit),
    )
    result = apply(bed, app, "x")
    assert result.returncode == 2
    assert f"{unit}: unit is masked" in result.stderr


def test_run_action_output_in_journal_and_exit_status_decides(bed: TestBed, unit_name: str) -> None:
    app = make_app(
        bed,
        unit_name,
        """\
        actions:
          migrate: {order: 10, run: "echo migrating in $PWD; exit ${FAIL:-0}"}
          fails: {order: 20, run: [/bin/sh, -c, "echo about to fail; exit 7"]}
        rules:
          - {pattern: 'ok/**', actions: [migrate]}
          - {pattern: 'bad/**', actions: [fails]}
        """,
    )
    code, report = apply_json(bed, app, "ok/x")
    assert code == 0
    (step,) = report["steps"]
    assert step["result"] == "succeeded"
    transient = step["unit"]
    assert transient.startswith("smartrestart-run-migrate-")
    assert f"migrating in {app}" in bed.journal("-u", transient)

    code, report = apply_json(bed, app, "bad/x")
    assert code == 1
    (step,) = report["steps"]
    assert (step["result"], step["detail"], step["unit_result"]) == (
        "failed",
        "exit status 7",
        "exit-code",
    )
    assert "about to fail" in bed.journal("-u", step["unit"])
    # The failed transient unit was collected, not left behind in `systemctl --failed`.
    assert step["unit"] not in bed.systemctl("list-units", "--failed", "--plain").stdout


def test_second_apply_waits_or_exits_4(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, notify_service(2.0))
    app = make_app(
        bed,
        unit_name,
        one_unit_rules(unit),
    )
    lock = f"--lock-file=/run/lock/{unit_name}.lock"
    command = [
        "nsenter",
        "-t",
        str(bed.init_pid),
        "-a",
        "env",
        "-C",
        app,
        bed.python,
        "-m",
        "smartrestart",
        "apply",
        "--config-root",
        "/nonexistent",
        lock,
        "x",
    ]
    first = subprocess.Popen(
        command, env=bed.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        bed.wait_for(lambda: "pid" in bed.read(f"/run/lock/{unit_name}.lock"), timeout=20)
        busy = apply(bed, app, lock, "x")
        assert busy.returncode == 4
        assert "another smartrestart apply holds" in busy.stderr
        assert "smartrestart apply" in busy.stderr  # says who holds it
        waited = apply(bed, app, lock, "--wait-lock", "30", "x")
        assert waited.returncode == 0, waited.stderr
    finally:
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_dry_run_touches_nothing(bed: TestBed, unit_name: str) -> None:
    app, api, worker, web = three_services(bed, unit_name)
    before = {u: invocation(bed, u) for u in (api, worker, web)}
    code, report = apply_json(bed, app, "--dry-run", "api/x.py", "web/y")
    jsonschema.validate(report, SCHEMA)
    assert code == 0
    assert report["changed"] is False
    assert [s["result"] for s in report["steps"]] == ["planned", "planned"]
    assert {u: invocation(bed, u) for u in (api, worker, web)} == before


def test_journal_entries_filterable_by_unit_and_message_id(bed: TestBed, unit_name: str) -> None:
    app, api, _worker, _web = three_services(bed, unit_name)
    code, _ = apply_json(bed, app, "api/x.py")
    assert code == 0
    entries = [
        json.loads(line)
        for line in bed.journal(f"SMARTRESTART_UNIT={api}", "-o", "json").splitlines()
    ]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["MESSAGE_ID"] == "657f3673ed8d4f64b6306aa412f8b19f"
    assert entry["SMARTRESTART_ACTION"] == "restart_api"
    assert entry["SMARTRESTART_RESULT"] == "restarted"
    assert entry["SMARTRESTART_TRIGGER"] == "api/x.py"
    assert int(entry["SMARTRESTART_DURATION_USEC"]) > 0
    by_id = bed.journal(
        "MESSAGE_ID=657f3673ed8d4f64b6306aa412f8b19f", f"SMARTRESTART_UNIT={api}", "-o", "cat"
    )
    assert f"{api}: restarted (restart_api)" in by_id


def test_catalog_explains_entries(bed: TestBed, unit_name: str) -> None:
    catalog = (PROJECT / "packaging/catalog/smartrestart.catalog").read_text()
    bed.write("/usr/lib/systemd/catalog/smartrestart.catalog", catalog)
    bed.run("journalctl", "--update-catalog")
    app, api, _worker, _web = three_services(bed, unit_name)
    apply_json(bed, app, "api/x.py")
    explained = bed.journal(f"SMARTRESTART_UNIT={api}", "-x")
    assert "smartrestart ran a restart job on" in explained


def test_daemon_reload_first_when_a_unit_file_changed(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, notify_service(0.0))
    bed.systemctl("start", unit)
    bed.write(f"/etc/systemd/system/{unit}", notify_service(0.0, "Environment=CHANGED=1\n"))
    assert bed.show(unit, "NeedDaemonReload")["NeedDaemonReload"] == "yes"
    app = make_app(
        bed,
        unit_name,
        one_unit_rules(unit),
    )
    code, report = apply_json(bed, app, "x")
    assert code == 0
    assert report["daemon_reloaded"] is True
    assert bed.show(unit, "Environment")["Environment"] == "CHANGED=1"


def test_modes_reload_start_try_restart(bed: TestBed, unit_name: str) -> None:
    reloadable, stopped, idle = (f"{unit_name}-{p}.service" for p in ("reload", "start", "try"))
    bed.install_unit(reloadable, notify_service(0.0, "ExecReload=/bin/true\n"), reload=False)
    bed.install_unit(stopped, notify_service(0.0), reload=False)
    bed.install_unit(idle, notify_service(0.0), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", reloadable)
    before = invocation(bed, reloadable)
    app = make_app(
        bed,
        unit_name,
        f"""\
        actions:
          r: {{units: [{reloadable}], mode: reload}}
          s: {{units: [{stopped}], mode: start}}
          t: {{units: [{idle}], mode: try-restart}}
        rules:
          - {{pattern: '**', actions: [r, s, t]}}
        """,
    )
    code, report = apply_json(bed, app, "x")
    assert code == 0
    results = {s["unit"]: s["result"] for s in report["steps"]}
    assert results == {reloadable: "reloaded", stopped: "started", idle: "not-running"}
    assert invocation(bed, reloadable) == before
    assert bed.show(idle, "ActiveState")["ActiveState"] == "inactive"
    code, report = apply_json(bed, app, "x")
    assert {s["unit"]: s["result"] for s in report["steps"]}[stopped] == "already-active"


def test_unprivileged_caller_gets_exit_3(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, notify_service(0.0))
    app = make_app(
        bed,
        unit_name,
        one_unit_rules(unit),
    )
    result = bed.run(
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        bed.python,
        "-m",
        "smartrestart",
        "apply",
        "--config-root",
        "/nonexistent",
        f"--lock-file=/tmp/{unit_name}.lock",
        "x",
        check=False,
        cwd=app,
    )
    assert result.returncode == 3, result.stderr
    assert "run as root or grant polkit rights" in result.stderr


def test_no_bus_gets_exit_3(bed: TestBed, unit_name: str) -> None:
    app = make_app(
        bed,
        unit_name,
        "actions:\n  a: {units: [x.service]}\nrules:\n  - {pattern: '**', actions: [a]}\n",
    )
    result = bed.run(
        bed.python,
        "-m",
        "smartrestart",
        "apply",
        "--config-root",
        "/nonexistent",
        f"--lock-file=/tmp/{unit_name}.lock",
        "x",
        env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/socket"},
        check=False,
        cwd=app,
    )
    assert result.returncode == 3
    assert "cannot reach the system bus" in result.stderr


def test_nothing_to_do_is_exit_0_without_systemd(bed: TestBed, unit_name: str) -> None:
    app = make_app(
        bed,
        unit_name,
        "actions:\n  a: {units: [x.service]}\nrules:\n  - {pattern: 'src/**', actions: [a]}\n",
    )
    result = apply(bed, app, "docs/readme.txt")
    assert result.returncode == 0
    assert result.stdout == "nothing to do\n"


def test_from_dpkg_asks_policy_rc_d_like_deb_systemd_invoke(bed: TestBed, unit_name: str) -> None:
    allowed, forbidden = f"{unit_name}-allowed.service", f"{unit_name}-forbidden.service"
    for unit in (allowed, forbidden):
        bed.install_unit(unit, notify_service(0.0), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", allowed, forbidden)
    before = {u: invocation(bed, u) for u in (allowed, forbidden)}
    app = make_app(
        bed,
        unit_name,
        f"""\
        actions:
          a: {{units: [{allowed}]}}
          f: {{units: [{forbidden}]}}
        rules:
          - {{pattern: /usr/bin/dpkg, actions: [a, f]}}
        """,
    )
    bed.write(
        "/usr/sbin/policy-rc.d", f'#!/bin/sh\n[ "$1" = "{forbidden}" ] && exit 101\nexit 0\n', 0o755
    )
    try:
        code, report = apply_json(bed, app, "--from-dpkg", "dpkg")
    finally:
        bed.run("rm", "-f", "/usr/sbin/policy-rc.d")
    jsonschema.validate(report, SCHEMA)
    assert code == 0
    results = {s["unit"]: s["result"] for s in report["steps"]}
    assert results == {allowed: "restarted", forbidden: "denied-by-policy"}
    assert invocation(bed, allowed) != before[allowed]
    assert invocation(bed, forbidden) == before[forbidden]


def test_timeout_ends_the_wait_with_a_clear_error(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    never_ready = (
        "[Service]\nType=notify\nTimeoutStartSec=infinity\nExecStart=/bin/sleep infinity\n"
    )
    bed.install_unit(unit, never_ready)
    app = make_app(bed, unit_name, one_unit_rules(unit))
    started = time.monotonic()
    code, report = apply_json(bed, app, "--timeout", "1", "x")
    assert time.monotonic() - started < 10
    assert code == 1
    (step,) = report["steps"]
    assert step["result"] == "timed-out"
    assert "no result within 1 s" in step["detail"]
    bed.systemctl("stop", unit)
