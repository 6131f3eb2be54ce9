"""Writing drop-ins: atomic, idempotent, only ever our own files, never through a symlink."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from smartrestart.budget.dropin import MARKER, source_of
from smartrestart.cli.main import cli
from smartrestart.errors import ConfigError, UsageError
from smartrestart.generate.dropins import apply_plans, plan_dropins
from smartrestart.generate.model import Change, FilePlan, GenerateOutcome, Target
from smartrestart.generate.output import unified_diff
from smartrestart.generate.ownership import Owner, Ownership
from smartrestart.generate.run import (
    GenerateRequest,
    image_systemd_version,
    run_generate,
    unit_dir_for,
)
from tests.fakesystemd import FakeSystemd, FakeUnit
from tests.helpers import write_rules

MINE = "/srv/app/rules.yaml"
OURS = f"{MARKER} from {MINE}.\n[Service]\nRestart=always\n"
OWNERSHIP = Ownership.of([MINE], ["/etc/smartrestart/rules.d"])


def ours_from(source: str) -> str:
    return f"{MARKER} from {source}.\n[Service]\nRestart=always\n"


def plan(unit_dir: Path, wanted: dict[str, str], *, remove_orphans: bool = False) -> list[FilePlan]:
    return plan_dropins(unit_dir, wanted, OWNERSHIP, remove_orphans=remove_orphans)


def test_write_then_unchanged_then_changed(tmp_path: Path) -> None:
    plans = plan(tmp_path, {"a.service": OURS})
    assert [p.change for p in plans] == [Change.WRITE]
    apply_plans(plans)
    path = tmp_path / "a.service.d/50-smartrestart.conf"
    assert path.read_text() == OURS
    inode = path.stat().st_ino
    assert [p.change for p in plan(tmp_path, {"a.service": OURS})] == [Change.UNCHANGED]
    newer = OURS + "RestartSec=1s\n"
    plans = plan(tmp_path, {"a.service": newer})
    assert "+RestartSec=1s" in unified_diff(plans[0])
    apply_plans(plans)
    assert path.read_text() == newer
    assert path.stat().st_ino != inode  # replaced by rename, never rewritten in place


def test_stale_dropins_of_these_rules_are_removed_others_kept(tmp_path: Path) -> None:
    apply_plans(plan(tmp_path, {"gone.service": OURS, "kept.service": OURS}))
    foreign = tmp_path / "other.service.d/50-smartrestart.conf"
    foreign.parent.mkdir()
    foreign.write_text("[Service]\nRestart=no\n")  # same name, not written by us
    (tmp_path / "gone.service.d/10-admin.conf").write_text("[Service]\nNice=5\n")
    plans = plan(tmp_path, {"kept.service": OURS})
    assert {(p.unit, p.change) for p in plans} == {
        ("kept.service", Change.UNCHANGED),
        ("gone.service", Change.REMOVE),
    }
    apply_plans(plans)
    assert not (tmp_path / "gone.service.d/50-smartrestart.conf").exists()
    assert (tmp_path / "gone.service.d/10-admin.conf").exists()  # the directory stays for it
    assert foreign.exists()


def test_another_rules_files_dropins_are_left_alone(tmp_path: Path) -> None:
    other_rules = tmp_path / "other/rules.yaml"
    other_rules.parent.mkdir()
    other_rules.write_text("budgets: {}\n")
    theirs = tmp_path / "other.service.d/50-smartrestart.conf"
    theirs.parent.mkdir()
    theirs.write_text(ours_from(str(other_rules)))
    assert OWNERSHIP.owner(str(other_rules), os.path.exists) is Owner.FOREIGN
    plans = plan(tmp_path, {"a.service": OURS})
    assert [(p.unit, p.change) for p in plans] == [("a.service", Change.WRITE)]
    apply_plans(plans)
    assert theirs.read_text() == ours_from(str(other_rules))


def test_a_budget_another_rules_file_generated_is_a_conflict(tmp_path: Path) -> None:
    other_rules = tmp_path / "other.yaml"
    other_rules.write_text("budgets: {}\n")
    theirs = tmp_path / "a.service.d/50-smartrestart.conf"
    theirs.parent.mkdir()
    theirs.write_text(ours_from(str(other_rules)))
    with pytest.raises(UsageError, match=rf"generated from {other_rules}.*one budget"):
        plan(tmp_path, {"a.service": OURS, "b.service": OURS})
    assert not (tmp_path / "b.service.d").exists()


def test_orphans_are_kept_and_reported_or_removed_when_asked(tmp_path: Path) -> None:
    orphan = tmp_path / "old.service.d/50-smartrestart.conf"
    orphan.parent.mkdir()
    orphan.write_text(ours_from("/srv/removed-app/rules.yaml"))
    plans = plan(tmp_path, {})
    assert [(p.change, p.source) for p in plans] == [(Change.ORPHAN, "/srv/removed-app/rules.yaml")]
    apply_plans(plans)
    assert orphan.exists()
    apply_plans(plan(tmp_path, {}, remove_orphans=True))
    assert not orphan.parent.exists()


def test_an_orphan_for_a_budgeted_unit_is_taken_over(tmp_path: Path) -> None:
    orphan = tmp_path / "a.service.d/50-smartrestart.conf"
    orphan.parent.mkdir()
    orphan.write_text(ours_from("/srv/releases/41/rules.yaml"))
    plans = plan(tmp_path, {"a.service": OURS})
    assert [(p.change, p.source) for p in plans] == [(Change.WRITE, "/srv/releases/41/rules.yaml")]
    apply_plans(plans)
    assert source_of(orphan.read_text()) == MINE


def test_fragments_of_this_config_root_are_this_runs_even_when_gone(tmp_path: Path) -> None:
    # Every run reads all of rules.d, so a deleted or masked fragment's drop-in is its to remove.
    masked = ours_from("/etc/smartrestart/rules.d/app.yaml")
    assert OWNERSHIP.owner(source_of(masked), lambda _: False) is Owner.MINE
    path = tmp_path / "app.service.d/50-smartrestart.conf"
    path.parent.mkdir()
    path.write_text(masked)
    assert [p.change for p in plan(tmp_path, {})] == [Change.REMOVE]


def test_empty_dropin_directory_is_removed_with_the_last_file(tmp_path: Path) -> None:
    apply_plans(plan(tmp_path, {"gone.service": OURS}))
    apply_plans(plan(tmp_path, {}))
    assert not (tmp_path / "gone.service.d").exists()


def test_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "a.service.d/50-smartrestart.conf"
    path.parent.mkdir()
    path.write_text("# hand-written\n")
    with pytest.raises(UsageError, match="not written by smartrestart"):
        plan(tmp_path, {"a.service": OURS})


def test_a_fifo_in_place_of_a_dropin_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "a.service.d/50-smartrestart.conf"
    path.parent.mkdir()
    os.mkfifo(path)
    with pytest.raises(UsageError, match="not a regular file"):
        plan(tmp_path, {"a.service": OURS})
    assert plan(tmp_path, {}) == []  # another unit's FIFO is simply not ours


def test_never_follows_a_symlinked_dropin_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    units = tmp_path / "units"
    units.mkdir()
    (units / "a.service.d").symlink_to(outside)
    with pytest.raises(UsageError, match="symlink"):
        apply_plans(plan(units, {"a.service": OURS}))
    assert list(outside.iterdir()) == []


def test_never_follows_a_symlinked_dropin_file(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    directory = tmp_path / "a.service.d"
    directory.mkdir()
    (directory / "50-smartrestart.conf").symlink_to(target)
    with pytest.raises(UsageError, match="symlink"):
        plan(tmp_path, {"a.service": OURS})
    assert target.read_text() == "keep me"


def test_a_failure_while_writing_leaves_nothing_half_written(tmp_path: Path) -> None:
    units = tmp_path / "units"
    plans = plan(units, {"a.service": OURS, "b.service": OURS})
    units.mkdir()
    (units / "b.service.d").write_text("a file where a directory must be")
    with pytest.raises(UsageError, match=r"b\.service\.d"):
        apply_plans(plans)
    assert sorted(p.name for p in units.iterdir()) == ["b.service.d"]  # a.service.d rolled back


def generate(
    tmp_path: Path,
    rules_text: str,
    *,
    check: bool = False,
    image: Path | None = None,
    manager: FakeSystemd | None = None,
    reload: bool = False,
) -> GenerateOutcome:
    request = GenerateRequest(
        rules_files=[write_rules(tmp_path, rules_text)],
        config_root=f"{tmp_path}/none",
        unit_dir=None if image else tmp_path / "units",
        root=image,
        systemd_version=257,
        check=check,
        reload=reload,
    )
    connect = (lambda: contextlib.nullcontext(manager)) if manager else None
    return run_generate(request, tmp_path, connect=connect)


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        generate(
            tmp_path,
            "budgets:\n  good.service: {restart: transient}\n  bad.service: {restart: often}\n",
        )
    assert not (tmp_path / "units").exists()


def test_generate_check_changes_nothing(tmp_path: Path) -> None:
    outcome = generate(tmp_path, "budgets:\n  a.service: {restart: transient}\n", check=True)
    assert outcome.changed and not outcome.applied
    assert not (tmp_path / "units").exists()


def test_a_symlinked_unit_directory_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "units").symlink_to(elsewhere)
    with pytest.raises(UsageError, match=r"units is a symlink"):
        generate(tmp_path, "budgets:\n  a.service: {restart: transient}\n")
    assert list(elsewhere.iterdir()) == []


def test_a_unit_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "units").write_text("")
    with pytest.raises(UsageError, match="units is not a directory"):
        generate(tmp_path, "budgets:\n  a.service: {restart: transient}\n")


def test_an_image_unit_directory_leading_out_of_the_image_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.mkdir()
    (tmp_path / "host-etc").mkdir()
    (image / "etc").symlink_to(tmp_path / "host-etc")
    with pytest.raises(UsageError, match="out of the image"):
        generate(
            tmp_path,
            "budgets:\n  a.service: {restart: transient}\n",
            image=image,
        )


def test_unit_dir_choices(tmp_path: Path) -> None:
    assert unit_dir_for(None, False, None) == Target(Path("/etc/systemd/system"), live=True)
    assert unit_dir_for(None, True, None) == Target(Path("/run/systemd/system"), live=True)
    assert unit_dir_for(None, False, tmp_path) == Target(
        tmp_path / "etc/systemd/system", live=False, image=tmp_path
    )
    assert unit_dir_for(tmp_path, False, None) == Target(tmp_path, live=False)
    with pytest.raises(UsageError, match="exclusive"):
        unit_dir_for(tmp_path, True, None)


def test_image_systemd_version(tmp_path: Path) -> None:
    assert image_systemd_version(tmp_path) is None
    lib = tmp_path / "usr/lib/systemd"
    lib.mkdir(parents=True)
    (lib / "libsystemd-shared-257.13-1.so").write_text("")
    assert image_systemd_version(tmp_path) == 257


def test_image_systemd_version_under_debians_multiarch_directory(tmp_path: Path) -> None:
    # Debian 12 and 13: /usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-25N.so
    lib = tmp_path / "usr/lib/aarch64-linux-gnu/systemd"
    lib.mkdir(parents=True)
    (lib / "libsystemd-shared-252.so").write_text("")
    (lib / "libsystemd-core-252.so").write_text("")
    assert image_systemd_version(tmp_path) == 252


def test_image_systemd_version_never_reads_the_host_through_a_symlink(tmp_path: Path) -> None:
    host_lib = tmp_path / "host/usr/lib/systemd"
    host_lib.mkdir(parents=True)
    (host_lib / "libsystemd-shared-999.so").write_text("")
    image = tmp_path / "image"
    image.mkdir()
    (image / "lib").symlink_to(tmp_path / "host/usr/lib")  # an absolute lib -> /usr/lib
    assert image_systemd_version(image) is None


def with_ssh() -> FakeSystemd:
    """A manager that knows Debian's sshd.service alias of ssh.service."""
    fake = FakeSystemd()
    fake.add(FakeUnit("ssh.service", aliases=("sshd.service",)))
    return fake


