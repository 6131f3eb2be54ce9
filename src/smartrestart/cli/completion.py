"""``smartrestart completion SHELL``: print the shell-completion script click generates."""

from __future__ import annotations

import click


@click.command("completion", short_help="Print the shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    Bash:  smartrestart completion bash > /etc/bash_completion.d/smartrestart
    Zsh:   smartrestart completion zsh > "${fpath[1]}/_smartrestart"
    Fish:  smartrestart completion fish > ~/.config/fish/completions/smartrestart.fish
    """
    from click.shell_completion import get_completion_class

    from smartrestart.cli.main import cli

    completion_class = get_completion_class(shell)
    if completion_class is None:  # pragma: no cover - the Choice above prevents it
        raise click.UsageError(f"unsupported shell {shell}")
    completer = completion_class(cli, {}, "smartrestart", "_SMARTRESTART_COMPLETE")
    click.echo(completer.source())
