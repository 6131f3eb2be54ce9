"""`smartrestart apply`'s jobs in a real systemd: start limits, groups at once, partial failure.

What test_apply.py does not reach: the start counter a deploy clears, jobs of
one group running side by side, reload-or-restart choosing, one job of a group
failing or refused while the others go on, a `run:` command outlasting
--timeout, units systemd cannot load, and every policy-rc.d answer.
"""

from __future__ import annotations

import json

import jsonschema

from smartrestart.journal.events import EVENTS
from tests.integration.helpers import (
    apply,
    apply_json,
    invocation,
    make_app,
    notify_service,
    one_unit_rules,
)
from tests.integration.test_apply import SCHEMA
from tests.testbed import TestBed


def monotonic(bed: TestBed, unit: str, prop: str) -> int:
    return int(bed.show(unit, prop)[prop])


def test_a_deploy_restart_never_pushes_a_unit_into_its_start_limit(
    bed: TestBed, unit_name: str
) -> None:
    """StartLimitBurst= counts manual starts too: apply clears the counter first."""
    unit = f"{unit_name}.service"
    limited = "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=1h\n" + notify_service(0.0)
    bed.install_unit(unit, limited)
    bed.systemctl("start", unit)
    bed.systemctl("restart", unit)  # two starts within the hour: at the limit
    app = make_app(bed, unit_name, one_unit_rules(unit))
    for _deploy in range(3):
        code, report = apply_json(bed, app, "x")
        (step,) = report["steps"]
        assert (code, step["result"]) == (0, "restarted"), step
    shown = bed.show(unit, "ActiveState", "Result")
    assert shown == {"ActiveState": "active", "Result": "success"}
    assert "start-limit-hit" not in bed.journal("-u", unit)
    bed.systemctl("stop", unit)


