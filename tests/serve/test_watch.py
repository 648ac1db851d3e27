"""``Watch``: waiting for a run's slot in the change table to move."""

from __future__ import annotations

import asyncio
import time

from runlife.serve import Signals
from runlife.serve._watch import Watch


def test_a_moved_slot_returns_at_once():
    """A snapshot taken before a bump is already stale: wait does not sleep."""
    watch = Watch(Signals.local())
    snap = watch.snapshot("run_1")
    watch.signals.bump("run_1")
    start = time.monotonic()
    asyncio.run(watch.wait(snap, 5.0))
    assert time.monotonic() - start < 1.0
    assert watch.snapshot("run_1") != snap


def test_a_bump_wakes_the_waiter():
    watch = Watch(Signals.local())

    async def main() -> float:
        snap = watch.snapshot("run_1")
        start = time.monotonic()
        waiter = asyncio.create_task(watch.wait(snap, 5.0))
        await asyncio.sleep(0.05)
        watch.signals.bump("run_1")
        await waiter
        return time.monotonic() - start

    assert asyncio.run(main()) < 1.0


def test_without_a_change_it_returns_after_the_timeout():
    watch = Watch(Signals.local())
    start = time.monotonic()
    asyncio.run(watch.wait(watch.snapshot("run_1"), 0.05))
    assert time.monotonic() - start >= 0.05
