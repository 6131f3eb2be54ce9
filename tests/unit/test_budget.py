"""Budgets: validation, translation to directives, rendering, the handler's decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from smartrestart.budget.backoff import LISTED_DELAYS, backoff_steps, systemd_delays
from smartrestart.budget.dropin import DropinError, handler_budget, is_ours, render_dropin
from smartrestart.budget.keys import HANDLER_KEYS, KEYS
from smartrestart.budget.model import Backoff, Budget, Escalation, EscalationVerb, RestartType
from smartrestart.budget.translate import translate
from smartrestart.errors import ConfigError, JobFailed, Location
from smartrestart.handle.model import (
    MAX_ACTION_ATTEMPTS,
    CycleRecord,
    FailureDecision,
    Verdict,
    decide_failure,
)
from smartrestart.handle.run import handle_failure
from smartrestart.rules.schema import load_rule_set
from smartrestart.systemd.backend import JobEnd, JobMethod, SystemdBackend, UnitState
from smartrestart.timespan import MAX_TIMESPAN_USEC, parse_timespan
from tests.helpers import write_rules

HERE = Location("rules.yaml", 3)


def directives(budget: Budget, version: int = 257) -> dict[str, str]:
    return {f"{d.section}.{d.key}": d.value for d in translate(budget, version).directives}


def test_issue_example_budgets_load(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path,
        """\
        budgets:
          app-api.service:
            restart: permanent
            intensity: 5
            period: 60s
            backoff: {base: 1s, multiplier: 2, max: 30s}
            watchdog: 30s
            startup_timeout: 90s
            stop_timeout: 20s
            fatal_exit_codes: [78]
            non_retryable_exit_codes: [64, 65]
            on_exhausted: stop app.target
          app-worker@.service:
            restart: transient
            intensity: 3
            period: 30s
            cooldown: 5min
            max_cooldown_cycles: 3
        """,
    )
    budgets = load_rule_set([rules]).budgets
    api = budgets["app-api.service"]
    assert (api.intensity, api.period_usec) == (5, 60_000_000)
    assert api.backoff == Backoff(1_000_000, 2.0, 30_000_000)
    assert api.on_exhausted == Escalation(EscalationVerb.STOP, "app.target")
    assert api.location.line == 2
    worker = budgets["app-worker@.service"]
    assert (worker.cooldown_usec, worker.max_cooldown_cycles) == (300_000_000, 3)


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ("restart: forever", "budgets.a.service.restart", "not one of permanent, transient"),
        ("intensity: 3", "budgets.a.service.intensity", "needs 'period'"),
        ("{intensity: 3, period: soon}", "budgets.a.service.period", "not a time span"),
        ("{intensity: -1, period: 1s}", "budgets.a.service.intensity", "at least 0"),
        (
            "{restart: permanent, cooldown: 5min, intensity: 1, period: 1s}",
            "budgets.a.service.cooldown",
            "transient only",
        ),
        (
            "{restart: temporary, intensity: 1, period: 1s}",
            "budgets.a.service.intensity",
            "no effect",
        ),
        ("{restart: transient, cooldown: 1s}", "budgets.a.service.cooldown", "needs intensity"),
        ("fatal_exit_codes: [0]", "budgets.a.service.fatal_exit_codes[0]", "at least 1"),
        (
            "{fatal_exit_codes: [3], non_retryable_exit_codes: [3]}",
            "budgets.a.service.non_retryable_exit_codes",
            "also listed as fatal",
        ),
        ("on_exhausted: stop", "budgets.a.service.on_exhausted", "needs exactly one unit"),
        ("on_exhausted: reboot now", "budgets.a.service.on_exhausted", "is not one of"),
        ("on_exhausted: stop app", "budgets.a.service.on_exhausted", "no type suffix"),
        ("backoff: {base: 1s}", "budgets.a.service.backoff.max", "is required"),
        ("backoff: {base: 5s, max: 1s}", "budgets.a.service.backoff.max", "not be shorter"),
        ("intensty: 3", "budgets.a.service.intensty", "unknown key"),
        (
            "{intensity: 4294967295, period: 1s}",
            "budgets.a.service.intensity",
            "at most 4294967294 (StartLimitBurst= is intensity + 1, an unsigned 32-bit",
        ),
        ("{intensity: 1, period: 600000y}", "budgets.a.service.period", "USEC_INFINITY"),
        ("{intensity: 1, period: .inf}", "budgets.a.service.period", "not a finite number"),
        ("{intensity: 1, period: .nan}", "budgets.a.service.period", "not a finite number"),
        ("stop_timeout: 18446744073709551615us", "budgets.a.service.stop_timeout", "USEC_INFINITY"),
        (
            "backoff: {base: 1s, max: 2s, multiplier: .inf}",
            "budgets.a.service.backoff.multiplier",
            "not a finite number",
        ),
        ("on_exhausted: restart b@.service", "budgets.a.service.on_exhausted", "template"),
        ("on_exhausted: restart a.service", "budgets.a.service.on_exhausted", "whose budget ran"),
        (
            "{restart: transient, intensity: 1, period: 1s, cooldown: 1s, "
            "max_cooldown_cycles: 4294967296}",
            "budgets.a.service.max_cooldown_cycles",
            "unsigned 32-bit",
        ),
    ],
)
def test_budget_validation(tmp_path: Path, body: str, field: str, fragment: str) -> None:
    rules = write_rules(
        tmp_path,
        f"budgets:\n  a.service:\n    {body}\n"
        if not body.startswith("{")
        else f"budgets:\n  a.service: {body}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_rule_set([rules])
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert caught.value.location.line in (2, 3)


def test_invalid_budget_unit_name(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, "budgets:\n  'app api.service': {}\n")
    with pytest.raises(ConfigError, match="characters systemd does not allow"):
        load_rule_set([rules])


@pytest.mark.parametrize("unit", ["app.socket", "app.timer", "app.target", "app@.path"])
def test_budgets_are_for_services_only(tmp_path: Path, unit: str) -> None:
    rules = write_rules(tmp_path, f"budgets:\n  {unit}: {{}}\n")
    with pytest.raises(ConfigError, match=r"apply to \.service units only"):
        load_rule_set([rules])


@pytest.mark.parametrize("unit", ["app@.service", "postgresql@17-main.service", "ssh.service"])
def test_templates_and_instances_may_carry_budgets(tmp_path: Path, unit: str) -> None:
    rules = write_rules(tmp_path, f"budgets:\n  {unit}: {{restart: transient}}\n")
    assert list(load_rule_set([rules]).budgets) == [unit]


def test_a_unit_name_too_long_for_the_failure_handler_is_refused(tmp_path: Path) -> None:
    # OnFailure=smartrestart-failure@%n.service must stay within 255 characters.
    longest = "a" * (255 - len("smartrestart-failure@.service") - len(".service")) + ".service"
    rules = write_rules(tmp_path, f"budgets:\n  {longest}: {{}}\n")
    assert list(load_rule_set([rules]).budgets) == [longest]
    rules = write_rules(tmp_path, f"budgets:\n  a{longest}: {{}}\n")
    with pytest.raises(ConfigError, match="smartrestart-failure@"):
        load_rule_set([rules])


def test_the_largest_values_translate_without_listing_billions_of_delays() -> None:
    budget = Budget(
        "a.service",
        HERE,
        RestartType.TRANSIENT,
        intensity=4294967294,
        period_usec=MAX_TIMESPAN_USEC,
        stop_timeout_usec=MAX_TIMESPAN_USEC,
    )
    translation = translate(budget, 257)
    found = {f"{d.section}.{d.key}": d.value for d in translation.directives}
    assert found["Unit.StartLimitBurst"] == "4294967295"
    assert parse_timespan(found["Unit.StartLimitIntervalSec"]) == MAX_TIMESPAN_USEC
    assert len(translation.delays_usec) == LISTED_DELAYS
    slow = Budget(
        "a.service",
        HERE,
        intensity=4000,
        period_usec=300_000_000,
        backoff=Backoff(100_000, 2, 100_000),
    )
    # 4000 delays of 0.1 s: 400 s, beyond the period, though only 3001 are listed.
    assert any("can never be exhausted" in w for w in translate(slow, 257).warnings)


def test_intensity_n_maps_to_burst_n_plus_1() -> None:
    budget = Budget("a.service", HERE, RestartType.TRANSIENT, intensity=3, period_usec=30_000_000)
    found = directives(budget)
    assert found["Unit.StartLimitBurst"] == "4"  # the first start counts too
    assert found["Unit.StartLimitIntervalSec"] == "30s"
    assert found["Service.Restart"] == "on-failure"


@pytest.mark.parametrize(
    ("restart", "value"),
    [
        (RestartType.PERMANENT, "always"),
        (RestartType.TRANSIENT, "on-failure"),
        (RestartType.TEMPORARY, "no"),
    ],
)
def test_restart_types(restart: RestartType, value: str) -> None:
    assert directives(Budget("a.service", HERE, restart))["Service.Restart"] == value


def test_backoff_on_257_uses_restart_steps() -> None:
    budget = Budget("a.service", HERE, backoff=Backoff(1_000_000, 2.0, 30_000_000))
    found = directives(budget, 257)
    assert (
        found["Service.RestartSec"],
        found["Service.RestartSteps"],
        found["Service.RestartMaxDelaySec"],
    ) == ("1s", "5", "30s")
    assert found["Service.RestartMode"] == "direct"


def test_backoff_on_252_keeps_the_base_delay_and_says_what_is_lost() -> None:
    budget = Budget("a.service", HERE, backoff=Backoff(1_000_000, 2.0, 30_000_000))
    translation = translate(budget, 252)
    found = {f"{d.section}.{d.key}": d.value for d in translation.directives}
    assert found["Service.RestartSec"] == "1s"
    assert "Service.RestartSteps" not in found and "Service.RestartMode" not in found
    (warning,) = translation.warnings
    assert "RestartSteps=" in warning and "exponential backoff is lost" in warning


def test_backoff_steps_and_delays_follow_systemds_formula() -> None:
    assert backoff_steps(200_000, 1_600_000, 2.0) == 3
    assert systemd_delays(200_000, 1_600_000, 3, 5) == [
        200_000,
        400_000,
        800_000,
        1_600_000,
        1_600_000,
    ]
    assert backoff_steps(1_000_000, 1_000_000, 2.0) == 0


def test_approximated_multiplier_is_warned_about() -> None:
    budget = Budget("a.service", HERE, backoff=Backoff(1_000_000, 3.0, 10_000_000))
    assert any("multiplier of" in w for w in translate(budget, 257).warnings)


def test_unreachable_intensity_is_warned_about() -> None:
    budget = Budget(
        "a.service",
        HERE,
        intensity=10,
        period_usec=30_000_000,
        backoff=Backoff(1_000_000, 2.0, 30_000_000),
    )
    assert any("can never be exhausted" in w for w in translate(budget, 257).warnings)


def test_exit_codes_watchdog_timeouts_and_handler_keys() -> None:
    budget = Budget(
        "a.service",
        HERE,
        RestartType.PERMANENT,
        intensity=5,
        period_usec=60_000_000,
        watchdog_usec=30_000_000,
        startup_timeout_usec=90_000_000,
        stop_timeout_usec=20_000_000,
        fatal_exit_codes=(78,),
        non_retryable_exit_codes=(64, 65),
        on_exhausted=Escalation(EscalationVerb.STOP, "app.target"),
    )
    found = directives(budget)
    assert found["Service.RestartPreventExitStatus"] == "78 64 65"
    assert found["Service.WatchdogSec"] == "30s"
    assert found["Service.TimeoutStartSec"] == "1min 30s"
    assert found["Service.TimeoutStopSec"] == "20s"
    assert found["Unit.OnFailure"] == "smartrestart-failure@%n.service"
    text = render_dropin(translate(budget, 257), "/etc/smartrestart/rules.d/app.yaml")
    assert is_ours(text)
    params = handler_budget(text, "a.service")
    for key in KEYS:  # the handler's keys come back as written, the others stay unset
        expected = (
            getattr(budget, key.field) if key in HANDLER_KEYS else getattr(handled(), key.field)
        )
        assert getattr(params, key.field) == expected, key.name
    assert params.location == HERE


def test_rendering_is_deterministic() -> None:
    budget = Budget("a.service", HERE, intensity=1, period_usec=1_000_000)
    assert render_dropin(translate(budget, 252), "x") == render_dropin(translate(budget, 252), "x")


# --- the failure handler's decisions -----------------------------------------------


def handled(*args: Any, **fields: Any) -> Budget:
    """A budget as the failure handler reads it back from a drop-in."""
    return Budget("a.service", HERE, *args, **fields)


def failed(status: int = 1, invocation: str = "aa", **extra: object) -> UnitState:
    base = UnitState(
        "a.service",
        "loaded",
        "failed",
        "failed",
        invocation,
        job_pending=False,
        result="exit-code",
        exec_main_code=1,
        exec_main_status=status,
    )
    return base._replace(**extra)  # type: ignore[arg-type]


TRANSIENT = handled(
    RestartType.TRANSIENT, period_usec=10_000_000, cooldown_usec=2_000_000, max_cooldown_cycles=2
)
PERMANENT = handled(
    RestartType.PERMANENT,
    period_usec=10_000_000,
    fatal_exit_codes=(78,),
    non_retryable_exit_codes=(65,),
    on_exhausted=Escalation(EscalationVerb.STOP, "app.target"),
)


def test_still_restarting_is_ignored() -> None:
    restarting = failed()._replace(active_state="activating", sub_state="auto-restart")
    assert decide_failure(PERMANENT, restarting, CycleRecord(), 0)[0].verdict is Verdict.IGNORE
    queued = failed()._replace(job_pending=True)
    assert decide_failure(PERMANENT, queued, CycleRecord(), 0)[0].verdict is Verdict.IGNORE


def test_same_invocation_is_handled_once() -> None:
    decision, record = decide_failure(PERMANENT, failed(), CycleRecord(), 0)
    assert decision.verdict is Verdict.ESCALATE
    assert decide_failure(PERMANENT, failed(), record, 1)[0].verdict is Verdict.IGNORE


def test_fatal_exit_escalates_at_once_even_with_a_cooldown() -> None:
    params = handled(
        RestartType.TRANSIENT,
        period_usec=1,
        cooldown_usec=1,
        fatal_exit_codes=(78,),
        on_exhausted=Escalation(EscalationVerb.STOP, "app.target"),
    )
    decision, _ = decide_failure(params, failed(78), CycleRecord(), 0)
    assert (decision.verdict, decision.reason) == (Verdict.ESCALATE, "fatal exit status 78")


def test_permanent_exhausted_escalates_and_without_escalation_gives_up() -> None:
    assert decide_failure(PERMANENT, failed(1), CycleRecord(), 0)[0].verdict is Verdict.ESCALATE
    quiet = handled(RestartType.PERMANENT)
    assert decide_failure(quiet, failed(1), CycleRecord(), 0)[0].verdict is Verdict.GIVE_UP


def test_non_retryable_counts_as_exhausted() -> None:
    decision, _ = decide_failure(PERMANENT, failed(65), CycleRecord(), 0)
    assert decision.verdict is Verdict.ESCALATE
    assert "non-retryable exit status 65" in decision.reason


def test_temporary_gives_up() -> None:
    params = handled(RestartType.TEMPORARY)
    assert decide_failure(params, failed(1), CycleRecord(), 0)[0].verdict is Verdict.GIVE_UP


def test_cooldown_cycles_then_give_up() -> None:
    record = CycleRecord()
    decision, record = decide_failure(TRANSIENT, failed(invocation="1"), record, 100.0)
    assert (decision.verdict, decision.cycle) == (Verdict.COOLDOWN, 1)
    record = CycleRecord(record.cycles, 103.0, record.last_handled_invocation)  # cooldown restart
    decision, record = decide_failure(TRANSIENT, failed(invocation="2"), record, 104.0)
    assert (decision.verdict, decision.cycle) == (Verdict.COOLDOWN, 2)
    record = CycleRecord(record.cycles, 107.0, record.last_handled_invocation)
    decision, record = decide_failure(TRANSIENT, failed(invocation="3"), record, 108.0)
    assert decision.verdict is Verdict.GIVE_UP
    assert "all 2 cooldown cycles are used up" in decision.reason


def test_cycles_restart_after_a_healthy_stretch() -> None:
    record = CycleRecord(cycles=2, last_restart_monotonic=100.0, last_handled_invocation="x")
    decision, _ = decide_failure(
        TRANSIENT, failed(invocation="y"), record, 100.0 + 21
    )  # > 2 periods
    assert (decision.verdict, decision.cycle) == (Verdict.COOLDOWN, 1)


def test_cycle_records_keep_their_counts_through_a_cooldown() -> None:
    decision, record = decide_failure(TRANSIENT, failed(invocation="1"), CycleRecord(), 100.0)
    assert (decision.verdict, record.cycles, record.last_handled_invocation) == (
        Verdict.COOLDOWN,
        1,
        "1",
    )


# --- the handler's parameters, read back from a drop-in ------------------------------------


def dropin_with(key: str, value: str) -> str:
    budget = Budget("a.service", HERE, RestartType.TRANSIENT, intensity=1, period_usec=1_000_000)
    text = render_dropin(translate(budget, 257), "rules.yaml")
    lines = [line for line in text.splitlines() if not line.startswith(f"{key}=")]
    return "\n".join([*lines, f"{key}={value}"]) + "\n"


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("X-SmartRestart-OnExhausted", "restart", "needs exactly one unit"),
        ("X-SmartRestart-OnExhausted", "", "must not be empty"),
        ("X-SmartRestart-OnExhausted", "reboot now", "is not one of"),
        ("X-SmartRestart-OnExhausted", "stop app@.service", "template"),
        ("X-SmartRestart-OnExhausted", "stop x%y.target", "does not allow"),
        ("X-SmartRestart-Restart", "sometimes", "not one of permanent"),
        ("X-SmartRestart-Period", "soon", "not a time span"),
        ("X-SmartRestart-Cooldown", "0", "longer than zero"),
        ("X-SmartRestart-Cooldown", "600000y", "USEC_INFINITY"),
        ("X-SmartRestart-MaxCooldownCycles", "-1", "count of at least 1"),
        ("X-SmartRestart-MaxCooldownCycles", "9" * 5000, "count of at least 1"),
        ("X-SmartRestart-FatalExitStatus", "78 x", "'x' is not an exit status"),
        ("X-SmartRestart-NonRetryableExitStatus", "256", "'256' is not an exit status"),
    ],
)
def test_malformed_handler_parameters_name_the_key(key: str, value: str, fragment: str) -> None:
    with pytest.raises(DropinError) as caught:
        handler_budget(dropin_with(key, value), "a.service")
    assert str(caught.value).startswith(f"{key}={value}: ")
    assert fragment in str(caught.value)


# --- the handler's orchestration, on a scripted manager ---------------------------------------


class ScriptedManager:
    """A manager that reports one failed unit and scripts how the handler's actions end."""

    def __init__(self, dropin: str, state: UnitState, job_results: list[str]) -> None:
        self.dropin = dropin
        self.state = state
        self.job_results = job_results
        self.timers: list[str] = []
        self.jobs: list[tuple[JobMethod, str]] = []

    def unit_id(self, name: str) -> str:
        return name

    def dropin_paths(self, name: str) -> list[str]:
        return [self.dropin]

    def unit_details(self, name: str) -> UnitState:
        return self.state

    def start_timer(self, name: str, after_usec: int, *, description: str) -> str:
        self.timers.append(name)
        return "/timer-job"

    def submit(self, method: JobMethod, name: str) -> str:
        self.jobs.append((method, name))
        return f"/job/{len(self.jobs)}"

    def wait_jobs(self, jobs: list[str], timeout: float) -> dict[str, JobEnd]:
        return {job: JobEnd(self.job_results.pop(0), 0.0) for job in jobs}


