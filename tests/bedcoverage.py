"""Coverage inside the test beds: every Python process there measured like the host's.

``make test`` runs the suite under ``coverage run`` with ``patch = subprocess``
(pyproject.toml), which hands the configuration to child processes in
``COVERAGE_PROCESS_CONFIG``. The beds run their processes with a clean
environment, on another interpreter (debian13: Debian's python3.13, which has
no coverage installed), and under systemd (handler units, services), so the
configuration is carried in explicitly:

* the host's coverage package and a ``sitecustomize`` that starts it are bound
  read-only into the bed, on ``PYTHONPATH``;
* the data file is the host's, seen through the project's bind mount (the
  configuration edited to name it there);
* the manager's environment gets the same variables, for the processes
  systemd starts;
* Debian 13's 3.13 uses ``sys.monitoring`` (the C tracer is built for the
  host's 3.11).

Nothing of this happens when the tests are not measured.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

HOOK = Path("/opt/smartrestart-coverage")  # inside a bed: sitecustomize.py and coverage/
SITECUSTOMIZE = '''\
"""Bound in by tests/bedcoverage.py: measure this process for the host's coverage run."""
import coverage

coverage.process_startup()
'''


def _host_data_file(config: str) -> Path:
    data_file = os.environ.get("COVERAGE_FILE")
    if not data_file:
        data_file = json.loads(base64.b64decode(config))["data_file"]
    return Path(data_file).resolve()


def measuring(project: Path) -> Path | None:
    """The host's coverage data file when the tests are measured and a bed can reach it."""
    config = os.environ.get("COVERAGE_PROCESS_CONFIG")
    if not config:
        return None
    data_file = _host_data_file(config)
    return data_file if data_file.is_relative_to(project) else None


def prepare(project: Path, workdir: Path) -> list[str]:
    """nspawn arguments binding coverage in; an empty list when not measuring."""
    data_file = measuring(project)
    if data_file is None:
        return []
    import coverage  # present: this process is being measured

    # Processes run by other users in the bed (setpriv, User=) write data too.
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.parent.chmod(0o1777)
    hook = workdir / "coverage-hook"
    (hook / "coverage").mkdir(parents=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    package = Path(coverage.__file__).parent
    return [f"--bind-ro={hook}:{HOOK}", f"--bind-ro={package}:{HOOK / 'coverage'}"]


def environment(project: Path, bed_project: Path, kind: str) -> dict[str, str]:
    """Variables that measure a Python process in a bed of ``kind``; empty when not measuring."""
    data_file = measuring(project)
    if data_file is None:
        return {}
    # A configuration passed as data ignores COVERAGE_FILE and COVERAGE_CORE: edit it.
    config = json.loads(base64.b64decode(os.environ["COVERAGE_PROCESS_CONFIG"]))
    config["data_file"] = str(bed_project / data_file.relative_to(project))
    if kind == "debian13":
        config["core"] = "sysmon"
    return {
        "COVERAGE_PROCESS_CONFIG": base64.b64encode(json.dumps(config).encode()).decode(),
        "PYTHONPATH": f"{bed_project / 'src'}:{HOOK}",
    }
