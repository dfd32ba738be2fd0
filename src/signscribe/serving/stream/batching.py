"""One model call for the windows of every landmark stream that asks at once (``WindowBatcher``).

A landmark model costs tens of milliseconds a call on a CPU, and a window of 16 costs little more
than a window of one: called once a stream, the model is the limit on streams a core. Each model
has one batching thread. It takes every window queued when it comes free, so no window waits for a
batch to fill: one stream alone is answered as fast as before, and many streams share each call.
The windows are the same the unbatched model would get, and so are their probabilities
(``tests/serving/test_stream_batching.py``). ``benchmarks/stream_capacity.py`` measures the gain."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future

import numpy as np

from signscribe.inference.recognizer import Recognizer
from signscribe.pose.sequence import PoseSequence


class WindowBatcher:
    """Class probabilities of windows (``submit``), computed a batch of at most ``max_batch`` at a time."""

    def __init__(self, recognizer: Recognizer, max_batch: int) -> None:
        self.recognizer = recognizer
        self.max_batch = max_batch
        self.calls = self.windows = 0  # model calls made, and the windows they took
        self._queue: deque[tuple[PoseSequence, Future[np.ndarray]]] = deque()
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="signscribe-window-batcher", daemon=True)
        self._thread.start()

    def submit(self, window: PoseSequence) -> Future[np.ndarray]:
        """The window's class probabilities, once its batch has run (a row of ``Recognizer.scores``)."""
        future: Future[np.ndarray] = Future()
        with self._changed:
            if self._closed:
                raise RuntimeError("the server is shutting down: no more predictions")
            self._queue.append((window, future))
            self._changed.notify()
        return future

    def close(self) -> None:
        """Answer the windows queued, then stop the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            self._answer(batch)

    def _answer(self, batch: list[tuple[PoseSequence, Future[np.ndarray]]]) -> None:
        try:
            rows = self.recognizer.scores([window for window, _ in batch])
        except Exception as error:  # a window the model cannot take fails alone, never the thread
            if len(batch) == 1:
                batch[0][1].set_exception(error)
            else:
                for item in batch:
                    self._answer([item])
            return
        self.calls += 1
        self.windows += len(batch)
        for row, (_, future) in zip(rows, batch, strict=True):
            future.set_result(row)


class WindowBatchers:
    """The batcher of each model a stream uses, made on first need, all closed with the server."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._batchers: dict[int, WindowBatcher] = {}
        self._lock = threading.Lock()

    def of(self, recognizer: Recognizer) -> WindowBatcher:
        with self._lock:
            key = id(recognizer)
            if key not in self._batchers:
                self._batchers[key] = WindowBatcher(recognizer, self.max_batch)
            return self._batchers[key]

    def close(self) -> None:
        with self._lock:
            batchers, self._batchers = list(self._batchers.values()), {}
        for batcher in batchers:
            batcher.close()
