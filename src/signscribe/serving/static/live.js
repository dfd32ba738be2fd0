// The live webcam: frames or landmarks over the WebSocket, or the model run in the page (offline).
"use strict";

// paused: the stream sends nothing while the server teaches the bank (both would share its CPU, and
// the stream would drop most of its frames)
const live = { socket: null, stream: null, timer: null, stopSender: null, offline: null, log: [], history: [], started: 0,
  paused: false };
const transcript = new LiveTranscript();
const SLOW_FPS = 8; // fewer frames a second than this reaching the model is too few to recognise signs
const runtimes = Promise.all([HOLISTIC_BASE + "holistic.js", HANDS_BASE + "hands.js", ORT_BASE + "ort.wasm.min.js"]
  .map(vendorAvailable));
const spellsHands = (model) => Boolean(model && model.input_kind === "hand"); // a hand-shape model: fingerspelling
const modeLabels = {};

// The modes this server and the chosen model allow: landmarks only needs the browser's Holistic (Hands
// for a hand-shape model); offline needs onnxruntime-web too, and a model that runs in the browser.
// A hand-shape model also shows the fingerspelling panel.
async function showModes() {
  const [holistic, hands, onnxRuntime] = await runtimes;
  const model = chosenModel();
  $("spelling").hidden = !spellsHands(model);
  if (spellsHands(model)) {
    const sets = [...Object.keys(model.label_sets || {}), "all"];
    $("spelling-labels").replaceChildren(...sets.map((name) => new Option(name, name, false, name === model.spelling.labels)));
  }
  const finder = spellsHands(model) ? hands : holistic;
  const reasons = {
    landmarks: finder ? "" : ": run signscribe web-assets on the server",
    offline: !(finder && onnxRuntime) ? ": run signscribe web-assets on the server"
      : model && !model.runs_in_browser ? ": this model does not run in the browser" : "",
  };
  for (const [mode, reason] of Object.entries(reasons)) {
    const option = $("live-mode").querySelector(`option[value=${mode}]`);
    modeLabels[mode] ??= option.textContent;
    option.disabled = Boolean(reason);
    option.textContent = modeLabels[mode] + reason;
    if (option.disabled && option.selected) $("live-mode").value = "video";
  }
}
document.addEventListener("DOMContentLoaded", showModes);
const threshold = () => Number($("threshold").value);
$("threshold").addEventListener("input", () => { $("threshold-value").value = threshold().toFixed(2); drawTimeline(); });

function drawOverlay(message) {
  const canvas = $("overlay");
  const video = $("camera");
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const draw = (points, limbs, colour) => {
    if (!points) return;
    context.strokeStyle = colour;
    context.fillStyle = colour;
    context.lineWidth = 2;
    for (const [a, b] of limbs) {
      if (!points[a] || !points[b]) continue;
      context.beginPath();
      context.moveTo(points[a][0] * canvas.width, points[a][1] * canvas.height);
      context.lineTo(points[b][0] * canvas.width, points[b][1] * canvas.height);
      context.stroke();
    }
    for (const [x, y] of points) context.fillRect(x * canvas.width - 2, y * canvas.height - 2, 4, 4);
  };
  draw(message.pose, BODY_LIMBS, "#f4b400");
  draw(message.left_hand, HAND_LIMBS, "#34a853");
  draw(message.right_hand, HAND_LIMBS, "#4285f4");
}

function drawTimeline() {
  const canvas = $("timeline");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const span = 30;
  const now = live.history.length ? live.history[live.history.length - 1].t : 0;
  const x = (t) => canvas.width * (1 - (now - t) / span);
  const y = (c) => canvas.height * (1 - c);
  context.strokeStyle = "#b3261e";
  context.setLineDash([4, 4]);
  context.beginPath();
  context.moveTo(0, y(threshold()));
  context.lineTo(canvas.width, y(threshold()));
  context.stroke();
  context.setLineDash([]);
  context.strokeStyle = "#3b7dd8";
  context.beginPath();
  live.history.filter((h) => now - h.t <= span).forEach((h, i) => {
    if (i === 0) context.moveTo(x(h.t), y(h.confidence)); else context.lineTo(x(h.t), y(h.confidence));
  });
  context.stroke();
}

// The top-1 confidence over time (0 while the signer rests), the last 2000 predictions.
function recordConfidence(t, confidence) {
  live.history.push({ t, confidence });
  if (live.history.length > 2000) live.history.shift();
  drawTimeline();
}

// The model's attention over the current window (models with attention pooling), a cell per row
// of the window, oldest on the left, darker where the model looked more.
function drawAttention(weights) {
  const canvas = $("live-attention");
  canvas.hidden = false;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const peak = Math.max(...weights, 1e-9);
  const width = canvas.width / weights.length;
  weights.forEach((weight, i) => {
    context.fillStyle = `rgba(139, 30, 63, ${(0.08 + 0.92 * weight / peak).toFixed(3)})`;
    context.fillRect(i * width, 0, Math.ceil(width), canvas.height);
  });
}

