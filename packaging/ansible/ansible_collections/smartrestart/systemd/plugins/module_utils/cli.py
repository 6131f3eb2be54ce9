# -*- coding: utf-8 -*-
# Copyright (c) smartrestart developers
# MIT License (see LICENSE in the smartrestart repository)
"""Running smartrestart's command line on the managed host and reading its JSON.

The modules drive the ``--json`` command line rather than importing
smartrestart: the command is wherever the Debian package (``/usr/bin``) or a
virtual environment put it, with its own interpreter and dependencies, while
the module runs on whatever Python Ansible found on the host. Every JSON shape
read here is documented in smartrestart's ``src/smartrestart/schemas/``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# smartrestart's exit codes (``smartrestart --help``): what each means for a task.
EXIT_MEANINGS = {
    1: "a unit or command failed, or something would change (--check)",
    2: "usage or configuration error; nothing acted",
    3: "cannot reach systemd or not allowed by it; nothing acted",
    4: "another smartrestart apply holds the lock; nothing acted",
    70: "internal error (a bug in smartrestart); nothing acted",
    130: "interrupted before anything acted",
}

# Documented once, in doc_fragments/common.py (smartrestart.systemd.common).
COMMON_ARGUMENT_SPEC = dict(
    executable=dict(type="path"),
    chdir=dict(type="path"),
    rules=dict(type="list", elements="path", default=[]),
    config_root=dict(type="path"),
)


def common_arguments(params):
    """Command-line arguments for the options every module shares."""
    argv = []
    for rules_file in params["rules"]:
        argv.extend(["--rules", rules_file])
    if params["config_root"]:
        argv.extend(["--config-root", params["config_root"]])
    return argv


def command(module, subcommand):
    """``smartrestart SUBCOMMAND``: the ``executable`` option, else the one on PATH."""
    executable = module.params["executable"] or module.get_bin_path("smartrestart", required=True)
    return [executable, subcommand]


def first_line(text):
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_json(module, argv, accepted, data=None):
    """Run ``argv``; its JSON report and exit status, or the task fails naming why.

    ``accepted`` are the exit statuses that still wrote a report worth reading
    (1: a unit failed, or --check found something to change).
    """
    rc, out, err = module.run_command(
        argv, cwd=module.params["chdir"], data=data, binary_data=data is not None
    )
    if rc not in accepted:
        meaning = EXIT_MEANINGS.get(rc, "unexpected exit status")
        module.fail_json(
            msg="%s (exit %d: %s)" % (first_line(err) or "smartrestart failed", rc, meaning),
            rc=rc,
            cmd=argv,
            stdout=out,
            stderr=err,
        )
    try:
        report = json.loads(out)
    except ValueError:
        module.fail_json(
            msg="smartrestart did not print a JSON report: %s" % (first_line(err) or out[:200]),
            rc=rc,
            cmd=argv,
            stdout=out,
            stderr=err,
        )
    warnings = [line for line in err.splitlines() if line.startswith("smartrestart: warning: ")]
    for warning in warnings:
        module.warn(warning[len("smartrestart: warning: "):])
    return rc, report
