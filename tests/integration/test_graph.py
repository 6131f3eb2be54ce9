"""`smartrestart graph` of the example project inside each bed: DOT, Mermaid, SVG."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from tests.graphcheck import mermaid_problems
from tests.testbed import BED_PROJECT, TestBed

EXAMPLE = str(BED_PROJECT / "tests/fixtures/multi-service")
DECISION = ("--no-cache", "--root", "src", "src/lib/auth.py", "docs/security.md")


def graph(bed: TestBed, *args: str) -> subprocess.CompletedProcess[str]:
    return bed.smartrestart("graph", "--config-root", "/nonexistent", *args, cwd=EXAMPLE)


def test_dot_of_the_example_is_accepted_by_graphviz(bed: TestBed) -> None:
    for args in ((), DECISION):
        made = graph(bed, "--format", "dot", *args)
        assert made.returncode == 0, made.stderr
        # Graphviz on the host (the Makefile installs it): the DOT made in the bed.
        drawn = subprocess.run(
            ["dot", "-Tsvg"], input=made.stdout, capture_output=True, text=True, check=False
        )
        assert drawn.returncode == 0, drawn.stderr
        assert drawn.stderr == ""
        ET.fromstring(drawn.stdout)
    assert "src/lib/auth.py" in made.stdout and "example-worker.service" in made.stdout
    assert "example-scheduler.service" not in made.stdout  # not behind this decision


def test_mermaid_of_the_example_passes_the_structural_check(bed: TestBed) -> None:
    for args in ((), DECISION):
        made = graph(bed, "--format", "mermaid", *args)
        assert made.returncode == 0, made.stderr
        assert mermaid_problems(made.stdout) == []


def test_svg_where_graphviz_is_installed_and_a_clear_refusal_where_not(bed: TestBed) -> None:
    made = graph(bed, "--format", "svg", *DECISION)
    has_dot = bed.run("sh", "-c", "command -v dot", check=False).returncode == 0
    if has_dot:  # debian12: the host's /usr, with graphviz
        assert made.returncode == 0, made.stderr
        svg = ET.fromstring(made.stdout)
        assert svg.tag.endswith("svg")
        assert "imported by" in made.stdout
    else:  # debian13: Debian's packages without graphviz
        assert made.returncode == 2
        assert made.stdout == ""
        assert "Graphviz's dot, which is not installed" in made.stderr
        assert "apt-get install graphviz" in made.stderr
        assert "Traceback" not in made.stderr
    assert has_dot == (bed.kind == "debian12")
