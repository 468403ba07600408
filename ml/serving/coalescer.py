"""Single applications that arrive together, decided in one model call.

A model call has a fixed cost (the pipeline's column transformer and the trees' setup) far
above its cost per row, so 16 clients each waiting on their own call queue behind each other.
Requests wait in a queue; one worker thread takes everything queued (up to `max_batch`),
decides it in one call per `explain` setting, and hands each request its own decision. A
lone request goes alone, at once: no timer, no added wait. A call's answers reach each event
loop in one callback: a callback per request woke the loop once per request.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

Decision = TypeVar("Decision")
DecideBatch = Callable[[Sequence[Mapping[str, Any]], bool], list[Decision]]


class Coalescer(Generic[Decision]):
    def __init__(self, decide_batch: DecideBatch, max_batch: int = 256) -> None:
        self.decide_batch, self.max_batch = decide_batch, max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._work, name="coalescer", daemon=True).start()

    async def decide(self, application: Mapping[str, Any], explain: bool) -> Decision:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Decision] = loop.create_future()
        self._queue.put((application, explain, future, loop))
        return await future

    def _work(self) -> None:
        while True:
            waiting = [self._queue.get()]
            while len(waiting) < self.max_batch:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for explain in (True, False):
                group = [item for item in waiting if item[1] is explain]
                if group:
                    self._answer(group, explain)

    def _answer(self, group: list[tuple[Any, bool, asyncio.Future, Any]], explain: bool) -> None:
        outcomes: dict[Any, list[tuple[asyncio.Future, Any, BaseException | None]]] = {}
        try:
            decisions = self.decide_batch([item[0] for item in group], explain)
        except Exception as exc:  # every request of the call gets the error (a 500)
            for _, _, future, loop in group:
                outcomes.setdefault(loop, []).append((future, None, exc))
        else:
            for (_, _, future, loop), decision in zip(group, decisions, strict=True):
                outcomes.setdefault(loop, []).append((future, decision, None))
        for loop, settled in outcomes.items():
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, result, error in settled:
        if future.done():  # the client went away
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
