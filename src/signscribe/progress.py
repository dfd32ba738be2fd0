"""The two shapes of progress reporting, shared by every long-running function and the CLI's bars."""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, "int | None"], None]
"""``on_progress(done, total)`` after each unit of work (a frame, a clip); ``total`` is ``None`` when unknown."""

ProgressHook = Callable[[str, int], Callable[[], None]]
"""``hook(description, total)`` starts one phase of work (one bar) and returns the function to call
once per unit of it; training reports its phases (loading, each epoch) this way."""
