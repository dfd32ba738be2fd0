"""Rebuild the pictures of the web page in the README and the docs (``docs/images/``): ``page.png``, the
server with its default model, a WLASL clip ("basketball", 65145) uploaded and recognised and the same
clip played by Chromium's fake camera into the live webcam, with its transcript; ``transcribe.png``, a
How2Sign sentence transcribed as a job, its segments under the clip; ``error.png``, an upload that is
no video; ``phone-dark.png``, the page 360 px wide in the dark theme. The pictures show the landmarks
found, not the signers: WLASL's licence (C-UDA) is for computational use, How2Sign's is non-commercial,
and neither is for showing their people.

Needs Debian's Chromium and ``../shared/data``. Run: ``.venv/bin/python scripts/page_screenshot.py``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from signscribe.files import atomic_write
from signscribe.io.encode import write_y4m
from signscribe.serving import ServerSettings, create_app
from signscribe.serving.server import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLIP = DATA / "wlasl" / "clips" / "65145.mp4"
SENTENCE = DATA / "how2sign" / "clips" / "-d5dN54tH2E_0-1-rgb_front.mp4"
CHROMIUM = Path("/usr/bin/chromium")
HIDE_PEOPLE = "#camera, .result video { visibility: hidden; }"  # the landmarks and the results, not the signers


def overview(page: Page, url: str, seconds: float) -> bytes:
    page.goto(url)
    page.wait_for_selector("#model-info:has-text('wlasl100')")
    page.set_input_files("#file-input", str(CLIP))
    page.click("#upload-button")
    page.wait_for_selector("#upload-list .bar", timeout=120_000)
    page.fill("#threshold", "0.1")
    page.dispatch_event("#threshold", "input")
    page.click("#live-start")
    page.wait_for_selector("#live-predictions .bar", timeout=120_000)
    page.wait_for_timeout(seconds * 1000)
    page.add_style_tag(content=HIDE_PEOPLE)
    picture = page.screenshot(full_page=True)
    page.dispatch_event("#live-stop", "click")
    return picture


def transcribed(page: Page, url: str) -> bytes:
    page.goto(url)
    page.wait_for_selector("#model option[value='traduttore16']", state="attached")
    page.select_option("#model", "traduttore16")
    page.select_option("#upload-task", "transcribe")
    page.set_input_files("#file-input", str(SENTENCE))
    page.click("#upload-button")
    page.wait_for_selector(".result.transcript", timeout=180_000)
    page.add_style_tag(content=HIDE_PEOPLE)
    return page.locator("#upload").screenshot()


def refused(page: Page, url: str, folder: Path) -> bytes:
    page.goto(url)
    notes = folder / "notes.mp4"
    notes.write_text("not a video\n" * 10)
    page.set_input_files("#file-input", str(notes))
    page.click("#upload-button")
    page.wait_for_selector("#upload-list .result .error")
    return page.locator("#upload").screenshot()


def phone_dark(page: Page, url: str) -> bytes:
    page.emulate_media(color_scheme="dark")
    page.goto(url)
    page.wait_for_selector("#model-info:has-text('wlasl100')")
    return page.screenshot()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="the folder of the pictures")
    parser.add_argument("--seconds", type=float, default=12.0, help="of live webcam before the first picture")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        camera = write_y4m(CLIP, folder / "camera.y4m", seconds=3.0)
        settings = ServerSettings(data_dir=folder / "server")
        with serve_in_thread(create_app(settings), settings) as url, sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-video-capture={camera}"],
            )  # fmt: skip
            wide = {"viewport": {"width": 1280, "height": 1000}}
            pictures = {
                "page.png": overview(browser.new_page(**wide), url, args.seconds),
                "transcribe.png": transcribed(browser.new_page(**wide), url),
                "error.png": refused(browser.new_page(**wide), url, folder),
                "phone-dark.png": phone_dark(browser.new_page(viewport={"width": 360, "height": 760}), url),
            }
            browser.close()
    for file_name, picture in pictures.items():
        with atomic_write(args.out / file_name) as file:
            file.write(picture)
        print(f"wrote {args.out / file_name} ({len(picture) // 1024} kB)")


if __name__ == "__main__":
    main()
