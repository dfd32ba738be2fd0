"""The FastAPI application: REST recognition, background jobs, live WebSocket streams and the web page.

``create_app`` loads the models, keeps the shared state on ``app.state`` (``settings``, ``models``
(a ``ModelPool``), ``store``, ``limiter``, ``worker``, ``open_streams``), answers every error as
``{"error": {"code", "message"}}``, and mounts the routers of ``routes`` and ``live``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from signscribe.inference.recognizer import Recognizer
from signscribe.serving import live, routes
from signscribe.serving.jobs import JobStore, JobWorker
from signscribe.serving.models import ModelPool
from signscribe.serving.security import ApiError, RateLimiter
from signscribe.serving.settings import ServerSettings
from signscribe.version import __version__

STATIC = Path(str(resources.files("signscribe.serving") / "static"))


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return JSONResponse(error_body(error.code, error.message), error.status, headers=error.headers)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return JSONResponse(error_body(code, str(error.detail)), error.status_code)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    return JSONResponse(error_body("invalid_request", details), 422)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The job worker starts with the app (after queueing again what a previous server left running)
    and stops with it."""
    app.state.store.recover()
    app.state.worker = JobWorker(app.state.store, app.state.models)
    app.state.worker.start()
    try:
        yield
    finally:
        app.state.worker.stop()
        app.state.worker.join(timeout=30)


def create_app(settings: ServerSettings | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """Build the app; the models load now (``recognizer``, if given, is the default model's), the job
    worker starts with the app and stops with it."""
    settings = settings or ServerSettings.from_env()
    app = FastAPI(
        title="signscribe",
        version=__version__,
        description="Sign-language recognition: upload a clip, run jobs on long videos, or stream frames live.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.models = ModelPool(settings.model, recognizer)
    app.state.store = JobStore(settings.jobs_database)
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.worker = None
    app.state.open_streams = 0
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
    app.include_router(routes.status)
    app.include_router(routes.api)
    app.include_router(live.router)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
