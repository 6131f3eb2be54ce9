"""The Debian package, installed in the beds, running on each Debian's own modules.

On debian12 this runs smartrestart on Debian 12's python3-pystemd 0.11, the
oldest pystemd the code promises to support (the other beds use 0.13 and the
project's 0.15); on debian13 on trixie's packages.
"""

from __future__ import annotations

import json
from pathlib import Path

from smartrestart.journal.events import EVENTS
from tests.integration.debs import install_smartrestart
from tests.testbed import TestBed


def test_package_runs_on_debians_own_modules(
    bed: TestBed, package_debs: dict[str, Path], bookworm_dependencies: list[Path], unit_name: str
) -> None:
    package = package_debs["smartrestart"]
    debs = [package, *bookworm_dependencies] if bed.kind == "debian12" else [package]
    install_smartrestart(bed, debs)
    version = bed.run("/usr/bin/smartrestart", "--version").stdout
    assert version.strip() == "smartrestart, version 0.1.0"
    pystemd = bed.run("/usr/bin/python3", "-c", "import pystemd; print(pystemd.__version__)")
    expected = {"debian12": "0.11", "debian13": "0.13"}[bed.kind]
    assert pystemd.stdout.startswith(expected)

    # apply restarts a unit and verifies it, through pystemd as Debian ships it.
    unit = f"{unit_name}.service"
    bed.install_unit(unit, "[Service]\nExecStart=/bin/sleep infinity\n")
    bed.systemctl("start", unit)
    before = bed.show(unit, "InvocationID")["InvocationID"]
    app = f"/srv/{unit_name}"
    bed.write(
        f"{app}/restart-rules.yaml",
        f"actions:\n  a: {{units: [{unit}]}}\nrules:\n  - {{pattern: '**', actions: [a]}}\n"
        f"budgets:\n  {unit_name}-fatal.service:\n"
        "    {restart: permanent, fatal_exit_codes: [78], "
        f"on_exhausted: stop {unit_name}.target}}\n",
    )
    result = bed.run(
        "/usr/bin/smartrestart", "apply", "--json", "--config-root", "/none", "x", cwd=app
    )
    report = json.loads(result.stdout)
    assert report["steps"][0]["result"] == "restarted"
    assert bed.show(unit, "InvocationID")["InvocationID"] != before

    # generate, then the packaged failure handler escalates a fatal exit.
    target = f"{unit_name}.target"
    bed.install_unit(target, "[Unit]\nDescription=test target\n", reload=False)
    bed.install_unit(f"{unit_name}-fatal.service", "[Service]\nExecStart=/bin/sh -c 'exit 78'\n")
    bed.systemctl("start", target)
    bed.run("/usr/bin/smartrestart", "generate", "--config-root", "/none", cwd=app)
    bed.systemctl("start", f"{unit_name}-fatal.service", check=False)
    bed.wait_for(lambda: bed.show(target, "ActiveState")["ActiveState"] == "inactive", timeout=20)
    # The handler logs the escalation once its stop job is done: after the target went inactive.
    message_id = f"MESSAGE_ID={EVENTS['escalated'].message_id}"
    bed.wait_for(lambda: f"stop {target}" in bed.journal(message_id), timeout=20)
    escalated = bed.journal(message_id, "-x")
    assert f"escalating: stop {target}" in escalated
    assert "as an OTP supervisor" in escalated  # the catalog the package installed explains it

    # status reads both units through pystemd as Debian ships it (0.11 on debian12).
    shown = bed.run(
        "/usr/bin/smartrestart", "status", "--json", "--config-root", "/none",
        unit, f"{unit_name}-fatal.service", cwd=app, check=False,
    )  # fmt: skip
    assert shown.returncode == 3, shown.stderr  # the fatal one is not active
    restarted, fatal = json.loads(shown.stdout)["units"]
    assert restarted["invocation_id"] == bed.show(unit, "InvocationID")["InvocationID"]
    assert restarted["last_restart"]["cause"] == "deploy"
    assert restarted["last_deploy"]["deploy_id"] == report["deploy_id"]
    assert (fatal["active_state"], fatal["budget"]["intensity"]) == ("failed", 4)
