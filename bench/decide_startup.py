"""Start-up of `smartrestart decide` against the interpreter and its own imports.

Targets: within 1.3x of `python -c "import click, yaml"` (the project's
standard), and the issue's 3x of a bare `python -c pass`; both ratios print.
"""

from __future__ import annotations

import compileall
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import summary, time_commands

RULES = """\
actions:
  pip_install: {order: 10}
  restart_api: {order: 20, units: [app-api.service]}
rules:
  - {pattern: "**/*.md", actions: []}
  - {pattern: "requirements.txt", actions: [pip_install, restart_api]}
  - {pattern: "src/**", actions: [restart_api]}
fallback: none
"""


def main() -> None:
    python = sys.executable
    source = str(Path(__file__).resolve().parent.parent / "src")
    # Installed packages carry bytecode (pip and Debian's py3compile write it);
    # a checkout under PYTHONDONTWRITEBYTECODE would recompile every run.
    compileall.compile_dir(source, quiet=1)
    # What the installed console script runs, with the package imported from
    # src/ directly: an editable install's import hook would add its own cost.
    smartrestart = [python, "-c", "from smartrestart.cli.entry import main; main()"]
    with tempfile.TemporaryDirectory() as work:
        rules = Path(work) / "restart-rules.yaml"
        rules.write_text(RULES)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            'python -c "import click, yaml"': [python, "-c", "import click, yaml"],
            # How deploy scripts call it: ./restart-rules.yaml is the default.
            "smartrestart decide (./restart-rules.yaml)": [
                *smartrestart,
                "decide",
                "--config-root",
                work,
                "src/app.py",
                "README.md",
            ],
            # The same file named with -r: click (8.1 to 8.5 at least) first
            # tries a short option as a long one and imports difflib to
            # suggest close names when that fails.
            "smartrestart decide -r FILE": [
                *smartrestart,
                "decide",
                "--config-root",
                work,
                "-r",
                str(rules),
                "src/app.py",
                "README.md",
            ],
        }
        samples = time_commands(commands, runs=40, cwd=work, env={"PYTHONPATH": source})
    print("decide start-up, 40 interleaved runs each")
    print(summary(samples, 'python -c "import click, yaml"'))
    print()
    print(summary({k: samples[k] for k in list(samples)[::2]}, "python -c pass"))


if __name__ == "__main__":
    main()
