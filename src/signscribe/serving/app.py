"""The FastAPI application: REST recognition, background jobs, live WebSocket streams and the web page.

``create_app`` loads the models, keeps the shared state on ``app.state`` (``settings``, ``models``
(a ``ModelPool``), ``store``, ``gatekeeper``, ``recognitions`` (a ``WorkQueue``), ``worker``,
``streams``), answers every error, an unexpected one included, as ``{"error": {"code", "message"}}``,
and mounts the routers of ``routes``, ``bank`` and ``stream.route`` behind the ``Gate`` middleware.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from signscribe.inference.recognizer import Recognizer
from signscribe.pose.cache import PoseCache
from signscribe.serving import bank, routes
from signscribe.serving.gate import Gate, error_body
from signscribe.serving.jobs import JobStore, JobWorker
from signscribe.serving.memory import limit_arenas
from signscribe.serving.model_pool import ModelPool
from signscribe.serving.security import ApiError, Gatekeeper
from signscribe.serving.settings import ServerSettings
from signscribe.serving.stream import route as stream_route
from signscribe.serving.stream.batching import WindowBatchers
from signscribe.serving.stream.slots import StreamSlots
from signscribe.serving.uploads import WorkQueue
from signscribe.version import __version__

STATIC = Path(str(resources.files("signscribe.serving") / "static"))
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "upload_too_large"}
log = logging.getLogger("signscribe.serving")


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return JSONResponse(error_body(error.code, error.message), error.status, headers=error.headers)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = HTTP_CODES.get(error.status_code, "http_error")
    return JSONResponse(error_body(code, str(error.detail)), error.status_code)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    return JSONResponse(error_body("invalid_request", details), 422)


async def _storage_error(request: Request, error: Exception) -> JSONResponse:
    """The jobs database failed (a full disk, most often): 507 or 503, in JSON, and the server goes on."""
    log.error("storage error on %s: %s", request.url.path, error)
    if "full" in str(error):
        return JSONResponse(error_body("storage_full", "the server's disk is full; try again later"), 507)
    return JSONResponse(error_body("storage_unavailable", f"the jobs database failed: {error}"), 503)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=error)
    return JSONResponse(error_body("internal_error", "the server failed on this request"), 500)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The job worker starts with the app (after queueing again what a dead server left running, and,
    when no other server process shares the data folder, deleting the uploads no job holds: those of
    requests a killed server was answering) and stops with it, its running job queued again; the live
    streams' MediaPipe graphs and window batchers close with it."""
    settings, store = app.state.settings, app.state.store
    store.recover_stale(settings.job_lease_seconds)
    if not store.others_alive(settings.job_lease_seconds):  # another server's requests hold uploads
        store.remove_stray_uploads(settings.uploads_dir)
    store.beat(None)
    app.state.worker = JobWorker(
        store, app.state.models, settings.job_time_limit_seconds, lease_seconds=settings.job_lease_seconds
    )
    app.state.worker.start()
    try:
        yield
    finally:
        app.state.worker.stop()
        app.state.worker.join(timeout=settings.shutdown_grace_seconds)
        store.leave()
        app.state.streams.close()
        app.state.batchers.close()


def _offline_docs(app: FastAPI) -> None:
    """``/docs`` from the Swagger UI files of the ``swagger-ui-bundle`` wheel, so it works without a CDN."""
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="signscribe API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def create_app(settings: ServerSettings | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """Build the app; the models load now (``recognizer``, if given, is the default model's), the job
    worker starts with the app and stops with it."""
    settings = settings or ServerSettings.from_env()
    limit_arenas()
    app = FastAPI(
        title="signscribe",
        version=__version__,
        description="Sign-language recognition: upload a clip, run jobs on long videos, or stream frames live.",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    cache = PoseCache(
        settings.pose_cache_dir, max_bytes=settings.pose_cache_max_bytes, max_age=settings.pose_cache_max_age_seconds
    )
    app.state.settings = settings
    app.state.models = ModelPool(
        settings.model, recognizer, cache, settings.device, settings.model_options, settings.runtime,
        settings.max_frame_rate,
    )  # fmt: skip
    app.state.store = JobStore(settings.jobs_database)
    app.state.gatekeeper = Gatekeeper(
        settings.api_keys, settings.rate_limit_per_minute, settings.auth_failures_per_minute
    )
    app.state.recognitions = WorkQueue(
        settings.max_concurrent_recognitions, settings.max_waiting_recognitions, settings.max_recognitions_per_caller
    )
    app.state.streams = StreamSlots(settings.stream_max_connections, settings.stream_max_per_caller)
    app.state.batchers = WindowBatchers(settings.stream_batch_size)
    app.state.worker = None
    app.add_middleware(Gate, gatekeeper=app.state.gatekeeper, max_upload_bytes=settings.max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
        )
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sqlite3.Error, _storage_error)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(routes.status)
    app.include_router(routes.api)
    app.include_router(bank.bank_api)
    app.include_router(stream_route.router)
    _offline_docs(app)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve_forever(settings: ServerSettings, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Bind ``host:port``, build the app, ``announce`` where it serves, and serve until stopped. The
    port is bound first: a busy one is a ``ValueError`` (one line), never a false "serving on"."""
    import uvicorn

    from signscribe.serving.server import uvicorn_config

    try:
        listener = socket.create_server((host, port))
    except OSError as error:
        raise ValueError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    with listener:
        application = create_app(settings)
        keys = f"{len(settings.api_keys)} API key(s) required" if settings.api_keys else "no API key required"
        announce(f"signscribe serving on http://{host}:{port} ({keys}; data in {settings.data_dir})")
        uvicorn.Server(uvicorn_config(application, settings)).run(sockets=[listener])
