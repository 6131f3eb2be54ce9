"""Debian upgrades through smartrestart's dpkg trigger, with Debian's own dpkg, on 252 and 257.

The example packages (packaging/examples) are installed at 1.0 with
``dpkg -i``, then upgraded: each unit whose files changed restarts exactly
once, at the end of the dpkg run, and no other. A restart is counted twice
over: systemd's own "Started" entries for the unit (MESSAGE_ID
39f53479..., one per start) and smartrestart's unit-job-done entries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartrestart.journal.events import EVENTS
from tests.integration.debs import as_admin, copy_in, dpkg_install, install_smartrestart
from tests.testbed import TestBed

PACKAGES = ("hello-lib", "hello-api", "hello-worker")
UNITS = ("hello-api.service", "hello-worker.service")
UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"  # systemd's SD_MESSAGE_UNIT_STARTED
PENDING = "/var/lib/smartrestart/pending"
BROKEN = "/etc/systemd/system/hello-api.service.d/broken.conf"
ONCE, NEVER = (1, 1), (0, 0)  # starts by systemd's count and by our journal entries


@pytest.fixture(scope="module")
def installed(
    bed: TestBed, package_debs: dict[str, Path], bookworm_dependencies: list[Path]
) -> Iterator[TestBed]:
    """The bed with the smartrestart package, no policy-rc.d; the examples purged after."""
    debs = [package_debs["smartrestart"]]
    install_smartrestart(bed, [*debs, *bookworm_dependencies] if bed.kind == "debian12" else debs)
    # The debian12 bed's /usr is the host's, whose policy-rc.d (a container
    # image's) forbids every service action: gone from this bed's overlay only.
    bed.run("rm", "-f", "/usr/sbin/policy-rc.d")
    yield bed
    bed.run("rm", "-rf", f"{BROKEN.rsplit('/', 1)[0]}", "/usr/sbin/policy-rc.d")
    bed.run("dpkg", "--purge", *PACKAGES, check=False)
    bed.run("sh", "-c", f"rm -f {PENDING}/*")


@pytest.fixture
def at_1_0(installed: TestBed, examples: dict[str, Path]) -> TestBed:
    """hello-lib, hello-api and hello-worker 1.0 freshly installed, both units up."""
    bed = installed
    bed.run("dpkg", "--purge", *PACKAGES, check=False)
    bed.run("sh", "-c", f"rm -f {PENDING}/*")
    dpkg_install(bed, [examples[f"{package}_1.0"] for package in PACKAGES])
    for unit in UNITS:
        assert bed.show(unit, "ActiveState")["ActiveState"] == "active", unit
    return bed


def invocations(bed: TestBed) -> dict[str, str]:
    return {unit: bed.show(unit, "InvocationID")["InvocationID"] for unit in UNITS}


def cursor(bed: TestBed) -> str:
    export = bed.journal("-n", "1", "-o", "export")
    return re.search(r"^__CURSOR=(.*)$", export, re.MULTILINE).group(1)  # type: ignore[union-attr]


def entries(bed: TestBed, after: str, *matches: str) -> list[dict[str, str]]:
    """Entries since the cursor with every FIELD=value of ``matches``.

    Filtered here: journalctl 252 with both --after-cursor and a match skips
    the first matching entry when the cursor's own entry does not match.
    """
    out = bed.journal(f"--after-cursor={after}", "-o", "json")
    wanted = [match.split("=", 1) for match in matches]
    found = (json.loads(line) for line in out.splitlines() if line.strip())
    return [entry for entry in found if all(entry.get(k) == v for k, v in wanted)]


def starts(bed: TestBed, after: str) -> dict[str, tuple[int, int]]:
    """How often each unit started since ``after``: (by systemd's journal, by ours)."""
    done = EVENTS["unit-job-done"].message_id
    return {
        unit: (
            len(entries(bed, after, f"MESSAGE_ID={UNIT_STARTED}", f"UNIT={unit}")),
            len(entries(bed, after, f"MESSAGE_ID={done}", f"SMARTRESTART_UNIT={unit}")),
        )
        for unit in UNITS
    }


def pending(bed: TestBed) -> list[str]:
    return bed.run("ls", PENDING).stdout.split()


def upgrade(
    bed: TestBed, examples: dict[str, Path], *stems: str, env: dict[str, str] | None = None
) -> tuple[str, str]:
    """``dpkg -i`` of ``stems``; (the output, the journal cursor from before it)."""
    before = cursor(bed)
    result = dpkg_install(bed, [examples[stem] for stem in stems], env=env)
    return result.stdout + result.stderr, before


def test_an_api_code_upgrade_restarts_only_the_api(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    bed = at_1_0
    before = invocations(bed)
    output, since = upgrade(bed, examples, "hello-api_1.1")
    after = invocations(bed)
    assert after["hello-api.service"] != before["hello-api.service"], output
    assert after["hello-worker.service"] == before["hello-worker.service"]
    assert starts(bed, since) == {"hello-api.service": ONCE, "hello-worker.service": NEVER}
    assert "hello-api 1.1: hello" in bed.show("hello-api.service", "StatusText")["StatusText"]
    assert pending(bed) == []


def test_one_dpkg_run_of_all_three_restarts_each_unit_once_at_the_end(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    bed = at_1_0
    before = invocations(bed)
    output, since = upgrade(bed, examples, *(f"{package}_1.1" for package in PACKAGES))
    assert starts(bed, since) == {"hello-api.service": ONCE, "hello-worker.service": ONCE}, output
    assert all(invocations(bed)[unit] != before[unit] for unit in UNITS)
    # At the end: the trigger runs after every package is set up, once.
    assert output.count("Processing triggers for smartrestart") == 1
    assert output.rindex("Setting up") < output.index("Processing triggers for smartrestart")
    deploy_ids = {
        e["SMARTRESTART_DEPLOY"] for e in entries(bed, since, "SYSLOG_IDENTIFIER=smartrestart")
    }
    assert len(deploy_ids) == 1  # one deploy id for the whole dpkg run
    started = entries(bed, since, f"MESSAGE_ID={EVENTS['apply-started'].message_id}")
    assert started[0]["SMARTRESTART_PACKAGES"] == (
        "hello-api 1.0 -> 1.1, hello-lib 1.0 -> 1.1, hello-worker 1.0 -> 1.1"
    )
    assert pending(bed) == []


def test_a_library_upgrade_restarts_both_importers_through_the_import_graph(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    bed = at_1_0
    output, since = upgrade(bed, examples, "hello-lib_1.1")
    assert starts(bed, since) == {"hello-api.service": ONCE, "hello-worker.service": ONCE}, output
    for unit in UNITS:  # the new module is what they run now
        assert bed.show(unit, "StatusText")["StatusText"].endswith("hello, world")
    done = entries(bed, since, f"MESSAGE_ID={EVENTS['unit-job-done'].message_id}")
    assert {e["SMARTRESTART_TRIGGER"] for e in done} == {
        "/usr/lib/python3/dist-packages/hello_api/__main__.py",
        "/usr/lib/python3/dist-packages/hello_worker/__main__.py",
    }


def test_a_conffile_only_change_restarts_the_worker(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    """needrestart would not: no process maps a deleted file after a configuration change."""
    bed = at_1_0
    output, since = upgrade(bed, examples, "hello-worker_1.1")
    assert starts(bed, since) == {"hello-api.service": NEVER, "hello-worker.service": ONCE}, output
    assert "batch=20" in bed.show("hello-worker.service", "StatusText")["StatusText"]


def test_policy_rc_d_forbidding_keeps_the_change_until_apply_pending(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    bed = at_1_0
    bed.write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
    try:
        output, since = upgrade(bed, examples, "hello-api_1.1")
    finally:
        bed.run("rm", "-f", "/usr/sbin/policy-rc.d")
    assert starts(bed, since) == {"hello-api.service": NEVER, "hello-worker.service": NEVER}, output
    assert "denied-by-policy" in output
    assert len(pending(bed)) == 1

    since = cursor(bed)
    result = as_admin(bed, "smartrestart", "apply", "--pending")
    assert "restarted" in result.stdout
    assert starts(bed, since) == {"hello-api.service": ONCE, "hello-worker.service": NEVER}
    assert pending(bed) == []
    assert as_admin(bed, "smartrestart", "apply", "--pending").stdout == "nothing pending\n"


def break_api(bed: TestBed) -> None:
    """From now on hello-api.service fails to start (its running process is left alone)."""
    bed.write(BROKEN, "[Service]\nExecStartPre=/bin/false\n")
    bed.systemctl("daemon-reload")


def repair_api(bed: TestBed) -> None:
    bed.run("rm", "-f", BROKEN)
    bed.systemctl("daemon-reload")


def test_a_unit_that_does_not_come_back_is_reported_and_dpkg_and_apt_still_succeed(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    bed = at_1_0
    break_api(bed)
    (deb,) = copy_in(bed, [examples["hello-api_1.1"]])
    since = cursor(bed)
    result = as_admin(bed, "apt-get", "install", "-y", "-q", deb, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "hello-api.service: failed" in output
    assert "smartrestart apply --pending" in output
    assert bed.show("hello-api.service", "ActiveState")["ActiveState"] == "failed"
    kept = entries(bed, since, f"MESSAGE_ID={EVENTS['pending-kept'].message_id}")
    assert kept and kept[0]["SMARTRESTART_UNITS"] == "hello-api.service"
    assert "smartrestart apply --pending" in kept[0]["MESSAGE"]
    assert len(pending(bed)) == 1

    repair_api(bed)  # the retry command the output named brings it back
    as_admin(bed, "smartrestart", "apply", "--pending")
    assert bed.show("hello-api.service", "ActiveState")["ActiveState"] == "active"
    assert pending(bed) == []


def test_with_smartrestart_strict_a_unit_that_does_not_come_back_fails_dpkg(
    at_1_0: TestBed, examples: dict[str, Path]
) -> None:
    bed = at_1_0
    break_api(bed)
    result = dpkg_install(
        bed, [examples["hello-api_1.1"]], check=False, env={"SMARTRESTART_STRICT": "1"}
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "error processing package smartrestart" in output
    assert "hello-api.service: failed" in output
    repair_api(bed)
    assert as_admin(bed, "dpkg", "--configure", "-a", check=False).returncode == 0
    assert bed.show("hello-api.service", "ActiveState")["ActiveState"] == "active"
    assert pending(bed) == []


def test_the_installed_bash_completion_completes_the_commands(installed: TestBed) -> None:
    script = (
        "source /usr/share/bash-completion/completions/smartrestart; "
        "COMP_WORDS=(smartrestart ap); COMP_CWORD=1; "
        "_smartrestart_completion smartrestart ap smartrestart; "  # as bash calls it
        'echo "${COMPREPLY[@]}"'
    )
    assert as_admin(installed, "bash", "-c", script).stdout.strip() == "apply"
