"""A structural check of Mermaid flowchart text, as ``smartrestart graph`` writes it.

No Mermaid parser runs here (it is JavaScript); this checks what would break
one: the header, every line a node or an edge of the known shapes, quoted
labels with nothing inside that ends them early, every edge between
declared nodes, every node declared once.
"""

from __future__ import annotations

import re

SHAPES = (("[", "]"), ("{{", "}}"), ("([", "])"), ("[[", "]]"), ("[/", "/]"))
NODE = re.compile(r"  (n\d+)(\[\[|\[/|\(\[|\{\{|\[)\"([^\"]*)\"(\]\]|/\]|\]\)|\}\}|\])")
EDGE = re.compile(r"  (n\d+) -->(?:\|\"([^\"|]*)\"\|)? (n\d+)")


def mermaid_problems(text: str) -> list[str]:
    lines = text.splitlines()
    if not lines or lines[0] != "flowchart LR":
        return ["the first line is not 'flowchart LR'"]
    problems: list[str] = []
    declared: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        node, edge = NODE.fullmatch(line), EDGE.fullmatch(line)
        if node is not None:
            if (node.group(2), node.group(4)) not in SHAPES:
                problems.append(f"line {number}: mismatched shape brackets: {line}")
            if node.group(1) in declared:
                problems.append(f"line {number}: {node.group(1)} declared twice")
            if re.search(r"[<>](?!br/>)", node.group(3).replace("<br/>", "")):
                problems.append(f"line {number}: raw < or > in a label: {line}")
            declared.add(node.group(1))
        elif edge is not None:
            for end in (edge.group(1), edge.group(3)):
                if end not in declared:
                    problems.append(f"line {number}: edge to undeclared {end}")
        else:
            problems.append(f"line {number}: neither a node nor an edge: {line!r}")
    return problems
