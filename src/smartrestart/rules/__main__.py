"""``python3 -m smartrestart.rules FILE...``: check rules files, print the units their actions name.

dh_smartrestart runs it on a package's fragment at build time: a mistake
fails the build with its file, line and field, and the units printed (one
per line) are those whose restart on upgrade smartrestart takes over from
dh_installsystemd. Exit codes as smartrestart's own.
"""

from __future__ import annotations

import sys

from smartrestart import pathnames
from smartrestart.errors import ExitCode, SmartRestartError
from smartrestart.rules.schema import load_rule_set


def main(argv: list[str]) -> int:
    if not argv or any(arg.startswith("-") for arg in argv):
        print("usage: python3 -m smartrestart.rules FILE...", file=sys.stderr)
        return int(ExitCode.USAGE)
    try:
        rule_set = load_rule_set([pathnames.join(arg) for arg in argv])
    except SmartRestartError as error:
        print(f"smartrestart: error: {error.message}", file=sys.stderr)
        return int(error.exit_code)
    except OSError as error:
        print(f"smartrestart: error: {error.filename}: {error.strerror}", file=sys.stderr)
        return int(ExitCode.USAGE)
    units = (unit for action in rule_set.actions.values() for unit in action.units)
    for unit in dict.fromkeys(units):
        print(unit)
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
