"""The console script runs with the cyclic collector off; long-lived commands turn it on."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest

from smartrestart.cli.main import COMMANDS, LONG_LIVED, cli


@pytest.fixture
def collector_off() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def resolve(name: str) -> None:
    ctx = click.Context(cli)
    cli.resolve_command(ctx, [name])


def test_long_lived_commands_are_commands() -> None:
    assert set(COMMANDS) >= LONG_LIVED


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize("name", sorted(LONG_LIVED))
def test_a_long_lived_command_collects_cycles_again(name: str) -> None:
    resolve(name)
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what start-up built is spared, not walked again


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize("name", sorted(set(COMMANDS) - LONG_LIVED))
def test_a_short_command_leaves_the_collector_off(name: str) -> None:
    resolve(name)
    assert not gc.isenabled()


def test_the_program_starts_with_the_collector_off() -> None:
    probe = (
        "import gc, smartrestart.cli.entry as entry; print(gc.isenabled(), entry.main.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "smartrestart.cli.main"]


def test_importing_the_cli_leaves_the_collector_alone() -> None:
    probe = "import gc, smartrestart.cli.main; print(gc.isenabled())"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "True"
