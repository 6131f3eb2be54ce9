"""The failure handler against a real systemd: bad drop-ins, failed actions, pending cooldowns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.test_budgets import (
    app_target,
    counting_unit,
    entries,
    generate,
    install_smartrestart,
    runs,
)
from tests.testbed import TestBed


@pytest.fixture(scope="module")
def budget_bed(bed: TestBed) -> TestBed:
    install_smartrestart(bed)
    return bed


def handler_unit(unit: str) -> str:
    return f"smartrestart-failure@{unit}.service"


def test_a_malformed_handler_parameter_is_a_logged_error_not_a_traceback(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    unit = counting_unit(bed, unit_name, "exit 1")
    generate(bed, unit_name, f"{unit}: {{restart: transient, intensity: 0, period: 30s}}\n")
    dropin = f"/etc/systemd/system/{unit}.d/50-smartrestart.conf"
    edited = bed.read(dropin).replace(
        "X-SmartRestart-OnExhausted=none", "X-SmartRestart-OnExhausted=restart"
    )
    bed.write(dropin, edited)  # by hand: the verb without its unit (an IndexError before)
    bed.systemctl("daemon-reload")
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "handler-failed", unit)) == 1, timeout=15)
    (entry,) = entries(bed, "handler-failed", unit)
    assert "X-SmartRestart-OnExhausted=restart" in entry["SMARTRESTART_ERROR"]
    assert entry["SMARTRESTART_EXIT_STATUS"] == "2"
    handler = handler_unit(unit)
    bed.wait_for(lambda: bed.show(handler, "ActiveState")["ActiveState"] == "failed", timeout=10)
    shown = bed.show(handler, "Result", "ExecMainStatus", "NRestarts")
    # Exit status 2 (a wrong drop-in) is not retried: trying again cannot fix it.
    assert (shown["Result"], shown["ExecMainStatus"], shown["NRestarts"]) == ("exit-code", "2", "0")
    handler_log = bed.journal("-u", handler)
    assert "Traceback" not in handler_log
    assert "smartrestart: error:" in handler_log and "X-SmartRestart-OnExhausted" in handler_log
    assert entries(bed, "gave-up", unit) == []


def record(bed: TestBed, unit: str) -> dict[str, Any]:
    text = bed.read(f"/run/smartrestart/budgets/{unit}.json")
    return json.loads(text) if text else {}


def test_a_failed_escalation_is_retried_and_recorded_only_once_done(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    helper = f"{unit_name}-helper.service"
    bed.install_unit(helper, "[Service]\nType=oneshot\nExecStart=/bin/false\n", reload=False)
    unit = counting_unit(bed, unit_name, "exit 78")
    generate(
        bed,
        unit_name,
        f"{unit}: {{restart: permanent, intensity: 3, period: 30s, fatal_exit_codes: [78], "
        f"on_exhausted: restart {helper}}}\n",
    )
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "handler-failed", unit)) == 1, timeout=15)
    (failed,) = entries(bed, "handler-failed", unit)
    assert "escalation 'restart" in failed["SMARTRESTART_ERROR"]
    assert failed["SMARTRESTART_EXIT_STATUS"] == "1"
    invocation = bed.show(unit, "InvocationID")["InvocationID"]
    kept = record(bed, unit)
    assert kept["last_handled_invocation"] != invocation  # not handled: it failed
    assert (kept["failed_invocation"], kept["failed_attempts"]) == (invocation, 1)
    # The escalation target gets fixed; the handler unit runs again by itself (RestartSec=10s).
    bed.install_unit(helper, "[Service]\nType=oneshot\nExecStart=/bin/true\n")
    bed.wait_for(lambda: len(entries(bed, "escalated", unit)) == 1, timeout=30)
    (escalated,) = entries(bed, "escalated", unit)
    assert escalated["SMARTRESTART_REASON"] == "fatal exit status 78"
    kept = record(bed, unit)
    assert (kept["last_handled_invocation"], kept["failed_attempts"]) == (invocation, 0)
    assert bed.show(handler_unit(unit), "NRestarts")["NRestarts"] == "1"
    assert len(runs(bed, unit_name)) == 1


def test_a_second_exhaustion_while_a_cooldown_is_pending_schedules_a_new_one(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    unit = counting_unit(bed, unit_name, "exit 1")
    timer = f"smartrestart-cooldown@{unit}.timer"
    generate(
        bed,
        unit_name,
        f"{unit}: {{restart: transient, intensity: 0, period: 30s, cooldown: 6s, "
        "max_cooldown_cycles: 1}\n",
    )
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "cooldown-scheduled", unit)) == 1, timeout=15)
    first = bed.show(timer, "ActiveState", "InvocationID")
    assert first["ActiveState"] == "active"
    # Someone starts the unit by hand during the cooldown; it fails again at once.
    bed.systemctl("reset-failed", unit)
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "cooldown-scheduled", unit)) == 2, timeout=15)
    assert entries(bed, "handler-failed", unit) == []
    second = bed.show(timer, "ActiveState", "InvocationID")
    assert second["ActiveState"] == "active" and second["InvocationID"] != first["InvocationID"]
    bed.wait_for(lambda: len(entries(bed, "gave-up", unit)) == 1, timeout=30)
    (restart,) = entries(bed, "cooldown-restart", unit)  # the replaced timer never fired
    scheduled = [int(e["__MONOTONIC_TIMESTAMP"]) for e in entries(bed, "cooldown-scheduled", unit)]
    waited = (int(restart["__MONOTONIC_TIMESTAMP"]) - scheduled[1]) / 1e6
    assert waited >= 5.9, waited  # the new cooldown's full 6 s, counted from the second failure
    assert len(runs(bed, unit_name)) == 3


# --- the handler's decisions against what systemd really does ----------------------------------


@pytest.fixture(scope="module")
def budget_debian13(debian13: TestBed) -> TestBed:
    install_smartrestart(debian13)
    return debian13


def test_on_257_the_handler_run_before_each_automatic_restart_leaves_the_unit_alone(
    budget_debian13: TestBed, unit_name: str
) -> None:
    """Without RestartMode=direct, systemd >= 254 runs OnFailure= on every failure.

    generate writes RestartMode=direct; a unit (or an administrator's drop-in)
    may still set it back. The handler must then see that restarts go on.
    """
    bed = budget_debian13
    unit = counting_unit(bed, unit_name, "exit 1")
    generate(
        bed,
        unit_name,
        f"{unit}: {{restart: transient, intensity: 1, period: 60s}}\n",
    )
    bed.write(  # the handler has 3 s to see the unit waiting for its restart
        f"/etc/systemd/system/{unit}.d/60-restart-mode.conf",
        "[Service]\nRestartMode=normal\nRestartSec=3s\n",
    )
    bed.systemctl("daemon-reload")
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "gave-up", unit)) == 1, timeout=30)
    first, second = runs(bed, unit_name)
    # OnFailure= fired three times: after each run, while its restart was
    # scheduled (RestartSec=3s), and once the start limit refused the restart.
    ignored = entries(bed, "failure-ignored", unit)
    assert [e["SMARTRESTART_REASON"] for e in ignored] == [
        "unit is activating/auto-restart, still within its restart budget"
    ] * 2
    ignored_at = [int(e["_SOURCE_REALTIME_TIMESTAMP"]) / 1e6 for e in ignored]
    assert first < ignored_at[0] < second < ignored_at[1], (first, second, ignored_at)
    (gave_up,) = entries(bed, "gave-up", unit)
    assert gave_up["SMARTRESTART_REASON"] == "restart budget exhausted (exit-code)"
    assert int(gave_up["_SOURCE_REALTIME_TIMESTAMP"]) / 1e6 > ignored_at[1]


def test_the_handler_run_by_hand_while_the_unit_restarts_does_nothing(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    target, _member = app_target(bed, unit_name)
    unit = counting_unit(bed, unit_name, "exit 1")
    generate(
        bed,
        unit_name,
        f"{unit}: {{restart: permanent, intensity: 2, period: 60s, on_exhausted: stop {target}}}\n",
    )
    bed.write(f"/etc/systemd/system/{unit}.d/60-delay.conf", "[Service]\nRestartSec=30s\n")
    bed.systemctl("daemon-reload")
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: bed.show(unit, "SubState")["SubState"] == "auto-restart", timeout=10)
    result = bed.run("smartrestart", "handle", "failure", unit, check=False)
    assert result.returncode == 0, result.stderr
    (ignored,) = entries(bed, "failure-ignored", unit)
    assert ignored["SMARTRESTART_REASON"] == (
        "unit is activating/auto-restart, still within its restart budget"
    )
    assert entries(bed, "escalated", unit) == entries(bed, "gave-up", unit) == []
    assert record(bed, unit) == {}  # nothing recorded as handled
    assert bed.show(target, "ActiveState")["ActiveState"] == "active"
    bed.systemctl("stop", unit)


def test_an_exhausted_budget_escalates_by_restarting_the_unit_on_exhausted_names(
    budget_bed: TestBed, unit_name: str
) -> None:
    bed = budget_bed
    partner = f"{unit_name}-partner.service"
    bed.install_unit(partner, "[Service]\nExecStart=/bin/sleep infinity\n", reload=False)
    unit = counting_unit(bed, unit_name, "exit 1")
    bed.systemctl("daemon-reload")
    bed.systemctl("start", partner)
    before = bed.show(partner, "InvocationID")["InvocationID"]
    generate(
        bed,
        unit_name,
        f"{unit}: {{restart: permanent, intensity: 1, period: 30s, "
        f"on_exhausted: restart {partner}}}\n",
    )
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "escalated", unit)) == 1, timeout=20)
    (escalated,) = entries(bed, "escalated", unit)
    assert escalated["SMARTRESTART_REASON"] == "restart budget exhausted (exit-code)"
    assert escalated["SMARTRESTART_ESCALATION"] == f"restart {partner}"
    after = bed.show(partner, "InvocationID", "ActiveState")
    assert after["ActiveState"] == "active" and after["InvocationID"] != before
    assert len(runs(bed, unit_name)) == 2  # the budget ran out before the escalation
    assert entries(bed, "gave-up", unit) == []
    bed.systemctl("stop", partner)


def test_used_up_cooldown_cycles_end_in_the_escalation(budget_bed: TestBed, unit_name: str) -> None:
    bed = budget_bed
    target, member = app_target(bed, unit_name)
    unit = counting_unit(bed, unit_name, "exit 1")
    generate(
        bed,
        unit_name,
        f"{unit}: {{restart: transient, intensity: 0, period: 30s, cooldown: 1s, "
        f"max_cooldown_cycles: 1, on_exhausted: stop {target}}}\n",
    )
    bed.systemctl("start", unit, check=False)
    bed.wait_for(lambda: len(entries(bed, "escalated", unit)) == 1, timeout=30)
    (escalated,) = entries(bed, "escalated", unit)
    assert escalated["SMARTRESTART_REASON"] == (
        "restart budget exhausted (exit-code), and all 1 cooldown cycles are used up"
    )
    assert escalated["SMARTRESTART_ESCALATION"] == f"stop {target}"
    assert [e["SMARTRESTART_CYCLE"] for e in entries(bed, "cooldown-scheduled", unit)] == ["1"]
    assert len(entries(bed, "cooldown-restart", unit)) == 1
    assert len(runs(bed, unit_name)) == 2  # the first run, and one after the cooldown
    assert bed.show(target, "ActiveState")["ActiveState"] == "inactive"
    assert bed.show(member, "ActiveState")["ActiveState"] == "inactive"
