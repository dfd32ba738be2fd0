"""MediaPipe Holistic for the browser (the npm package ``@mediapipe/holistic``), served by signscribe
itself from ``/static/vendor/holistic/``, never from a CDN: the web page's privacy mode runs it on
the webcam and sends only landmarks.

``signscribe web-assets`` fetches the pinned release from the npm registry, checks it against the
registry's published sha512 integrity, and writes the files the browser loads (the JavaScript, the
wasm, the graph and the complexity-1 pose model: what the Python wheel ships offline too; the
27 MB heavy pose model is left out) into the package's static folder, each atomically.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

from signscribe.errors import SignscribeError
from signscribe.files import atomic_write

HOLISTIC_VERSION = "0.5.1675471629"
TARBALL = f"https://registry.npmjs.org/@mediapipe/holistic/-/holistic-{HOLISTIC_VERSION}.tgz"
INTEGRITY = "sha512-qY+cxtDeSOvVtevrLgnodiwXYaAtPi7dHZtNv/bUCGEjFicAOYtMmrZSqMmbPkTB2+4jLnPF1vgshkAqQRSYAw=="
FILES = (
    "holistic.js",
    "holistic.binarypb",
    "holistic_solution_packed_assets.data",
    "holistic_solution_packed_assets_loader.js",
    "holistic_solution_simd_wasm_bin.data",
    "holistic_solution_simd_wasm_bin.js",
    "holistic_solution_simd_wasm_bin.wasm",
    "holistic_solution_wasm_bin.js",
    "holistic_solution_wasm_bin.wasm",
    "pose_landmark_full.tflite",
)
HOLISTIC_DIR = Path(__file__).parent / "static" / "vendor" / "holistic"


def holistic_installed(folder: Path = HOLISTIC_DIR) -> bool:
    return all((folder / name).is_file() for name in FILES)


def fetch_holistic(folder: Path = HOLISTIC_DIR, tarball: bytes | None = None) -> Path:
    """Download (or take ``tarball``), verify and unpack the browser Holistic into ``folder``."""
    if tarball is None:
        try:
            with urllib.request.urlopen(TARBALL, timeout=120) as response:
                tarball = response.read()
        except OSError as error:
            raise SignscribeError(f"{TARBALL}: the npm registry could not be reached ({error})") from error
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != INTEGRITY:
        raise SignscribeError(f"{TARBALL}: the download does not match the registry's integrity {INTEGRITY}")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in FILES:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise SignscribeError(f"{TARBALL}: has no {name}")
            with atomic_write(folder / name) as file:
                file.write(member.read())
    return folder
