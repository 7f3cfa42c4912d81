"""Stopping background work: the one way a service ends what it started, bounded in time.

A stop must never hang a process (or a test's teardown) on one stubborn step: each task
gets ``grace_s`` after its cancellation, each network step of a stop its own deadline; what
overruns is logged with where it was stuck, and the stop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

log = logging.getLogger("cxpulse.stop")

STOP_GRACE_S = 10.0


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], grace_s: float = STOP_GRACE_S) -> None:
    """Cancel every task, then wait up to ``grace_s`` for them to end; what a task raises
    while it ends (its cancellation, or the error it died of earlier) is not the stopper's
    concern, and a task still running after ``grace_s`` is logged and left behind."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    if not pending:
        return
    done, stuck = await asyncio.wait(pending, timeout=grace_s)
    for task in done:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not report it as never retrieved
    for task in stuck:
        log.warning("stop: task %s still runs %.0f s after its cancellation (at %s); "
                    "left behind", task.get_name(), grace_s, where(task))


async def within(step: Awaitable[Any], seconds: float, what: str) -> bool:
    """Await one step of a stop for at most ``seconds``; True when it finished. A step that
    fails is logged at debug level (a stop is best effort), one that overruns as a warning."""
    try:
        await asyncio.wait_for(step, seconds)
        return True
    except TimeoutError:
        log.warning("stop: %s took longer than %.0f s; going on without it", what, seconds)
    except Exception as exc:  # noqa: BLE001 - the rest of the stop must still run
        log.debug("stop: %s failed: %r", what, exc)
    return False


def where(task: asyncio.Task[Any]) -> str:
    """The innermost frame a suspended task waits in, as ``file:line in function``."""
    frames = task.get_stack()
    if not frames:
        return "?"
    code = frames[-1].f_code
    return f"{code.co_filename}:{frames[-1].f_lineno} in {code.co_name}"
