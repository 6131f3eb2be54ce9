# -*- coding: utf-8 -*-
# Copyright (c) smartrestart developers
# MIT License (see LICENSE in the smartrestart repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options every module of the collection shares (module_utils/cli.py's
    COMMON_ARGUMENT_SPEC): where smartrestart is, where it runs, which rules it reads."""

    DOCUMENTATION = r"""
options:
  rules:
    description:
      - Rules files to read, besides every C(*.yaml) of the C(rules.d) directories.
      - Default C(restart-rules.yaml) in O(chdir), when it exists.
    type: list
    elements: path
    default: []
  config_root:
    description:
      - Prefix of the C(/etc), C(/run) and C(/usr/lib) C(smartrestart/rules.d) directories
        (for images and tests).
    type: path
  chdir:
    description:
      - Directory to run in, usually the application's checkout (where a
        C(restart-rules.yaml) is found); relative paths are relative to it.
    type: path
  executable:
    description:
      - Path of the smartrestart command; default the one on C(PATH).
    type: path
notes:
  - Set the environment of the task (for example C(DBUS_SYSTEM_BUS_ADDRESS)) with the
    C(environment) keyword.
"""
