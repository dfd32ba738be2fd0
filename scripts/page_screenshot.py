"""Rebuild ``docs/images/page.png``, the picture of the web page in the README and the docs: the server
with its default model, a WLASL clip ("basketball", 65145) uploaded and recognised, and the same clip
played by Chromium's fake camera into the live webcam. The picture shows the landmarks the server
found, not the signer: WLASL's licence (C-UDA) is for computational use, not for showing its videos.

Needs Debian's Chromium and ``../shared/data``. Run: ``.venv/bin/python scripts/page_screenshot.py``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from signscribe.files import atomic_write
from signscribe.io.encode import write_y4m
from signscribe.serving import ServerSettings, create_app
from signscribe.serving.server import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "wlasl" / "clips" / "65145.mp4"
CHROMIUM = Path("/usr/bin/chromium")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "page.png")
    parser.add_argument("--seconds", type=float, default=8.0, help="of live webcam before the picture")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        camera = write_y4m(CLIP, Path(folder) / "camera.y4m", seconds=3.0)
        settings = ServerSettings(data_dir=Path(folder) / "server")
        with serve_in_thread(create_app(settings), settings) as url, sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-video-capture={camera}"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#model-info:has-text('wlasl100')")
            page.set_input_files("#file-input", str(CLIP))
            page.click("#upload-button")
            page.wait_for_selector("#upload-results .bar", timeout=120_000)
            page.click("#live-start")
            page.wait_for_selector("#live-predictions .bar", timeout=120_000)
            page.wait_for_timeout(args.seconds * 1000)
            page.add_style_tag(content="#camera { visibility: hidden; }")  # the landmarks, not the signer
            picture = page.screenshot(full_page=True)
            browser.close()
    with atomic_write(args.out) as file:
        file.write(picture)
    print(f"wrote {args.out} ({len(picture) // 1024} kB)")


if __name__ == "__main__":
    main()
