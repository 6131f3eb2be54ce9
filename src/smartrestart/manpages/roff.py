"""Text into roff for man(7): the prose's light markup, click's help texts and docstrings.

The prose sources (``man/prose/*.md``) use a small Markdown subset:
``## SECTION`` and ``### Subsection``, paragraphs, ``* `` bullets, blocks
indented by four spaces (shown verbatim), definition lists (a term line, then
``: `` and the definition), and inline ```code``` (bold), ``**bold**`` and
``*italic*``. Docstrings add reST's ````code```` and ``:role:`name```; click's
help texts add ``\\b`` paragraphs, whose line breaks are kept.
"""

from __future__ import annotations

import inspect
import re

# ``code`` or `code`; :role:`~a.b` ; **bold** ; *italic* (a word, not a glob's *)
_INLINE = re.compile(
    r"``(?P<literal>.+?)``"
    r"|:[a-z]+:`~?(?P<role>[^`]+)`"
    r"|`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>[^*]+)\*\*"
    r"|(?<![\w*])\*(?P<italic>[A-Za-z/$_\x01][^*]*?)\*(?![\w*])"
)
_FIELD = re.compile(r"@([A-Z_]+)@")
_STAR = "\x01"  # stands for an escaped star while the markup is read


def escape(text: str) -> str:
    """Plain text as roff prints it: backslashes and minus signs kept as typed."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def inline(text: str) -> str:
    """One line of text with its inline markup, escaped; ``\\*`` is a literal star."""
    text = text.replace("\\*", _STAR)
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[position : match.start()]))
        kind = match.lastgroup
        value = match.group(kind or "")
        if kind == "role":
            value = value.rsplit(".", 1)[-1]
        font = "I" if kind == "italic" else "B"
        out.append(f"\\f{font}{escape(value)}\\fR")
        position = match.end()
    out.append(escape(text[position:]))
    return _line_start("".join(out).replace(_STAR, "*"))


def _line_start(line: str) -> str:
    """A line roff would read as a request (leading ``.`` or ``'``) made literal."""
    return "\\&" + line if line.startswith((".", "'")) else line


def verbatim(lines: list[str]) -> list[str]:
    """A block shown as typed, in a monospace example (an empty line kept as one)."""
    return [".EX", *(_line_start(escape(line)) or "\\&" for line in lines), ".EE"]


def fields(text: str) -> str:
    """A journal catalog text with its ``@FIELD@`` placeholders as italic field names."""
    return _FIELD.sub(lambda match: f"*{match.group(1)}*", text)


def _blocks(text: str) -> list[list[str]]:
    """Blocks between blank lines; a verbatim block (indented) keeps its inner blank lines."""
    lines = text.splitlines()
    blocks: list[list[str]] = [[]]
    for index, line in enumerate(lines):
        if line.strip():
            blocks[-1].append(line.rstrip())
            continue
        following = next((later for later in lines[index + 1 :] if later.strip()), "")
        if _is_verbatim(blocks[-1]) and following.startswith("    "):
            blocks[-1].append("")
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def _is_verbatim(block: list[str]) -> bool:
    return bool(block) and all(line.startswith("    ") or not line for line in block)


def _start(before: list[str]) -> list[str]:
    """``.PP`` to begin a paragraph, unless a heading has just begun one."""
    return [] if before and before[-1].startswith((".SH", ".SS")) else [".PP"]


def markdown(text: str, insert: dict[str, list[str]] | None = None) -> list[str]:
    """The prose subset as roff lines; a line ``@name@`` alone becomes ``insert[name]``."""
    out: list[str] = []
    for block in _blocks(text):
        body = block
        if block[0].startswith(("## ", "### ")):
            level, _, title = block[0].partition(" ")
            out.append(f".SH {title}" if level == "##" else f'.SS "{title}"')
            body = block[1:]
        if body:
            out.extend(_block(body, out, insert or {}))
    return out


def _block(block: list[str], before: list[str], insert: dict[str, list[str]]) -> list[str]:
    if len(block) == 1 and re.fullmatch(r"@[a-z:-]+@", block[0]):
        return insert[block[0].strip("@")]
    if _is_verbatim(block):
        return [*_start(before), *verbatim([line[4:] for line in block])]
    if block[0].startswith("* "):
        return _bullets(block)
    if len(block) > 1 and block[1].startswith(": "):
        return _definitions(block)
    return _paragraph(block, before)


def _paragraph(block: list[str], before: list[str]) -> list[str]:
    return [*_start(before), *(inline(line.strip()) for line in block)]


def _bullets(block: list[str]) -> list[str]:
    out: list[str] = []
    for line in block:
        if line.startswith("* "):
            out.extend([".IP \\(bu 2", inline(line[2:].strip())])
        else:
            out.append(inline(line.strip()))
    return out


def _definitions(block: list[str]) -> list[str]:
    out: list[str] = []
    for line in block:
        if line.startswith(": "):
            out.append(inline(line[2:].strip()))
        elif line.startswith("  "):
            out.append(inline(line.strip()))
        else:
            out.extend([".TP", inline(line.strip())])
    return out


def help_text(text: str) -> list[str]:
    """A click help text or docstring: paragraphs, ``\\b`` blocks kept line by line.

    A kept block whose lines are indented is an example, shown verbatim.
    """
    out: list[str] = []
    for block in _blocks(inspect.cleandoc(text)):
        if block[0].strip() == "\b":
            kept = block[1:]
            indented = all(line.startswith("  ") for line in kept)
            if indented:
                out.extend(verbatim([line[2:] for line in kept]))
            else:
                out.extend([".PP", ".nf", *(inline(line.strip()) for line in kept), ".fi"])
        elif _is_verbatim(block):
            out.extend([".PP", *verbatim([line[4:] for line in block])])
        else:
            out.extend([".PP", *(inline(line.strip()) for line in block)])
    return out