def test_a_budget_on_an_alias_is_written_under_the_units_own_name(tmp_path: Path) -> None:
    outcome = generate(
        tmp_path,
        "budgets:\n  sshd.service: {restart: transient}\n",
        manager=(fake := with_ssh()),
        reload=True,
    )
    written = (tmp_path / "units/ssh.service.d/50-smartrestart.conf").read_text()
    assert "# The budget names sshd.service, an alias of ssh.service." in written
    assert not (tmp_path / "units/sshd.service.d").exists()
    assert outcome.reloaded and fake.reloads == 1


def test_two_budgets_for_one_unit_under_two_names_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sshd.service and ssh.service .* same unit"):
        generate(
            tmp_path,
            "budgets:\n  ssh.service: {restart: transient}\n  sshd.service: {restart: temporary}\n",
            manager=with_ssh(),
            reload=True,  # reaches the manager, which resolves aliases
        )
    assert not (tmp_path / "units").exists()


def cli_generate(tmp_path: Path, *extra: str) -> Result:
    rules = write_rules(
        tmp_path, "budgets:\n  a.service: {restart: transient, backoff: {base: 1s, max: 8s}}\n"
    )
    args = ["generate", "-r", str(rules), "--config-root", str(tmp_path / "none"), *extra]
    return CliRunner().invoke(cli, args)


