"""packaging/dpkg/dpkg-changes: what a package upgrade changed, as its maintainer scripts record it.

Hermetic: ``dpkg-query`` and ``dpkg-trigger`` are small stand-ins reading a
fake package database, and ``DPKG_ROOT`` puts the spool and the package's
files under a temporary directory. What dpkg itself does around the helper
(preinst before unpack, postinst after configure, the trigger at the end) is
proven in tests/integration/test_dpkg_trigger.py.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from smartrestart.apply.pending import PendingRecord, parse_record
from tests.testbed import PROJECT

HELPER = PROJECT / "packaging/dpkg/dpkg-changes"
FAKE_DPKG_QUERY = """#!/bin/sh
# dpkg-query as the helper calls it, over $FAKE_DPKG/PACKAGE.{md5sums,conffiles,version,list}
case "$1" in
  --control-path) [ -f "$FAKE_DPKG/$2.$3" ] && echo "$FAKE_DPKG/$2.$3"; exit 0 ;;
  -W) case "$2" in *Conffiles*) cat "$FAKE_DPKG/$3.conffiles" 2>/dev/null ;;
                   *Version*) cat "$FAKE_DPKG/$3.version" ;; esac ;;
  -L) cat "$FAKE_DPKG/$2.list" ;;
esac
"""
FAKE_DPKG_TRIGGER = '#!/bin/sh\necho "$@" >> "$FAKE_DPKG/triggered"\n'


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Package:
    """One installed package in a fake dpkg database, with its files under DPKG_ROOT."""

    def __init__(self, tmp_path: Path, name: str = "hello-api") -> None:
        self.name = name
        self.root = tmp_path / "root"
        self.db = tmp_path / "dpkg"
        self.bin = tmp_path / "bin"
        for directory in (self.root / "var/lib", self.db, self.bin):
            directory.mkdir(parents=True, exist_ok=True)
        for tool, text in (("dpkg-query", FAKE_DPKG_QUERY), ("dpkg-trigger", FAKE_DPKG_TRIGGER)):
            (self.bin / tool).write_text(text)
            (self.bin / tool).chmod(0o755)

    def install(
        self, version: str, files: dict[str, str], conffiles: dict[str, str] | None = None
    ) -> None:
        """Files as dpkg records them (md5sums) and as they are on disk (conffiles too)."""
        md5sums = "".join(f"{md5(text)}  {path.lstrip('/')}\n" for path, text in files.items())
        (self.db / f"{self.name}.md5sums").write_text(md5sums)
        listed = "".join(f"{' ' + path} {md5(text)}\n" for path, text in (conffiles or {}).items())
        (self.db / f"{self.name}.conffiles").write_text(listed)
        (self.db / f"{self.name}.version").write_text(version)
        (self.db / f"{self.name}.list").write_text("".join(f"{p}\n" for p in files))
        for path, text in {**files, **(conffiles or {})}.items():
            self.write(path, text)

    def write(self, path: str, text: str) -> None:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def helper(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "DPKG_ROOT": str(self.root),
            "FAKE_DPKG": str(self.db),
        }
        return subprocess.run(
            ["sh", str(HELPER), *args], capture_output=True, text=True, env=env, check=False
        )

    @property
    def pending(self) -> Path:
        return self.root / "var/lib/smartrestart/pending"

    def records(self) -> list[PendingRecord]:
        paths = sorted(self.pending.glob("*.list")) if self.pending.exists() else []
        return [parse_record(path.read_text(), path) for path in paths]

    def triggered(self) -> list[str]:
        marker = self.db / "triggered"
        return marker.read_text().splitlines() if marker.exists() else []


@pytest.fixture
def package(tmp_path: Path) -> Package:
    return Package(tmp_path)


CODE = "/usr/lib/python3/dist-packages/hello_api/__main__.py"
UNIT = "/lib/systemd/system/hello-api.service"
DOC = "/usr/share/doc/hello-api/copyright"
CONF = "/etc/hello-api/api.conf"


def test_changed_added_removed_files_and_an_edited_conffile_are_recorded_once(
    package: Package,
) -> None:
    package.install("1.0", {CODE: "v1", UNIT: "[Service]", DOC: "MIT"}, {CONF: "a=1"})
    assert package.helper("snapshot", "hello-api").returncode == 0
    # 1.1: the code changes, the unit stays, the copyright goes, a module comes;
    # the conffile keeps its packaged text but was edited on disk meanwhile.
    new = "/usr/lib/python3/dist-packages/hello_api/extra.py"
    package.install("1.1", {CODE: "v2", UNIT: "[Service]", new: ""}, {CONF: "a=1"})
    package.write(CONF, "a=2")
    result = package.helper("record", "hello-api", "1.0")
    assert result.returncode == 0, result.stderr
    assert package.records() == [
        PendingRecord(package.records()[0].name, "hello-api", "1.0", "1.1", (CONF, CODE, new, DOC))
    ]
    assert package.triggered() == ["--no-await smartrestart-apply"]
    assert not list((package.root / "var/lib/smartrestart/snapshots").iterdir())


def test_an_upgrade_that_changed_nothing_records_nothing_and_triggers_nothing(
    package: Package,
) -> None:
    package.install("1.0", {CODE: "v1"})
    package.helper("snapshot", "hello-api")
    assert package.helper("record", "hello-api", "1.0").returncode == 0
    assert package.records() == [] and package.triggered() == []


def test_without_a_snapshot_every_file_counts_as_changed(package: Package) -> None:
    """smartrestart was not installed before the upgrade: nothing can be left out."""
    package.install("1.1", {CODE: "v2", DOC: "MIT"})
    result = package.helper("record", "hello-api", "1.0")
    assert "every file of it counts as changed" in result.stderr
    assert package.records()[0].files == (CODE, DOC)


def test_a_package_without_md5sums_is_hashed_from_disk(package: Package) -> None:
    package.install("1.0", {CODE: "v1", DOC: "MIT"})
    (package.db / "hello-api.md5sums").unlink()
    package.helper("snapshot", "hello-api")
    package.write(CODE, "v2")
    package.helper("record", "hello-api", "1.0")
    assert package.records()[0].files == (CODE,)


def test_records_are_root_only_and_written_whole(package: Package) -> None:
    package.install("1.0", {CODE: "v1"})
    package.helper("snapshot", "hello-api")
    package.install("1.1", {CODE: "v2"})
    package.helper("record", "hello-api", "1.0")
    (record,) = package.pending.iterdir()
    assert record.name.startswith("hello-api.") and record.suffix == ".list"
    assert (record.stat().st_mode & 0o777, package.pending.stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )


@pytest.mark.parametrize("attack", ["symlink", "writable"])
def test_a_spool_directory_another_user_could_redirect_is_refused(
    package: Package, tmp_path: Path, attack: str
) -> None:
    package.install("1.0", {CODE: "v1"})
    state = package.root / "var/lib/smartrestart"
    state.mkdir(mode=0o700)
    if attack == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        (state / "snapshots").symlink_to(elsewhere)
    else:
        (state / "snapshots").mkdir()
        (state / "snapshots").chmod(0o777)
    result = package.helper("snapshot", "hello-api")
    assert result.returncode == 1
    assert "refusing" in result.stderr and "snapshots" in result.stderr
    if attack == "symlink":
        assert not list((tmp_path / "elsewhere").iterdir())  # nothing written through it


def test_a_wrong_call_is_refused_with_its_usage(package: Package) -> None:
    result = package.helper("record", "hello-api")
    assert result.returncode == 1 and "usage: dpkg-changes record" in result.stderr
