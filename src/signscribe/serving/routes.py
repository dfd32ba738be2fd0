"""The REST routes: status, models, synchronous recognition and transcription, and jobs.

The app's state (``request.app.state``) holds the settings, the models, the job store, the
recognition queue and the job worker; see ``signscribe.serving.app``. The ``Gate`` middleware has
admitted the caller before a route runs (``request.state.caller``, ``gate.Admitted``); its ``X-API-Key``
security scheme only declares the key to OpenAPI, so that ``/docs`` can send it. Every recognising route takes
``model``, the id of one of the models ``GET /v1/models`` lists (the server's default when left out).
"""
# No "from __future__ import annotations" here: FastAPI reads these signatures at run time.

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from signscribe.inference.fingerspell import FINGERSPELLING_MODEL
from signscribe.inference.subtitles import format_transcript
from signscribe.inference.transcribe import Transcript
from signscribe.pose.cache import content_hash
from signscribe.serving.gate import Admitted, admitted_caller
from signscribe.serving.jobs import Job
from signscribe.serving.security import ApiError, Caller
from signscribe.serving.uploads import display_name, free_bytes, save_upload, stored_bytes
from signscribe.serving.work import JOB_KINDS, recognize_upload, run_on_upload, transcribe_upload

MAX_TOP_K = 50


TopK = Annotated[int | None, Query(ge=1, le=MAX_TOP_K, description="How many glosses to return (default 5).")]
Video = Annotated[
    UploadFile, File(description="A video (MP4, MOV, WebM, MKV, AVI) or, for recognition, a photo (JPEG, PNG, WebP).")
]
Labels = Annotated[
    str | None,
    Query(
        description="Recognition: rank only these of the model's labels, a set it names (fingerspelling: "
        "letters, digits) or a comma-separated list."
    ),
]
ModelId = Annotated[str | None, Query(description="A model id from GET /v1/models (default: the server's).")]
MinConfidence = Annotated[
    float, Query(ge=0.0, le=1.0, description="Transcription: drop segments whose confidence is below this.")
]
SubtitleFormat = Annotated[str, Query(pattern="^(json|srt|vtt)$", description="json, srt or vtt.")]
Fingerspell = Annotated[
    bool,
    Query(description="Transcription: read fingerspelled letters and words (default model: fingerspelling)."),
]

status = APIRouter(tags=["status"])
api = APIRouter(prefix="/v1", dependencies=[Depends(admitted_caller)])


@status.head("/healthz", include_in_schema=False)  # a load balancer probes with HEAD
@status.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@status.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The model is loaded, the job worker runs, the jobs database answers and the disk has room."""
    state = request.app.state
    default = state.models.default
    checks = {
        "model": default.answers_freely or bool(default.labels),
        "worker": bool(state.worker and state.worker.healthy),
        "disk": free_bytes(state.settings) >= state.settings.min_free_disk_bytes,
    }
    try:
        state.store.get("readiness-probe")
        checks["database"] = True
    except Exception:  # any database failure means not ready
        checks["database"] = False
    ready = all(checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)


@api.get("/models", tags=["models"])
async def models(request: Request) -> dict[str, Any]:
    """The models this server offers, its default first: id, architecture, labels, the data each was
    trained on and its licence."""
    return {"models": request.app.state.models.describe()}


@api.get(
    "/browser-model",
    tags=["models"],
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The ONNX file."}},
)
async def browser_model(request: Request, model: ModelId = None) -> Response:
    """The model as an ONNX file, for the web page's offline mode (onnxruntime-web runs it there, so
    nothing leaves the device): a landmark recognition model, exported on the first request (seconds)
    with its config and labels in the file's metadata. 422 for other models."""
    onnx = await request.app.state.models.browser_model(model)
    return Response(onnx, media_type="application/octet-stream", headers={"Cache-Control": "private, max-age=3600"})


@api.post("/recognize", tags=["recognition"])
async def recognize(
    request: Request, file: Video, top_k: TopK = None, model: ModelId = None, labels: Labels = None
) -> dict[str, Any]:
    """Top-k glosses for an uploaded clip, in the shape of `signscribe recognize --format json`. A photo
    is read by the `fingerspelling` model unless `model` names another; one without a hand is a 422
    `no_hand`."""
    models, top_k = request.app.state.models, top_k or request.app.state.settings.top_k
    models.check_labels(model, labels)
    return await run_on_upload(
        request,
        file,
        lambda path, name, guard: recognize_upload(models.for_upload(model, path), path, name, top_k, guard, labels),
    )


