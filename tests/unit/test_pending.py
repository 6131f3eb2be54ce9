"""``apply --pending``: the spool Debian upgrades fill, decided once, settled for what was done.

The orchestration runs against the scripted fake systemd; what dpkg and
systemd really do is proven in tests/integration/test_dpkg_trigger.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from smartrestart.apply.model import Outcome
from smartrestart.apply.output import render_pending
from smartrestart.apply.pending import PendingRecord, parse_record, render_record
from smartrestart.apply.run import ApplyRequest
from smartrestart.apply.run_pending import (
    PendingOutcome,
    PendingRequest,
    pending_exit_code,
    run_pending,
)
from smartrestart.apply.spool import Spool, UntrustedSpool
from smartrestart.decide.run import DecideRequest
from smartrestart.errors import ActionLedger, ConfigError, ExitCode
from smartrestart.journal.events import EVENTS
from tests.fakesystemd import FakeSystemd, FakeUnit

API = "/usr/lib/python3/dist-packages/hello_api/__main__.py"
WORKER_CONF = "/etc/hello-worker/worker.conf"
FRAGMENT = """\
actions:
  restart_api: {units: [hello-api.service], mode: try-restart}
  restart_worker: {units: [hello-worker.service], mode: try-restart}
rules:
  - {pattern: "/usr/lib/python3/dist-packages/hello_api/**", actions: [restart_api]}
  - {pattern: "/etc/hello-worker/**", actions: [restart_worker]}
"""


class Journal(list[tuple[str, str, Mapping[str, object]]]):
    def __call__(self, kind: str, message: str, fields: Mapping[str, object]) -> None:
        self.append((kind, message, fields))

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self]


class Host:
    """A spool, the rules fragments, policy-rc.d and a fake systemd, all under tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.spool = tmp_path / "var/lib/smartrestart/pending"
        self.spool.mkdir(parents=True, mode=0o700)
        rules_d = tmp_path / "usr/lib/smartrestart/rules.d"
        rules_d.mkdir(parents=True)
        (rules_d / "hello.yaml").write_text(FRAGMENT)
        self.policy = tmp_path / "policy-rc.d"
        self.systemd = FakeSystemd()
        self.api = self.systemd.add(FakeUnit("hello-api.service"))
        self.worker = self.systemd.add(FakeUnit("hello-worker.service"))
        self.journal = Journal()

    def record(self, name: str, package: str, *files: str) -> Path:
        path = self.spool / name
        path.write_text(render_record(PendingRecord(name, package, "1.0", "1.1", files)))
        path.chmod(0o600)
        return path

    def forbid(self) -> None:
        self.policy.write_text("#!/bin/sh\nexit 101\n")
        self.policy.chmod(0o755)

    def run(self, *, trigger: bool = False, suspended: bool = False) -> PendingOutcome:
        request = PendingRequest(
            ApplyRequest(
                DecideRequest(config_root=str(self.root), no_cache=True),
                timeout=5,
                lock_file=self.root / "apply.lock",
            ),
            spool=self.spool,
            policy_helper=self.policy,
            trigger=trigger,
            suspended=suspended,
        )

        @contextlib.contextmanager
        def connect() -> Iterator[FakeSystemd]:
            yield self.systemd

        ActionLedger.reset()  # one run, one command
        return run_pending(request, warn=print, connect=connect, log=self.journal)

    def pending(self) -> dict[str, tuple[str, ...]]:
        with Spool.read(self.spool) as spool:
            return {record.name: record.files for record in spool.records}


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    monkeypatch.setattr("smartrestart.apply.run_pending.SYSTEMD_RUNNING", tmp_path)
    return Host(tmp_path)


