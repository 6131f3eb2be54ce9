"""The Debian package, installed in the beds, running on each Debian's own modules.

On debian12 this runs smartrestart on Debian 12's python3-pystemd 0.11, the
oldest pystemd the code promises to support (the other beds use 0.13 and the
project's 0.15); on debian13 on trixie's packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from smartrestart.journal.events import EVENTS
from tests.skippolicy import in_ci
from tests.testbed import CACHE_BASE, PROJECT, TestBed

DEPENDENCIES = ("python3-click", "python3-yaml", "python3-pystemd", "python3-sdnotify")
BUILD_TOOLS = ("dpkg-buildpackage", "dh", "pybuild")


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """smartrestart_*.deb built from this working tree."""
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(
            f"cannot build the Debian package: {', '.join(missing)} missing (make system-deps)"
        )
    out = tmp_path_factory.mktemp("deb")
    subprocess.run(
        [str(PROJECT / "packaging/build-deb"), str(out)], check=True, capture_output=True
    )
    (deb,) = out.glob("smartrestart_*.deb")
    return deb


@pytest.fixture(scope="session")
def bookworm_dependencies() -> list[Path]:
    """Debian 12's own python3-click, -yaml, -pystemd, -sdnotify (and what they need)."""
    archive = CACHE_BASE / "bookworm-debs"
    (archive / "partial").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "apt-get",
            "install",
            "--download-only",
            "-y",
            "-q",
            "-o",
            f"Dir::Cache::archives={archive}",
            *DEPENDENCIES,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        _unavailable(f"cannot download Debian 12's packages: {result.stderr.strip()[-300:]}")
    return sorted(archive.glob("*.deb"))


def install(bed: TestBed, debs: list[Path]) -> None:
    inside = "/var/tmp/smartrestart-debs"
    bed.run("rm", "-rf", inside)
    for deb in debs:
        bed.path(f"{inside}/{deb.name}").parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(deb, bed.path(f"{inside}/{deb.name}"))
    names = [f"{inside}/{deb.name}" for deb in debs]
    bed.run("env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "-i", *names, timeout=300)
    # Units and a command of the same names from other tests (installed by hand
    # in /etc and /usr/local) would shadow the package's.
    bed.run(
        "sh", "-c", "rm -f /usr/local/bin/smartrestart /etc/systemd/system/smartrestart-*@.service"
    )
    bed.systemctl("daemon-reload")


def test_package_runs_on_debians_own_modules(
    bed: TestBed, package: Path, bookworm_dependencies: list[Path], unit_name: str
) -> None:
    debs = [package, *bookworm_dependencies] if bed.kind == "debian12" else [package]
    install(bed, debs)
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
