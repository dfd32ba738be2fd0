"""The WebSocket route ``/v1/stream``: live recognition, one ``StreamSession`` per connection (the
message schema is in ``signscribe.serving.stream``)."""
# No "from __future__ import annotations" here: FastAPI reads these signatures at run time.

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from signscribe.errors import SignscribeError
from signscribe.inference.recognizer import Recognizer
from signscribe.serving.security import ApiError, check_key, presented_key
from signscribe.serving.stream import SCHEMA_VERSION, StreamMessageError, StreamSession, parse_message

router = APIRouter()


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket, api_key: str | None = None, model: str | None = None) -> None:
    """Live recognition with the model ``model`` (default: the server's); the message schema is in
    `signscribe.serving.stream`."""
    state = websocket.app.state
    try:
        check_key(state.settings.api_keys, presented_key(websocket.headers, api_key))
        model_id = state.models.resolve(model)
    except ApiError as error:
        await websocket.close(code=4401 if error.status == 401 else 4404, reason=error.message)
        return
    limit = state.settings.stream_max_connections
    if state.open_streams >= limit:
        await websocket.close(code=1013, reason=f"at most {limit} live streams")
        return
    state.open_streams += 1
    try:
        await _run_stream(websocket, state.models.get(model_id), model_id)
    finally:
        state.open_streams -= 1


async def _run_stream(websocket: WebSocket, recognizer: Recognizer, model_id: str) -> None:
    settings = websocket.app.state.settings
    await websocket.accept()
    window = settings.stream_window_frames or int(recognizer.loaded.config.get("input", {}).get("frames", 20))
    session = StreamSession(
        recognizer, window, settings.stream_min_frames, settings.top_k, settings.stream_prediction_rate
    )
    await websocket.send_json(
        {
            "type": "ready",
            "schema": SCHEMA_VERSION,
            "model": model_id,
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