// The frames a second that reach the model, and a warning when they are too few to recognise signs.
function showRate(message) {
  const seconds = (performance.now() - live.started) / 1000;
  const rate = message.frames.processed / Math.max(seconds, 1e-3);
  const slow = seconds > 5 && rate < SLOW_FPS;
  $("live-rate").className = slow ? "hint warning" : "hint";
  $("live-rate").textContent = `${rate.toFixed(1)} frames a second reach the model (${message.frames.dropped} dropped)`
    + (slow ? `: too few to recognise signs well (${SLOW_FPS} or more are needed); close other tabs or programs,`
      + " or send video frames to the server" : "");
}

// The transcript takes a gloss when it is the confident top guess of a signing window.
function addToTranscript(message) {
  const best = message.signing && !message.no_gloss ? message.top_k[0] : null;
  const last = () => transcript.entries[transcript.entries.length - 1];
  const before = `${transcript.entries.length} ${last()?.end}`;
  const settled = transcript.push(message.t, best && best.confidence >= threshold() ? best.gloss : null,
    best ? best.confidence : 0);
  if (`${transcript.entries.length} ${last()?.end}` === before) return; // nothing settled or grew: nothing to draw
  renderSegments($("live-transcript"), transcript.entries);
  if (settled) $("announcer").textContent = settled.gloss; // announced once, when it settles
  for (const id of ["transcript-copy", "transcript-export", "transcript-clear"]) $(id).disabled = !transcript.entries.length;
}

// The fingerspelling panel: the newest frame's letter, the word being spelled, the words spelled
// (each announced once, when it is done).
function showSpelling(spelling) {
  $("spelling-letter").textContent = spelling.letter ?? "–";
  $("spelling-word").textContent = spelling.word;
  const shown = [...$("spelling-history").children].map((item) => item.textContent);
  if (shown.join(" ") === spelling.words.join(" ")) return;
  $("spelling-history").replaceChildren(...spelling.words.map((word) => {
    const item = document.createElement("li");
    item.textContent = word;
    return item;
  }));
  if (spelling.words.length) $("announcer").textContent = spelling.words[spelling.words.length - 1];
}

// The label set the speller ranks (letters, digits, all): to the server's stream, or the page's speller.
function sendSpellingLabels() {
  const labels = $("spelling-labels").value;
  if (live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({ type: "config", labels }));
  if (live.offline && live.offline.useLabels) live.offline.useLabels(labels);
}
$("spelling-labels").addEventListener("change", sendSpellingLabels);

function showMessage(message) {
  if (message.type === "prediction") showRate(message);
  if (message.spelling) showSpelling(message.spelling); // letters, not signs: the sign transcript is not theirs
  else if (message.type === "prediction") addToTranscript(message);
  if (message.type === "prediction" && message.attention) drawAttention(message.attention);
  if (message.type === "landmarks") drawOverlay(message);
  else if (message.type === "prediction" && !message.signing) {
    renderBars($("live-predictions"), []);
    $("live-status").textContent = "resting: no sign";
    recordConfidence(message.t, 0);
  } else if (message.type === "prediction" && message.no_gloss) {
    renderBars($("live-predictions"), message.top_k, threshold()); // the guesses stay in view, the status says why
    $("live-status").textContent = message.no_gloss.message;
    recordConfidence(message.t, message.top_k[0].confidence);
  } else if (message.type === "prediction") {
    const best = message.top_k[0];
    for (const [rank, p] of message.top_k.entries()) live.log.push([message.t.toFixed(3), rank + 1, p.gloss, p.confidence]);
    $("live-export").disabled = false;
    const shown = best.confidence >= threshold() ? message.top_k : [];
    renderBars($("live-predictions"), shown, threshold());
    $("live-status").textContent = best.confidence >= threshold()
      ? `${best.gloss} (${(best.confidence * 100).toFixed(0)}%)` : "below the threshold";
    recordConfidence(message.t, best.confidence);
  } else if (message.type === "error") {
    showStatus($("live-status"), `server: ${message.message}`, "error");
  }
}