def test_generate_into_an_image_needs_no_systemd(tmp_path: Path) -> None:
    image = tmp_path / "image"
    (image / "usr/lib/systemd").mkdir(parents=True)
    (image / "usr/lib/systemd/libsystemd-shared-252.so").write_text("")
    result = cli_generate(tmp_path, "--root", str(image))
    assert result.exit_code == 0, result.output
    written = (image / "etc/systemd/system/a.service.d/50-smartrestart.conf").read_text()
    assert "RestartSteps" not in written  # generated for the image's systemd 252
    assert "systemd not reloaded (--root" in result.output
    assert cli_generate(tmp_path, "--root", str(image), "--check").exit_code == 0
    reload = cli_generate(tmp_path, "--root", str(image), "--reload")
    assert reload.exit_code == 2


def test_an_explicit_unit_dir_is_not_reloaded(tmp_path: Path) -> None:
    units = tmp_path / "units"
    result = cli_generate(tmp_path, "--unit-dir", str(units), "--systemd-version", "257", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["changed"], report["reloaded"]) == (True, False)
    (file,) = report["files"]
    assert (file["unit"], file["budget"], file["result"]) == ("a.service", "a.service", "written")
    assert file["source"] == str(tmp_path / "rules.yaml")


def test_generate_check_exit_1_when_something_would_change(tmp_path: Path) -> None:
    units = tmp_path / "units"
    args = ["--unit-dir", str(units), "--systemd-version", "257", "--check", "--diff"]
    result = cli_generate(tmp_path, *args)
    assert result.exit_code == 1
    assert "+Restart=on-failure" in result.output
    assert not units.exists()


