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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi import UploadFile
from starlette.requests import Request

from signscribe.errors import NoSignerError, SignscribeError
from signscribe.inference.clips import ClipResult, results_as_dict
from signscribe.inference.fingerspell import Fingerspeller, SpellingSettings
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.transcribe import Transcriber, Transcript, TranscriptionSettings
from signscribe.io.limits import ClipTooLongError
from signscribe.pose.photo import NoHandError
from signscribe.progress import ProgressCallback
from signscribe.serving.security import ApiError
from signscribe.serving.uploads import display_name, save_upload

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
    ``code`` says why: ``no_hand`` (a photo without a hand), ``no_signer`` (no person in it),
    ``clip_too_long`` or ``unprocessable_video``."""

    def __init__(self, error: SignscribeError, upload: Path, name: str) -> None:
        super().__init__(str(error).replace(str(upload), name))
        codes = {NoHandError: "no_hand", NoSignerError: "no_signer", ClipTooLongError: "clip_too_long"}
        self.code = next((code for kind, code in codes.items() if isinstance(error, kind)), "unprocessable_video")


def recognize_upload(
    recognizer: Recognizer,
    upload: Path,
    name: str,
    top_k: int,
    on_progress: ProgressCallback | None = None,
    labels: str | None = None,
) -> dict[str, Any]:
    """The top-k glosses of an uploaded clip, or none and why, in the shape of ``recognize --format json``;
    ``labels`` keeps a set the model names or a comma-separated list of its labels (``label_list``)."""
    predictions, no_gloss = recognizer.answer(upload, top_k, on_progress, label_list(recognizer, labels))
    return results_as_dict([ClipResult(Path(name), predictions, no_gloss=no_gloss)], top_k, Path())


def label_list(recognizer: Recognizer, labels: str | None) -> str | list[str] | None:
    """A client's ``labels``: a set the model names, or else a comma-separated list (never a file:
    the server's files are not the client's to name)."""
    if labels is None or labels in recognizer.label_sets:
        return labels
    return [label.strip() for label in labels.split(",") if label.strip()]


def transcribe_upload(
    recognizer: Recognizer,
    upload: Path,
    name: str,
    options: dict[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    """The timed gloss transcript of an uploaded video, its source named by the client's file name;
    ``options`` are ``TranscriptionSettings`` fields, or with ``fingerspell`` the spelled letters and
    words (``Fingerspeller``; its ``min_confidence`` is the option's)."""
    options = dict(options or {})
    if options.pop("fingerspell", False):
        settings = SpellingSettings(**{k: v for k, v in options.items() if k == "min_confidence"})
        transcript = Fingerspeller(recognizer, settings).transcribe(upload, on_progress=on_progress)
    else:
        transcriber = Transcriber(recognizer, TranscriptionSettings(**options))
        transcript = transcriber.transcribe(upload, on_progress=on_progress)
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
    with named_by_client(upload, name):
        if kind == "transcribe":
            return transcribe_upload(recognizer, upload, name, options, on_progress).to_dict()
        return recognize_upload(recognizer, upload, name, top_k, on_progress, (options or {}).get("labels"))


@contextmanager
def named_by_client(upload: Path, name: str) -> Iterator[None]:
    """Turn a ``SignscribeError`` of work on ``upload`` into an ``UnprocessableUpload`` named by the
    client's file name, never the server's path (``WorkStopped`` is no ``SignscribeError``: it passes)."""
    try:
        yield
    except UnprocessableUpload:
        raise
    except SignscribeError as error:
        raise UnprocessableUpload(error, upload, name) from error


def stopped(error: WorkStopped, time_limit: float) -> ApiError:
    """The answer to work stopped before its end (a client that went away never reads it)."""
    if error.code == "time_limit":
        message = f"the clip took longer than the {time_limit:g} s a request may take; send it as a job (POST /v1/jobs)"
        return ApiError(422, "time_limit_exceeded", message)
    return ApiError(499 if error.code == "client_gone" else 503, error.code, str(error))


async def run_on_upload(request: Request, file: UploadFile, work: Callable[[Path, str, WorkGuard], Result]) -> Result:
    """What every route that takes a clip does: save the upload (its body is in already: a clip too long
    is refused before it waits), run ``work(path, client's file name, guard)`` in a thread in a slot of
    the bounded recognition queue (503 when it is full, or holds the caller's share), answer a failure
    as a 422 named by the client's file name, and delete the upload. The guard stops the work when the
    client goes away or the request's time limit passes; the slot is freed once the work has stopped."""
    state = request.app.state
    settings = state.settings
    path, name = await save_upload(file, settings), display_name(file.filename)
    try:
        async with state.recognitions.slot(request.state.caller.identity):
            guard = WorkGuard(settings.request_time_limit_seconds)  # its time starts with the work
            with named_by_client(path, name):
                return await while_connected(request, guard, lambda: work(path, name, guard))
    except UnprocessableUpload as error:
        raise ApiError(422, error.code, str(error)) from error
    except WorkStopped as error:
        raise stopped(error, settings.request_time_limit_seconds) from error
    finally:
        path.unlink(missing_ok=True)
