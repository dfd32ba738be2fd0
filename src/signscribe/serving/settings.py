"""Server settings, from arguments or environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signscribe.errors import InputFileError, SignscribeError


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


@dataclass
class ServerSettings:
    """Everything the app needs; ``from_env`` fills it from ``SIGNSCRIBE_*`` variables."""

    model: str | None = None  # model folder or hub id; None = the default model
    device: str = "auto"  # where the models run: auto, cpu, cuda (cuda:N) or mps
    runtime: str = "auto"  # auto, torch or onnx (signscribe.export.runtime)
    model_options: dict[str, Any] = field(default_factory=dict)  # a vlm: model's (prompt config, labels, 4-bit)
    data_dir: Path = field(default_factory=default_data_dir)  # jobs database, uploads and the pose cache
    api_keys: frozenset[str] = frozenset()  # empty: no key needed
    max_upload_bytes: int = 100 * 1024 * 1024
    rate_limit_per_minute: int = 120  # per API key, or per client address without a valid key; 0 = unlimited
    auth_failures_per_minute: int = 10  # failed authentications per address before it gets 429
    cors_origins: tuple[str, ...] = ()
    top_k: int = 5
    max_concurrent_recognitions: int = 2  # synchronous REST recognitions running at once
    max_waiting_recognitions: int = 4  # more waiting than this: 503 with Retry-After
    pose_cache_max_bytes: int = 512 * 1024 * 1024  # landmarks of uploads, under data_dir/poses
    pose_cache_max_age_seconds: float = 24 * 3600
    stream_window_frames: int | None = None  # default: the model's training length
    stream_min_frames: int = 8
    stream_prediction_rate: float = 15.0  # predictions a second at most, per stream
    stream_max_message_bytes: int = 2 * 1024 * 1024
    stream_max_frame_pixels: int = 3840 * 2160  # larger frames are refused before they are decoded
    stream_max_connections: int = 8  # each live stream holds a MediaPipe graph (about 150-300 MB)
    stream_idle_seconds: float = 60.0  # a stream that sends nothing this long is closed

    @property
    def jobs_database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def pose_cache_dir(self) -> Path:
        return self.data_dir / "poses"

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        """``SIGNSCRIBE_API_KEYS`` (comma-separated), ``SIGNSCRIBE_API_KEYS_FILE``, ``SIGNSCRIBE_MAX_UPLOAD_MB``,
        ``SIGNSCRIBE_RATE_LIMIT`` (requests a minute), ``SIGNSCRIBE_CORS_ORIGINS`` (comma-separated),
        ``SIGNSCRIBE_DATA_DIR``, ``SIGNSCRIBE_STREAM_IDLE_SECONDS``; ``overrides`` that are not ``None``
        win. A value that is not a valid number raises ``SettingsError`` naming the variable."""
        env = os.environ
        values: dict[str, object] = {
            "api_keys": read_api_keys(env.get("SIGNSCRIBE_API_KEYS"), env.get("SIGNSCRIBE_API_KEYS_FILE")),
            "cors_origins": tuple(o.strip() for o in env.get("SIGNSCRIBE_CORS_ORIGINS", "").split(",") if o.strip()),
        }
        if (text := env.get("SIGNSCRIBE_MAX_UPLOAD_MB")) is not None:
            megabytes = _number("SIGNSCRIBE_MAX_UPLOAD_MB", text, float, 0.01)
            values["max_upload_bytes"] = int(megabytes * 1024 * 1024)
        if (text := env.get("SIGNSCRIBE_RATE_LIMIT")) is not None:
            values["rate_limit_per_minute"] = _number("SIGNSCRIBE_RATE_LIMIT", text, int, 0)
        if (text := env.get("SIGNSCRIBE_STREAM_IDLE_SECONDS")) is not None:
            values["stream_idle_seconds"] = _number("SIGNSCRIBE_STREAM_IDLE_SECONDS", text, float, 1)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]
