"""pystemd's compiled layers come in without its object layer, and the package stays whole."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import smartrestart.systemd.dbus, smartrestart.journal.writer
from smartrestart.systemd.pystemdlib import sendv
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pystemd', 'lxml'))
import pystemd, pystemd.systemd1
from pystemd.dbuslib import DBus
print(json.dumps({
    "loaded": loaded,
    "package_whole": hasattr(pystemd, "__version__") and hasattr(pystemd, "systemd1"),
    "one_dbuslib": DBus is smartrestart.systemd.dbus.DBus,
    "sendv": callable(sendv),
}))
"""


def run_probe() -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_backend_imports_only_the_compiled_layers() -> None:
    found = run_probe()
    assert found["loaded"] == [
        "pystemd.dbusexc",
        "pystemd.dbuslib",
        "pystemd.journal",
        "pystemd.utils",
    ]


def test_a_later_ordinary_import_gets_the_whole_package() -> None:
    found = run_probe()
    assert found["package_whole"] is True
    assert found["one_dbuslib"] is True
    assert found["sendv"] is True
