"""Writing drop-ins: atomic, idempotent, only ever our own files, never through a symlink."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartrestart.budget.dropins import Change, apply_plans, plan_dropins
from smartrestart.budget.generate_run import image_systemd_version, run_generate, unit_dir_for
from smartrestart.budget.render import MARKER
from smartrestart.errors import UsageError
from tests.helpers import write_rules

OURS = f"{MARKER} from rules.yaml.\n[Service]\nRestart=always\n"


def test_write_then_unchanged_then_changed(tmp_path: Path) -> None:
    plans = plan_dropins(tmp_path, {"a.service": OURS})
    assert [p.change for p in plans] == [Change.WRITE]
    apply_plans(plans)
    path = tmp_path / "a.service.d/50-smartrestart.conf"
    assert path.read_text() == OURS
    inode = path.stat().st_ino
    assert [p.change for p in plan_dropins(tmp_path, {"a.service": OURS})] == [Change.UNCHANGED]
    newer = OURS + "RestartSec=1s\n"
    plans = plan_dropins(tmp_path, {"a.service": newer})
    assert "+RestartSec=1s" in plans[0].diff()
    apply_plans(plans)
    assert path.read_text() == newer
    assert path.stat().st_ino != inode  # replaced by rename, never rewritten in place


def test_stale_dropins_of_ours_are_removed_others_kept(tmp_path: Path) -> None:
    apply_plans(plan_dropins(tmp_path, {"gone.service": OURS, "kept.service": OURS}))
    foreign = tmp_path / "other.service.d/50-smartrestart.conf"
    foreign.parent.mkdir()
    foreign.write_text("[Service]\nRestart=no\n")  # same name, not written by us
    (tmp_path / "gone.service.d/10-admin.conf").write_text("[Service]\nNice=5\n")
    plans = plan_dropins(tmp_path, {"kept.service": OURS})
    assert {(p.unit, p.change) for p in plans} == {
        ("kept.service", Change.UNCHANGED),
        ("gone.service", Change.REMOVE),
    }
    apply_plans(plans)
    assert not (tmp_path / "gone.service.d/50-smartrestart.conf").exists()
    assert (tmp_path / "gone.service.d/10-admin.conf").exists()  # the directory stays for it
    assert foreign.exists()


def test_empty_dropin_directory_is_removed_with_the_last_file(tmp_path: Path) -> None:
    apply_plans(plan_dropins(tmp_path, {"gone.service": OURS}))
    apply_plans(plan_dropins(tmp_path, {}))
    assert not (tmp_path / "gone.service.d").exists()


def test_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "a.service.d/50-smartrestart.conf"
    path.parent.mkdir()
    path.write_text("# hand-written\n")
    with pytest.raises(UsageError, match="not written by smartrestart"):
        plan_dropins(tmp_path, {"a.service": OURS})


def test_never_follows_a_symlinked_dropin_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    units = tmp_path / "units"
    units.mkdir()
    (units / "a.service.d").symlink_to(outside)
    with pytest.raises(UsageError, match="symlink"):
        apply_plans(plan_dropins(units, {"a.service": OURS}))
    assert list(outside.iterdir()) == []


def test_never_follows_a_symlinked_dropin_file(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    directory = tmp_path / "a.service.d"
    directory.mkdir()
    (directory / "50-smartrestart.conf").symlink_to(target)
    with pytest.raises(UsageError, match="symlink"):
        plan_dropins(tmp_path, {"a.service": OURS})
    assert target.read_text() == "keep me"


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path,
        "budgets:\n  good.service: {restart: transient}\n  bad.service: {restart: often}\n",
    )
    from smartrestart.errors import ConfigError

    with pytest.raises(ConfigError):
        run_generate(
            rules_files=[rules],
            config_root=tmp_path / "none",
            cwd=tmp_path,
            unit_dir=tmp_path / "units",
            systemd_version=257,
            check=False,
            connect=None,
        )
    assert not (tmp_path / "units").exists()


def test_generate_check_changes_nothing(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, "budgets:\n  a.service: {restart: transient}\n")
    outcome = run_generate(
        rules_files=[rules],
        config_root=tmp_path / "none",
        cwd=tmp_path,
        unit_dir=tmp_path / "units",
        systemd_version=257,
        check=True,
        connect=None,
    )
    assert outcome.changed and not outcome.applied
    assert not (tmp_path / "units").exists()


def test_unit_dir_choices(tmp_path: Path) -> None:
    assert unit_dir_for(None, False, None) == Path("/etc/systemd/system")
    assert unit_dir_for(None, True, None) == Path("/run/systemd/system")
    assert unit_dir_for(None, False, tmp_path) == tmp_path / "etc/systemd/system"
    with pytest.raises(UsageError, match="exclusive"):
        unit_dir_for(tmp_path, True, None)


def test_image_systemd_version(tmp_path: Path) -> None:
    assert image_systemd_version(tmp_path) is None
    lib = tmp_path / "usr/lib/systemd"
    lib.mkdir(parents=True)
    (lib / "libsystemd-shared-257.13-1.so").write_text("")
    assert image_systemd_version(tmp_path) == 257


def test_generate_into_an_image_needs_no_systemd(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from smartrestart.cli.main import cli

    image = tmp_path / "image"
    (image / "usr/lib/systemd").mkdir(parents=True)
    (image / "usr/lib/systemd/libsystemd-shared-252.so").write_text("")
    rules = write_rules(
        tmp_path, "budgets:\n  a.service: {restart: transient, backoff: {base: 1s, max: 8s}}\n"
    )
    runner = CliRunner()
    args = [
        "generate",
        "-r",
        str(rules),
        "--config-root",
        str(tmp_path / "none"),
        "--root",
        str(image),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    written = (image / "etc/systemd/system/a.service.d/50-smartrestart.conf").read_text()
    assert "RestartSteps" not in written  # generated for the image's systemd 252
    assert "changed, but systemd was not reloaded" in result.output
    assert runner.invoke(cli, [*args, "--check"]).exit_code == 0


def test_generate_check_exit_1_when_something_would_change(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from smartrestart.cli.main import cli

    rules = write_rules(tmp_path, "budgets:\n  a.service: {restart: transient}\n")
    args = ["generate", "-r", str(rules), "--config-root", str(tmp_path / "none")]
    args += ["--unit-dir", str(tmp_path / "units"), "--systemd-version", "257", "--check", "--diff"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "+Restart=on-failure" in result.output
    assert not (tmp_path / "units").exists()
