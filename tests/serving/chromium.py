"""Debian's Chromium driven by Playwright, for the web page's tests: a fake webcam that plays a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from signscribe.serving import ServerSettings, create_app
from signscribe.serving.server import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


def chromium_with_camera(camera_file: Path) -> Iterator:
    """A headless Chromium whose webcam plays ``camera_file`` (a ``.y4m``, looped) and that allows
    the camera without asking."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera_file}",
            ],
        )
        yield browser
        browser.close()


def serve_page(settings: ServerSettings) -> Iterator[str]:
    """The page's server as ``signscribe serve`` runs it (its uvicorn config), in a thread."""
    with serve_in_thread(create_app(settings), settings) as url:
        yield url
