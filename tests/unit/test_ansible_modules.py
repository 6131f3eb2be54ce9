"""The collection's modules (packaging/ansible), run in process on canned smartrestart reports.

Hermetic: smartrestart's command line is not run; ``run_command`` returns what
the report schemas describe, and each test reads the module's own result. What
the modules do on real hosts is proven with ansible-playbook against three beds
(tests/integration/test_ansible_collection.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.testbed import PROJECT

sys.path.insert(0, str(PROJECT / "packaging/ansible"))

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.smartrestart.systemd.plugins.modules import (
    apply,
    budgets,
    status,
)

OLD, NEW = "a" * 32, "b" * 32


def step(name: str, result: str, **fields: Any) -> dict[str, Any]:
    """One step of ``apply --json`` (apply-report.schema.json)."""
    changed = result in ("restarted", "started")
    return {
        "order": 100,
        "actions": ["a"],
        "kind": "unit",
        "unit": name,
        "unit_id": name,
        "mode": "restart",
        "command": None,
        "trigger": ["x.py"],
        "result": result,
        "ok": result not in ("failed", "timed-out", "not-run"),
        "detail": None,
        "job_result": "done",
        "unit_result": "success",
        "seconds": 0.1,
        "old_invocation_id": OLD,
        "new_invocation_id": NEW if changed else OLD,
        "journal": None,
        "diff": None,
        **fields,
    }


def report(*steps: dict[str, Any], check: bool = False, **fields: Any) -> dict[str, Any]:
    return {
        "changed": any(s["result"] in ("restarted", "started", "reloaded") for s in steps),
        "deploy_id": None if check else "0123456789abcdef",
        "dry_run": False,
        "check": check,
        "exit_code": 0,
        "error": None,
        "daemon_reloaded": False,
        "seconds": 0.2,
        "timing": {},
        "failed": [],
        "external_actions": [],
        "steps": list(steps),
        "decision": {},
        **fields,
    }


class Host:
    """Stands in for the managed host: the commands run, and what smartrestart answers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[list[str], str | None, str | None]] = []
        self.answer: tuple[int, str, str] = (0, "{}", "")
        monkeypatch.setattr(basic.AnsibleModule, "run_command", self._run)
        monkeypatch.setattr(
            basic.AnsibleModule, "get_bin_path", lambda _, name, **kw: f"/usr/bin/{name}"
        )

    def _run(self, argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
        self.calls.append((argv, kwargs.get("data"), kwargs.get("cwd")))
        return self.answer

    def replies(self, rc: int, data: dict[str, Any], stderr: str = "") -> None:
        self.answer = (rc, json.dumps(data), stderr)

    @property
    def argv(self) -> list[str]:
        return self.calls[-1][0]


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    yield Host(monkeypatch)


def run(module: Any, args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_apply_passes_every_option_and_the_files_nul_separated_on_stdin(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    host.replies(0, report())
    args = {
        "changed_files": ["src/a b.py", "-odd.py"],
        "chdir": "/srv/app",
        "rules": ["/srv/app/rules.yaml"],
        "config_root": "/img",
        "root": ["/srv/app/src"],
        "keep_going": True,
        "timeout": 30,
        "settle": 2.5,
        "wait_lock": 5,
        "lock_file": "/run/x.lock",
    }
    run(apply, args, capsys)
    argv, data, cwd = host.calls[0]
    assert argv == [
        "/usr/bin/smartrestart", "apply", "--json",
        "--rules", "/srv/app/rules.yaml", "--config-root", "/img", "--root", "/srv/app/src",
        "--timeout", "30", "--wait-lock", "5", "--lock-file", "/run/x.lock", "--keep-going",
        "--settle", "2.5", "-z",
    ]  # fmt: skip
    assert data == "src/a b.py\0-odd.py\0"
    assert cwd == "/srv/app"


def test_apply_with_no_changed_files_sends_an_empty_list_not_a_terminal(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    host.replies(0, report())
    result = run(apply, {}, capsys)
    assert host.calls[0][1] == "\0"  # read as no file at all, never as "wait for input"
    assert "--settle" in host.argv and host.argv[host.argv.index("--settle") + 1] == "1"
    assert result["changed"] is False


def test_apply_with_a_git_range_passes_files_as_arguments(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    host.replies(0, report())
    run(apply, {"git_range": "A..B", "changed_files": ["extra.py"], "settle": 0}, capsys)
    argv, data, _ = host.calls[0]
    assert argv[argv.index("--git") + 1] == "A..B"
    assert argv[-2:] == ["--", "extra.py"]
    assert data is None
    assert "--settle" not in argv


def test_apply_changed_only_when_an_invocation_changed_or_a_command_ran(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    host.replies(0, report(step("web.service", "reloaded"), step("db.service", "not-running")))
    quiet = run(apply, {"changed_files": ["x"]}, capsys)
    assert quiet["changed"] is False
    assert quiet["reloaded"] == ["web.service"]

    ran = step("migrate", "succeeded", kind="run", unit="smartrestart-run-migrate-1.service")
    host.replies(0, report(step("api.service", "restarted"), ran))
    result = run(apply, {"changed_files": ["x"]}, capsys)
    assert result["changed"] is True
    assert result["restarted"] == ["api.service"]
    assert result["ran"] == ["a"]
    assert result["deploy_id"] == "0123456789abcdef"


def test_apply_failure_names_the_unit_its_result_and_its_journal(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = step(
        "api.service",
        "failed",
        unit_result="exit-code",
        new_invocation_id=NEW,
        detail="unit is failed (exit-code) within 1 s after it started",
        journal=["12:00:01 app[42]: bad configuration"],
    )
    host.replies(1, report(failed, step("web.service", "not-run", new_invocation_id=OLD)))
    result = run(apply, {"changed_files": ["x"]}, capsys)
    assert result["failed"] is True
    assert result["changed"] is True  # the old process is gone: something did change
    assert result["msg"].splitlines() == [
        "api.service: failed (Result: exit-code): unit is failed (exit-code) within 1 s after "
        "it started",
        "  12:00:01 app[42]: bad configuration",
        "not run, as an earlier order group failed: web.service",
    ]
    assert result["failed_units"] == ["api.service"]
    assert result["journal"] == {"api.service": ["12:00:01 app[42]: bad configuration"]}


def test_apply_check_mode_asks_systemd_read_only_and_reports_the_plan(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = report(step("api.service", "restarted", new_invocation_id=None), check=True)
    host.replies(1, plan)  # 1: something would change, as generate --check
    result = run(apply, {"changed_files": ["x"], "_ansible_check_mode": True}, capsys)
    assert "--check" in host.argv and "--settle" not in host.argv
    assert result["changed"] is True
    assert "failed" not in result
    assert result["steps"][0]["result"] == "restarted"
    assert result["deploy_id"] is None


def test_apply_diff_shows_each_unit_before_and_after(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    def state(invocation: str, pid: int, at: str) -> dict[str, Any]:
        return {
            "active_state": "active",
            "invocation_id": invocation,
            "main_pid": pid,
            "active_enter_timestamp": at,
        }

    before, after = state(OLD, 10, "2026-01-01T00:00:00"), state(NEW, 20, "2026-01-01T00:01:00")
    host.replies(
        0, report(step("api.service", "restarted", diff={"before": before, "after": after}))
    )
    result = run(apply, {"changed_files": ["x"], "_ansible_diff": True}, capsys)
    assert "--diff" in host.argv
    (diff,) = result["diff"]
    assert diff["before_header"] == "api.service"
    assert diff["before"].splitlines() == [
        "ActiveState=active",
        f"InvocationID={OLD}",
        "MainPID=10",
        "ActiveEnterTimestamp=2026-01-01T00:00:00",
    ]
    assert f"InvocationID={NEW}" in diff["after"] and "MainPID=20" in diff["after"]

    checked = report(
        step("api.service", "restarted", diff={"before": before, "after": None}), check=True
    )
    host.replies(1, checked)
    args = {"changed_files": ["x"], "_ansible_diff": True, "_ansible_check_mode": True}
    (predicted,) = run(apply, args, capsys)["diff"]
    assert "InvocationID=(new)" in predicted["after"]


@pytest.mark.parametrize(
    ("rc", "stderr", "meaning"),
    [
        (
            2,
            "smartrestart: error: r.yaml:3: actions.a.units: no such unit x.service",
            "nothing acted",
        ),
        (4, "smartrestart: error: another apply (pid 7) holds the lock", "holds the lock"),
        (3, "smartrestart: error: cannot reach the system bus", "cannot reach systemd"),
    ],
)
def test_apply_errors_are_one_line_with_the_exit_code_meaning(
    host: Host, capsys: pytest.CaptureFixture[str], rc: int, stderr: str, meaning: str
) -> None:
    host.answer = (rc, "", stderr + "\n")
    result = run(apply, {"changed_files": ["x"]}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(stderr)
    assert f"(exit {rc}: " in result["msg"] and meaning in result["msg"]


def test_apply_refuses_a_negative_settle(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(apply, {"settle": -1}, capsys)
    assert result["failed"] is True and "settle" in result["msg"]
    assert host.calls == []


def test_budgets_check_and_diff_mode(host: Host, capsys: pytest.CaptureFixture[str]) -> None:
    diff = "--- /dev/null\n+++ b/etc/systemd/system/a.service.d/50-smartrestart.conf\n+x\n"
    files = [{"unit": "a.service", "path": "/p", "result": "would write", "diff": diff}]
    generated = {"changed": True, "check": True, "reloaded": False, "warnings": [], "files": files}
    host.replies(1, generated, "smartrestart: warning: RestartSteps= needs systemd 254\n")
    args = {
        "unit_dir": "/units",
        "reload": False,
        "_ansible_check_mode": True,
        "_ansible_diff": True,
    }
    result = run(budgets, args, capsys)
    assert host.argv[1:] == [
        "generate", "--json", "--unit-dir", "/units", "--no-reload", "--check", "--diff",
    ]  # fmt: skip
    assert result["changed"] is True and "failed" not in result
    assert result["diff"] == [{"prepared": diff}]
    assert "RestartSteps= needs systemd 254" in json.dumps(result["warnings"])

    host.replies(1, generated)
    assert run(budgets, {}, capsys)["failed"] is True  # outside check mode 1 is a failure


def test_status_sets_facts_and_gates_on_active_and_budget(
    host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    def unit(name: str, active: str, result: str, exhausted: bool) -> dict[str, Any]:
        return {
            "unit": name,
            "active_state": active,
            "result": result,
            "budget": {"exhausted": exhausted},
        }

    data = {
        "units": [
            unit("api.service", "active", "success", False),
            unit("worker.service", "failed", "exit-code", True),
        ],
        "warnings": [],
    }
    host.replies(3, data)  # 3: a unit shown is not active
    facts = run(status, {"units": ["api.service", "worker.service"]}, capsys)
    assert host.argv[1:] == ["status", "--json", "--", "api.service", "worker.service"]
    assert facts["ansible_facts"]["smartrestart_status"] == data
    assert (facts["inactive"], facts["exhausted"]) == (["worker.service"], ["worker.service"])
    assert "failed" not in facts

    gated = run(status, {"require_active": True, "require_budget": True}, capsys)
    assert gated["failed"] is True
    assert gated["msg"] == (
        "worker.service is failed (Result: exit-code); worker.service: restart budget exhausted"
    )