@api.post("/transcribe", tags=["transcription"], response_model=None)
async def transcribe(
    request: Request,
    file: Video,
    format: SubtitleFormat = "json",
    min_confidence: MinConfidence = 0.5,
    model: ModelId = None,
    fingerspell: Fingerspell = False,
) -> dict[str, Any] | PlainTextResponse:
    """A timed gloss transcript of continuous signing, as `signscribe transcribe` gives it: JSON
    (`segments` with `start`, `end`, `gloss`, `confidence`), SubRip or WebVTT; with `fingerspell`, the
    segments are letters and `text` the spelled words. Long videos are better sent as a `transcribe` job."""
    options: dict[str, Any] = {"min_confidence": min_confidence, **({"fingerspell": True} if fingerspell else {})}
    recognizer = request.app.state.models.get(model or (FINGERSPELLING_MODEL if fingerspell else None))
    transcript = await run_on_upload(
        request, file, lambda path, name, guard: transcribe_upload(recognizer, path, name, options, guard)
    )
    return transcript.to_dict() if format == "json" else _subtitles(transcript, format)


@api.post("/jobs", status_code=202, tags=["jobs"])
async def create_job(
    request: Request,
    caller: Admitted,
    file: Video,
    top_k: TopK = None,
    kind: Annotated[str, Query(pattern=f"^({'|'.join(JOB_KINDS)})$", description="What the job does.")] = "recognize",
    min_confidence: MinConfidence = 0.5,
    model: ModelId = None,
    labels: Labels = None,
    fingerspell: Fingerspell = False,
) -> dict[str, Any]:
    """Queue a long video to recognise as one sign or to transcribe; poll `GET /v1/jobs/{id}` for
    status, progress and result (a transcribe job's result is the JSON of `POST /v1/transcribe`).
    The job belongs to the API key that made it. 503 while the job worker is not running."""
    state = request.app.state
    settings = state.settings
    if fingerspell and kind == "transcribe":
        model = model or FINGERSPELLING_MODEL
    state.models.check_labels(model, labels)  # an unknown model or label is refused now, not when the job runs
    if not (state.worker and state.worker.is_alive()):
        raise ApiError(503, "worker_unavailable", "the job worker is not running; try again later",
                       {"Retry-After": "10"})  # fmt: skip
    pending = state.store.pending_uploads(caller.owner)
    if len(pending) >= settings.max_jobs_per_key:
        message = f"{len(pending)} of your jobs are queued or running, the most one key may have; wait for one"
        raise ApiError(429, "too_many_jobs", message, {"Retry-After": "30"})
    path = await save_upload(file, settings)
    options: dict[str, Any] = {"min_confidence": min_confidence} if kind == "transcribe" else {}
    if fingerspell and kind == "transcribe":
        options["fingerspell"] = True
    if labels is not None and kind == "recognize":
        options["labels"] = labels
    if model is not None:
        options["model"] = model
    try:
        if stored_bytes(settings.uploads_dir, [*pending, path]) > settings.max_stored_bytes_per_key:
            megabytes = settings.max_stored_bytes_per_key // (1024 * 1024)
            raise ApiError(
                507, "storage_quota", f"your queued jobs' uploads would pass the {megabytes} MB one key may keep"
            )
        video = await asyncio.to_thread(content_hash, path)
        job = state.store.create(
            display_name(file.filename), path, top_k or settings.top_k, kind, options or None, caller.owner, video
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job.public()


def _find(request: Request, job_id: str, caller: Caller) -> Job:
    """The caller's job; another key's job is answered as no job at all."""
    job = request.app.state.store.get(job_id, caller.owner)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    return job


@api.get("/jobs/{job_id}", tags=["jobs"], response_model=None)
async def get_job(
    request: Request, job_id: str, caller: Admitted, format: SubtitleFormat = "json"
) -> dict[str, Any] | PlainTextResponse:
    """Status (queued, running, done, failed), progress 0-1, result or error; a done transcribe
    job's transcript as SubRip or WebVTT with `format=srt` or `vtt`."""
    job = _find(request, job_id, caller)
    if format == "json":
        return job.public()
    if job.kind != "transcribe" or job.status != "done":
        message = f"job {job_id} is a {job.status} {job.kind} job, not a done transcribe job"
        raise ApiError(409, "no_transcript", message)
    return _subtitles(Transcript.from_dict(job.result), format)


def _subtitles(transcript: Transcript, format: str) -> PlainTextResponse:
    media_type = "application/x-subrip" if format == "srt" else "text/vtt"
    return PlainTextResponse(format_transcript(transcript, format), media_type=media_type)


@api.delete("/jobs/{job_id}", tags=["jobs"])
async def delete_job(request: Request, job_id: str, caller: Admitted) -> dict[str, Any]:
    """Delete a job, its upload and its landmarks in the server's pose cache; a running job stops."""
    job = _find(request, job_id, caller)
    request.app.state.store.delete(job_id, caller.owner)
    request.app.state.models.cache.forget(job.video)
    return {"deleted": job_id}
