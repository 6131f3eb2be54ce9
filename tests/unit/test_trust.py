"""Whose rules root acts on: owners and modes of the file and of every directory above it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartrestart.errors import ConfigError, ExitCode
from smartrestart.trust import TrustPolicy, UntrustedFile, load_policy, require_trusted

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving files away needs root")


def rules_in(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "restart-rules.yaml"
    path.write_text("actions: {}\n")
    return path


def check(path: Path, policy: TrustPolicy | None = None) -> None:
    require_trusted(str(path), policy or TrustPolicy.for_invoker(), what="the rules file")


def test_a_file_of_root_in_root_directories_is_trusted(tmp_path: Path) -> None:
    check(rules_in(tmp_path / "app"))


def test_writable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = rules_in(tmp_path / "app")
    path.chmod(0o664)
    with pytest.raises(UntrustedFile) as caught:
        check(path)
    assert caught.value.exit_code is ExitCode.USAGE
    assert f"fix: chmod go-w {path}" in caught.value.message
    path.chmod(0o644)
    path.parent.chmod(0o777)
    with pytest.raises(UntrustedFile, match=r"its directory .*/app is writable by group or others"):
        check(path)


def test_a_sticky_root_directory_holds_a_trusted_file(tmp_path: Path) -> None:
    path = rules_in(tmp_path / "shared")
    path.parent.chmod(0o1777)
    check(path)


@needs_root
def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = rules_in(tmp_path / "app")
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(UntrustedFile, match=r"it is owned by nobody \(uid 65534\)"):
        check(path)


@needs_root
def test_a_file_of_another_user_in_a_sticky_directory_is_refused(tmp_path: Path) -> None:
    path = rules_in(tmp_path / "shared")
    path.parent.chmod(0o1777)
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(UntrustedFile, match="owned by nobody"):
        check(path)


@needs_root
def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    path = rules_in(tmp_path / "srv/app")
    os.chown(path.parent, NOBODY, NOBODY)
    with pytest.raises(UntrustedFile, match=r"its directory .*/srv/app is owned by nobody"):
        check(path)


@needs_root
def test_a_symlinked_release_in_another_users_directory_is_refused(tmp_path: Path) -> None:
    """Whoever owns /srv/app can repoint current -> releases/N at rules of their own."""
    base = tmp_path / "srv/app"
    rules_in(base / "releases/2")
    (base / "current").symlink_to("releases/2")
    check(base / "current/restart-rules.yaml")
    os.chown(base, NOBODY, NOBODY)
    with pytest.raises(UntrustedFile, match=r"its directory .*/srv/app is owned by nobody"):
        check(base / "current/restart-rules.yaml")


@needs_root
def test_an_owner_named_in_roots_trust_configuration_is_trusted(tmp_path: Path) -> None:
    path = rules_in(tmp_path / "srv/app")
    os.chown(path, NOBODY, NOBODY)
    os.chown(path.parent, NOBODY, NOBODY)
    config = tmp_path / "root/etc/smartrestart/trust.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("trusted_owners: [nobody]\n")
    policy = load_policy(f"{tmp_path}/root")
    assert NOBODY in policy.uids
    check(path, policy)


@needs_root
def test_the_trust_configuration_must_be_roots_own(tmp_path: Path) -> None:
    config = tmp_path / "root/etc/smartrestart/trust.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("trusted_owners: [nobody]\n")
    os.chown(config, NOBODY, NOBODY)
    with pytest.raises(UntrustedFile, match="refusing the trust configuration"):
        load_policy(f"{tmp_path}/root")


def test_an_unknown_owner_in_the_trust_configuration_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "root/etc/smartrestart/trust.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("trusted_owners: [no-such-user-smartrestart]\n")
    with pytest.raises(ConfigError, match=r"trust\.yaml:1: trusted_owners: no such user"):
        load_policy(f"{tmp_path}/root")


def test_the_invoking_user_is_trusted() -> None:
    assert TrustPolicy.for_invoker().uids == {0, os.geteuid()}
