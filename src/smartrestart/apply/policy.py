"""Debian's policy-rc.d: whether a maintainer script may act on a unit at all.

In chroots and image builds, ``/usr/sbin/policy-rc.d`` exits 101 to forbid
service actions; ``deb-systemd-invoke`` (what dh_installsystemd's snippets
call) asks it before every action, and ``apply --from-dpkg`` does the same,
so a package's postinst calling smartrestart behaves like one calling
deb-systemd-invoke:

* no helper, or one that is not executable: act;
* exit 0 or 104: act;
* exit 101: do not act on that unit; it is reported, and is not a failure;
* any other exit (or a helper that cannot be run at all): warn, and act.

What the helper prints goes into the warnings, never to our stdout, where it
would break ``--json``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from smartrestart.apply.model import Group, Plan, Step
from smartrestart.records import NamedTuple

POLICY_HELPER = Path("/usr/sbin/policy-rc.d")
FORBIDDEN = 101
ALLOWED = (0, 104)  # 104: "action allowed" in invoke-rc.d's older vocabulary


class PolicyAnswers(NamedTuple):
    denied: list[Step]  # the steps the helper forbids
    warnings: list[str]  # answers deb-systemd-invoke would warn about, and what it printed


def ask_policy(plan: Plan, helper: Path | None = None) -> PolicyAnswers:
    """Ask ``helper UNIT ACTION`` (default :data:`POLICY_HELPER`) about every unit step."""
    helper = helper or POLICY_HELPER
    answers = PolicyAnswers([], [])
    if not os.access(helper, os.X_OK):
        return answers
    for step in plan.steps:
        if step.unit is None or step.mode is None:
            continue
        asked = f"{helper} {step.unit} {step.mode.value}"
        try:
            result = subprocess.run(
                [str(helper), step.unit, step.mode.value],
                stdout=subprocess.PIPE,
                text=True,
                errors="replace",
                check=False,
            )
        except OSError as exc:
            answers.warnings.append(f"cannot run {asked}: {exc.strerror or exc}; acting anyway")
            continue
        if result.stdout.strip():
            answers.warnings.append(f"{asked} said: {' '.join(result.stdout.split())}")
        if result.returncode == FORBIDDEN:
            answers.denied.append(step)
        elif result.returncode not in ALLOWED:
            answers.warnings.append(
                f"{asked} exited {result.returncode}; only 0, 101 and 104 are defined: "
                "acting anyway, as deb-systemd-invoke does"
            )
    return answers


def without(plan: Plan, steps: list[Step]) -> Plan:
    """``plan`` with ``steps`` taken out (and groups left empty dropped)."""
    groups = []
    for group in plan.groups:
        kept = tuple(s for s in group.steps if s not in steps)
        if kept:
            groups.append(Group(group.order, kept))
    return plan._replace(groups=tuple(groups))
