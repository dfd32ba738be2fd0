"""Keep MediaPipe's and Ray's native log lines off the user's terminal and the server's log.

MediaPipe's C++ side and the TFLite runtime inside it write notices straight to file descriptor 2,
past Python's logging and any environment switch: absl lines such as ``W0000 00:00:… Feedback manager
requires a model with a single signature inference…`` and ``INFO: Created TensorFlow Lite XNNPACK
delegate for CPU.`` Some come from the graph's own threads after ``process`` has returned, and the
TFLite ones sit in C stdio's buffer until it is flushed, so muting the descriptor around each call
lets them through. Instead, the first graph of a process points descriptor 2 at a pipe whose reader
thread drops those lines and passes everything else on at once, unchanged (any other native message,
errors included). Python's own ``sys.stderr`` (progress bars, tracebacks) is given a direct line to the
real stderr, so that it stays in order with stdout. At exit the buffers are flushed and the real
descriptor comes back.

Ray's driver writes its C++ notices to descriptor 2 too (``[2026-12-06 18:16:50,921 I 25442 25442]
logging.cc:303: ...``): its info and warning lines, and the error-level notice that every pool of
restartable actors gives, are dropped the same way (``cluster.connect`` installs the filter).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import sys
import threading
from typing import TextIO

# Lines that start so are notices of MediaPipe's native code: absl INFO and WARNING lines logged before
# absl is initialised (their date reads 0000) and the TFLite runtime's INFO lines.
NOISE_PREFIXES = (
    b"I0000 ",
    b"W0000 ",
    b"INFO: Created TensorFlow Lite",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
)

# Ray's C++ lines, matched on the whole line (they start with "[" and end with a newline)
NOISE_PATTERNS = (
    re.compile(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [IW] \d+ \d+\] "),
    re.compile(rb"\[[-\d :,]+ E \d+ \d+\] core_worker\.cc:\d+: Actor with class name: .* has constructor arguments"),
)
LONGEST_HELD = 4096  # a line starting with "[" longer than this without a newline passes as it is

_lock = threading.Lock()
_installed: tuple[int, int, threading.Thread] | None = None  # the real stderr, the pipe's write end, the reader
_direct_stderr: TextIO | None = None  # Python's sys.stderr on the real descriptor, while installed


class NoiseFilter:
    """Drops whole lines that start with a ``NOISE_PREFIXES`` entry, or match a ``NOISE_PATTERNS`` one,
    from a byte stream, passing the rest on as soon as it is known not to be one (a progress bar
    redraws without a newline; a line starting with "[" waits for its newline)."""

    def __init__(
        self, prefixes: tuple[bytes, ...] = NOISE_PREFIXES, patterns: tuple[re.Pattern[bytes], ...] = NOISE_PATTERNS
    ) -> None:
        self.prefixes = prefixes
        self.patterns = patterns
        self.pending = b""  # the start of a line that may still turn out to be noise
        self.dropping = False  # inside a noise line, until its newline

    def feed(self, data: bytes) -> bytes:
        """What of ``data`` (with what was held back) can be passed on now."""
        out = bytearray()
        data = self.pending + data
        self.pending = b""
        while data:
            if self.dropping:
                end = data.find(b"\n")
                if end < 0:
                    return bytes(out)
                data, self.dropping = data[end + 1 :], False
                continue
            if any(data.startswith(prefix) for prefix in self.prefixes):
                self.dropping = True
                continue
            if self.patterns and data.startswith(b"["):
                end = data.find(b"\n")
                if end < 0 and len(data) < LONGEST_HELD:
                    self.pending = data  # a whole line is needed to tell
                    return bytes(out)
                line_end = len(data) if end < 0 else end + 1
                if not any(pattern.match(data[:line_end]) for pattern in self.patterns):
                    out += data[:line_end]
                data = data[line_end:]
                continue
            if b"\n" not in data and any(prefix.startswith(data) for prefix in self.prefixes):
                self.pending = data  # too short to tell yet
                return bytes(out)
            end = data.find(b"\n")
            line_end = len(data) if end < 0 else end + 1
            out += data[:line_end]
            data = data[line_end:]
        return bytes(out)

    def flush(self) -> bytes:
        """What was held back, at the end of the stream."""
        held, self.pending = self.pending, b""
        return b"" if self.dropping else held


def _forward(read_end: int, real_stderr: int) -> None:
    noise = NoiseFilter()
    while data := os.read(read_end, 65536):
        if passed := noise.feed(data):
            os.write(real_stderr, passed)
    if held := noise.flush():
        os.write(real_stderr, held)
    os.close(read_end)


def filter_native_stderr() -> None:
    """Route descriptor 2 through the noise filter, once per process (later calls do nothing)."""
    global _installed
    with _lock:
        if _installed is not None:
            return
        try:
            sys.stderr.flush()
            real_stderr = os.dup(2)
            read_end, write_end = os.pipe()
            os.dup2(write_end, 2)
        except (OSError, ValueError, AttributeError):  # no descriptor 2 to filter (a detached process)
            return
        reader = threading.Thread(target=_forward, args=(read_end, real_stderr), name="native-stderr", daemon=True)
        reader.start()
        _installed = (real_stderr, write_end, reader)
        atexit.register(restore_native_stderr)
        _give_python_a_direct_line(real_stderr)


def _give_python_a_direct_line(real_stderr: int) -> None:
    """Point ``sys.stderr`` at the real descriptor when it is the interpreter's own (not a test's capture)."""
    global _direct_stderr
    original = sys.__stderr__
    if original is None or sys.stderr is not original:
        return
    _direct_stderr = os.fdopen(
        os.dup(real_stderr), "w", buffering=1, encoding=original.encoding, errors=original.errors
    )
    sys.stderr = _direct_stderr


def restore_native_stderr() -> None:
    """Flush what is buffered through the filter and give descriptor 2 back its real target."""
    global _installed
    with _lock:
        if _installed is None:
            return
        real_stderr, write_end, reader = _installed
        _installed = None
        global _direct_stderr
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()
        if _direct_stderr is not None and sys.stderr is _direct_stderr:
            sys.stderr = sys.__stderr__
            _direct_stderr.close()
        _direct_stderr = None
        ctypes.CDLL(None).fflush(None)  # TFLite's notices wait in C stdio's buffer
        os.dup2(real_stderr, 2)
        os.close(write_end)  # the reader sees the end of the pipe once descriptor 2 no longer holds it
        reader.join(timeout=5)
        os.close(real_stderr)
