#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) smartrestart developers
# MIT License (see LICENSE in the smartrestart repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apply
short_description: Restart exactly the systemd units a change touched, verified
description:
  - Runs C(smartrestart apply) on the managed host. From the changed files (a list, a git
    range or an installed Debian package) and the host's smartrestart rules it decides which
    actions a change needs, then restarts, reloads or starts exactly their units over D-Bus,
    order group by order group, and runs their C(run:) commands as transient units.
  - Unlike M(ansible.builtin.systemd_service), it waits for each job (a C(Type=notify) unit
    until it is ready), verifies that every restarted unit runs a new invocation, fails a
    unit that dies within O(settle) seconds of its start, and reports the units' state from
    after the restart.
  - The task reports C(changed) only when a unit's InvocationID changed (a restart or a
    start) or a C(run:) command ran. A reload keeps the InvocationID and does not count;
    it is listed in RV(reloaded).
  - In check mode it asks systemd, read-only, and returns the exact plan with what each
    step would do to each unit in its present state; C(changed) says whether anything would
    be restarted, started or run.
  - In diff mode each unit's C(ActiveState), C(InvocationID), C(MainPID) and
    C(ActiveEnterTimestamp) before and after are shown.
  - On failure the message names each failed unit with systemd's C(Result) and shows the
    last journal lines of the invocation that failed.
version_added: "0.1.0"
author:
  - smartrestart developers (@smartrestart)
requirements:
  - smartrestart on the managed host (the Debian package, or C(pip install smartrestart)
    with O(executable) pointing at it), run as root (C(become)).
attributes:
  check_mode:
    support: full
    description: Asks systemd read-only (C(smartrestart apply --check)); nothing changes.
  diff_mode:
    support: full
    description: Per unit, its state before and after (predicted in check mode).
options:
  changed_files:
    description:
      - The changed files, relative to O(chdir) (or absolute).
      - With neither O(git_range) nor O(from_dpkg), an empty list decides nothing and restarts
        nothing.
    type: list
    elements: str
    default: []
  git_range:
    description:
      - Take the changed files from C(git diff A..B) in O(chdir), for example
        C("{{ checkout.before }}..{{ checkout.after }}") of M(ansible.builtin.git).
    type: str
  from_dpkg:
    description:
      - Take the changed files from the installed Debian package of this name (C(dpkg -L)).
      - Each unit action is first put to C(/usr/sbin/policy-rc.d), as C(deb-systemd-invoke) does.
    type: str
  root:
    description:
      - Expand changed Python files through the reverse import graph of these trees, so a
        change to a library restarts every service that imports it.
    type: list
    elements: path
    default: []
  keep_going:
    description:
      - Run later order groups even after a step failed.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each group's jobs.
    type: float
    default: 600
  settle:
    description:
      - Seconds to watch each unit a group restarted or started before the next group runs.
        A unit that stops, fails or is restarted by systemd within them fails the task.
      - systemd ends the start job of a C(Type=simple) service once its process is forked, so
        without this a program that exits right after its start counts as restarted.
      - V(0) turns the watch off.
    type: float
    default: 1
  wait_lock:
    description:
      - Seconds to wait for another smartrestart apply on the host to finish, instead of
        failing at once.
    type: float
    default: 60
  lock_file:
    description:
      - The host-wide lock file; default C(/run/smartrestart/apply.lock).
    type: path
extends_documentation_fragment:
  - smartrestart.systemd.common
seealso:
  - module: smartrestart.systemd.status
  - module: smartrestart.systemd.budgets
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: Check out the release
  ansible.builtin.git:
    repo: https://example.invalid/app.git
    dest: /srv/app
    version: "{{ release }}"
  register: checkout

- name: Restart what the release changed, and nothing else
  smartrestart.systemd.apply:
    chdir: /srv/app
    git_range: "{{ checkout.before }}..{{ checkout.after }}"
    root: [/srv/app/src]
  when: checkout.changed and checkout.before is truthy
  become: true

- name: After a package upgrade, restart the units whose files it changed
  smartrestart.systemd.apply:
    from_dpkg: myapp
  become: true

- name: Restart for an explicit list of files, watching each start for 3 seconds
  smartrestart.systemd.apply:
    chdir: /srv/app
    changed_files: [src/lib/db.py, config/app.toml]
    settle: 3
  become: true
