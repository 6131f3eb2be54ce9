"""Options shared by several commands, each declared once as a decorator."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import click

from smartrestart import pathnames
from smartrestart.decide.changes import ChangeSources
from smartrestart.decide.run import DecideRequest


class Seconds(click.FloatRange):
    """A finite number of seconds: ``nan`` would make a deadline that never passes."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number


class PathName(click.Path):
    """A ``click.Path`` whose value is a ``str`` spelled as pathlib would (``./a//b/``: ``a/b``).

    Messages name these paths; the decide path does without pathlib's
    import (:mod:`smartrestart.pathnames`).
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return pathnames.join(os.fsdecode(super().convert(value, param, ctx)))


rules_option = click.option(
    "-r",
    "--rules",
    "rules_files",
    multiple=True,
    type=PathName(dir_okay=False),
    help="Rules file (repeatable). Default: ./restart-rules.yaml when present. "
    "Fragments from rules.d directories are always added.",
)
config_root_option = click.option(
    "--config-root",
    type=PathName(file_okay=False),
    default="/",
    show_default=True,
    help="Prefix for /etc, /run and /usr/lib/smartrestart/rules.d, and apply --pending's "
    "/var/lib/smartrestart/pending (for images and tests).",
)

user_option = click.option(
    "--user",
    is_flag=True,
    help="Talk to the calling user's own service manager (systemctl --user units) "
    "on the user bus, not the system's.",
)


def decide_inputs(function: Callable[..., Any]) -> Callable[..., Any]:
    """Every option that feeds the decider, handed to the command as one ``request``.

    ``decide`` and ``apply`` share them: the command receives a
    :class:`DecideRequest` (keyword ``request``) instead of ten parameters.
    """

    @functools.wraps(function)
    def with_request(**values: Any) -> Any:
        inputs = {name: values.pop(name) for name in DECIDE_INPUTS}
        return function(request=build_request(**inputs), **values)

    decorators = [
        rules_option,
        config_root_option,
        click.option(
            "--root",
            "roots",
            multiple=True,
            type=PathName(exists=True, file_okay=False),
            help="Expand changed files through the reverse import graph of this tree "
            "(repeatable; several roots merge into one graph).",
        ),
        click.option(
            "--python",
            metavar="PATH",
            help="The project's interpreter, to check the syntax of changed Python files "
            "(default: this one, when pyproject.toml's requires-python allows).",
        ),
        click.option(
            "--include-type-checking",
            is_flag=True,
            help="Count imports under `if TYPE_CHECKING:` as dependencies.",
        ),
        click.option(
            "--cache-dir",
            type=PathName(file_okay=False),
            help="Where parsed imports are cached. Default: $XDG_CACHE_HOME/smartrestart.",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the import cache."),
        click.option(
            "-z", "null_separated", is_flag=True, help="Paths on stdin are NUL-separated."
        ),
        click.option(
            "--git",
            "git_range",
            metavar="A..B",
            help="Take the changed files from `git diff A..B` (renames count as delete + add).",
        ),
        click.option(
            "--from-dpkg",
            "dpkg_package",
            metavar="PKG",
            help="Take the changed files from an installed Debian package (dpkg -L).",
        ),
        click.argument("paths", nargs=-1, type=click.Path(path_type=str)),
    ]
    decorated: Callable[..., Any] = with_request
    for decorator in reversed(decorators):
        decorated = decorator(decorated)
    return decorated


DECIDE_INPUTS = (
    "rules_files",
    "config_root",
    "roots",
    "python",
    "include_type_checking",
    "cache_dir",
    "no_cache",
    "null_separated",
    "git_range",
    "dpkg_package",
    "paths",
)


def build_request(
    *,
    rules_files: tuple[str, ...],
    config_root: str,
    roots: tuple[str, ...],
    python: str | None,
    include_type_checking: bool,
    cache_dir: str | None,
    no_cache: bool,
    null_separated: bool,
    git_range: str | None,
    dpkg_package: str | None,
    paths: tuple[str, ...],
) -> DecideRequest:
    """The decider's request from the values of :func:`decide_inputs`."""
    return DecideRequest(
        rules_files=rules_files,
        config_root=config_root,
        roots=roots,
        cache_dir=cache_dir,
        no_cache=no_cache,
        include_type_checking=include_type_checking,
        python=python,
        sources=ChangeSources(
            paths=paths,
            null_separated=null_separated,
            git_range=git_range,
            dpkg_package=dpkg_package,
        ),
    )


def current_directory() -> str:
    """The working directory as the user sees it (``$PWD`` when it names the same place)."""
    from smartrestart.paths import WorkingDirectory

    return WorkingDirectory.current().logical
