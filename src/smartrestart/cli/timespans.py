"""A click type for systemd time spans (``90s``, ``500ms``, ``1min 30s``), in seconds.

Apart from ``cli/options.py`` because ``exec`` uses it, and ``exec`` must not
pay for the decider's imports (yaml, the rules) in a process that stays
running as a service's main process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    _ParamType = click.ParamType[float]
else:  # click before 8.2 (Debian 12's 8.1.3) has no type parameter at run time
    _ParamType = click.ParamType


class TimeSpan(_ParamType):
    """A systemd time span (a bare number is seconds), converted to float seconds."""

    name = "timespan"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        from smartrestart.timespan import TimespanError, format_timespan, parse_timespan

        try:
            usec = parse_timespan(str(value))
        except TimespanError as exc:
            self.fail(str(exc), param, ctx)
        if usec < self.minimum * 1_000_000:
            minimum = format_timespan(round(self.minimum * 1_000_000))
            self.fail(f"{value!r} is shorter than {minimum}", param, ctx)
        return usec / 1_000_000
