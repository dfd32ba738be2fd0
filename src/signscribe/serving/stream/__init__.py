"""Live recognition over a WebSocket (``/v1/stream``): ``route.py`` accepts a connection and runs the
session of the model's input kind, a sliding window of landmarks (pose models, ``LandmarkSession`` in
``session.py``), of video frames (RGB models, ``VideoSession`` in ``video.py``), or live
fingerspelling (hand-shape models, ``SpellingSession`` in ``spelling.py``); ``messages.py``
validates what clients send and ``slots.py`` bounds the streams and lends MediaPipe graphs.

Message schema (version 1), all JSON text unless said otherwise.

Client to server:

* ``{"type": "config", "top_k": 5, "rate": 15}``: optional; ``top_k`` 1-50, ``rate`` predictions a
  second at most (above 0, at most 60); for a hand-shape model, ``"labels"``: the label set it spells
  among (``letters``, the default, ``digits``, or ``all``; other models answer ``bad_message``).
* A frame, either binary (8-byte little-endian float64 timestamp in seconds, then JPEG, PNG or WebP
  bytes) or ``{"type": "frame", "t": 1.25, "jpeg": "<base64>"}``. Its size is read from the image
  header first: above ``stream_max_frame_pixels`` (3840x2160 by default) it is refused undecoded.
  A signer small in the frame (sitting back from a 720p webcam) is found as the video extractor finds
  one: once the body has been missed in a run of frames, the server looks in zoomed windows of the
  frame and follows a crop around the person (``signscribe.pose.signer_search.SignerFraming``).
* Landmarks from a client that runs MediaPipe itself: ``{"type": "landmarks", "t": 1.25,
  "width": 640, "height": 480, "pose": [[x, y, z, visibility] x 33] | null, "left_hand":
  [[x, y, z] x 21] | null, "right_hand": ... | null}`` with MediaPipe's normalised x, y (every value
  within ±10, else ``bad_landmarks``).
* A frame stamped before the last one processed (a client whose clock starts again) starts afresh:
  the window and the prediction rate forget what came before.
* The rate holds a prediction back, never loses it: when no newer frame comes within ``1 / rate``
  seconds (a client that stopped sending, a signer who paused), the held one is sent, so the last
  frame a client sends always gets its prediction.

Server to client:

* ``{"type": "ready", "schema": 1, "model": ..., "input": "landmarks" | "frames" | "hand", "labels": [...],
  "window_frames": N, "top_k": K}``
* ``{"type": "landmarks", "t": ..., "pose": [[x, y] x 33] | null, "left_hand": ..., "right_hand": ...}``
  (normalised 0-1 image coordinates, for drawing an overlay) for every processed frame, with a
  landmark model. An RGB model reads images only (a ``landmarks`` message gets ``bad_message``).
* ``{"type": "prediction", "t": ..., "window": {"start": t0, "end": t1, "frames": n}, "signing": bool,
  "top_k": [{"gloss": ..., "confidence": ...}], "frames": {"received": r, "processed": p, "dropped": d},
  "processing_ms": ms}``: ``t`` is the newest frame the prediction includes; while the signer rests
  (no hand raised, see ``signscribe.pose.activity``) ``signing`` is false and ``top_k`` empty; an
  RGB model has no such detector and is always ``signing``. When the best gloss is below the model's
  calibrated ``rejection`` confidence, ``"no_gloss": {"code": "unknown_sign", "message": ...}`` says the
  sign is not one the model knows (``top_k`` stays, for display). A model with attention pooling adds
  ``"attention": [w, ...]``, its weights over the window's frames, oldest first (they sum to 1).
  A hand-shape model (``fingerspelling``) reads every frame: its window is the ``window_seconds``
  before it (0.4, in ``ready``, whose ``window_frames`` is then the most frames the model reads),
  ``signing`` says a hand is found in the newest frame, ``top_k`` ranks its letters, and
  ``"spelling": {"letter": "C" | null, "confidence": c, "word": "CA", "letters": [{"letter",
  "start", "end", "confidence"}], "words": ["HELLO"], "text": "HELLO CA"}`` gives the newest
  frame's letter (null below ``min_confidence``), the word being spelled and its letters, and the
  words spelled before it, oldest first (``signscribe.inference.spelling``: hold, repeat and word
  rules).
* ``{"type": "error", "code": ..., "message": ...}``: a bad message (``bad_json``, ``bad_message``,
  ``bad_frame``, ``bad_landmarks``, ``too_large``, ``frame_too_large``, ``frame_failed``); the stream
  goes on. Every message is validated by the pydantic models of ``messages.py``: numbers must be
  numbers and finite (no NaN, no Infinity), so every number the server sends back is finite too.

Close codes (see ``route.py``): 4401 no valid API key, 4403 a page of another origin, 4404 unknown
model, 4422 a model that cannot stream (a video language model, or an input kind with no live
session), 4429 rate limited, 1013 every stream slot taken or the caller's share of them (try again
later), 4408 idle for ``stream_idle_seconds``, 1011 the stream failed inside the server.

Frames are processed one at a time. When a new frame arrives before the previous one is
processed, the older one is dropped and counted, so a slow server falls behind by dropping
frames, never by queueing them: memory per connection is one pending frame plus the window.
"""