def test_generate_json_carries_each_files_diff(tmp_path: Path) -> None:
    units = tmp_path / "units"
    args = ["--unit-dir", str(units), "--systemd-version", "257", "--check", "--diff", "--json"]
    result = cli_generate(tmp_path, *args)
    assert result.exit_code == 1
    report = json.loads(result.output)  # nothing but the JSON on stdout
    (file,) = report["files"]
    assert file["diff"].startswith("--- /dev/null\n+++ b/")
    assert "+Restart=on-failure" in file["diff"]
    plain = json.loads(cli_generate(tmp_path, *args[:-2], "--json").output)
    assert "diff" not in plain["files"][0]


def test_user_drop_ins_go_to_the_user_managers_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartrestart.errors import UsageError
    from smartrestart.generate.run import unit_dir_for

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert unit_dir_for(None, False, None, user=True).unit_dir == tmp_path / "config/systemd/user"
    runtime = unit_dir_for(None, True, None, user=True)
    assert (runtime.unit_dir, runtime.live) == (tmp_path / "run/systemd/user", True)
    with pytest.raises(UsageError, match="--user writes to the user manager's own directory"):
        unit_dir_for(tmp_path, False, None, user=True)
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    with pytest.raises(UsageError, match="needs XDG_RUNTIME_DIR"):
        unit_dir_for(None, True, None, user=True)
