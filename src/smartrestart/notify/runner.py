"""Run a service's main and turn its exceptions into exit codes restart budgets understand.

The budget drop-ins ``smartrestart generate`` writes list exit statuses that
must not be retried (``RestartPreventExitStatus=``): *fatal* ones (escalate at
once) and *non-retryable* ones (give up). ``run()`` maps exception types to
those statuses, so a configuration error exits 78 and is not restarted into a
crash loop, while an ordinary crash exits 1 and is restarted within budget.
``EXIT_STATUS=`` (and ``ERRNO=`` for OS errors) is sent first, with a
``STATUS=`` naming the exception, so systemd records why.

main returns None (exit 0) or an exit status from 0 to 255. Any other value
is a bug that ``sys.exit`` would hide (``exit(256)`` is exit 0), so it is
reported on stderr and in ``STATUS=``, and the service exits 1.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import NoReturn

from smartrestart.notify import protocol
from smartrestart.notify.sender import default_notifier

FATAL_EXIT = 78  # EX_CONFIG: matches a budget's fatal_exit_codes: [78]
NON_RETRYABLE_EXIT = 65  # EX_DATAERR: matches non_retryable_exit_codes: [64, 65]
FAILURE_EXIT = 1  # anything else: a failure the budget may retry

Main = Callable[[], int | None] | Callable[[], Awaitable[int | None]]
ExceptionTypes = tuple[type[BaseException], ...]


def exit_code_for(
    error: BaseException,
    fatal: ExceptionTypes,
    non_retryable: ExceptionTypes,
    *,
    fatal_exit: int = FATAL_EXIT,
    non_retryable_exit: int = NON_RETRYABLE_EXIT,
) -> int:
    """The exit status for an exception that ended main; fatal wins over non-retryable."""
    if isinstance(error, fatal):
        return fatal_exit
    if isinstance(error, non_retryable):
        return non_retryable_exit
    return FAILURE_EXIT


def exit_status_of(result: object) -> tuple[int, str | None]:
    """The exit status for what main returned, and what is wrong with it (None when fine).

    Only None (0) and an int from 0 to 255 are exit statuses. Anything else
    would be turned into one silently by ``sys.exit`` (``exit(256)`` exits 0,
    ``exit("x")`` exits 1 after printing it, ``exit(True)`` exits 1), so it is
    reported and becomes a plain failure.
    """
    if result is None:
        return 0, None
    if isinstance(result, int) and not isinstance(result, bool):
        if 0 <= result <= protocol.EXIT_STATUS_MAX:
            return result, None
        return FAILURE_EXIT, (
            f"main returned {result}, outside the exit statuses 0-{protocol.EXIT_STATUS_MAX} "
            f"(the kernel would keep {result & 0xFF})"
        )
    return FAILURE_EXIT, (
        f"main returned {_shown(result)}, which is not an exit status "
        f"(an int 0-{protocol.EXIT_STATUS_MAX}, or None for 0)"
    )


def run(
    main: Main,
    *,
    fatal: ExceptionTypes = (),
    non_retryable: ExceptionTypes = (),
    fatal_exit: int = FATAL_EXIT,
    non_retryable_exit: int = NON_RETRYABLE_EXIT,
) -> NoReturn:
    """Run ``main`` (a function or a coroutine function) and exit with the mapped status.

    What main returns must be None or an exit status (0-255); see
    :func:`exit_status_of`. Anything else exits :data:`FAILURE_EXIT`, saying why.
    """
    for given in (fatal_exit, non_retryable_exit):
        if exit_status_of(given)[1] is not None:
            raise ValueError(f"exit statuses are 0-{protocol.EXIT_STATUS_MAX}, not {given!r}")
    try:
        result = main()
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # every other way main can end
        code = exit_code_for(
            error,
            fatal,
            non_retryable,
            fatal_exit=fatal_exit,
            non_retryable_exit=non_retryable_exit,
        )
        kind = {fatal_exit: "fatal", non_retryable_exit: "non-retryable"}.get(code, "failure")
        traceback.print_exc(file=sys.stderr)
        fields = [protocol.exit_status(code)]
        number = error.errno if isinstance(error, OSError) else None
        if isinstance(number, int) and 0 < number <= protocol.ERRNO_MAX:
            fields.append(protocol.errno(number))
        _exit(code, f"{kind}: {_described(error)}", fields)
    code, problem = exit_status_of(result)
    if problem is not None:
        print(f"run: {problem}; exiting {code}", file=sys.stderr)
        _exit(code, f"failure: {problem}", [protocol.exit_status(code)])
    sys.exit(code)


def _exit(code: int, status: str, fields: list[bytes]) -> NoReturn:
    """Tell systemd why (state fields first, the status shortened to fit), then exit."""
    default_notifier().send(protocol.compose(*fields, status=status))
    sys.stderr.flush()
    sys.exit(code)


def _described(error: BaseException) -> str:
    """``Type: message``, also for an exception whose ``str()`` itself fails."""
    try:
        message = str(error)
    except Exception:
        message = "<unprintable message>"
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def _shown(value: object) -> str:
    """A short repr for a message, also for an object whose ``repr()`` fails."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 60 else text[:57] + "..."


async def _awaited(awaitable: Awaitable[int | None]) -> int | None:
    return await awaitable
