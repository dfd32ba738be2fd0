"""The gate in front of the REST API (``/v1/``): the caller is admitted from the request's headers
(API key, failed-authentication throttle, rate limit) before a byte of the body is read, and the
body is cut off at the upload limit, by its ``Content-Length`` and by a count of what arrives."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signscribe.serving.security import ApiError, Caller, Gatekeeper
from signscribe.serving.uploads import too_large

# What a multipart body carries besides the file: boundaries, part headers, small form fields.
MULTIPART_OVERHEAD = 64 * 1024


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes the limit; FastAPI re-raises it, the app answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the upload is larger than {max_bytes} bytes")


class Gate:
    """ASGI middleware: admit the caller of every ``/v1/`` HTTP request (``request.state.caller``) and
    bound its body to ``max_upload_bytes`` (plus the multipart framing)."""

    def __init__(self, app: ASGIApp, gatekeeper: Gatekeeper, max_upload_bytes: int) -> None:
        self.app, self.gatekeeper, self.max_upload_bytes = app, gatekeeper, max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        address = scope["client"][0] if scope.get("client") else "unknown"
        limit = self.max_upload_bytes + MULTIPART_OVERHEAD
        try:
            caller = self.gatekeeper.admit(headers, address)
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise too_large(self.max_upload_bytes)
        except ApiError as error:
            response = JSONResponse(error_body(error.code, error.message), error.status, headers=error.headers)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(self.max_upload_bytes)
            return message

        await self.app(scope, counted, send)


API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="Needed when the server has keys.")


def admitted_caller(request: Request, _: Annotated[str | None, Security(API_KEY)] = None) -> Caller:
    """The caller the gate admitted."""
    return request.state.caller


Admitted = Annotated[Caller, Depends(admitted_caller)]
