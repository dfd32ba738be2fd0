"""Worker processes, started fresh ("spawn": MediaPipe's graphs and torch's threads do not survive a
fork), and the mistake they invite in a plain script: each worker imports the script that started
it again, so a call that starts workers at the script's top level would start them again in every
worker. That is refused with what to do, in the worker and in the script."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from signscribe.errors import SignscribeError

SCRIPT_HINT = (
    "worker processes import the script that started them again: in a script, make the call with "
    'workers under `if __name__ == "__main__":`, or use one worker'
)


def spawn_pool(
    workers: int, initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh processes; refused in a process that is still starting (a worker
    running the top level of a script without the ``__main__`` guard)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SignscribeError(f"a worker process was asked to start workers while it started: {SCRIPT_HINT}")
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)


@contextmanager
def worker_failures() -> Iterator[None]:
    """A pool whose workers died (killed, out of memory, or refused at their start as above) is a
    ``SignscribeError`` that says so, not a ``BrokenProcessPool``."""
    try:
        yield
    except BrokenProcessPool as error:
        raise SignscribeError(f"a worker process ended abruptly (killed, out of memory, or: {SCRIPT_HINT})") from error