def run_handler(
    tmp_path: Path, manager: ScriptedManager, events: list[str]
) -> tuple[FailureDecision | None, str]:
    def log(kind: str, message: str, fields: object) -> None:
        events.append(kind)

    try:
        decision = handle_failure(
            cast(SystemdBackend, manager), "a.service", log, now=lambda: 5.0, state_dir=tmp_path
        )
    except JobFailed as exc:
        return None, exc.message
    return decision, ""


def escalating(tmp_path: Path, job_results: list[str]) -> ScriptedManager:
    dropin = tmp_path / "50-smartrestart.conf"
    budget = Budget(
        "a.service",
        HERE,
        fatal_exit_codes=(78,),
        on_exhausted=Escalation(EscalationVerb.RESTART, "app.target"),
    )
    dropin.write_text(render_dropin(translate(budget, 257), "rules.yaml"))
    return ScriptedManager(str(dropin), failed(78, invocation="inv-1"), job_results)


def saved(tmp_path: Path) -> dict[str, object]:
    return json.loads((tmp_path / "a.service.json").read_text())  # type: ignore[no-any-return]


def test_a_failure_is_recorded_as_handled_only_after_its_action_succeeded(tmp_path: Path) -> None:
    manager = escalating(tmp_path, ["failed", "done"])
    events: list[str] = []
    decision, error = run_handler(tmp_path, manager, events)
    assert decision is None and "escalation 'restart app.target' failed" in error
    assert saved(tmp_path)["last_handled_invocation"] == ""
    assert (saved(tmp_path)["failed_invocation"], saved(tmp_path)["failed_attempts"]) == (
        "inv-1",
        1,
    )
    decision, error = run_handler(tmp_path, manager, events)  # the handler unit's retry
    assert decision is not None and decision.verdict is Verdict.ESCALATE
    assert manager.jobs == [(JobMethod.RESTART, "app.target")] * 2
    assert saved(tmp_path)["last_handled_invocation"] == "inv-1"
    assert saved(tmp_path)["failed_attempts"] == 0
    assert events == ["escalated"]
    run_handler(tmp_path, manager, events)  # once handled, never again
    assert events == ["escalated", "failure-ignored"] and len(manager.jobs) == 2


def test_an_action_failing_again_and_again_is_given_up_after_three_attempts(
    tmp_path: Path,
) -> None:
    manager = escalating(tmp_path, ["failed"] * MAX_ACTION_ATTEMPTS)
    events: list[str] = []
    for _ in range(MAX_ACTION_ATTEMPTS):
        decision, error = run_handler(tmp_path, manager, events)
        assert decision is None and error
    assert events == ["gave-up"]
    assert saved(tmp_path)["last_handled_invocation"] == "inv-1"
    run_handler(tmp_path, manager, events)
    assert events == ["gave-up", "failure-ignored"] and len(manager.jobs) == MAX_ACTION_ATTEMPTS


def test_a_malformed_record_starts_fresh(tmp_path: Path) -> None:
    (tmp_path / "a.service.json").write_text('{"cycles": "many", "failed_attempts": true}\n')
    manager = escalating(tmp_path, ["done"])
    decision, _ = run_handler(tmp_path, manager, [])
    assert decision is not None and decision.verdict is Verdict.ESCALATE
