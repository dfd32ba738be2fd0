"""Capacity for live streams: at most ``limit`` open at once (``per_caller`` of them for one caller),
and the MediaPipe graphs they borrow.

A graph is reset (its tracking state cleared) and kept when its stream closes, so the next stream
reuses it instead of building another: memory levels off after the first round of streams rather
than growing with every stream ever opened (``benchmarks/serve_soak.py`` measures it). A stream that
finds no graph kept while one is still on its way back from a closed stream waits for that one, so
the number of graphs stays at the number of streams open at once."""

from __future__ import annotations

import threading
from collections import Counter

from signscribe.pose.holistic_graph import HolisticStream
from signscribe.serving.memory import release_free_memory

RETURN_WAIT_SECONDS = 10.0  # longest wait for a returning graph (a reset takes milliseconds)


class StreamSlots:
    """Open streams (``take``/``release``, on the event loop) and the graphs lent to them
    (``borrow``/``give_back``, from worker threads)."""

    def __init__(self, limit: int, per_caller: int | None = None) -> None:
        self.limit = limit
        self.per_caller = per_caller or limit
        self.open = 0
        self.lent = 0
        self.by_caller: Counter[str] = Counter()
        self._idle: list[HolisticStream] = []
        self._changed = threading.Condition()

    def take(self, caller: str = "") -> str | None:
        """One more stream for ``caller`` (an identity: a key's digest or an address); ``None`` when
        it was taken, else why not (every slot is taken, or the caller's share of them)."""
        with self._changed:
            if self.open >= self.limit:
                return f"at most {self.limit} live streams; try again later"
            if self.by_caller[caller] >= self.per_caller:
                return f"at most {self.per_caller} live streams for one caller; close one first"
            self.open += 1
            self.by_caller[caller] += 1
            self._changed.notify_all()
            return None

    def release(self, caller: str = "") -> None:
        with self._changed:
            self.open -= 1
            self.by_caller[caller] -= 1
            if self.by_caller[caller] <= 0:
                del self.by_caller[caller]

    def borrow(self) -> HolisticStream:
        """A kept graph; else, when every lent graph belongs to an open stream, a new one."""
        with self._changed:
            # lent >= open: some lent graph belongs to a stream that has closed and is being reset
            self._changed.wait_for(lambda: self._idle or self.lent < self.open, RETURN_WAIT_SECONDS)
            self.lent += 1
            if self._idle:
                return self._idle.pop()
        try:
            return HolisticStream().__enter__()
        except BaseException:
            with self._changed:
                self.lent -= 1
            raise

    def give_back(self, graph: HolisticStream) -> None:
        graph.reset()
        with self._changed:
            self._idle.append(graph)
            self.lent -= 1
            self._changed.notify_all()
        release_free_memory()

    @property
    def kept(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
        for graph in idle:
            graph.__exit__(None, None, None)