async function startLive() {
  $("live-start").disabled = true;
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    showStatus($("live-status"), `no camera: ${error.message}. Allow this page to use the camera (the icon in the`
      + " address bar), check that no other program holds it, or upload a video instead.", "error");
    $("live-start").disabled = false;
    return;
  }
  showStatus($("live-status"), "starting…");
  live.started = performance.now();
  const video = $("camera");
  video.srcObject = live.stream;
  await video.play();
  if ($("live-mode").value === "offline") { await startOffline(video); return; }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const key = keyInput.value ? `&api_key=${encodeURIComponent(keyInput.value)}` : "";
  live.socket = new WebSocket(`${scheme}://${location.host}/v1/stream?${modelQuery()}${key}`);
  live.socket.binaryType = "arraybuffer";
  live.socket.onmessage = (event) => showMessage(JSON.parse(event.data));
  live.socket.onclose = (event) => {
    if (live.socket) showStatus($("live-status"), `the stream closed${event.reason ? `: ${event.reason}` : ""}`, "error");
    stopLive();
  };
  live.socket.onopen = async () => {
    $("live-status").textContent = "streaming…";
    $("live-stop").disabled = false;
    $("bank-add").disabled = $("bank-recognize").disabled = false;
    live.started = performance.now();
    if (spellsHands(chosenModel())) sendSpellingLabels();
    if ($("live-mode").value === "landmarks") {
      $("live-status").textContent = "finding landmarks in this browser…";
      try {
        live.stopSender = await startLandmarkLoop(video, live.started, FPS, (message) => {
          if (live.socket && live.socket.readyState === WebSocket.OPEN && !live.paused) live.socket.send(JSON.stringify(message));
        }, spellsHands(chosenModel()));
      } catch (error) { showStatus($("live-status"), `privacy mode: ${error.message}`, "error"); }
      return;
    }
    const capture = document.createElement("canvas");
    live.timer = setInterval(() => {
      if (!live.socket || live.socket.readyState !== WebSocket.OPEN || !video.videoWidth || live.paused) return;
      if (live.socket.bufferedAmount > 1 << 20) return; // the network is behind: skip this frame
      capture.width = video.videoWidth;
      capture.height = video.videoHeight;
      capture.getContext("2d").drawImage(video, 0, 0);
      const t = (performance.now() - live.started) / 1000;
      capture.toBlob(async (blob) => {
        if (!blob || !live.socket || live.socket.readyState !== WebSocket.OPEN) return;
        const jpeg = new Uint8Array(await blob.arrayBuffer());
        const message = new Uint8Array(8 + jpeg.length);
        new DataView(message.buffer).setFloat64(0, t, true);
        message.set(jpeg, 8);
        live.socket.send(message);
      }, "image/jpeg", 0.75);
    }, 1000 / FPS);
  };
}

// Offline: the model and MediaPipe both run in this page, and no connection is opened.
async function startOffline(video) {
  $("live-stop").disabled = false;
  live.started = performance.now();
  try {
    $("live-status").textContent = "loading the model into this browser…";
    const recognizer = await OfflineRecognizer.create(chosenModel(), authHeaders());
    if (!live.stream) { recognizer.close(); return; } // stopped while the model loaded
    live.offline = recognizer;
    if (spellsHands(chosenModel())) sendSpellingLabels();
    $("live-status").textContent = "finding landmarks and signs in this browser…";
    const stop = await startLandmarkLoop(video, live.started, FPS, async (message) => {
      for (const shown of await recognizer.push(message)) if (live.offline === recognizer) showMessage(shown);
    }, spellsHands(chosenModel()));
    if (live.offline === recognizer) live.stopSender = stop; else stop(); // stopped while Holistic loaded
  } catch (error) {
    showStatus($("live-status"), `offline mode: ${error.message}`, "error");
  }
}

function stopLive() {
  clearInterval(live.timer);
  if (live.stopSender) live.stopSender();
  live.stopSender = null;
  if (live.offline) live.offline.close();
  live.offline = null;
  const socket = live.socket;
  live.socket = null;
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  if (live.stream) live.stream.getTracks().forEach((track) => track.stop());
  live.stream = null;
  $("live-start").disabled = false;
  $("live-stop").disabled = true;
  $("bank-add").disabled = $("bank-recognize").disabled = true;
}

$("live-start").addEventListener("click", startLive);
$("live-stop").addEventListener("click", () => { stopLive(); showStatus($("live-status"), "stopped"); });
$("live-export").addEventListener("click", () =>
  downloadCsv("signscribe-live.csv", ["t", "rank", "gloss", "confidence"], live.log));

function transcriptText(format) {
  const entries = transcript.entries;
  if (format === "srt" || format === "vtt") return subtitles(entries, format);
  if (format === "csv") {
    return ["start,end,gloss,confidence", ...entries.map((e) => `${e.start.toFixed(2)},${e.end.toFixed(2)},`
      + `"${e.gloss.replaceAll('"', '""')}",${e.confidence.toFixed(4)}`)].join("\n") + "\n";
  }
  return entries.map((e) => `${formatTime(e.start)} ${e.gloss}`).join("\n") + "\n";
}
const TRANSCRIPT_TYPES = { txt: "text/plain", csv: "text/csv", srt: "application/x-subrip", vtt: "text/vtt" };
$("transcript-copy").addEventListener("click", async () => {
  await navigator.clipboard.writeText(transcriptText("txt"));
  $("announcer").textContent = "transcript copied";
});
$("transcript-export").addEventListener("click", () => {
  const format = $("transcript-format").value;
  downloadText(`signscribe-transcript.${format}`, transcriptText(format), TRANSCRIPT_TYPES[format]);
});
$("transcript-clear").addEventListener("click", () => {
  transcript.clear();
  renderSegments($("live-transcript"), []);
  for (const id of ["transcript-copy", "transcript-export", "transcript-clear"]) $(id).disabled = true;
});

// Keys: s starts and stops the webcam, c copies the transcript (r, the bank's, is in bank.js).
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "s") (live.stream ? $("live-stop") : $("live-start")).click();
  if (event.key === "c" && !$("transcript-copy").disabled) $("transcript-copy").click();
});
