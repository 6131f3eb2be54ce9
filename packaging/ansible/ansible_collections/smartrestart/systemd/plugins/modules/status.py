#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) smartrestart developers
# MIT License (see LICENSE in the smartrestart repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: status
short_description: How services do against their restart budgets, as facts
description:
  - Runs C(smartrestart status --json) on the managed host and sets the fact
    C(smartrestart_status) to its report. Per unit, systemd's state (load, active and sub
    state, C(Result), since when, C(MainPID), C(InvocationID), C(StatusText), C(NRestarts)),
    the restarts in systemd's start-limit window against the budget's intensity, whether the
    budget is exhausted, the last start and why (automatic with systemd's C(Result), deploy,
    cooldown, manual) and the last deploy that touched the unit.
  - With O(require_active) or O(require_budget) it is a health gate, for example after each
    batch of a rolling deploy.
  - It reads the journal, so it needs root or the C(systemd-journal) or C(adm) group.
version_added: "0.1.0"
author:
  - smartrestart developers (@smartrestart)
requirements:
  - smartrestart on the managed host.
attributes:
  check_mode:
    support: full
    description: Only reads; it runs in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  facts:
    support: full
    description: Sets C(smartrestart_status).
options:
  units:
    description:
      - Units to show; default every unit the rules' actions and budgets name.
    type: list
    elements: str
    default: []
  require_active:
    description:
      - Fail, naming each unit and its C(Result), when a unit shown is not active.
    type: bool
    default: false
  require_budget:
    description:
      - Fail, naming each unit, when a unit's restart budget is exhausted (systemd refuses
        further starts until its window closes).
    type: bool
    default: false
extends_documentation_fragment:
  - smartrestart.systemd.common
seealso:
  - module: smartrestart.systemd.apply
"""

EXAMPLES = r"""
- name: Health gate after a batch
  smartrestart.systemd.status:
    units: [app-api.service, app-worker.service]
    require_active: true
    require_budget: true
  become: true

- name: Read the facts and decide yourself
  smartrestart.systemd.status:
  become: true

- name: No unit restarted by systemd since the deploy
  ansible.builtin.assert:
    that: >-
      smartrestart_status.units
      | selectattr('last_restart.cause', 'defined')
      | selectattr('last_restart.cause', 'equalto', 'automatic') | list | length == 0
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    smartrestart_status:
      description:
        - The report of C(smartrestart status --json), see
          C(src/smartrestart/schemas/status-report.schema.json).
      type: dict
      sample: {"units": [{"unit": "app-api.service", "active_state": "active",
               "invocation_id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "main_pid": 1344,
               "budget": {"intensity": 5, "restarts_in_window": 0, "exhausted": false}}],
               "warnings": []}
inactive:
  description: Units shown that are not active, as C(systemctl is-active) judges.
  returned: always
  type: list
  elements: str
  sample: [app-worker.service]
exhausted:
  description: Units whose restart budget is exhausted now.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartrestart.systemd.plugins.module_utils.cli import (
    COMMON_ARGUMENT_SPEC,
    command,
    common_arguments,
    run_json,
)

ACTIVE_STATES = ("active", "reloading")


def describe(unit):
    """A unit that is down: name, state and systemd's Result."""
    text = "%s is %s" % (unit["unit"], unit["active_state"])
    if unit["result"] and unit["result"] != "success":
        text += " (Result: %s)" % unit["result"]
    return text


def gate(report, require_active, require_budget):
    """The units that fail the gate, and the task's message about them ("" when none)."""
    units = report["units"]
    inactive = [u for u in units if u["active_state"] not in ACTIVE_STATES]
    exhausted = [u for u in units if u["budget"] and u["budget"]["exhausted"]]
    problems = []
    if require_active:
        problems.extend(describe(u) for u in inactive)
    if require_budget:
        problems.extend("%s: restart budget exhausted" % u["unit"] for u in exhausted)
    return (
        [u["unit"] for u in inactive],
        [u["unit"] for u in exhausted],
        "; ".join(problems),
    )


def main():
    argument_spec = dict(
        COMMON_ARGUMENT_SPEC,
        units=dict(type="list", elements="str", default=[]),
        require_active=dict(type="bool", default=False),
        require_budget=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    argv = command(module, "status") + ["--json"] + common_arguments(params)
    argv.extend(["--"] + params["units"])
    # 3: a unit shown is not active (as systemctl is-active); the report says which.
    dummy, report = run_json(module, argv, accepted=(0, 3))
    inactive, exhausted, problems = gate(report, params["require_active"], params["require_budget"])
    result = dict(
        changed=False,
        ansible_facts=dict(smartrestart_status=report),
        inactive=inactive,
        exhausted=exhausted,
    )
    if problems:
        module.fail_json(msg=problems, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
