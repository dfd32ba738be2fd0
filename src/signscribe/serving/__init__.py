"""The HTTP service: REST recognition and jobs, live WebSocket streams, and a web page."""

from signscribe.serving.app import create_app, serve_forever
from signscribe.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "serve_forever"]
