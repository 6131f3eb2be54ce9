"""A real systemd for tests: throw-away containers booted with systemd-nspawn.

Two kinds of bed:

* ``debian12``: the host's own ``/usr`` (systemd 252) on a throw-away root
  (``--volatile=yes``) with ``/etc``, ``/usr`` and ``/var`` overlaid, so
  nothing written inside reaches the host. smartrestart runs inside on the
  project's virtual environment (PyPI's pystemd).
* ``debian13``: a Debian 13 root (systemd 257) made once with debootstrap,
  cached under ``/var/cache/smartrestart-testbed`` and booted with
  ``--volatile=overlay`` so every run starts clean. smartrestart runs inside on
  Debian's own packages (python3-click, -yaml, -pystemd, -sdnotify).

Never boot systemd on the host's root file system: its boot jobs act on the
shared file system (one such try emptied a machine's /tmp). The flags below
are the verified recipe of ../shared/TESTBED.md; each bed gets a unique
machine name and directory, and only the processes it started are killed,
by PID.

Run ``python -m tests.testbed --help`` to use a bed by hand.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests import bedcoverage

PROJECT = Path(__file__).resolve().parent.parent
BED_PROJECT = Path("/opt/smartrestart-src")  # where the project appears inside a bed
BED_VENV = Path("/opt/smartrestart-venv")  # where the virtual environment appears (debian12)
WORK_BASE = Path("/var/tmp")  # not /tmp: the container mounts its own /tmp
CACHE_BASE = Path("/var/cache/smartrestart-testbed")
STATE_DIR = WORK_BASE / "smartrestart-beds"
BOOT_TIMEOUT = 90.0
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DEBIAN13_SUITE = "trixie"
DEBIAN13_MIRROR = "http://deb.debian.org/debian"
DEBIAN13_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-click",
    "python3-yaml",
    "python3-pystemd",
    "python3-sdnotify",
    "procps",
    "iproute2",
    # A user manager with its own bus, for `--user` (smartrestart watch, apply,
    # generate against `systemctl --user` units of a lingering user), and
    # Debian's watchfiles (0.24) for `smartrestart watch`.
    "dbus-user-session",
    "python3-watchfiles",
    # Debian's own server units, for tests on units nobody here wrote: an alias
    # (sshd.service -> ssh.service), a reloadable daemon (nginx), a template
    # instance under a oneshot umbrella (postgresql@17-main.service), cron.
    "openssh-server",
    "nginx",
    "cron",
    "postgresql",
)
KINDS = ("debian12", "debian13")
# The systemd each kind stands for; tests branch on these versions (254: RestartMode=, ...).
SYSTEMD_OF_KIND = {"debian12": 252, "debian13": 257}

TESTBED_TARGET = """\
[Unit]
Description=smartrestart test bed
Requires=basic.target dbus.socket
Wants=dbus.service
After=basic.target dbus.socket
AllowIsolate=yes
"""


class BedError(RuntimeError):
    """A bed could not be built, booted or used."""


@dataclass
class TestBed:
    """One booted container. Create with :func:`boot`."""

    __test__ = False  # not a pytest test class, despite the name

    kind: str
    name: str
    workdir: Path
    nspawn_pid: int
    init_pid: int
    boot_seconds: float = 0.0
    systemd_version: int = 0
    _stopped: bool = field(default=False, repr=False)

    # --- running things inside ------------------------------------------------

    @property
    def python(self) -> str:
        """Interpreter that runs smartrestart inside the bed."""
        if self.kind == "debian12":
            return str(BED_VENV / "bin" / "python")
        return "/usr/bin/python3"

    @property
    def env(self) -> dict[str, str]:
        """A clean environment for processes inside: nothing leaks from the host."""
        return {
            "PATH": CLEAN_PATH,
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(BED_PROJECT / "src"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": "/root",
            **bedcoverage.environment(PROJECT, BED_PROJECT, self.kind),
        }

    @property
    def bus_address(self) -> str:
        """``DBUS_SYSTEM_BUS_ADDRESS`` that reaches this bed's manager from the host."""
        return f"unix:path=/proc/{self.init_pid}/root/run/dbus/system_bus_socket"

    def path(self, inside: str | Path) -> Path:
        """Host path of a file inside the bed (through /proc/PID/root)."""
        return Path(f"/proc/{self.init_pid}/root") / str(inside).lstrip("/")

    def run(
        self,
        *argv: str,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120.0,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the bed (all its namespaces) and capture its output."""
        command = ["nsenter", "-t", str(self.init_pid), "-a"]
        if cwd:  # nsenter --wd resolves the path on the host; env -C does it inside
            command.extend(["env", "-C", cwd])
        command.extend(argv)
        result = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**self.env, **(env or {})},
            check=False,
        )
        if check and result.returncode != 0:
            raise BedError(
                f"{' '.join(argv)} exited {result.returncode} in {self.name}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def smartrestart(
        self,
        *args: str,
        check: bool = False,
        input: str | None = None,
        cwd: str | None = None,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the smartrestart under test inside the bed."""
        return self.run(
            self.python,
            "-m",
            "smartrestart",
            *args,
            check=check,
            input=input,
            cwd=cwd,
            timeout=timeout,
        )

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args, check=check)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show -p ...`` as a dict."""
        argv = ["show", unit]
        for prop in properties:
            argv.extend(["-p", prop])
        out = self.systemctl(*argv).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def write(self, inside: str, content: str, mode: int = 0o644) -> None:
        """Create or replace a file inside the bed."""
        target = self.path(inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)

    def read(self, inside: str) -> str:
        """Content of a file inside the bed; empty when it does not exist (yet)."""
        try:
            return self.path(inside).read_text()
        except FileNotFoundError:
            return ""

    def install_unit(self, name: str, content: str, *, reload: bool = True) -> None:
        self.write(f"/etc/systemd/system/{name}", content)
        if reload:
            self.systemctl("daemon-reload")

    def journal(self, *args: str) -> str:
        """``journalctl`` inside the bed, after flushing what is queued.

        A journalctl that fails raises: an empty answer would pass every
        ``"..." not in journal`` assertion. Only ``--grep`` finding nothing
        (exit status 1, nothing on stderr) is an answer: no entries.
        """
        self.run("journalctl", "--sync")
        result = self.run("journalctl", "--no-pager", *args, check=False)
        no_match = result.returncode == 1 and "--grep" in args and not result.stderr.strip()
        if result.returncode != 0 and not no_match:
            raise BedError(
                f"journalctl {' '.join(args)} exited {result.returncode} in {self.name}: "
                f"{result.stderr.strip()}"
            )
        return result.stdout

    def wait_for(self, predicate: object, timeout: float = 30.0, interval: float = 0.05) -> None:
        """Poll ``predicate()`` until true; a deadline, never a fixed sleep."""
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(interval)
        raise BedError(f"condition not met within {timeout} s in {self.name}")

    # --- life cycle -----------------------------------------------------------------

    def stop(self) -> None:
        """Power off, wait, kill the nspawn we started if it lingers, remove the directory."""
        if self._stopped:
            return
        self._stopped = True
        if _alive(self.init_pid):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.run("systemctl", "poweroff", "--no-block", check=False, timeout=15)
        if not _wait_exit(self.nspawn_pid, 20.0):
            # nspawn forwards SIGTERM to the container as a shutdown request.
            _signal(self.nspawn_pid, signal.SIGTERM)
            if not _wait_exit(self.nspawn_pid, 10.0):
                _signal(self.nspawn_pid, signal.SIGKILL)
                _wait_exit(self.nspawn_pid, 5.0)
        with contextlib.suppress(FileNotFoundError):
            (STATE_DIR / f"{self.name}.json").unlink()
        with contextlib.suppress(OSError):  # only when no other bed is registered
            STATE_DIR.rmdir()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait for a process to end; reaps it when it is our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return True
        except ChildProcessError:
            if not _alive(pid):
                return True
        time.sleep(0.05)
    return False


def _children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                children.extend(int(c) for c in (task / "children").read_text().split())
    return children


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def _find_init(nspawn: subprocess.Popen[bytes], deadline: float) -> int:
    """The container's PID 1 as seen from the host: nspawn's child running systemd."""
    while time.monotonic() < deadline:
        if nspawn.poll() is not None:
            raise BedError(f"systemd-nspawn exited with {nspawn.returncode} before booting")
        for child in _children(nspawn.pid):
            if _comm(child) == "systemd":
                return child
        time.sleep(0.02)
    raise BedError("container init did not appear")


def _wait_running(init_pid: int, deadline: float) -> None:
    """Until ``systemctl is-system-running --wait`` says running (or degraded)."""
    last = ""
    while time.monotonic() < deadline:
        result = subprocess.run(
            ["nsenter", "-t", str(init_pid), "-a", "systemctl", "is-system-running", "--wait"],
            capture_output=True,
            text=True,
            env={"PATH": CLEAN_PATH},
            timeout=max(1.0, deadline - time.monotonic()),
            check=False,
        )
        last = result.stdout.strip() or result.stderr.strip()
        if last in ("running", "degraded"):
            return
        time.sleep(0.05)  # "offline": the manager's bus is not up yet
    raise BedError(f"system did not reach running state (last: {last!r})")


# --- Debian 13 root -----------------------------------------------------------------


def debian13_root() -> Path:
    """The cached Debian 13 root, built once (under a lock) when missing."""
    recipe = f"{DEBIAN13_SUITE} {DEBIAN13_MIRROR} {' '.join(DEBIAN13_PACKAGES)} {TESTBED_TARGET}"
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    root = CACHE_BASE / f"{DEBIAN13_SUITE}-{key}"
    if (root / ".complete").exists():
        return root
    CACHE_BASE.mkdir(parents=True, exist_ok=True)
    with (CACHE_BASE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():
            return root
        building = CACHE_BASE / f".{root.name}.building"
        shutil.rmtree(building, ignore_errors=True)
        result = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN13_PACKAGES)}",
                DEBIAN13_SUITE,
                str(building),
                DEBIAN13_MIRROR,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise BedError(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        target = building / "etc/systemd/system/testbed.target"
        target.write_text(TESTBED_TARGET)
        _prune_stale_roots(keep=root)
        (building / ".complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
        building.rename(root)
    return root


def _prune_stale_roots(keep: Path) -> None:
    """Remove roots of other package lists, unless a bed still boots from one.

    Another checkout (a branch with another package list) may be running beds
    from its root right now: a root whose path appears in a running nspawn's
    command line is kept, and so is one built within the last day.
    """
    command_lines: list[str] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _comm(int(entry.name)) == "systemd-nspawn":
            with contextlib.suppress(OSError):
                command_lines.append((entry / "cmdline").read_bytes().decode(errors="replace"))
    running = " ".join(line.replace("\0", " ") for line in command_lines)
    for stale in CACHE_BASE.glob(f"{DEBIAN13_SUITE}-*"):
        built = stale / ".complete"
        recent = built.exists() and time.time() - built.stat().st_mtime < 86400
        if stale != keep and str(stale) not in running and not recent:
            shutil.rmtree(stale, ignore_errors=True)


# --- booting --------------------------------------------------------------------------


def _nspawn_command(kind: str, name: str, workdir: Path) -> list[str]:
    common = [
        "systemd-nspawn",
        "--boot",
        "--register=no",
        "--keep-unit",
        "--private-network",
        "--console=passive",
        f"--machine={name}",
        f"--bind={PROJECT}:{BED_PROJECT}",
        *bedcoverage.prepare(PROJECT, workdir),
    ]
    kernel_args = ["--", "systemd.unit=testbed.target", "systemd.firstboot=off"]
    if kind == "debian12":
        for part in ("etc", "usr", "var"):
            (workdir / f"{part}-upper").mkdir(parents=True)
        unit_dir = workdir / "etc-upper/systemd/system"
        unit_dir.mkdir(parents=True)
        (unit_dir / "testbed.target").write_text(TESTBED_TARGET)
        venv = Path(sys.prefix)
        binds = [f"--bind-ro={sys.base_prefix}"]
        if venv != Path(sys.base_prefix):
            binds.append(f"--bind-ro={venv}:{BED_VENV}")
        return [
            *common,
            "-D",
            "/",
            "--volatile=yes",
            f"--overlay=/etc:{workdir}/etc-upper:/etc",
            f"--overlay=/usr:{workdir}/usr-upper:/usr",
            f"--overlay=/var:{workdir}/var-upper:/var",
            *binds,
            *kernel_args,
        ]
    if kind == "debian13":
        return [*common, "-D", str(debian13_root()), "--volatile=overlay", *kernel_args]
    raise BedError(f"unknown bed kind {kind!r} (known: {', '.join(KINDS)})")


def boot(kind: str, *, keep: bool = False) -> TestBed:
    """Boot a bed of ``kind`` and wait until its system is running.

    Unless ``keep`` is set, the bed is powered off when this process exits,
    also when a test run is interrupted.
    """
    if os.geteuid() != 0:
        raise BedError("test beds need root (systemd-nspawn)")
    if shutil.which("systemd-nspawn") is None:
        raise BedError("systemd-nspawn is missing: apt-get install systemd-container")
    name = f"sr-{kind}-{secrets.token_hex(4)}"
    workdir = WORK_BASE / f"smartrestart-bed.{name}"
    workdir.mkdir(parents=True)
    command = _nspawn_command(kind, name, workdir)  # may build the Debian 13 root first
    started = time.monotonic()
    log = (workdir / "nspawn.log").open("wb")
    nspawn = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    bed = TestBed(kind=kind, name=name, workdir=workdir, nspawn_pid=nspawn.pid, init_pid=0)
    if not keep:
        atexit.register(bed.stop)
    try:
        deadline = started + BOOT_TIMEOUT
        bed.init_pid = _find_init(nspawn, deadline)
        _wait_running(bed.init_pid, deadline)
    except BaseException as error:
        # Read nspawn's log before stop() removes the directory that holds it.
        log.flush()
        log_text = (workdir / "nspawn.log").read_text(errors="replace")
        bed.stop()
        raise BedError(f"{kind} bed did not boot ({error}):\n{log_text[-3000:]}") from None
    bed.boot_seconds = time.monotonic() - started
    measured = bedcoverage.environment(PROJECT, BED_PROJECT, kind)
    if measured:  # what systemd starts (handlers, services) is measured too
        bed.run("systemctl", "set-environment", *(f"{k}={v}" for k, v in measured.items()))
    # The manager's own version (PID 1), e.g. "252.38-1~deb12u1".
    version = bed.run("systemctl", "show", "--property=Version", "--value").stdout.strip()
    bed.systemd_version = int(version.split(".")[0])
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / f"{name}.json").write_text(
        json.dumps(
            {
                "kind": kind,
                "name": name,
                "workdir": str(workdir),
                "nspawn_pid": bed.nspawn_pid,
                "init_pid": bed.init_pid,
                "systemd_version": bed.systemd_version,
            }
        )
    )
    return bed


def version_problem(bed: TestBed) -> str | None:
    """Why ``bed`` does not run the systemd its kind stands for; None when it does."""
    expected = SYSTEMD_OF_KIND[bed.kind]
    if bed.systemd_version == expected:
        return None
    package = bed.run("dpkg-query", "-W", "-f=${Version}", "systemd", check=False).stdout
    source = (
        "the host's own /usr, booted as the bed's root"
        if bed.kind == "debian12"
        else f"the Debian {DEBIAN13_SUITE} root {debian13_root()}"
    )
    return (
        f"the {bed.kind} bed runs systemd {bed.systemd_version} (the manager's Version; "
        f"Debian package systemd {package or 'unknown'} from {source}), but its tests are "
        f"written for systemd {expected}"
    )


def attach(name: str) -> TestBed:
    """A bed booted earlier by ``python -m tests.testbed boot``."""
    data = json.loads((STATE_DIR / f"{name}.json").read_text())
    return TestBed(
        kind=data["kind"],
        name=data["name"],
        workdir=Path(data["workdir"]),
        nspawn_pid=data["nspawn_pid"],
        init_pid=data["init_pid"],
        systemd_version=data["systemd_version"],
    )


def _main() -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.testbed",
        description="Use a smartrestart test bed (a real systemd in a container) by hand.",
    )
    sub = parser.add_subparsers(dest="verb", required=True)
    boot_parser = sub.add_parser("boot", help="boot a bed and print its name")
    boot_parser.add_argument("kind", choices=KINDS)
    shell_parser = sub.add_parser("shell", help="open a shell inside a bed")
    shell_parser.add_argument("name")
    run_parser = sub.add_parser("run", help="run a command inside a bed")
    run_parser.add_argument("name")
    run_parser.add_argument("argv", nargs=argparse.REMAINDER)
    stop_parser = sub.add_parser("stop", help="power a bed off and remove it")
    stop_parser.add_argument("name")
    sub.add_parser("list", help="list running beds")
    args = parser.parse_args()

    if args.verb == "boot":
        bed = boot(args.kind, keep=True)
        print(bed.name)
        print(
            f"{bed.kind} bed, systemd {bed.systemd_version}, ready in {bed.boot_seconds:.1f} s; "
            f"project at {BED_PROJECT}; shell: python -m tests.testbed shell {bed.name}",
            file=sys.stderr,
        )
        return 0
    if args.verb == "list":
        for state in sorted(STATE_DIR.glob("*.json")) if STATE_DIR.exists() else []:
            bed = attach(state.stem)
            status = "running" if _alive(bed.init_pid) else "gone"
            print(f"{bed.name}  {bed.kind}  systemd {bed.systemd_version}  {status}")
        return 0
    bed = attach(args.name)
    if args.verb == "shell":
        command = [
            "nsenter",
            "-t",
            str(bed.init_pid),
            "-a",
            f"--wd={BED_PROJECT}",
            "/bin/bash",
            "-l",
        ]
        return subprocess.call(command, env={**bed.env, "TERM": os.environ.get("TERM", "xterm")})
    if args.verb == "run":
        return subprocess.call(["nsenter", "-t", str(bed.init_pid), "-a", *args.argv], env=bed.env)
    bed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
