"""The graph as text: Graphviz DOT and Mermaid, each node's shape telling its kind.

Labels are escaped for each language: DOT quotes with backslashes; Mermaid
takes ``#quot;`` and friends inside a quoted label, and ``<br/>`` for a line
break. Node ids are ``n0``, ``n1``, ... so no name can break the syntax.
Both are UTF-8 text: a file name that is not UTF-8 shows its other bytes as
``\\xNN`` (see :func:`readable`).
"""

from __future__ import annotations

from smartrestart.graph.model import Graph, NodeKind

DOT_SHAPES = {
    NodeKind.FILE: "note",
    NodeKind.RULE: "box",
    NodeKind.FALLBACK: 'box, style="dashed"',
    NodeKind.ACTION: "ellipse",
    NodeKind.UNIT: "box3d",
    NodeKind.COMMAND: "cds",
}
# Mermaid node shapes: (opening, closing) around the quoted label.
MERMAID_SHAPES = {
    NodeKind.FILE: ("[", "]"),
    NodeKind.RULE: ("{{", "}}"),
    NodeKind.FALLBACK: ("{{", "}}"),
    NodeKind.ACTION: ("([", "])"),
    NodeKind.UNIT: ("[[", "]]"),
    NodeKind.COMMAND: ("[/", "/]"),
}
MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;"}


def readable(text: str) -> str:
    """``text`` with each byte a file name held undecoded (surrogateescape) as ``\\xNN``.

    Paths are read as bytes and decoded with surrogateescape, so a name that
    is not UTF-8 reaches a label as lone surrogates, which no UTF-8 text may
    hold; ``ls -b`` and Python's ``repr`` show such bytes the same way.
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate surrogateescape did not make
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dot_text(text: str) -> str:
    text = readable(text)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def render_dot(graph: Graph) -> str:
    lines = [
        "digraph smartrestart {",
        "  rankdir=LR;",
        '  node [fontname="sans-serif", fontsize=10];',
        '  edge [fontname="sans-serif", fontsize=9];',
    ]
    lines.extend(
        f"  {node.id} [label={dot_text(node.label)}, shape={DOT_SHAPES[node.kind]}];"
        for node in graph.nodes
    )
    for edge in graph.edges:
        label = f" [label={dot_text(edge.label)}]" if edge.label else ""
        lines.append(f"  {edge.source} -> {edge.target}{label};")
    return "\n".join([*lines, "}"]) + "\n"


def mermaid_text(text: str) -> str:
    text = readable(text)
    escaped = "".join(MERMAID_ENTITIES.get(char, char) for char in text.replace("\r", ""))
    return escaped.replace("\n", "<br/>")


def render_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    for node in graph.nodes:
        opening, closing = MERMAID_SHAPES[node.kind]
        lines.append(f'  {node.id}{opening}"{mermaid_text(node.label)}"{closing}')
    for edge in graph.edges:
        label = f'|"{mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} -->{label} {edge.target}")
    return "\n".join(lines) + "\n"