"""

RETURN = r"""
deploy_id:
  description:
    - The id every journal entry of this apply carries (C(SMARTRESTART_DEPLOY=)); C(smartrestart
      logs --deploy ID) lists them. Null when nothing was logged (check mode, nothing to do).
  returned: always
  type: str
  sample: f26ede1abee8cd3b
restarted:
  description: Units that now run a new invocation (restarted or started).
  returned: always
  type: list
  elements: str
  sample: [app-api.service]
reloaded:
  description: Units that were reloaded (same invocation; not counted as changed).
  returned: always
  type: list
  elements: str
  sample: [nginx.service]
ran:
  description: Actions whose C(run:) command ran (in check mode, would run).
  returned: always
  type: list
  elements: str
  sample: [migrate]
failed_units:
  description: Units (or C(run:) actions) whose step failed.
  returned: always
  type: list
  elements: str
  sample: [app-worker.service]
journal:
  description:
    - For each failed unit, the last lines its failed invocation logged, oldest first.
  returned: always
  type: dict
  sample: {"app-worker.service": ["12:00:01 app[42]: bad configuration"]}
steps:
  description:
    - One entry per job, in order, as C(smartrestart apply --json) reports it, see
      C(src/smartrestart/schemas/apply-report.schema.json). In check mode, the plan with
      the result each step would have.
  returned: always
  type: list
  elements: dict
  contains:
    unit:
      description: The unit as the rules name it, or the transient unit of a C(run:) action.
      type: str
    actions:
      description: The actions behind the step.
      type: list
      elements: str
    mode:
      description: restart, try-restart, reload-or-restart, reload or start (null for a run).
      type: str
    result:
      description:
        - restarted, reloaded, started, already-active, not-running, succeeded, failed,
          timed-out, not-run, denied-by-policy.
      type: str
    unit_result:
      description: systemd's C(Result=) of the service after the job.
      type: str
    old_invocation_id:
      description: InvocationID before the job.
      type: str
    new_invocation_id:
      description: InvocationID after the job.
      type: str
    detail:
      description: Why a step failed or did nothing.
      type: str
  sample:
    - {"unit": "app-api.service", "actions": ["restart_api"], "mode": "restart",
       "result": "restarted", "unit_result": "success",
       "old_invocation_id": "2b7c0d7f6f3a4a0f9a0c1e2d3b4c5d6e",
       "new_invocation_id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "detail": null}
report:
  description:
    - The whole report of C(smartrestart apply --json) (decision, steps, timing).
  returned: always
  type: dict
  sample: {"changed": true, "check": false, "deploy_id": "f26ede1abee8cd3b", "steps": []}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartrestart.systemd.plugins.module_utils.cli import (
    COMMON_ARGUMENT_SPEC,
    command,
    common_arguments,
    run_json,
)

# Results by which a unit runs a new invocation (in check mode: would).
NEW_INVOCATION_RESULTS = ("restarted", "started")
FAILED_RESULTS = ("failed", "timed-out")
DIFF_PROPERTIES = (
    ("ActiveState", "active_state"),
    ("InvocationID", "invocation_id"),
    ("MainPID", "main_pid"),
    ("ActiveEnterTimestamp", "active_enter_timestamp"),
)


def apply_argv(module):
    """The command line for the module's parameters, and what goes to its stdin."""
    params = module.params
    argv = command(module, "apply") + ["--json"] + common_arguments(params)
    if module._diff:
        argv.append("--diff")
    for root in params["root"]:
        argv.extend(["--root", root])
    if params["git_range"] is not None:
        argv.extend(["--git", params["git_range"]])
    if params["from_dpkg"] is not None:
        argv.extend(["--from-dpkg", params["from_dpkg"]])
    argv.extend(["--timeout", "%g" % params["timeout"], "--wait-lock", "%g" % params["wait_lock"]])
    if params["lock_file"]:
        argv.extend(["--lock-file", params["lock_file"]])
    if params["keep_going"]:
        argv.append("--keep-going")
    if module.check_mode:
        argv.append("--check")
    elif params["settle"] > 0:
        argv.extend(["--settle", "%g" % params["settle"]])
    files = params["changed_files"]
    if params["git_range"] is not None or params["from_dpkg"] is not None:
        return argv + ["--"] + files, None
    # Only source: NUL-separated on stdin, safe for any name; empty is no change.
    return argv + ["-z"], "".join(name + "\0" for name in files) or "\0"


def new_invocation(step, check):
    if check:
        return step["kind"] == "unit" and step["result"] in NEW_INVOCATION_RESULTS
    new = step["new_invocation_id"]
    return step["kind"] == "unit" and bool(new) and new != step["old_invocation_id"]


def ran(step, check):
    """A run: action ran (its transient unit was started), or would run."""
    if check:
        return step["kind"] == "run" and step["result"] == "succeeded"
    return step["kind"] == "run" and bool(step["unit"])


def unit_text(state):
    if state is None:
        return ""
    return "".join(
        "%s=%s\n" % (name, "" if state[key] is None else state[key])
        for name, key in DIFF_PROPERTIES
    )


def predicted(state, step):
    """The state a check predicts: a new invocation where the step would start one."""
    if not new_invocation(step, True):
        return state
    after = dict(state, active_state="active")
    for key in ("invocation_id", "main_pid", "active_enter_timestamp"):
        after[key] = "(new)"
    return after


def diff_of(report):
    """Ansible's diff: per unit, the properties a restart changes, before and after."""
    diffs = []
    for step in report["steps"]:
        diff = step.get("diff")
        if step["kind"] != "unit" or not diff:
            continue
        after = diff["after"] if not report["check"] else predicted(diff["before"], step)
        diffs.append(
            dict(
                before_header=step["unit"],
                after_header=step["unit"],
                before=unit_text(diff["before"]),
                after=unit_text(after),
            )
        )
    return diffs


def failure_message(report):
    """One line per failed step: unit, result, systemd's Result, why; then its journal lines."""
    lines = []
    for step in report["steps"]:
        if step["result"] not in FAILED_RESULTS:
            continue
        name = step["unit"] or "run: %s" % " ".join(step["command"] or step["actions"])
        line = "%s: %s" % (name, step["result"])
        if step["unit_result"]:
            line += " (Result: %s)" % step["unit_result"]
        if step["detail"]:
            line += ": %s" % step["detail"]
        lines.append(line)
        lines.extend("  %s" % entry for entry in step.get("journal") or ())
    not_run = [s["unit"] or " ".join(s["actions"]) for s in report["steps"] if s["result"] == "not-run"]
    if not_run:
        lines.append("not run, as an earlier order group failed: %s" % ", ".join(not_run))
    if report.get("error"):
        lines.append("apply stopped part-way: %s" % report["error"])
    return "\n".join(lines) or "smartrestart apply failed"


def summary(report):
    """The task's result from the report: changed by the InvocationID rule, and the lists."""
    check = report["check"]
    steps = report["steps"]
    failed = [s for s in steps if s["result"] in FAILED_RESULTS]
    return dict(
        changed=any(new_invocation(s, check) or ran(s, check) for s in steps),
        deploy_id=report["deploy_id"],
        restarted=[s["unit"] for s in steps if new_invocation(s, check)],
        reloaded=[s["unit"] for s in steps if s["result"] == "reloaded"],
        ran=[" ".join(s["actions"]) for s in steps if ran(s, check)],
        failed_units=[s["unit"] or " ".join(s["actions"]) for s in failed],
        journal=dict((s["unit"], s["journal"]) for s in failed if s.get("journal")),
        steps=steps,
        report=report,
    )


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        changed_files=dict(type="list", elements="str", default=[]),
        git_range=dict(type="str"),
        from_dpkg=dict(type="str"),
        root=dict(type="list", elements="path", default=[]),
        keep_going=dict(type="bool", default=False),
        timeout=dict(type="float", default=600),
        settle=dict(type="float", default=1),
        wait_lock=dict(type="float", default=60),
        lock_file=dict(type="path"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["settle"] < 0:
        module.fail_json(msg="settle: must be 0 or more seconds, not %g" % module.params["settle"])
    argv, data = apply_argv(module)
    # 1: a step failed (or, with --check, something would change): the report says which.
    rc, report = run_json(module, argv, accepted=(0, 1), data=data)
    result = summary(report)
    if module._diff:
        result["diff"] = diff_of(report)
    if result["failed_units"] or report.get("error"):
        module.fail_json(msg=failure_message(report), rc=rc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
