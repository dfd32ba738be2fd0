"""The browser's own runtimes, served by signscribe itself from ``/static/vendor/``, never from a CDN:

* MediaPipe Holistic (the npm package ``@mediapipe/holistic``): the web page's privacy modes find
  landmarks on the webcam in the browser;
* MediaPipe Hands (``@mediapipe/hands``): the same for a hand-shape model (live fingerspelling),
  which needs the hands only, also when no body is in view;
* onnxruntime-web (the npm package ``onnxruntime-web``, its single-file WebAssembly build): the
  fully offline mode also runs the landmark model there, so nothing leaves the device.

``signscribe web-assets`` fetches the pinned releases from the npm registry, checks each against
the registry's published sha512 integrity, and writes the files the browser loads into the
package's static folder, each atomically. Holistic brings its JavaScript, wasm, graph and the
complexity-1 pose model (what the Python wheel ships offline too; the 27 MB heavy pose model is left
out); Hands the same with its full hand model (npm's release is older than the wheel's: the hand
model differs in its bytes, not in its points); onnxruntime-web its plain WebAssembly build (the
WebGPU, WebGL and JSPI builds are left out).
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from signscribe.errors import SignscribeError
from signscribe.files import atomic_write

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class NpmPackage:
    """A pinned npm release and the files of it the browser needs (paths inside ``package/``)."""

    name: str
    version: str
    integrity: str
    files: tuple[str, ...]
    folder: str  # under /static/vendor/

    @property
    def tarball(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"

    def installed(self, vendor: Path = VENDOR_DIR) -> bool:
        return all((vendor / self.folder / Path(name).name).is_file() for name in self.files)

    def fetch(self, vendor: Path = VENDOR_DIR, tarball: bytes | None = None) -> Path:
        """Download (or take ``tarball``), verify and unpack the files into ``vendor/folder``."""
        if tarball is None:
            try:
                with urllib.request.urlopen(self.tarball, timeout=300) as response:
                    tarball = response.read()
            except OSError as error:
                raise SignscribeError(f"{self.tarball}: the npm registry could not be reached ({error})") from error
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        if digest != self.integrity:
            raise SignscribeError(
                f"{self.tarball}: the download does not match the registry's integrity {self.integrity}"
            )
        folder = vendor / self.folder
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in self.files:
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    raise SignscribeError(f"{self.tarball}: has no {name}")
                with atomic_write(folder / Path(name).name) as file:
                    file.write(member.read())
        return folder


HOLISTIC = NpmPackage(
    name="@mediapipe/holistic",
    version="0.5.1675471629",
    integrity="sha512-qY+cxtDeSOvVtevrLgnodiwXYaAtPi7dHZtNv/bUCGEjFicAOYtMmrZSqMmbPkTB2+4jLnPF1vgshkAqQRSYAw==",
    files=(
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
    ),
    folder="holistic",
)
HANDS = NpmPackage(
    name="@mediapipe/hands",
    version="0.4.1675469240",
    integrity="sha512-GxoZvL1mmhJxFxjuyj7vnC++JIuInGznHBin5c7ZSq/RbcnGyfEcJrkM/bMu5K1Mz/2Ko+vEX6/+wewmEHPrHg==",
    files=(
        "hands.js",
        "hands.binarypb",
        "hands_solution_packed_assets.data",
        "hands_solution_packed_assets_loader.js",
        "hands_solution_simd_wasm_bin.data",
        "hands_solution_simd_wasm_bin.js",
        "hands_solution_simd_wasm_bin.wasm",
        "hands_solution_wasm_bin.js",
        "hands_solution_wasm_bin.wasm",
        "hand_landmark_full.tflite",
    ),
    folder="hands",
)
ONNXRUNTIME_WEB = NpmPackage(
    name="onnxruntime-web",
    version="1.30.0",
    integrity="sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==",
    files=("dist/ort.wasm.min.js", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm"),
    folder="onnxruntime",
)
PACKAGES = (HOLISTIC, HANDS, ONNXRUNTIME_WEB)
