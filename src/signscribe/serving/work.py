"""The work behind the REST routes and the background jobs, written once: recognise or transcribe an
uploaded clip, and report its failures with the client's file name in place of the server's path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from signscribe.errors import NoSignerError, SignscribeError
from signscribe.inference.clips import ClipResult, results_as_dict
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.transcribe import Transcriber, Transcript, TranscriptionSettings
from signscribe.progress import ProgressCallback

JOB_KINDS = ("recognize", "transcribe")


class UnprocessableUpload(SignscribeError):
    """An upload that could not be recognised or transcribed; the message names the client's file and
    ``code`` says why: ``no_signer`` (no person in it) or ``unprocessable_video``."""

    def __init__(self, error: SignscribeError, upload: Path, name: str) -> None:
        super().__init__(str(error).replace(str(upload), name))
        self.code = "no_signer" if isinstance(error, NoSignerError) else "unprocessable_video"


def recognize_upload(
    recognizer: Recognizer, upload: Path, name: str, top_k: int, on_progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """The top-k glosses of an uploaded clip, or none and why, in the shape of ``recognize --format json``."""
    try:
        predictions, no_gloss = recognizer.answer(upload, top_k, on_progress)
    except SignscribeError as error:
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
