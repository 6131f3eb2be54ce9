"""Fixtures for tests against a real systemd: one booted bed per kind, shared by the session.

Outside CI, without root or systemd-nspawn, every integration test is skipped
with one reason line. With ``CI=true`` a bed that cannot boot fails the run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import testbed
from tests.skippolicy import in_ci

_BOOTED: dict[str, testbed.TestBed] = {}
_WRONG_VERSION: dict[str, str | None] = {}
_STARTED = time.monotonic()


def _unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "integration tests need root to boot a systemd test bed (systemd-nspawn)"
    if shutil.which("systemd-nspawn") is None:
        return "integration tests need systemd-nspawn: apt-get install systemd-container"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in item.nodeid:
            item.add_marker(pytest.mark.integration)
    reason = _unavailable_reason()
    if reason is None:
        return
    if in_ci():
        raise pytest.UsageError(f"CI=true but the test beds cannot run: {reason}")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _booted(kind: str) -> testbed.TestBed:
    """The session's bed of ``kind``, booted on first use and stopped at the end."""
    if kind not in _BOOTED:
        try:
            _BOOTED[kind] = testbed.boot(kind)
        except testbed.BedError as exc:
            if in_ci():
                pytest.fail(f"{kind} test bed failed to boot: {exc}", pytrace=False)
            pytest.skip(f"{kind} test bed failed to boot: {exc}")
        _WRONG_VERSION[kind] = testbed.version_problem(_BOOTED[kind])
    if _WRONG_VERSION[kind]:  # every test on that bed fails, saying why
        pytest.fail(str(_WRONG_VERSION[kind]), pytrace=False)
    return _BOOTED[kind]


@pytest.fixture(scope="session", autouse=True)
def _stop_beds() -> Iterator[None]:
    yield
    for booted in _BOOTED.values():
        booted.stop()


@pytest.fixture(scope="session", params=testbed.KINDS)
def bed(request: pytest.FixtureRequest) -> testbed.TestBed:
    """A running bed of each kind (debian12: systemd 252, debian13: systemd 257)."""
    return _booted(request.param)


@pytest.fixture(scope="session")
def debian13() -> testbed.TestBed:
    """The systemd 257 bed, with Debian's own openssh-server, nginx, postgresql and cron."""
    return _booted("debian13")


@pytest.fixture(scope="session")
def debian12() -> testbed.TestBed:
    """The systemd 252 bed on the host's /usr (git, Debian 12's packages)."""
    return _booted("debian12")


@pytest.fixture(scope="session")
def package_debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """smartrestart and dh-smartrestart .debs built from this working tree, by package name."""
    from tests.integration.debs import build_smartrestart

    return build_smartrestart(tmp_path_factory.mktemp("deb"))


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example packages by stem (``hello-api_1.1``), as ``make example-debs`` builds them."""
    from tests.integration.debs import build_examples

    return build_examples(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="session")
def bookworm_dependencies() -> list[Path]:
    """Debian 12's own python3-click, -yaml, -pystemd, -sdnotify .debs (for the debian12 bed)."""
    from tests.integration.debs import bookworm_dependencies

    return bookworm_dependencies()


@pytest.fixture
def unit_name(request: pytest.FixtureRequest) -> str:
    """A unit-name stem unique to the test, so tests sharing a bed never collide."""
    stem = request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")
    return f"t-{stem[:40]}-{os.urandom(3).hex()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _BOOTED:
        return
    terminalreporter.section("systemd test beds")
    for kind, booted in _BOOTED.items():
        terminalreporter.write_line(
            f"{kind}: systemd {booted.systemd_version}, ready in {booted.boot_seconds:.2f} s"
        )
    terminalreporter.write_line(f"session time with beds: {time.monotonic() - _STARTED:.1f} s")
