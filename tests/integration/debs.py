"""Debian packages for the beds: built from this tree on the host, installed with dpkg inside.

The beds have no network: everything a bed installs is a .deb copied in.
``smartrestart`` and ``dh-smartrestart`` come from ``packaging/build-deb``, the
example packages (``hello-lib``, ``hello-api``, ``hello-worker`` at 1.0 and
1.1) from ``packaging/examples/build``, and the debian12 bed also gets Debian
12's own python3-click, -yaml, -pystemd and -sdnotify (its /usr is the host's,
where they need not be installed).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.skippolicy import in_ci
from tests.testbed import CACHE_BASE, PROJECT, TestBed

DEPENDENCIES = ("python3-click", "python3-yaml", "python3-pystemd", "python3-sdnotify")
BUILD_TOOLS = ("dpkg-buildpackage", "dh", "pybuild")
INSIDE = "/var/tmp/smartrestart-debs"  # where a bed's .debs are copied


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_build_tools() -> None:
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        unavailable(
            f"cannot build Debian packages: {', '.join(missing)} missing (make system-deps)"
        )


def build_smartrestart(out: Path) -> dict[str, Path]:
    """smartrestart_*.deb and dh-smartrestart_*.deb, built from this working tree."""
    require_build_tools()
    subprocess.run(
        [str(PROJECT / "packaging/build-deb"), str(out)], check=True, capture_output=True
    )
    return {deb.name.split("_")[0]: deb for deb in out.glob("*.deb")}


def build_examples(out: Path, variant: str = "smartrestart") -> dict[str, Path]:
    """The example packages by stem (``hello-api_1.1``), built as ``make example-debs`` does."""
    require_build_tools()
    command = [str(PROJECT / "packaging/examples/build"), str(out)]
    subprocess.run(
        [*command, *([variant] if variant != "smartrestart" else [])],
        check=True,
        capture_output=True,
    )
    return {deb.name.removesuffix("_all.deb"): deb for deb in out.glob("*.deb")}


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
        unavailable(f"cannot download Debian 12's packages: {result.stderr.strip()[-300:]}")
    return sorted(archive.glob("*.deb"))


def copy_in(bed: TestBed, debs: list[Path]) -> list[str]:
    """Copy ``debs`` into the bed; their paths inside."""
    target = bed.path(INSIDE)
    target.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        shutil.copy(deb, target / deb.name)
    return [f"{INSIDE}/{deb.name}" for deb in debs]


def as_admin(
    bed: TestBed, *argv: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` inside the bed as an administrator runs it: the installed smartrestart.

    The bed's environment points PYTHONPATH at the project's sources, which
    maintainer scripts would inherit; here they run the package's own modules.
    """
    settings = [f"{key}={value}" for key, value in (env or {}).items()]
    return bed.run(
        "env",
        "-u",
        "PYTHONPATH",
        "DEBIAN_FRONTEND=noninteractive",
        *settings,
        *argv,
        check=check,
        timeout=300,
    )


def dpkg_install(
    bed: TestBed, debs: list[Path], *, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dpkg -i`` of ``debs`` inside the bed, as an administrator runs it."""
    return as_admin(bed, "dpkg", "-i", *copy_in(bed, debs), check=check, env=env)


def install_smartrestart(bed: TestBed, debs: list[Path]) -> None:
    """The smartrestart package, with what it depends on, as the only smartrestart in the bed.

    Units and a command of the same names from other tests (installed by hand
    in /etc and /usr/local) would shadow the package's.
    """
    dpkg_install(bed, debs)
    bed.run(
        "sh", "-c", "rm -f /usr/local/bin/smartrestart /etc/systemd/system/smartrestart-*@.service"
    )
    bed.systemctl("daemon-reload")
