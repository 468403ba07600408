"""Single requests that wait together are decided in one call, each gets its own answer, and
a call that fails fails every request of it (and only those)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ml.serving.coalescer import Coalescer


def test_requests_queued_behind_a_call_share_the_next_one_and_each_gets_its_own_answer():
    calls: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def decide(applications, explain):
        calls.append([a["n"] for a in applications])
        first_started.set()
        release.wait(5)
        return [a["n"] * 10 for a in applications]

    async def main():
        coalescer = Coalescer(decide)
        first = asyncio.create_task(coalescer.decide({"n": 0}, True))
        await asyncio.to_thread(first_started.wait, 5)
        rest = [asyncio.create_task(coalescer.decide({"n": n}, True)) for n in range(1, 6)]
        await asyncio.sleep(0.05)  # all five queued while the first call runs
        release.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(main()) == [0, 10, 20, 30, 40, 50]
    assert calls == [[0], [1, 2, 3, 4, 5]]


def test_a_failing_call_fails_its_requests_and_the_next_call_still_answers():
    def decide(applications, explain):
        if any(a.get("bad") for a in applications):
            raise ValueError("model broke")
        return ["ok" for _ in applications]

    async def main():
        coalescer = Coalescer(decide)
        with pytest.raises(ValueError, match="model broke"):
            await coalescer.decide({"bad": True}, False)
        return await coalescer.decide({}, False)

    assert asyncio.run(main()) == "ok"
