"""The Ansible role against a real systemd: budgets generated, handler restarts, check mode.

ansible-playbook runs on the host (connection local) and reaches the bed's
manager through DBUS_SYSTEM_BUS_ADDRESS, as it would reach a container.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.testbed import PROJECT, TestBed

PLAYBOOK = PROJECT / "tests/fixtures/ansible/playbook.yml"


def play(variables: dict[str, object], work: Path, *extra: str) -> dict[str, int]:
    """Run the playbook; return the localhost recap counts."""
    (work / "vars.json").write_text(json.dumps(variables))
    binaries = Path(sys.executable).parent
    result = subprocess.run(
        [str(binaries / "ansible-playbook"), str(PLAYBOOK), "-e", f"@{work / 'vars.json'}", *extra],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{binaries}:{os.environ['PATH']}",
            "ANSIBLE_ROLES_PATH": str(PROJECT / "packaging/ansible/roles"),
            "ANSIBLE_COLLECTIONS_PATH": str(PROJECT / "packaging/ansible"),  # the role's modules
            "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
        },
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", result.stdout)
    assert recap, result.stdout
    return {"ok": int(recap.group(1)), "changed": int(recap.group(2))}


def test_role_generates_budgets_and_its_handler_restarts_on_change(
    bed: TestBed, unit_name: str, tmp_path: Path
) -> None:
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    bed.systemctl("start", unit)
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    variables: dict[str, object] = {
        "smartrestart_install": False,
        "smartrestart_config_root": str(tmp_path / "root"),
        "smartrestart_workdir": str(app),
        "smartrestart_rules": {
            "actions": {"restart_api": {"order": 20, "units": [unit]}},
            "rules": [{"pattern": "src/**", "actions": ["restart_api"]}],
            "budgets": {unit: {"restart": "permanent", "intensity": 3, "period": "30s"}},
        },
        "smartrestart_changed_files": ["src/app.py"],
        # The bed's unit directory seen from the host: an explicit unit dir, reloaded on request.
        "smartrestart_unit_dir": str(bed.path("/etc/systemd/system")),
        "smartrestart_reload": True,
        "smartrestart_lock_file": str(tmp_path / "apply.lock"),
        "smartrestart_environment": {"DBUS_SYSTEM_BUS_ADDRESS": bed.bus_address},
        "app_code": "print('v1')\n",
    }
    (tmp_path / "root/etc/smartrestart/rules.d").mkdir(parents=True)

    before = bed.show(unit, "InvocationID")["InvocationID"]
    first = play(variables, tmp_path)
    assert first["changed"] == 4  # fragment, drop-in, code, handler restart
    assert bed.show(unit, "StartLimitBurst")["StartLimitBurst"] == "4"
    restarted = bed.show(unit, "InvocationID")["InvocationID"]
    assert restarted != before

    second = play(variables, tmp_path)
    assert second["changed"] == 0  # nothing changed: no handler, no restart, no reload
    assert bed.show(unit, "InvocationID")["InvocationID"] == restarted

    variables["app_code"] = "print('v2')\n"
    checked = play(variables, tmp_path, "--check")
    assert checked["changed"] == 2  # the code would change, and the handler would restart
    assert bed.show(unit, "InvocationID")["InvocationID"] == restarted
    assert (app / "src/app.py").read_text() == "print('v1')\n"
