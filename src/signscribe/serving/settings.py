"""Server settings, from arguments or environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from signscribe.errors import InputFileError


def default_data_dir() -> Path:
    """``$SIGNSCRIBE_DATA_DIR``, else ``$XDG_DATA_HOME/signscribe``, else ``~/.local/share/signscribe``."""
    if configured := os.environ.get("SIGNSCRIBE_DATA_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "signscribe"


def read_api_keys(text: str | None, file: str | None) -> frozenset[str]:
    """Keys from a comma-separated string and/or a file with one key a line (``#`` comments)."""
    keys = {key.strip() for key in (text or "").split(",") if key.strip()}
    if file:
        path = Path(file)
        if not path.is_file():
            raise InputFileError(path, "API key file not found")
        lines = path.read_text(encoding="utf-8").splitlines()
        keys |= {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}
    return frozenset(keys)


@dataclass
class ServerSettings:
    """Everything the app needs; ``from_env`` fills it from ``SIGNSCRIBE_*`` variables."""

    model: str | None = None  # model folder or hub id; None = the default model
    data_dir: Path = field(default_factory=default_data_dir)  # jobs database and uploads
    api_keys: frozenset[str] = frozenset()  # empty: no key needed
    max_upload_bytes: int = 100 * 1024 * 1024
    rate_limit_per_minute: int = 120  # per API key, or per client address without keys; 0 = unlimited
    cors_origins: tuple[str, ...] = ()
    top_k: int = 5
    stream_window_frames: int | None = None  # default: the model's training length
    stream_min_frames: int = 8
    stream_prediction_rate: float = 15.0  # predictions a second at most, per stream
    stream_max_message_bytes: int = 2 * 1024 * 1024
    stream_max_connections: int = 8  # each live stream holds a MediaPipe graph (about 150-300 MB)

    @property
    def jobs_database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        """``SIGNSCRIBE_API_KEYS`` (comma-separated), ``SIGNSCRIBE_API_KEYS_FILE``, ``SIGNSCRIBE_MAX_UPLOAD_MB``,
        ``SIGNSCRIBE_RATE_LIMIT`` (requests a minute), ``SIGNSCRIBE_CORS_ORIGINS`` (comma-separated),
        ``SIGNSCRIBE_DATA_DIR``; ``overrides`` that are not ``None`` win."""
        env = os.environ
        values: dict[str, object] = {
            "api_keys": read_api_keys(env.get("SIGNSCRIBE_API_KEYS"), env.get("SIGNSCRIBE_API_KEYS_FILE")),
            "cors_origins": tuple(o.strip() for o in env.get("SIGNSCRIBE_CORS_ORIGINS", "").split(",") if o.strip()),
        }
        if "SIGNSCRIBE_MAX_UPLOAD_MB" in env:
            values["max_upload_bytes"] = int(float(env["SIGNSCRIBE_MAX_UPLOAD_MB"]) * 1024 * 1024)
        if "SIGNSCRIBE_RATE_LIMIT" in env:
            values["rate_limit_per_minute"] = int(env["SIGNSCRIBE_RATE_LIMIT"])
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]
