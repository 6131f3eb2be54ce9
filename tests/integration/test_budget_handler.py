"""The failure handler against a real systemd: bad drop-ins, failed actions, pending cooldowns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.test_budgets import (
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
