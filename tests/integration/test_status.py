"""`smartrestart status` against a real systemd: budgets counted as systemd enforces them."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from datetime import datetime
from typing import Any

import jsonschema
import pytest

from smartrestart.systemd.dbus import unit_object_path
from tests.integration.helpers import one_unit_rules
from tests.integration.test_budgets import counting_unit, install_smartrestart, runs, settled
from tests.testbed import PROJECT, TestBed

SCHEMA = json.loads((PROJECT / "src/smartrestart/schemas/status-report.schema.json").read_text())


@pytest.fixture(scope="module")
def budget_bed(bed: TestBed) -> TestBed:
    install_smartrestart(bed)
    return bed


def app_with_budget(bed: TestBed, name: str, unit: str, budget: str) -> str:
    """/srv/NAME with rules restarting ``unit`` for any file, and its budget generated."""
    app = f"/srv/{name}"
    rules = f"""\
        actions:
          deploy: {{units: [{unit}]}}
        rules:
          - {{pattern: '**', actions: [deploy]}}
        budgets:
          {unit}: {budget}
        """
    bed.write(f"{app}/restart-rules.yaml", textwrap.dedent(rules))
    generated = bed.smartrestart("generate", "--config-root", "/nonexistent", cwd=app)
    assert generated.returncode == 0, generated.stderr
    return app


def status(bed: TestBed, app: str, *units: str) -> tuple[int, dict[str, Any]]:
    result = bed.smartrestart("status", "--config-root", "/nonexistent", "--json", *units, cwd=app)
    assert result.returncode in (0, 3), result.stderr
    assert "Traceback" not in result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    return result.returncode, report


def only_unit(report: dict[str, Any]) -> dict[str, Any]:
    units: list[dict[str, Any]] = report["units"]
    assert len(units) == 1, units
    return units[0]


def test_a_crash_loop_is_counted_as_systemd_stops_it_and_survives_reset_failed(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    unit = counting_unit(bed, unit_name, "exit 1")
    app = app_with_budget(bed, unit_name, unit, "{restart: transient, intensity: 3, period: 30s}")
    bed.systemctl("start", unit, check=False)
    assert settled(bed, unit)["ActiveState"] == "failed"
    assert len(runs(bed, unit_name)) == 4  # systemd stopped after the first start and 3 restarts
    code, report = status(bed, app)
    shown = only_unit(report)
    assert code == 3  # not active, as systemctl is-active says
    assert (shown["active_state"], shown["result"]) == ("failed", "exit-code")
    assert shown["n_restarts"] == 4  # the refused restart is counted too
    budget = shown["budget"]
    assert (budget["intensity"], budget["period_sec"]) == (3, 30.0)
    assert (budget["restarts_in_window"], budget["starts_in_window"]) == (3, 4)
    assert budget["exhausted"] is True
    assert 0 < budget["window_closes_in_sec"] <= 30
    last = shown["last_restart"]
    assert (last["cause"], last["result"]) == ("automatic", "exit-code")
    assert last["invocation_id"] == shown["invocation_id"]
    # systemd's own counters are gone after reset-failed; the journal is not.
    bed.systemctl("reset-failed", unit)
    bed.systemctl("daemon-reload")
    assert bed.show(unit, "NRestarts")["NRestarts"] == "0"
    _, again = status(bed, app)
    assert only_unit(again)["budget"]["restarts_in_window"] == 3
    assert only_unit(again)["budget"]["exhausted"] is True
    # A deploy: the unit is fixed and apply restarts it. Its start opens a new
    # window (apply clears the counter first) and is no restart of the budget.
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    applied = bed.smartrestart(
        "apply", "--config-root", "/nonexistent", "--json", "fix.py", cwd=app
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    deploy_id = json.loads(applied.stdout)["deploy_id"]
    code, after = status(bed, app)
    shown = only_unit(after)
    assert code == 0
    assert shown["last_restart"]["cause"] == "deploy"
    assert shown["last_restart"]["deploy_id"] == deploy_id
    assert shown["last_deploy"]["deploy_id"] == deploy_id
    assert (shown["last_deploy"]["action"], shown["last_deploy"]["files"]) == ("deploy", ["fix.py"])
    assert shown["last_deploy"]["result"] in ("started", "restarted")
    assert (shown["budget"]["restarts_in_window"], shown["budget"]["starts_in_window"]) == (0, 1)
    assert shown["budget"]["exhausted"] is False


def test_two_crashes_leave_one_restart_of_three(budget_bed: TestBed, unit_name: str) -> None:
    bed = budget_bed
    unit = counting_unit(
        bed, unit_name, f"[ $(wc -l < /srv/{unit_name}/runs) -ge 3 ] && exec sleep infinity; exit 1"
    )
    app = app_with_budget(bed, unit_name, unit, "{restart: transient, intensity: 3, period: 30s}")
    bed.systemctl("start", unit, check=False)
    assert settled(bed, unit)["ActiveState"] == "active"
    code, report = status(bed, app, unit)
    shown = only_unit(report)
    assert code == 0
    assert (shown["active_state"], shown["n_restarts"]) == ("active", 2)
    assert shown["main_pid"] == int(bed.show(unit, "MainPID")["MainPID"])
    assert shown["budget"]["restarts_in_window"] == 2
    assert shown["budget"]["exhausted"] is False
    assert shown["last_restart"]["cause"] == "automatic"
    assert shown["last_deploy"] is None


def test_a_cooldown_shows_its_cycle_and_when_the_timer_fires(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    unit = counting_unit(bed, unit_name, "exit 1")
    timer = f"smartrestart-cooldown@{unit}.timer"
    app = app_with_budget(
        bed,
        unit_name,
        unit,
        "{restart: transient, intensity: 1, period: 30s, cooldown: 40s, max_cooldown_cycles: 3}",
    )
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: bed.show(timer, "ActiveState")["ActiveState"] == "active", timeout=20)
    code, report = status(bed, app)
    elapse = bed.run(
        "busctl", "get-property", "org.freedesktop.systemd1", unit_object_path(timer).decode(),
        "org.freedesktop.systemd1.Timer", "NextElapseUSecMonotonic",
    ).stdout.split()  # fmt: skip
    assert elapse[0] == "t"
    clocks = bed.run("python3", "-c", "import time; print(time.monotonic(), time.time())")
    monotonic_now, realtime_now = map(float, clocks.stdout.split())
    cooldown = only_unit(report)["budget"]["cooldown"]
    assert code == 3
    assert (cooldown["cycle"], cooldown["max_cycles"], cooldown["pending"]) == (1, 3, True)
    assert cooldown["cooldown_sec"] == 40.0
    # The timer's trigger time, as realtime: its monotonic elapse moved by the
    # offset between the two clocks, read together inside the bed.
    fires_at = realtime_now + (int(elapse[1]) / 1e6 - monotonic_now)
    shown_at = datetime.fromisoformat(cooldown["next_attempt_at"]).timestamp()
    assert abs(shown_at - fires_at) < 1.0, (shown_at, fires_at)
    assert 0 < cooldown["next_attempt_in_sec"] <= 40


def logs(bed: TestBed, *args: str) -> list[dict[str, Any]]:
    result = bed.smartrestart("logs", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_logs_of_one_deploy_are_exactly_its_entries(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    bed.systemctl("start", unit)
    app = f"/srv/{unit_name}"
    bed.write(
        f"{app}/restart-rules.yaml",
        f"actions:\n  a: {{units: [{unit}]}}\n  b: {{order: 10, run: 'true'}}\n"
        "rules:\n  - {pattern: '**', actions: [a, b]}\n",
    )
    deploy_ids = []
    for changed in ("one.py", "two.py"):
        applied = bed.smartrestart(
            "apply", "--config-root", "/nonexistent", "--json", changed, cwd=app
        )
        assert applied.returncode == 0, applied.stderr
        deploy_ids.append(json.loads(applied.stdout)["deploy_id"])
    first = deploy_ids[0]
    shown = logs(bed, "--deploy", first)
    journal = bed.journal(f"SMARTRESTART_DEPLOY={first}", "-o", "json")
    expected = [json.loads(line) for line in journal.splitlines()]
    assert len(shown) == len(expected) == 4  # started, the run, the unit job, finished
    assert [e["kind"] for e in shown] == [
        "apply-started",
        "run-done",
        "unit-job-done",
        "apply-finished",
    ]
    assert {e["deploy_id"] for e in shown} == {first}
    step = shown[2]
    assert (step["unit"], step["action"], step["result"]) == (unit, "a", "restarted")
    assert step["duration_sec"] > 0
    # --unit: that unit's entries of both deploys, with its own lines around them.
    around = logs(bed, "--unit", unit)
    ours = [e for e in around if e["kind"] != "unit-line"]
    assert [e["deploy_id"] for e in ours] == deploy_ids
    assert any(e["kind"] == "unit-line" and "Started" in e["message"] for e in around)


def test_logs_follow_shows_new_entries_and_ends_on_sigterm(bed: TestBed, unit_name: str) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    app = f"/srv/{unit_name}"
    bed.write(f"{app}/restart-rules.yaml", one_unit_rules(unit))
    out, pid, status = f"{app}/follow.out", f"{app}/follow.pid", f"{app}/follow.status"
    follow = (
        f"cd {app} && {bed.python} -m smartrestart logs -f --json --unit {unit} > {out} 2>&1 & "
        f"echo $! > {pid}; wait $!; echo $? > {status}"
    )
    background = subprocess.Popen(
        ["nsenter", "-t", str(bed.init_pid), "-a", "sh", "-c", follow],
        env=bed.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        bed.wait_for(lambda: bed.read(pid).strip() != "", timeout=10)
        time.sleep(1.0)  # journalctl is following before the apply logs anything
        applied = bed.smartrestart(
            "apply", "--config-root", "/nonexistent", "--json", "x.py", cwd=app
        )
        deploy_id = json.loads(applied.stdout)["deploy_id"]

        def shown() -> list[dict[str, Any]]:
            return [json.loads(line) for line in bed.read(out).splitlines() if line.startswith("{")]

        bed.wait_for(lambda: any(e.get("deploy_id") == deploy_id for e in shown()), timeout=15)
        bed.run("kill", "-TERM", bed.read(pid).strip())
        bed.wait_for(lambda: bed.read(status).strip() != "", timeout=10)
    finally:
        background.wait(timeout=30)
    assert bed.read(status).strip() == "0"
    followed = [e for e in shown() if e["deploy_id"] == deploy_id]
    assert [e["kind"] for e in followed] == ["unit-job-done"]
    assert "Traceback" not in bed.read(out)
    leftover = bed.run("pgrep", "-f", "journalctl.*--follow", check=False)
    assert leftover.stdout == "", "journalctl kept following"
