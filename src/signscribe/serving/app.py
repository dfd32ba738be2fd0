"""The FastAPI application: REST recognition, background jobs, live WebSocket streams and the web page."""
# No "from __future__ import annotations" here: FastAPI reads these signatures at run time,
# and their annotations refer to names local to create_app.

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from signscribe import __version__
from signscribe.errors import SignscribeError
from signscribe.inference.batch import ClipResult, results_as_dict
from signscribe.inference.recognizer import Recognizer
from signscribe.inference.subtitles import format_transcript
from signscribe.inference.transcribe import Transcriber, TranscriptionSettings
from signscribe.serving.jobs import JobStore, JobWorker
from signscribe.serving.security import ApiError, RateLimiter, check_key, identity, presented_key, save_upload
from signscribe.serving.settings import ServerSettings
from signscribe.serving.stream import SCHEMA_VERSION, StreamMessageError, StreamSession, parse_message

STATIC = Path(str(resources.files("signscribe.serving") / "static"))
MAX_TOP_K = 50


def display_name(filename: str | None) -> str:
    """The client's file name for display only: no folders, no control characters, bounded length."""
    name = re.split(r"[\\/]", filename or "upload")[-1]
    return re.sub(r"[^\w.\- ]", "_", name)[:120] or "upload"


def create_app(settings: ServerSettings | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """Build the app; the model loads now, the job worker starts with the app and stops with it."""
    settings = settings or ServerSettings.from_env()
    recognizer = recognizer or Recognizer.from_pretrained(settings.model)
    store = JobStore(settings.jobs_database)
    limiter = RateLimiter(settings.rate_limit_per_minute)
    worker_box: dict[str, JobWorker] = {}
    open_streams = [0]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.recover()
        worker = JobWorker(store, recognizer)
        worker.start()
        worker_box["worker"] = worker
        try:
            yield
        finally:
            worker.stop()
            worker.join(timeout=30)

    app = FastAPI(
        title="signscribe",
        version=__version__,
        description="Sign-language recognition: upload a clip, run jobs on long videos, or stream frames live.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.recognizer, app.state.store = settings, recognizer, store
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
        )

    def error_body(code: str, message: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message}}

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error_body(error.code, error.message), error.status, headers=error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(error_body(code, str(error.detail)), error.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return JSONResponse(error_body("invalid_request", details), 422)

    def guard(request: Request) -> None:
        key = presented_key(request.headers)
        check_key(settings.api_keys, key)
        limiter.check(identity(request, key))

    Guarded = Annotated[None, Depends(guard)]
    TopK = Annotated[int, Query(ge=1, le=MAX_TOP_K, description="How many glosses to return.")]
    Video = Annotated[UploadFile, File(description="A video file (MP4, MOV, WebM, MKV, AVI).")]
    MinConfidence = Annotated[
        float, Query(ge=0.0, le=1.0, description="Transcription: drop segments whose confidence is below this.")
    ]

    @app.get("/healthz", tags=["status"])
    async def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["status"])
    async def readyz() -> JSONResponse:
        """The model is loaded, the job worker runs and the jobs database answers."""
        worker = worker_box.get("worker")
        checks = {"model": bool(recognizer.labels), "worker": bool(worker and worker.is_alive())}
        try:
            store.get("readiness-probe")
            checks["database"] = True
        except Exception:  # any database failure means not ready
            checks["database"] = False
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)

    @app.get("/v1/models", tags=["models"])
    async def models(_: Guarded) -> dict[str, Any]:
        """The model this server runs."""
        loaded = recognizer.loaded
        return {
            "models": [
                {
                    "id": settings.model or "default",
                    "architecture": loaded.architecture,
                    "labels": loaded.labels,
                    "num_labels": len(loaded.labels),
                    "input": loaded.config.get("input", {}),
                }
            ]
        }

    @app.post("/v1/recognize", tags=["recognition"])
    async def recognize(_: Guarded, file: Video, top_k: TopK = settings.top_k) -> dict[str, Any]:
        """Top-k glosses for an uploaded clip, in the shape of `signscribe recognize --format json`."""
        path = await save_upload(file, settings.uploads_dir, settings.max_upload_bytes)
        name = display_name(file.filename)
        try:
            predictions = await asyncio.to_thread(recognizer.predict, path, top_k)
        except SignscribeError as error:
            raise ApiError(422, "unprocessable_video", str(error).replace(str(path), name)) from error
        finally:
            path.unlink(missing_ok=True)
        return results_as_dict([ClipResult(Path(name), predictions)], top_k, Path())

    @app.post("/v1/transcribe", tags=["transcription"], response_model=None)
    async def transcribe(
        _: Guarded,
        file: Video,
        format: Annotated[str, Query(pattern="^(json|srt|vtt)$", description="json, srt or vtt.")] = "json",
        min_confidence: MinConfidence = 0.5,
    ) -> dict[str, Any] | PlainTextResponse:
        """A timed gloss transcript of continuous signing, as `signscribe transcribe` gives it: JSON
        (`segments` with `start`, `end`, `gloss`, `confidence`), SubRip or WebVTT. Long videos are
        better sent as a `transcribe` job."""
        path = await save_upload(file, settings.uploads_dir, settings.max_upload_bytes)
        name = display_name(file.filename)
        transcriber = Transcriber(recognizer, TranscriptionSettings(min_confidence=min_confidence))
        try:
            transcript = await asyncio.to_thread(transcriber.transcribe, path)
        except SignscribeError as error:
            raise ApiError(422, "unprocessable_video", str(error).replace(str(path), name)) from error
        finally:
            path.unlink(missing_ok=True)
        transcript.source = name
        if format == "json":
            return transcript.to_dict()
        media_type = "application/x-subrip" if format == "srt" else "text/vtt"
        return PlainTextResponse(format_transcript(transcript, format), media_type=media_type)

    @app.post("/v1/jobs", status_code=202, tags=["jobs"])
    async def create_job(
        _: Guarded,
        file: Video,
        top_k: TopK = settings.top_k,
        kind: Annotated[str, Query(pattern="^(recognize|transcribe)$", description="What the job does.")] = "recognize",
        min_confidence: MinConfidence = 0.5,
    ) -> dict[str, Any]:
        """Queue a long video to recognise as one sign or to transcribe; poll `GET /v1/jobs/{id}` for
        status, progress and result (a transcribe job's result is the JSON of `POST /v1/transcribe`)."""
        path = await save_upload(file, settings.uploads_dir, settings.max_upload_bytes)
        options = {"min_confidence": min_confidence} if kind == "transcribe" else None
        return store.create(display_name(file.filename), path, top_k, kind, options).public()

    def find(job_id: str) -> Any:
        job = store.get(job_id)
        if job is None:
            raise ApiError(404, "job_not_found", f"no job {job_id}")
        return job

    @app.get("/v1/jobs/{job_id}", tags=["jobs"])
    async def get_job(_: Guarded, job_id: str) -> dict[str, Any]:
        """Status (queued, running, done, failed), progress 0-1, result or error."""
        return find(job_id).public()

    @app.delete("/v1/jobs/{job_id}", tags=["jobs"])
    async def delete_job(_: Guarded, job_id: str) -> dict[str, Any]:
        """Delete a job and its upload; a running job stops."""
        find(job_id)
        store.delete(job_id)
        return {"deleted": job_id}

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket, api_key: str | None = None) -> None:
        """Live recognition; the message schema is in `signscribe.serving.stream`."""
        try:
            check_key(settings.api_keys, presented_key(websocket.headers, api_key))
        except ApiError as error:
            await websocket.close(code=4401, reason=error.message)
            return
        if open_streams[0] >= settings.stream_max_connections:
            await websocket.close(code=1013, reason=f"at most {settings.stream_max_connections} live streams")
            return
        open_streams[0] += 1
        try:
            await run_stream(websocket)
        finally:
            open_streams[0] -= 1

    async def run_stream(websocket: WebSocket) -> None:
        await websocket.accept()
        window = settings.stream_window_frames or int(recognizer.loaded.config.get("input", {}).get("frames", 20))
        session = StreamSession(
            recognizer, window, settings.stream_min_frames, settings.top_k, settings.stream_prediction_rate
        )
        await websocket.send_json(
            {
                "type": "ready",
                "schema": SCHEMA_VERSION,
                "model": settings.model or "default",
                "labels": recognizer.labels,
                "window_frames": window,
                "top_k": session.top_k,
            }
        )

        async def process_frames() -> None:
            while True:
                await session.wake.wait()
                frame = session.take()
                if frame is None:
                    continue
                try:
                    messages = await asyncio.to_thread(session.process, frame)
                except SignscribeError as error:  # e.g. a frame MediaPipe cannot use: report and go on
                    messages = [{"type": "error", "code": "frame_failed", "message": str(error)}]
                for message in messages:
                    await websocket.send_json(message)

        processor = asyncio.create_task(process_frames())
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    parsed = parse_message(message.get("text"), message.get("bytes"), settings.stream_max_message_bytes)
                except StreamMessageError as error:
                    await websocket.send_json({"type": "error", "code": error.code, "message": str(error)})
                    continue
                if isinstance(parsed, dict):
                    session.configure(parsed)
                else:
                    session.offer(parsed)
        except WebSocketDisconnect:
            pass
        finally:
            processor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await processor
            await asyncio.to_thread(session.close)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