def test_the_jobs_of_a_group_are_queued_at_once(bed: TestBed, unit_name: str) -> None:
    """Three units that take a second each to get ready all start before any is ready."""
    units = [f"{unit_name}-{n}.service" for n in range(3)]
    for unit in units:
        bed.install_unit(unit, notify_service(1.0), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", *units)
    app = make_app(
        bed,
        unit_name,
        "actions:\n"
        + "".join(f"  a{n}: {{order: 10, units: [{unit}]}}\n" for n, unit in enumerate(units))
        + "rules:\n  - {pattern: '**', actions: [a0, a1, a2]}\n",
    )
    code, report = apply_json(bed, app, "x")
    assert code == 0
    assert [s["result"] for s in report["steps"]] == ["restarted"] * 3
    began = [monotonic(bed, u, "InactiveExitTimestampMonotonic") for u in units]
    ready = [monotonic(bed, u, "ActiveEnterTimestampMonotonic") for u in units]
    # One after another, each start would begin after the previous unit was ready.
    assert max(began) < min(ready), (began, ready)
    bed.systemctl("stop", *units)


def test_reload_or_restart_reloads_what_can_reload_and_restarts_the_rest(
    bed: TestBed, unit_name: str
) -> None:
    reloads = f"/srv/{unit_name}/reloads"
    bed.write(reloads, "")
    reloadable, plain, stopped = (f"{unit_name}-{p}.service" for p in ("r", "p", "s"))
    exec_reload = f"ExecReload=/bin/sh -c 'echo $MAINPID >> {reloads}'\n"
    bed.install_unit(reloadable, notify_service(0.0, exec_reload), reload=False)
    bed.install_unit(plain, notify_service(0.0), reload=False)
    bed.install_unit(stopped, notify_service(0.0, exec_reload), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", reloadable, plain)
    before = {u: invocation(bed, u) for u in (reloadable, plain)}
    pid = bed.show(reloadable, "MainPID")["MainPID"]
    app = make_app(
        bed,
        unit_name,
        f"""\
        actions:
          deploy: {{units: [{reloadable}, {plain}, {stopped}], mode: reload-or-restart}}
        rules:
          - {{pattern: '**', actions: [deploy]}}
        """,
    )
    code, report = apply_json(bed, app, "x")
    jsonschema.validate(report, SCHEMA)
    assert code == 0
    results = {s["unit"]: s["result"] for s in report["steps"]}
    assert results == {reloadable: "reloaded", plain: "restarted", stopped: "started"}
    assert invocation(bed, reloadable) == before[reloadable]  # the same process, reloaded
    assert bed.read(reloads).split() == [pid]  # its ExecReload ran once, for it alone
    assert invocation(bed, plain) != before[plain]
    assert bed.show(stopped, "ActiveState")["ActiveState"] == "active"
    bed.systemctl("stop", reloadable, plain, stopped)


def with_a_good_neighbour(
    bed: TestBed, unit_name: str, unit: str, unit_file: str
) -> dict[str, dict[str, object]]:
    """Apply ``unit`` and a running good unit as one action; the report's steps by unit.

    Whatever happens to ``unit``, the good one must be restarted.
    """
    good = f"{unit_name}-good.service"
    bed.install_unit(unit, unit_file, reload=False)
    bed.install_unit(good, notify_service(0.5), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", good)
    before = invocation(bed, good)
    app = make_app(
        bed,
        unit_name,
        f"actions:\n  both: {{units: [{unit}, {good}]}}\n"
        "rules:\n  - {pattern: '**', actions: [both]}\n",
    )
    code, report = apply_json(bed, app, "x")
    jsonschema.validate(report, SCHEMA)
    assert code == 1
    assert report["failed"] == [unit]
    steps = {s["unit"]: s for s in report["steps"]}
    assert steps[good]["result"] == "restarted" and steps[good]["ok"] is True
    assert invocation(bed, good) != before
    assert bed.show(good, "ActiveState")["ActiveState"] == "active"
    bed.systemctl("stop", good)
    return steps


def test_one_failing_job_leaves_the_others_of_its_group_done(bed: TestBed, unit_name: str) -> None:
    broken = f"{unit_name}-broken.service"
    exits_3 = "[Service]\nType=notify\nExecStart=/bin/sh -c 'exit 3'\n"
    steps = with_a_good_neighbour(bed, unit_name, broken, exits_3)
    assert (steps[broken]["result"], steps[broken]["unit_result"]) == ("failed", "exit-code")
    assert steps[broken]["job_result"] == "failed"


def test_a_job_systemd_refuses_fails_its_step_and_the_group_goes_on(
    bed: TestBed, unit_name: str
) -> None:
    refusing = f"{unit_name}-refusing.service"
    refuses = "[Unit]\nRefuseManualStart=yes\n" + notify_service(0.0)
    steps = with_a_good_neighbour(bed, unit_name, refusing, refuses)
    refused = steps[refusing]
    assert refused["result"] == "failed" and refused["job_result"] is None  # no job at all
    assert "may be requested by dependency only" in str(refused["detail"]), refused
    logged = bed.journal(
        f"MESSAGE_ID={EVENTS['unit-job-failed'].message_id}", f"SMARTRESTART_UNIT={refusing}"
    )
    assert "may be requested by dependency only" in logged


def test_a_run_command_outlasting_the_timeout_is_reported_and_keeps_running(
    bed: TestBed, unit_name: str
) -> None:
    app = make_app(
        bed,
        unit_name,
        "actions:\n  slow: {run: 'sleep 60'}\nrules:\n  - {pattern: '**', actions: [slow]}\n",
    )
    code, report = apply_json(bed, app, "--timeout", "1", "x")
    jsonschema.validate(report, SCHEMA)
    assert code == 1
    (step,) = report["steps"]
    run_unit = step["unit"]
    assert step["result"] == "timed-out"
    assert step["detail"] == f"{run_unit} did not finish within 1 s; it keeps running"
    assert 1.0 <= step["seconds"] < 10
    # As the report says: still running, and it can be found and stopped.
    assert bed.show(run_unit, "ActiveState", "SubState") == {
        "ActiveState": "activating",
        "SubState": "start",
    }
    bed.systemctl("stop", run_unit)


def test_units_systemd_cannot_load_stop_the_apply_before_anything_acts(
    bed: TestBed, unit_name: str
) -> None:
    syntax, setting, good = (f"{unit_name}-{p}.service" for p in ("syntax", "setting", "good"))
    bed.install_unit(syntax, "[Service\nExecStart=/bin/true\n", reload=False)  # a syntax error
    bed.install_unit(setting, "[Service]\nType=simple\n", reload=False)  # no ExecStart=
    bed.install_unit(good, notify_service(0.0), reload=False)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", good)
    before = invocation(bed, good)
    app = make_app(
        bed,
        unit_name,
        f"actions:\n  first: {{order: 10, units: [{good}]}}\n"
        f"  later: {{order: 20, units: [{syntax}, {setting}]}}\n"
        "rules:\n  - {pattern: '**', actions: [first, later]}\n",
    )
    result = apply(bed, app, "x")
    assert result.returncode == 2, result.stderr
    assert "nothing was restarted" in result.stderr
    assert f"{syntax}: unit failed to load: error (" in result.stderr
    assert "Bad message" in result.stderr
    assert f"{setting}: unit failed to load: bad-setting (" in result.stderr
    assert "has a bad unit file setting" in result.stderr
    assert "Traceback" not in result.stderr
    assert invocation(bed, good) == before
    bed.systemctl("stop", good)


def test_every_policy_rc_d_answer_as_deb_systemd_invoke_reads_it(
    bed: TestBed, unit_name: str
) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, notify_service(0.0))
    bed.systemctl("start", unit)
    app = make_app(
        bed,
        unit_name,
        f"actions:\n  a: {{units: [{unit}]}}\n"
        "rules:\n  - {pattern: /usr/bin/dpkg, actions: [a]}\n",
    )
    helper = "/usr/sbin/policy-rc.d"
    # helper (None: absent), its mode -> the result, and what stderr must say.
    answers: list[tuple[str | None, int, str, str]] = [
        (None, 0o755, "restarted", ""),
        ("exit 101", 0o644, "restarted", ""),  # not executable: never asked
        ("exit 0", 0o755, "restarted", ""),
        ("exit 104", 0o755, "restarted", ""),
        ("exit 1", 0o755, "restarted", f"{helper} {unit} restart exited 1"),
        ("echo denied by policy; exit 101", 0o755, "denied-by-policy", "said: denied by policy"),
    ]
    try:
        for script, mode, expected, warning in answers:
            bed.run("rm", "-f", helper)
            if script is not None:
                bed.write(helper, f"#!/bin/sh\n{script}\n", mode)
            before = invocation(bed, unit)
            result = apply(bed, app, "--json", "--from-dpkg", "dpkg")
            report = json.loads(result.stdout)  # whatever the helper printed, stdout is JSON
            (step,) = report["steps"]
            assert (result.returncode, step["result"]) == (0, expected), (script, result.stderr)
            assert warning in result.stderr, (script, result.stderr)
            if not warning:
                assert "warning" not in result.stderr, (script, result.stderr)
            assert (invocation(bed, unit) != before) is (expected == "restarted"), script
    finally:
        bed.run("rm", "-f", helper)
        bed.systemctl("stop", unit)
