"""The commands of ``smartrestart(1)``, read from click: synopsis, descriptions, options.

Every command the group lists (``cli/main.py``'s ``COMMANDS``) appears, and so
do subcommands of a command group (``handle failure``): a command added to the
table appears in the page the next time the pages are generated. A command's
help text and epilog are its description; the epilog's exit-code table is left
out (the page has its own EXIT STATUS). A file ``man/prose/commands/NAME.md``,
when present, adds prose after the help text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import click

from smartrestart.manpages.roff import escape, help_text, inline

EXIT_CODES_PARAGRAPH = re.compile(r"^Exit codes\b", re.MULTILINE)
# A command's own prose, by its path ("apply", "handle failure"), as roff lines.
Prose = Callable[[str], list[str]]


def root_context(program: str, group: click.Group) -> click.Context:
    """The context the program's own run would have (its context settings: ``-h``)."""
    return click.Context(group, info_name=program, **group.context_settings)


def walk(context: click.Context) -> Iterator[tuple[str, click.Command, click.Context]]:
    """(path, command, context) for every visible command below the context's group."""
    group = context.command
    assert isinstance(group, click.Group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        child = click.Context(command, info_name=name, parent=context)
        path = child.command_path.partition(" ")[2]
        yield path, command, child
        if isinstance(command, click.Group):
            yield from walk(child)


def synopsis(context: click.Context) -> list[str]:
    """One ``.SY`` block per command that runs (groups only name their subcommands)."""
    out: list[str] = []
    for path, command, child in walk(context):
        if isinstance(command, click.Group):
            continue
        out.extend([f".SY {context.info_name}", f".B {escape(path)}"])
        out.extend(_usage_piece(piece) for piece in command.collect_usage_pieces(child))
        out.append(".YS")
    return out


def _usage_piece(piece: str) -> str:
    """``[OPTIONS]``, ``[PATHS]...``, ``UNIT``: brackets and dots roman, names italic."""
    name = piece.strip("[].")
    before, _, after = piece.partition(name)
    return f'.RI "{escape(before)}" "{escape(name)}" "{escape(after)}"'


def describe(context: click.Context, prose: Prose) -> list[str]:
    """A subsection per command: its usage, help text, prose, options and examples."""
    out: list[str] = []
    for path, command, child in walk(context):
        out.append(f'.SS "{path}"')
        out.extend(help_text(command.help or command.short_help or ""))
        out.extend(prose(path))
        out.extend(options(command, child))
        if command.epilog:  # its examples; the exit codes have their own section
            out.extend(help_text(EXIT_CODES_PARAGRAPH.split(command.epilog)[0]))
    return out


def options(
    command: click.Command, context: click.Context, *, with_help: bool = False
) -> list[str]:
    """``.TP`` items for the command's options, as its ``--help`` lists them."""
    out: list[str] = []
    help_option = command.get_help_option(context)
    for param in command.get_params(context):
        record = param.get_help_record(context)
        if record is None or not isinstance(param, click.Option):
            continue
        if param is help_option and not with_help:
            continue  # every command has it: listed once, with the program's own options
        names, text = record
        out.extend([".TP", option_names(names), *(inline(line) for line in text.splitlines())])
    return out


def option_names(names: str) -> str:
    """``-r, --rules PATH`` as roff: each option bold, its value italic."""
    parts: list[str] = []
    for spelling in names.replace(" / ", ", ").split(", "):
        flag, _, metavar = spelling.partition(" ")
        part = f"\\fB{escape(flag)}\\fR"
        if metavar:
            part += f" \\fI{escape(metavar)}\\fR"
        parts.append(part)
    return ", ".join(parts)
