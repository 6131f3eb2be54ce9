"""Run a service's main and turn its exceptions into exit codes restart budgets understand.

The budget drop-ins ``smartrestart generate`` writes list exit statuses that
must not be retried (``RestartPreventExitStatus=``): *fatal* ones (escalate at
once) and *non-retryable* ones (give up). ``run()`` maps exception types to
those statuses, so a configuration error exits 78 and is not restarted into a
crash loop, while an ordinary crash exits 1 and is restarted within budget.
``EXIT_STATUS=`` (and ``ERRNO=`` for OS errors) is sent first, so systemd
records why.
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


def run(
    main: Main,
    *,
    fatal: ExceptionTypes = (),
    non_retryable: ExceptionTypes = (),
    fatal_exit: int = FATAL_EXIT,
    non_retryable_exit: int = NON_RETRYABLE_EXIT,
) -> NoReturn:
    """Run ``main`` (a function or a coroutine function) and exit with the mapped status."""
    try:
        result = main()
        if inspect.isawaitable(result):
            result = asyncio.run(_awaited(result))
        code = int(result or 0)
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
        messages = [protocol.exit_status(code)]
        if isinstance(error, OSError) and error.errno:
            messages.append(protocol.errno(error.errno))
        messages.append(protocol.status(f"{kind}: {type(error).__name__}: {error}"))
        default_notifier().send(protocol.join(*messages))
        sys.stderr.flush()
        sys.exit(code)
    sys.exit(code)


async def _awaited(awaitable: Awaitable[int | None]) -> int | None:
    return await awaitable
