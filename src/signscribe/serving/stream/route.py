"""The WebSocket route ``/v1/stream``: live recognition, one ``StreamSession`` per connection (the
message schema is in ``signscribe.serving.stream``).

A connection is accepted first and then, when refused, closed with a code that says why, so that
clients (browsers included, which see no HTTP status of a refused handshake) can tell the reasons
apart: 4401 no valid API key, 4403 a web page of another origin (``stream_origins``), 4429 rate
limited (requests or failed authentications, as REST), 4404 unknown model, 4422 a model that cannot
stream (a video language model, or an input kind with no live session), 1013 every stream slot
taken or the caller's share of them (try again later), 4408 nothing received for
``stream_idle_seconds``, 1011 the stream failed inside the server (logged; the client may open
another).

Browsers send any page's WebSocket to any server, with the page's ``Origin``: a server without keys
would otherwise stream for every web page its users visit. A stream whose ``Origin`` is neither the
server's own nor one of ``stream_origins`` (or ``cors_origins``) is refused; clients that are not
browsers send no ``Origin`` and are not concerned.
"""
# No "from __future__ import annotations" here: FastAPI reads these signatures at run time.

import asyncio
import functools
import json
import logging
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from signscribe.inference.recognizer import Recognizer
from signscribe.serving.security import ApiError
from signscribe.serving.settings import ServerSettings
from signscribe.serving.stream.messages import ConfigMessage, StreamMessageError, parse_message
from signscribe.serving.stream.session import SCHEMA_VERSION, LandmarkSession, StreamSession
from signscribe.serving.stream.spelling import SpellingSession

router = APIRouter()
CLOSE_CODES = {401: 4401, 404: 4404, 429: 4429}
CAPACITY_CLOSE, IDLE_CLOSE, UNSUPPORTED_CLOSE, ORIGIN_CLOSE, FAILED_CLOSE = 1013, 4408, 4422, 4403, 1011
log = logging.getLogger("signscribe.serving")
STREAMING_INPUTS = ("landmarks", "frames", "hand")


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    """JSON that is valid JSON: a non-finite number is a bug, never sent as ``NaN``."""
    await websocket.send_text(json.dumps(message, allow_nan=False))


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket, api_key: str | None = None, model: str | None = None) -> None:
    """Live recognition with the model ``model`` (default: the server's); the message schema is in
    `signscribe.serving.stream`."""
    state = websocket.app.state
    await websocket.accept()
    address = websocket.client.host if websocket.client else "unknown"
    if not _origin_allowed(websocket, state.settings):
        reason = "streams are not open to web pages of other origins (see stream_origins)"
        await websocket.close(code=ORIGIN_CLOSE, reason=reason)
        return
    try:
        caller = state.gatekeeper.admit(websocket.headers, address, api_key)
        model_id = state.models.resolve(model)
    except ApiError as error:
        await websocket.close(code=CLOSE_CODES.get(error.status, 1008), reason=error.message[:120])
        return
    recognizer = state.models.get(model_id)
    if recognizer.loaded.input_kind == "video+prompt":  # seconds an answer even on a GPU: not live
        reason = f"{model_id} is a video language model: send clips to /v1/recognize or /v1/jobs, not a stream"
        await websocket.close(code=UNSUPPORTED_CLOSE, reason=reason[:120])
        return
    if recognizer.loaded.input_kind not in STREAMING_INPUTS:
        reason = f"{model_id} reads {recognizer.loaded.input_kind}; live streams take landmark, hand and video models"
        await websocket.close(code=UNSUPPORTED_CLOSE, reason=reason[:120])
        return
    slots = state.streams
    if (refused := slots.take(caller.identity)) is not None:
        await websocket.close(code=CAPACITY_CLOSE, reason=refused)
        return
    try:
        await _run_stream(websocket, recognizer, model_id)
    finally:
        slots.release(caller.identity)


def _origin_allowed(websocket: WebSocket, settings: ServerSettings) -> bool:
    """No ``Origin`` (not a browser), the server's own, or one the settings allow."""
    origin = websocket.headers.get("origin")
    if origin is None or "*" in settings.stream_origins:
        return True
    allowed = {*settings.stream_origins, *settings.cors_origins}
    return origin in allowed or urlsplit(origin).netloc == websocket.headers.get("host")


