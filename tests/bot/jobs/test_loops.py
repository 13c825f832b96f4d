"""The background loop helper: a pass, then sleep until the next item is due or someone wakes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.jobs.loops import DueLoop, TaskSet


class Passes:
    """A pass that returns scripted due times and lets the test wait for the n-th pass."""

    def __init__(self, due: Callable[[int], float | None]) -> None:
        self.due = due
        self.count = 0
        self.ran = asyncio.Condition()

    async def __call__(self) -> float | None:
        self.count += 1
        async with self.ran:
            self.ran.notify_all()
        return self.due(self.count)

    async def reach(self, count: int) -> None:
        async with self.ran:
            await asyncio.wait_for(self.ran.wait_for(lambda: self.count >= count), 5)


async def settle() -> None:
    """Let every ready task run until it blocks (no timers involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[DueLoop], None]]:
    tasks: list[asyncio.Task[None]] = []
    yield lambda loop: tasks.append(asyncio.create_task(loop.run()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_nothing_due_means_no_pass_until_woken(running: Callable[[DueLoop], None]) -> None:
    passes = Passes(lambda n: None)
    loop = DueLoop("test", passes, clock=time.time)
    running(loop)
    await passes.reach(1)
    await settle()
    assert passes.count == 1  # idle: no ticking, no store queries
    loop.wake()
    await passes.reach(2)
    await settle()
    assert passes.count == 2


async def test_a_far_due_time_waits_and_a_wake_cuts_it_short(running: Callable[[DueLoop], None]) -> None:
    passes = Passes(lambda n: time.time() + 3600)
    loop = DueLoop("test", passes, clock=time.time)
    running(loop)
    await passes.reach(1)
    await settle()
    assert passes.count == 1
    loop.wake()
    await passes.reach(2)


async def test_work_already_due_runs_again_at_once(running: Callable[[DueLoop], None]) -> None:
    passes = Passes(lambda n: time.time() - 1 if n < 4 else None)  # e.g. more due jobs than one batch
    running(DueLoop("test", passes, clock=time.time))
    await passes.reach(4)
    await settle()
    assert passes.count == 4


async def test_a_due_time_is_kept(running: Callable[[DueLoop], None]) -> None:
    started = time.monotonic()
    passes = Passes(lambda n: time.time() + 0.05 if n == 1 else None)
    running(DueLoop("test", passes, clock=time.time))
    await passes.reach(2)
    assert time.monotonic() - started >= 0.04


async def test_a_failing_pass_is_retried_later(running: Callable[[DueLoop], None]) -> None:
    calls = 0
    retried = asyncio.Event()

    async def flaky() -> float | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the store is away")
        retried.set()
        return None

    running(DueLoop("test", flaky, clock=time.time, retry_after=0.01))
    await asyncio.wait_for(retried.wait(), 5)
    assert calls == 2


async def test_stopping_the_task_set_waits_then_cancels() -> None:
    tasks = TaskSet()
    release = asyncio.Event()
    quick_done = asyncio.Event()

    async def quick() -> None:
        await release.wait()
        quick_done.set()

    async def stuck() -> None:
        await asyncio.Event().wait()

    tasks.spawn(quick(), "quick")
    tasks.spawn(stuck(), "stuck")
    release.set()
    await tasks.stop(grace=0.05)
    assert quick_done.is_set()
    await settle()
    assert not tasks.tasks
