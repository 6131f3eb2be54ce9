"""Debian's policy-rc.d: whether a maintainer script may act on a unit at all.

In chroots and image builds, ``/usr/sbin/policy-rc.d`` exits 101 to forbid
service actions; ``deb-systemd-invoke`` (what dh_installsystemd's snippets
call) asks it before every action, and ``apply --from-dpkg`` does the same,
so a package's postinst calling smartrestart behaves like one calling
deb-systemd-invoke. A forbidden unit is reported, not acted on, and is not a
failure.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

from smartrestart.apply.model import Group, Plan, Step

POLICY_HELPER = Path("/usr/sbin/policy-rc.d")
FORBIDDEN = 101


def denied_steps(plan: Plan, helper: Path = POLICY_HELPER) -> list[Step]:
    """Unit steps the helper forbids (``helper UNIT ACTION`` exiting 101)."""
    if not os.access(helper, os.X_OK):
        return []
    denied: list[Step] = []
    for step in plan.steps:
        if step.unit is None or step.mode is None:
            continue
        code = subprocess.run([str(helper), step.unit, step.mode.value], check=False).returncode
        if code == FORBIDDEN:
            denied.append(step)
    return denied


def without(plan: Plan, steps: list[Step]) -> Plan:
    """``plan`` with ``steps`` taken out (and groups left empty dropped)."""
    groups = []
    for group in plan.groups:
        kept = tuple(s for s in group.steps if s not in steps)
        if kept:
            groups.append(Group(group.order, kept))
    return replace(plan, groups=tuple(groups))
