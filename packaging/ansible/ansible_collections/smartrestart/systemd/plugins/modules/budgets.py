#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) smartrestart developers
# MIT License (see LICENSE in the smartrestart repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: budgets
short_description: Turn smartrestart restart budgets into systemd drop-ins
description:
  - Runs C(smartrestart generate) on the managed host. Each restart budget of the rules
    (restart type, intensity within a period, backoff, watchdog, timeouts, fatal exit codes,
    cooldown, escalation) becomes a drop-in C(<unit>.d/50-smartrestart.conf) that systemd
    itself enforces. Files are written atomically and only when their content changes;
    systemd is reloaded only when something changed in its own directories.
  - In check mode nothing is written (C(generate --check)); C(changed) says whether
    something would be.
  - In diff mode each drop-in's change is shown as a unified diff.
  - What generate warns about (a budget systemd 252 cannot fully express, an orphaned
    drop-in) becomes a task warning.
version_added: "0.1.0"
author:
  - smartrestart developers (@smartrestart)
requirements:
  - smartrestart on the managed host, run as root (C(become)) for the system's unit directories.
attributes:
  check_mode:
    support: full
    description: Runs C(smartrestart generate --check); nothing is written or reloaded.
  diff_mode:
    support: full
    description: The unified diff of each drop-in that changes.
options:
  unit_dir:
    description:
      - Write the drop-ins under this directory instead of C(/etc/systemd/system). It is not
        reloaded unless O(reload=true).
    type: path
  runtime:
    description:
      - Write under C(/run/systemd/system) (lost at reboot).
    type: bool
    default: false
  image_root:
    description:
      - An image to write into (C(ROOT/etc/systemd/system)); never reloaded.
    type: path
  systemd_version:
    description:
      - Generate for this systemd version instead of asking the running manager.
    type: int
  reload:
    description:
      - Whether to reload systemd after a change. Default reload for C(/etc/systemd/system)
        and O(runtime), not for O(unit_dir), never for O(image_root).
    type: bool
  remove_orphans:
    description:
      - Also remove drop-ins of smartrestart's whose rules file no longer exists.
    type: bool
    default: false
extends_documentation_fragment:
  - smartrestart.systemd.common
seealso:
  - module: smartrestart.systemd.apply
  - module: smartrestart.systemd.status
"""

EXAMPLES = r"""
- name: Restart budgets of every rules fragment as systemd drop-ins
  smartrestart.systemd.budgets:
  become: true

- name: Budgets of one application's rules file
  smartrestart.systemd.budgets:
    rules: [/srv/app/restart-rules.yaml]
  become: true
"""

RETURN = r"""
reloaded:
  description: Whether systemd was reloaded (daemon-reload).
  returned: always
  type: bool
  sample: true
files:
  description: One entry per drop-in of these rules, as C(smartrestart generate --json) reports it.
  returned: always
  type: list
  elements: dict
  contains:
    unit:
      description: The unit whose directory holds the drop-in.
      type: str
    path:
      description: The drop-in file.
      type: str
    result:
      description: written, removed, unchanged, orphan (in check mode would write, would remove).
      type: str
  sample:
    - {"unit": "app-api.service", "path": "/etc/systemd/system/app-api.service.d/50-smartrestart.conf",
       "result": "written"}
report:
  description: The whole report of C(smartrestart generate --json).
  returned: always
  type: dict
  sample: {"changed": true, "check": false, "reloaded": true, "files": []}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartrestart.systemd.plugins.module_utils.cli import (
    COMMON_ARGUMENT_SPEC,
    command,
    common_arguments,
    run_json,
)


def generate_argv(module):
    params = module.params
    argv = command(module, "generate") + ["--json"] + common_arguments(params)
    if params["unit_dir"]:
        argv.extend(["--unit-dir", params["unit_dir"]])
    if params["runtime"]:
        argv.append("--runtime")
    if params["image_root"]:
        argv.extend(["--root", params["image_root"]])
    if params["systemd_version"] is not None:
        argv.extend(["--systemd-version", str(params["systemd_version"])])
    if params["reload"] is not None:
        argv.append("--reload" if params["reload"] else "--no-reload")
    if params["remove_orphans"]:
        argv.append("--remove-orphans")
    if module.check_mode:
        argv.append("--check")
    if module._diff:
        argv.append("--diff")
    return argv


def diff_of(report):
    """Ansible's diff: each changed drop-in as the unified diff generate made of it."""
    return [dict(prepared=f["diff"]) for f in report["files"] if f.get("diff")]


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        unit_dir=dict(type="path"),
        runtime=dict(type="bool", default=False),
        image_root=dict(type="path"),
        systemd_version=dict(type="int"),
        reload=dict(type="bool"),
        remove_orphans=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("unit_dir", "runtime", "image_root")],
    )
    # 1 with --check: something would change.
    accepted = (0, 1) if module.check_mode else (0,)
    dummy, report = run_json(module, generate_argv(module), accepted=accepted)
    result = dict(
        changed=report["changed"],
        reloaded=report["reloaded"],
        files=report["files"],
        report=report,
    )
    if module._diff:
        result["diff"] = diff_of(report)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
