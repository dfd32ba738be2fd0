"""One file over plain HTTP (httpx): resumed with ``Range`` from what a partial file holds, retried
with backoff where retrying can help (429 with its ``Retry-After``, 5xx, a reset or cut connection,
a timeout), refused at once where it cannot (404, 410, an HTML page, a redirect loop), and at most
``per_host`` at a time to one host, a request at most every ``interval`` seconds."""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from signscribe.version import __version__

DEAD_STATUSES = {400: "bad request", 401: "needs a login", 403: "forbidden", 404: "not found", 410: "gone",
                 451: "unavailable for legal reasons"}  # fmt: skip
NOT_VIDEO_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")


class DeadLink(Exception):
    """A URL that will not give the video, however often it is asked (the reason says why)."""


class Unreachable(Exception):
    """A URL that failed every attempt for reasons that may pass (a later run tries it again)."""


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one URL: ``attempts`` in all, waiting ``backoff`` seconds after the first
    failure and twice as long after each next one (or what ``Retry-After`` asks, up to
    ``longest_wait``); ``timeout`` seconds without a byte is a failure."""

    attempts: int = 4
    backoff: float = 2.0
    longest_wait: float = 120.0
    timeout: float = 30.0


class HostGate:
    """At most ``per_host`` transfers at once to one host, and their starts ``interval`` seconds apart."""

    def __init__(self, per_host: int = 2, interval: float = 0.5) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be 1 or more, got {per_host}")
        self.per_host, self.interval = per_host, interval
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def enter(self, host: str) -> Iterator[None]:
        with self._lock:
            slots = self._slots.setdefault(host, threading.Semaphore(self.per_host))
        with slots:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self.interval
            time.sleep(start - now)
            yield


def client(policy: RetryPolicy) -> httpx.Client:
    """The client every plain download shares: redirects followed (at most 10: a loop is a dead link)."""
    return httpx.Client(
        follow_redirects=True,
        max_redirects=10,
        timeout=httpx.Timeout(policy.timeout),
        # identity: the bytes of a Range are the file's, never a compressed stream's
        headers={"User-Agent": f"signscribe/{__version__} (dataset downloader)", "Accept-Encoding": "identity"},
    )


def fetch_file(
    session: httpx.Client, url: str, partial: Path, policy: RetryPolicy, on_bytes: Callable[[int], None] | None = None
) -> int:
    """Download ``url`` into ``partial``, continuing what it already holds; returns its size.
    Raises ``DeadLink`` or, once every attempt failed, ``Unreachable``."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    reason = "no attempt"
    for attempt in range(policy.attempts):
        try:
            return _attempt(session, url, partial, on_bytes or (lambda _: None))
        except _Retry as retry:
            reason, wait = str(retry), retry.wait
        except httpx.TooManyRedirects as error:
            raise DeadLink("a redirect loop (more than 10 redirects)") from error
        except httpx.TimeoutException:
            reason, wait = f"timed out (no answer or no byte for {policy.timeout:g} s)", None
        except (httpx.TransportError, httpx.DecodingError) as error:
            reason, wait = f"connection failed ({type(error).__name__}: {error})", None
        if attempt + 1 == policy.attempts:
            break
        wait = policy.backoff * 2**attempt if wait is None else wait
        if wait > policy.longest_wait:
            raise Unreachable(f"{reason}; the server asks to wait {wait:.0f} s")
        time.sleep(wait)
    raise Unreachable(f"{reason} ({policy.attempts} attempts)")


def _attempt(session: httpx.Client, url: str, partial: Path, on_bytes: Callable[[int], None]) -> int:
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status in DEAD_STATUSES:
            raise DeadLink(f"HTTP {status} ({DEAD_STATUSES[status]})")
        if status == 416 and have:
            if _total_of(response.headers.get("content-range", "")) == have:
                return have  # the partial file was complete
            partial.unlink()
            raise _Retry("HTTP 416: the partial file does not fit the server's file", wait=0.0)
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}", wait=_retry_after(response.headers.get("retry-after")))
        if status not in (200, 206):
            raise DeadLink(f"HTTP {status}")
        kind = response.headers.get("content-type", "").lower()
        if kind.startswith(NOT_VIDEO_TYPES):
            raise DeadLink(f"not a video: the server answered {kind.split(';')[0]} (HTTP {status})")
        resumed = status == 206
        expected = _total_of(response.headers.get("content-range", "")) if resumed else None
        if expected is None and response.headers.get("content-length", "").isdigit():
            expected = int(response.headers["content-length"]) + (have if resumed else 0)
        with partial.open("ab" if resumed else "wb") as file:  # a 200 to a Range: the server starts over
            for chunk in response.iter_bytes():  # as it arrives: a killed run keeps what came
                file.write(chunk)
                on_bytes(len(chunk))
    size = partial.stat().st_size
    if size == 0:
        raise DeadLink(f"an empty answer (HTTP {status}, 0 bytes)")
    if expected is not None and size < expected:
        raise _Retry(f"the transfer stopped at {size} of {expected} bytes", wait=0.0)
    return size


def _total_of(content_range: str) -> int | None:
    """The full size in ``Content-Range: bytes a-b/N`` (or ``bytes */N``)."""
    match = re.fullmatch(r"bytes (?:\d+-\d+|\*)/(\d+)", content_range.strip())
    return int(match.group(1)) if match else None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), None without one."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value) if email.utils.parsedate_tz(value) else None
    return None if when is None else max(0.0, when.timestamp() - time.time())