def _session(recognizer: Recognizer, state: Any) -> StreamSession:
    """The session of the model's input kind, with the server's stream settings."""
    settings = state.settings
    top_k, rate, min_frames = settings.top_k, settings.stream_prediction_rate, settings.stream_min_frames
    if recognizer.loaded.input_kind == "frames":
        from signscribe.serving.stream.video import VideoSession  # torch: RGB models' frames are tensors

        return VideoSession(recognizer, min_frames, top_k, rate)
    if recognizer.loaded.input_kind == "hand":
        return SpellingSession(recognizer, top_k, rate)
    window = settings.stream_window_frames or int(recognizer.loaded.config.get("input", {}).get("frames", 20))
    return LandmarkSession(recognizer, window, min_frames, top_k, rate, state.streams, state.batchers.of(recognizer))


def _frame_failed(error: Exception) -> dict[str, Any]:
    return {"type": "error", "code": "frame_failed", "message": f"the frame failed: {error}"}


async def _run_stream(websocket: WebSocket, recognizer: Recognizer, model_id: str) -> None:
    state = websocket.app.state
    settings = state.settings
    session = _session(recognizer, state)
    ready = {"type": "ready", "schema": SCHEMA_VERSION, "model": model_id, "input": recognizer.loaded.input_kind}
    window = {"window_frames": session.window_frames, "top_k": session.top_k}
    if session.window_seconds is not None:
        window["window_seconds"] = session.window_seconds
    await _send(websocket, {**ready, "labels": recognizer.labels, **window})

    async def process_frames() -> None:
        while True:
            try:  # a prediction the rate held back goes out when no newer frame comes to carry it
                await asyncio.wait_for(session.wake.wait(), None if session.held is None else 1 / session.rate)
                frame = session.take()
                if frame is None:
                    continue
                work = functools.partial(session.process, frame)
            except TimeoutError:
                work = session.flush
            try:
                messages = await asyncio.to_thread(work)
            except Exception as error:  # a frame MediaPipe or the model cannot use: report it and go on
                messages = [_frame_failed(error)]
            for message in messages:
                if isinstance(message, Future):  # a prediction waiting for its batch (landmark models)
                    try:
                        message = await asyncio.wrap_future(message)
                    except Exception as error:
                        message = _frame_failed(error)
                await _send(websocket, message)

    async def receive_messages() -> None:
        limits = (settings.stream_max_message_bytes, settings.stream_max_frame_pixels)
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), settings.stream_idle_seconds)
            except TimeoutError:
                idle = f"nothing received for {settings.stream_idle_seconds:g} s"
                await websocket.close(code=IDLE_CLOSE, reason=idle)
                return
            if message["type"] == "websocket.disconnect":
                return
            try:  # images are decoded off the event loop, so a flood of them cannot stall the server
                parsed = await asyncio.to_thread(parse_message, message.get("text"), message.get("bytes"), *limits)
            except StreamMessageError as error:
                await _send(websocket, {"type": "error", "code": error.code, "message": str(error)})
                continue
            if isinstance(parsed, ConfigMessage):
                try:
                    session.configure(parsed)
                except StreamMessageError as error:
                    await _send(websocket, {"type": "error", "code": error.code, "message": str(error)})
            else:
                session.offer(parsed)

    # Either task ending ends the stream; one that fails closes it with 1011, never silently.
    tasks = {asyncio.create_task(process_frames()), asyncio.create_task(receive_messages())}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        failure = next((task.exception() for task in done if task.exception() is not None), None)
        if failure is not None and not isinstance(failure, WebSocketDisconnect):
            log.error("a stream failed: %r", failure, exc_info=failure)
            await websocket.close(code=FAILED_CLOSE, reason="the stream failed inside the server")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client had already gone
    finally:
        for task in tasks:
            task.cancel()
        # Handed to a thread, not awaited: a connection cancelled mid-close still returns its graph.
        asyncio.get_running_loop().run_in_executor(None, session.close)
