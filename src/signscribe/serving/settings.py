"""Server settings, from arguments or environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signscribe.errors import InputFileError, SignscribeError
from signscribe.io.limits import DEFAULT_MAX_FRAMES, DEFAULT_MAX_SECONDS, ClipLimits
from signscribe.pose.holistic_graph import DEFAULT_MAX_FRAME_RATE

MB = 1024 * 1024


class SettingsError(SignscribeError):
    """A server setting (an option or a ``SIGNSCRIBE_*`` variable) has a value the server cannot use."""


def default_data_dir() -> Path:
    """``$SIGNSCRIBE_DATA_DIR``, else ``$XDG_DATA_HOME/signscribe``, else ``~/.local/share/signscribe``."""
    if configured := os.environ.get("SIGNSCRIBE_DATA_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "signscribe"


def read_api_keys(text: str | None, file: str | None) -> frozenset[str]:
    """Keys from a comma-separated string and/or a file with one key a line (``#`` comments). A key
    file that is missing, unreadable or holds no key is an error: a server meant to need keys must
    never start open."""
    keys = {key.strip() for key in (text or "").split(",") if key.strip()}
    if file is not None:
        path = Path(file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise InputFileError(path, "API key file not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputFileError(path, f"API key file unreadable: {error}") from None
        from_file = {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}
        if not from_file:
            raise InputFileError(path, "API key file holds no key (one key a line; # starts a comment)")
        keys |= from_file
    return frozenset(keys)


def _number(name: str, text: str, kind: type[int] | type[float], minimum: float) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected {'a whole number' if kind is int else 'a number'}") from None
    if not value >= minimum or value == float("inf"):
        raise SettingsError(f"{name}={text!r}: must be at least {minimum} and finite")
    return value


# Settings a ``SIGNSCRIBE_*`` variable can give: (variable, field, number kind, smallest value, scale).
_FROM_ENV = (
    ("SIGNSCRIBE_MAX_UPLOAD_MB", "max_upload_bytes", float, 0.01, MB),
    ("SIGNSCRIBE_RATE_LIMIT", "rate_limit_per_minute", int, 0, 1),
    ("SIGNSCRIBE_STREAM_IDLE_SECONDS", "stream_idle_seconds", float, 1, 1),
    ("SIGNSCRIBE_MAX_CLIP_SECONDS", "max_clip_seconds", float, 1, 1),
    ("SIGNSCRIBE_MAX_CLIP_FRAMES", "max_clip_frames", int, 1, 1),
    ("SIGNSCRIBE_MAX_FRAME_RATE", "max_frame_rate", float, 1, 1),
    ("SIGNSCRIBE_REQUEST_TIME_LIMIT", "request_time_limit_seconds", float, 1, 1),
    ("SIGNSCRIBE_JOB_TIME_LIMIT", "job_time_limit_seconds", float, 1, 1),
    ("SIGNSCRIBE_JOB_LEASE_SECONDS", "job_lease_seconds", float, 0.1, 1),
    ("SIGNSCRIBE_MAX_JOBS_PER_KEY", "max_jobs_per_key", int, 1, 1),
    ("SIGNSCRIBE_MAX_STORED_MB_PER_KEY", "max_stored_bytes_per_key", float, 1, MB),
    ("SIGNSCRIBE_MAX_STORED_MB", "max_stored_bytes", float, 1, MB),
    ("SIGNSCRIBE_MIN_FREE_DISK_MB", "min_free_disk_bytes", float, 0, MB),
    ("SIGNSCRIBE_MAX_STREAMS", "stream_max_connections", int, 1, 1),
    ("SIGNSCRIBE_STREAMS_PER_KEY", "stream_max_per_caller", int, 1, 1),
    ("SIGNSCRIBE_STREAM_BATCH", "stream_batch_size", int, 1, 1),
    ("SIGNSCRIBE_RECOGNITIONS_PER_KEY", "max_recognitions_per_caller", int, 1, 1),
    ("SIGNSCRIBE_SHUTDOWN_SECONDS", "shutdown_grace_seconds", float, 0, 1),
)


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


@dataclass
class ServerSettings:
    """Everything the app needs; ``from_env`` fills it from ``SIGNSCRIBE_*`` variables."""

    model: str | None = None  # model folder or hub id; None = the default model
    device: str = "auto"  # where the models run: auto, cpu, cuda (cuda:N) or mps
    runtime: str = "auto"  # auto, torch or onnx (signscribe.export.runtime)
    model_options: dict[str, Any] = field(default_factory=dict)  # a vlm: model's (prompt config, labels, 4-bit)
    data_dir: Path = field(default_factory=default_data_dir)  # jobs database, uploads and the pose cache
    api_keys: frozenset[str] = frozenset()  # empty: no key needed
    max_upload_bytes: int = 100 * MB
    rate_limit_per_minute: int = 120  # per API key, or per client address without a valid key; 0 = unlimited
    auth_failures_per_minute: int = 10  # failed authentications per address before it gets 429
    cors_origins: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For names the client (addresses or networks); by default none is trusted
    # and the limits count the address that connects.
    trusted_proxies: tuple[str, ...] = ()
    top_k: int = 5
    max_concurrent_recognitions: int = 2  # synchronous REST recognitions running at once
    max_waiting_recognitions: int = 4  # more waiting than this: 503 with Retry-After
    max_recognitions_per_caller: int = 2  # of those running or waiting, one key's (or address's): 503
    max_clip_seconds: float = DEFAULT_MAX_SECONDS  # a longer upload is refused from its header (422)
    max_clip_frames: int = DEFAULT_MAX_FRAMES  # frames stored in the container, likewise
    max_frame_rate: float = DEFAULT_MAX_FRAME_RATE  # frames a second extracted, by timestamps, at most
    request_time_limit_seconds: float = 120.0  # a synchronous recognition, transcription or bank add
    job_time_limit_seconds: float = 1800.0  # a job running longer fails, and the worker moves on
    # A running job whose server has not beaten its heart this long is queued again (the server died);
    # servers sharing one data folder beat every third of it.
    job_lease_seconds: float = 30.0
    max_jobs_per_key: int = 20  # queued or running jobs of one key (or of the server, without keys): 429
    max_stored_bytes_per_key: int = 500 * MB  # uploads one key keeps on disk for its jobs: 507
    max_stored_bytes: int = 2048 * MB  # uploads on disk in all: 507
    min_free_disk_bytes: int = 256 * MB  # less free under data_dir: uploads get 507, /readyz 503
    pose_cache_max_bytes: int = 512 * MB  # landmarks of uploads, under data_dir/poses
    pose_cache_max_age_seconds: float = 24 * 3600
    stream_window_frames: int | None = None  # default: the model's training length
    stream_min_frames: int = 8
    stream_prediction_rate: float = 15.0  # predictions a second at most, per stream
    stream_max_message_bytes: int = 2 * MB
    stream_max_frame_pixels: int = 3840 * 2160  # larger frames are refused before they are decoded
    # A stream of images holds a MediaPipe graph (about 150-300 MB); one of landmarks holds none.
    stream_max_connections: int = 8
    stream_batch_size: int = 32  # landmark windows of different streams in one model call, at most
    stream_max_per_caller: int = 4  # of those, one key's (or one address's, without keys)
    stream_idle_seconds: float = 60.0  # a stream that sends nothing this long is closed
    # Web pages that may open a stream, besides the server's own (and the CORS origins); "*": any.
    stream_origins: tuple[str, ...] = ()
    max_header_bytes: int = 16 * 1024  # a request whose headers are larger is refused (431)
    header_timeout_seconds: float = 10.0  # a connection that has not sent its headers by then is closed
    shutdown_grace_seconds: float = 10.0  # on SIGTERM: how long running work may take to stop

    @property
    def jobs_database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def pose_cache_dir(self) -> Path:
        return self.data_dir / "poses"

    @property
    def clip_limits(self) -> ClipLimits:
        return ClipLimits(self.max_clip_seconds, self.max_clip_frames, lift="send a shorter clip")

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        """``SIGNSCRIBE_API_KEYS`` (comma-separated), ``SIGNSCRIBE_API_KEYS_FILE``,
        ``SIGNSCRIBE_CORS_ORIGINS``, ``SIGNSCRIBE_STREAM_ORIGINS`` and ``SIGNSCRIBE_TRUSTED_PROXIES``
        (comma-separated), ``SIGNSCRIBE_DATA_DIR`` and the numbers of ``_FROM_ENV``; ``overrides``
        that are not ``None`` win. A value that is not a valid number raises ``SettingsError`` naming
        the variable."""
        env = os.environ
        values: dict[str, object] = {
            "api_keys": read_api_keys(env.get("SIGNSCRIBE_API_KEYS"), env.get("SIGNSCRIBE_API_KEYS_FILE")),
            "cors_origins": _listed(env.get("SIGNSCRIBE_CORS_ORIGINS")),
            "stream_origins": _listed(env.get("SIGNSCRIBE_STREAM_ORIGINS")),
            "trusted_proxies": _listed(env.get("SIGNSCRIBE_TRUSTED_PROXIES")),
        }
        for variable, name, kind, minimum, scale in _FROM_ENV:
            if (text := env.get(variable)) is not None:
                number = _number(variable, text, kind, minimum)
                values[name] = number if scale == 1 else int(number * scale)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]
