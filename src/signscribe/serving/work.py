"""The work behind the REST routes and the background jobs, written once: recognise or transcribe an
uploaded clip, report its failures with the client's file name in place of the server's path, and
stop it when its client has gone, its time is up or the server is stopping.

Work runs in a thread, and a thread cannot be killed: it is stopped from inside, by the progress
callback it calls after every frame (``WorkGuard``), which raises ``WorkStopped``. So work that nobody
waits for any longer ends within a frame, and frees its slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request

from signscribe.errors import NoSignerError, SignscribeError
from signscribe.inference.clips import ClipResult, results_as_dict
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.transcribe import Transcriber, Transcript, TranscriptionSettings
from signscribe.io.limits import ClipTooLongError
from signscribe.progress import ProgressCallback

JOB_KINDS = ("recognize", "transcribe")
DISCONNECT_POLL_SECONDS = 0.25
Result = TypeVar("Result")


class WorkStopped(Exception):
    """Work stopped before it finished; ``code`` says why: ``client_gone``, ``time_limit``,
    ``shutting_down`` or ``deleted`` (a job deleted while it ran)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class WorkGuard:
    """A progress callback (``on_progress(done, expected)``) that raises ``WorkStopped`` once ``stop``
    was called or ``time_limit_seconds`` have passed since it was made; otherwise it passes the call
    on to ``then``, if given."""

    def __init__(self, time_limit_seconds: float | None = None, then: ProgressCallback | None = None) -> None:
        self.time_limit = time_limit_seconds
        self.deadline = None if time_limit_seconds is None else time.monotonic() + time_limit_seconds
        self.then = then
        self.stopped: WorkStopped | None = None

    def stop(self, code: str, message: str) -> None:
        self.stopped = self.stopped or WorkStopped(code, message)

    def __call__(self, done: int, expected: int | None) -> None:
        if self.stopped is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.stop("time_limit", f"the work took longer than the {self.time_limit:g} s allowed")
        if self.stopped is not None:
            raise self.stopped
        if self.then is not None:
            self.then(done, expected)


async def while_connected(request: Request, guard: WorkGuard, work: Callable[[], Result]) -> Result:
    """Run ``work`` in a thread while the client that asked for it stays connected: once it goes, the
    guard stops the work, and this returns only when the thread has ended (so the caller's slot is held
    exactly as long as the work runs). Cancelled (a shutdown), it stops the work as well."""
    task = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
            if not task.done() and await request.is_disconnected():
                guard.stop("client_gone", "the client went away before the answer")
    except asyncio.CancelledError:  # the server's shutdown deadline passed: the thread must end too
        guard.stop("shutting_down", "the server is stopping")
        raise
    return task.result()


class UnprocessableUpload(SignscribeError):
    """An upload that could not be recognised or transcribed; the message names the client's file and
    ``code`` says why: ``no_signer`` (no person in it), ``clip_too_long`` or ``unprocessable_video``."""

    def __init__(self, error: SignscribeError, upload: Path, name: str) -> None:
        super().__init__(str(error).replace(str(upload), name))
        codes = {NoSignerError: "no_signer", ClipTooLongError: "clip_too_long"}
        self.code = next((code for kind, code in codes.items() if isinstance(error, kind)), "unprocessable_video")


def recognize_upload(
    recognizer: Recognizer, upload: Path, name: str, top_k: int, on_progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """The top-k glosses of an uploaded clip, or none and why, in the shape of ``recognize --format json``."""
    try:
        predictions, no_gloss = recognizer.answer(upload, top_k, on_progress)
    except SignscribeError as error:  # WorkStopped is not one: it passes
        raise UnprocessableUpload(error, upload, name) from error
    return results_as_dict([ClipResult(Path(name), predictions, no_gloss=no_gloss)], top_k, Path())


def transcribe_upload(
    recognizer: Recognizer,
    upload: Path,
    name: str,
    options: dict[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    """The timed gloss transcript of an uploaded video, its source named by the client's file name;
    ``options`` are ``TranscriptionSettings`` fields."""
    transcriber = Transcriber(recognizer, TranscriptionSettings(**(options or {})))
    try:
        transcript = transcriber.transcribe(upload, on_progress=on_progress)
    except SignscribeError as error:
        raise UnprocessableUpload(error, upload, name) from error
    transcript.source = name
    return transcript


def run_job_kind(
    kind: str,
    recognizer: Recognizer,
    upload: Path,
    name: str,
    top_k: int,
    options: dict[str, Any] | None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """The JSON result of a job of ``kind`` (one of ``JOB_KINDS``)."""
    if kind == "transcribe":
        return transcribe_upload(recognizer, upload, name, options, on_progress).to_dict()
    return recognize_upload(recognizer, upload, name, top_k, on_progress)