def test_a_record_reads_back_as_written() -> None:
    record = PendingRecord("a.list", "hello-api", "1.0", "1.1", (API, "/etc/x y"))
    assert parse_record(render_record(record), Path("/spool/a.list")) == record


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "a.list:1: not a pending record"),
        ("smartrestart-pending 2\n", "a.list:1: not a pending record"),
        ("smartrestart-pending 1\nfrom 1.0\n\n/x\n", "a.list:2: package: is required"),
        ("smartrestart-pending 1\npackage p\nversion 2\n\n/x\n", "a.list:3: version: expected"),
        ("smartrestart-pending 1\npackage p\n\n/x\nrelative\n", "a.list:5: not an absolute path"),
    ],
)
def test_a_malformed_record_names_its_file_and_line(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_record(text, Path("/spool/a.list"))
    assert str(error.value.message).startswith(f"/spool/{where}")


def test_the_units_of_every_pending_file_restart_once_and_the_spool_is_cleared(host: Host) -> None:
    host.record("hello-api.1.list", "hello-api", API)
    host.record("hello-worker.1.list", "hello-worker", WORKER_CONF)
    host.record("hello-api.2.list", "hello-api", API, "/usr/share/doc/hello-api/changelog.gz")
    before = (host.api.invocation_id, host.worker.invocation_id)
    outcome = host.run()
    assert host.systemd.calls_of("submit:TryRestartUnit") == [
        "hello-api.service",
        "hello-worker.service",
    ]
    assert (host.api.invocation_id, host.worker.invocation_id) != before
    assert outcome.report is not None and not outcome.report.failed
    assert host.pending() == {}
    assert not list(host.spool.iterdir())
    assert "pending-kept" not in host.journal.kinds()
    assert pending_exit_code(outcome, trigger=False, strict=False) is ExitCode.OK


def test_a_unit_that_fails_keeps_only_its_files_pending(host: Host) -> None:
    host.record("hello-api.1.list", "hello-api", API, WORKER_CONF)
    host.api.script = ["failed"]
    outcome = host.run(trigger=True)
    assert host.pending() == {"hello-api.1.list": (API,)}
    kept = [fields for kind, _, fields in host.journal if kind == "pending-kept"]
    assert kept[0]["SMARTRESTART_UNITS"] == "hello-api.service"
    assert kept[0]["SMARTRESTART_RETRY"] == "smartrestart apply --pending"
    deploy_ids = {fields["SMARTRESTART_DEPLOY"] for _, _, fields in host.journal}
    assert deploy_ids == {outcome.deploy_id}  # one deploy id for the whole dpkg run
    assert pending_exit_code(outcome, trigger=True, strict=False) is ExitCode.OK
    assert pending_exit_code(outcome, trigger=True, strict=True) is ExitCode.FAILED
    assert pending_exit_code(outcome, trigger=False, strict=False) is ExitCode.FAILED

    host.api.script = []  # fixed: the retry starts the failed unit and clears the record
    host.run()
    assert host.pending() == {}
    assert host.systemd.calls_of("submit:RestartUnit") == ["hello-api.service"]
    assert host.api.active_state == "active"


def test_a_stopped_unit_stays_stopped_and_its_change_is_settled(host: Host) -> None:
    """try-restart: what the administrator stopped, an upgrade does not start."""
    host.record("hello-api.1.list", "hello-api", API)
    host.api.active_state, host.api.sub_state = "inactive", "dead"
    outcome = host.run(trigger=True)
    assert outcome.report is not None
    assert [r.outcome for r in outcome.report.results] == [Outcome.NOT_RUNNING]
    assert host.api.active_state == "inactive" and host.pending() == {}


def test_a_library_change_keeps_the_changed_file_behind_a_failed_importer(
    host: Host, tmp_path: Path
) -> None:
    """The kept file is the one that changed, not the importer expansion added."""
    lib = tmp_path / "site"
    (lib / "hello_api").mkdir(parents=True)
    (lib / "hello_lib").mkdir()
    (lib / "hello_api/__main__.py").write_text("import hello_lib\n")
    (lib / "hello_lib/__init__.py").write_text("")
    fragment = tmp_path / "usr/lib/smartrestart/rules.d/hello.yaml"
    fragment.write_text(
        FRAGMENT.replace("/usr/lib/python3/dist-packages", str(lib)) + f"import_roots: [{lib}]\n"
    )
    host.record("hello-lib.1.list", "hello-lib", f"{lib}/hello_lib/__init__.py")
    host.api.script = ["failed"]
    host.run()
    assert host.pending() == {"hello-lib.1.list": (f"{lib}/hello_lib/__init__.py",)}


def test_policy_rc_d_forbidding_keeps_everything_pending_until_allowed(host: Host) -> None:
    host.record("hello-api.1.list", "hello-api", API)
    host.forbid()
    outcome = host.run(trigger=True)
    assert outcome.report is not None
    assert [r.outcome for r in outcome.report.results] == [Outcome.DENIED]
    assert not host.systemd.calls_of("submit:TryRestartUnit")
    assert host.pending() == {"hello-api.1.list": (API,)}
    assert pending_exit_code(outcome, trigger=True, strict=True) is ExitCode.OK

    host.policy.unlink()
    host.run()
    assert host.systemd.calls_of("submit:TryRestartUnit") == ["hello-api.service"]
    assert host.pending() == {}


@pytest.mark.parametrize("why", ["suspended", "shutting down", "no systemd"])
def test_the_trigger_keeps_everything_pending_without_acting(
    host: Host, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    host.record("hello-api.1.list", "hello-api", API)
    if why == "shutting down":
        host.systemd.shutting_down = "the system is shutting down (SystemState=stopping)"
    if why == "no systemd":
        monkeypatch.setattr(
            "smartrestart.apply.run_pending.SYSTEMD_RUNNING", host.root / "run/systemd/system"
        )
    outcome = host.run(trigger=True, suspended=why == "suspended")
    assert outcome.deferred
    assert not [call for call in host.systemd.calls if call[0].startswith("submit")]
    assert host.systemd.reloads == 0
    assert host.pending() == {"hello-api.1.list": (API,)}
    assert host.journal.kinds() == ["pending-kept"]
    assert pending_exit_code(outcome, trigger=True, strict=True) is ExitCode.OK


def test_the_manager_is_reloaded_first_when_a_unit_to_restart_changed_on_disk(
    host: Host,
) -> None:
    host.record("hello-worker.1.list", "hello-worker", WORKER_CONF)
    host.worker.need_daemon_reload = True
    outcome = host.run(trigger=True)
    assert host.systemd.calls.index(("reload_manager", "")) < host.systemd.calls.index(
        ("submit:TryRestartUnit", "hello-worker.service")
    )
    assert outcome.report is not None and outcome.report.daemon_reloaded
    host.record("hello-worker.2.list", "hello-worker", WORKER_CONF)
    host.run(trigger=True)
    assert host.systemd.reloads == 1  # not again: nothing changed on disk since


def test_nothing_pending_connects_to_nothing(host: Host) -> None:
    outcome = host.run(trigger=True)
    assert outcome.records == () and not host.systemd.calls and not host.journal


def test_files_no_rule_matches_are_settled_without_acting(host: Host) -> None:
    host.record("hello-api.1.list", "hello-api", "/usr/share/doc/hello-api/changelog.gz")
    host.run(trigger=True)
    assert host.pending() == {} and not host.systemd.calls


def test_a_spool_another_user_could_write_is_refused(host: Host) -> None:
    host.record("hello-api.1.list", "hello-api", API)
    host.spool.chmod(0o777)
    with pytest.raises(UntrustedSpool, match="writable by group or others"):
        host.run()
    outcome = host.run(trigger=True)  # the trigger reports it and leaves the dpkg run alone
    assert outcome.error is not None and not host.systemd.calls
    assert pending_exit_code(outcome, trigger=True, strict=False) is ExitCode.OK
    assert pending_exit_code(outcome, trigger=True, strict=True) is ExitCode.USAGE


def test_a_record_writable_by_others_or_a_symlink_is_refused(host: Host) -> None:
    host.record("a.list", "hello-api", API).chmod(0o666)
    with pytest.raises(UntrustedSpool, match="mode 0666"):
        host.run()
    (host.spool / "a.list").unlink()
    (host.spool / "b.list").symlink_to(host.root / "usr/lib/smartrestart/rules.d/hello.yaml")
    with pytest.raises(UntrustedSpool, match=r"b\.list"):
        host.run()


def test_a_record_being_written_is_not_read(host: Host) -> None:
    host.record(".hello-api.XXXXXX", "hello-api", API)  # not yet renamed to *.list
    assert host.run().records == ()


def test_the_catalog_names_the_retry_command() -> None:
    assert "smartrestart apply --pending" in EVENTS["pending-kept"].body


def test_the_trigger_with_nothing_pending_says_nothing_even_where_it_may_not_act(
    host: Host,
) -> None:
    """smartrestart's own postinst runs it on configure too: in an image build, silently."""
    outcome = host.run(trigger=True, suspended=True)
    assert outcome == PendingOutcome(outcome.deploy_id)
    assert render_pending(outcome, trigger=True) == ("", [])
    assert not host.journal and not host.systemd.calls
