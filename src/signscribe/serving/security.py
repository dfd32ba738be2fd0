"""Who may call the server, and how often: API keys, per-caller rate limits, and a throttle on failed
authentication, shared by the REST gate and the WebSocket stream."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def presented_key(headers: Mapping[str, str], query_key: str | None = None) -> str | None:
    """The key from ``X-API-Key``, ``Authorization: Bearer``, or (WebSockets from browsers) the query."""
    key = headers.get("x-api-key")
    authorization = headers.get("authorization", "")
    if not key and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    return key or query_key


def check_key(keys: frozenset[str], key: str | None) -> None:
    """Raise 401 unless keys are off or ``key`` is one of them (compared in constant time)."""
    if not keys:
        return
    if not key:
        raise ApiError(401, "missing_api_key", "this server needs an API key: send it as the X-API-Key header")
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in keys):
        raise ApiError(401, "invalid_api_key", "the API key is not valid")


class RateLimiter:
    """At most ``limit`` events a minute per identity (sliding window); ``what`` names the events in
    the 429's message."""

    def __init__(self, limit: int, what: str = "requests") -> None:
        self.limit, self.what = limit, what
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._pruned = time.monotonic()

    def check(self, identity: str, record: bool = True) -> None:
        """429 when ``identity`` already had ``limit`` events in the last minute; else count this one
        (unless ``record`` is false: a look without an event)."""
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            seen = self._seen[identity]
            while seen and now - seen[0] >= 60:
                seen.popleft()
            if now - self._pruned >= 60:  # forget clients idle for a minute, so the table stays small
                self._pruned = now
                for idle in [name for name, times in self._seen.items() if not times or now - times[-1] >= 60]:
                    del self._seen[idle]
                seen = self._seen[identity]
            if len(seen) >= self.limit:
                retry = max(1, int(60 - (now - seen[0])) + 1)
                raise ApiError(429, "rate_limited", f"more than {self.limit} {self.what} a minute",
                               {"Retry-After": str(retry)})  # fmt: skip
            if record:
                seen.append(now)


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: a valid API key (``None`` on a server without keys) and an address."""

    key: str | None
    address: str

    @property
    def owner(self) -> str:
        """What jobs are filed under: a digest of the key (the key itself is never stored), or ``""``."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:32] if self.key else ""

    @property
    def identity(self) -> str:
        """What the rate limit counts: the key when it is valid, else the address (whatever headers say)."""
        return f"key:{self.owner}" if self.key else f"address:{self.address}"


class Gatekeeper:
    """Admits a caller: the address's failed authentications (at most ``failures_per_minute``), the
    key, then the caller's rate limit. REST requests and WebSocket streams go through the same one."""

    def __init__(self, keys: frozenset[str], requests_per_minute: int, failures_per_minute: int) -> None:
        self.keys = keys
        self.requests = RateLimiter(requests_per_minute)
        self.failures = RateLimiter(failures_per_minute, "failed authentications")

    def admit(self, headers: Mapping[str, str], address: str, query_key: str | None = None) -> Caller:
        """The caller, or an ``ApiError`` (401 without a valid key, 429 over a limit)."""
        if not self.keys:
            caller = Caller(None, address)
        else:
            self.failures.check(f"address:{address}", record=False)
            key = presented_key(headers, query_key)
            try:
                check_key(self.keys, key)
            except ApiError:
                self.failures.check(f"address:{address}")
                raise
            caller = Caller(key, address)
        self.requests.check(caller.identity)
        return caller
