"""uvicorn as signscribe runs it: bounded request headers, a deadline for them, forwarded headers
trusted only from the proxies the operator names, and a graceful shutdown with a deadline.

uvicorn arms its keep-alive timer only once a response is sent, so a connection that opens and never
finishes its headers would stay open for ever, and 500 of them hold 500 sockets (a slowloris attack).
``HeaderDeadlineProtocol`` closes a connection that has not sent a whole request head within
``header_timeout_seconds`` of opening (or of its previous response); bytes trickling in do not reset it.
A head over ``max_header_bytes`` is answered 431 (RFC 6585), where uvicorn answers any bad head 400.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from signscribe.serving.settings import ServerSettings


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head and a 431 for one too large (both
    set by ``uvicorn_config``)."""

    header_timeout_seconds = 10.0
    max_header_bytes = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_due: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._head_due = self.loop.call_later(self.header_timeout_seconds, self._head_late)

    def _disarm(self) -> None:
        if self._head_due is not None:
            self._head_due.cancel()
            self._head_due = None

    def _head_late(self) -> None:
        self._head_due = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head arrived whole: the request is under way
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """h11 refuses a head that outgrew its buffer as it refuses any malformed one: say which it was."""
        if len(self.conn.trailing_data[0]) <= self.max_header_bytes:
            super().send_400_response(msg)
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        limit = f"the request's headers are over the server's {self.max_header_bytes} bytes"
        head = h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large")
        for event in (head, h11.Data(data=limit.encode()), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def uvicorn_config(app: Any, settings: ServerSettings, **options: Any) -> uvicorn.Config:
    """The uvicorn config of ``signscribe serve`` for ``app`` (``options``: host, port, ...)."""
    limits = {"header_timeout_seconds": settings.header_timeout_seconds, "max_header_bytes": settings.max_header_bytes}
    protocol = type("Protocol", (HeaderDeadlineProtocol,), limits)
    return uvicorn.Config(
        app,
        http=protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        log_level="warning",
        **options,
    )


@contextmanager
def serve_in_thread(
    app: Any, settings: ServerSettings, host: str = "127.0.0.1", start_timeout: float = 60
) -> Iterator[str]:
    """Serve ``app`` as ``signscribe serve`` does, from a thread of this process, on a free port of
    ``host``; yields the base URL once the server answers and stops it on leaving (a notebook, a test)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, settings, host=host, port=port))
    thread = threading.Thread(target=server.run, name="signscribe-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the server on {host}:{port} did not start within {start_timeout:g} s")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
