"""Stopping background work never hangs: stubborn tasks and steps are bounded and logged."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from stream.tasks import cancel_all, within


async def test_cancel_all_ends_tasks_and_keeps_their_errors_to_itself() -> None:
    async def sleeper() -> None:
        await asyncio.sleep(60)

    async def failed() -> None:
        raise RuntimeError("died earlier")

    tasks = [asyncio.create_task(sleeper()), asyncio.create_task(failed())]
    await asyncio.sleep(0)
    await cancel_all(tasks)
    assert all(t.done() for t in tasks)


async def test_a_task_that_ignores_its_cancellation_is_left_behind_and_named(
        caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue  # a bug: swallows the stop

    task = asyncio.create_task(stubborn(), name="stubborn-loop")
    await asyncio.sleep(0)
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="cxpulse.stop"):
        await cancel_all([task], grace_s=0.3)
    assert time.monotonic() - t0 < 5
    assert not task.done()
    assert "stubborn-loop" in caplog.text and "test_tasks.py" in caplog.text
    release.set()
    task.cancel()
    await asyncio.wait([task], timeout=5)


async def test_within_bounds_a_step_and_survives_its_failure(
        caplog: pytest.LogCaptureFixture) -> None:
    async def never() -> None:
        await asyncio.Event().wait()

    async def broken() -> None:
        raise ConnectionError("nats is gone")

    async def fine() -> None:
        await asyncio.sleep(0)

    with caplog.at_level(logging.WARNING, logger="cxpulse.stop"):
        assert await within(never(), 0.2, "a hung unsubscribe") is False
    assert "a hung unsubscribe" in caplog.text
    assert await within(broken(), 1, "a broken close") is False
    assert await within(fine(), 1, "a good step") is True
