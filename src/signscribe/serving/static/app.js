// signscribe web page: upload a clip, or stream the webcam over the WebSocket described in
// signscribe/serving/stream/__init__.py. Plain JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const FPS = 15;
const HAND_LIMBS = [[0,1],[1,2],[2,3],[3,4],[0,5],[5,6],[6,7],[7,8],[5,9],[9,10],[10,11],[11,12],[9,13],[13,14],
  [14,15],[15,16],[13,17],[0,17],[17,18],[18,19],[19,20]];
const BODY_LIMBS = [[11,12],[11,13],[13,15],[12,14],[14,16],[11,23],[12,24],[23,24],[0,11],[0,12]];

const keyInput = $("api-key");
keyInput.value = localStorage.getItem("signscribe-key") || "";
keyInput.addEventListener("change", () => localStorage.setItem("signscribe-key", keyInput.value));
const authHeaders = () => (keyInput.value ? { "X-API-Key": keyInput.value } : {});

function renderBars(list, predictions, threshold = 0) {
  list.replaceChildren(...predictions.map((p) => {
    const item = document.createElement("li");
    item.className = "bar" + (p.confidence < threshold ? " low" : "");
    const gloss = document.createElement("span");
    gloss.className = "gloss";
    gloss.textContent = p.gloss;
    const track = document.createElement("span");
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = `${Math.round(p.confidence * 100)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${(p.confidence * 100).toFixed(1)}%`;
    item.append(gloss, track, value);
    return item;
  }));
}

function downloadCsv(name, header, rows) {
  const escape = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const text = [header, ...rows].map((row) => row.map(escape).join(",")).join("\n") + "\n";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  link.download = name;
  link.click();
}

// ---- models and the signs they know -------------------------------------------------------
let models = [];
const chosenModel = () => models.find((m) => m.id === $("model").value) || models[0];
const modelQuery = () => (chosenModel() ? `model=${encodeURIComponent(chosenModel().id)}` : "");

function showModel() {
  const model = chosenModel();
  if (!model) return;
  $("model-info").textContent = `model: ${model.id} (${model.num_labels} signs)${model.data ? ` · ${model.data}` : ""}`;
  renderSigns();
  showModes();
}

function renderSigns() {
  const model = chosenModel();
  const query = $("sign-search").value.trim().toLowerCase();
  const shown = model ? model.labels.filter((label) => label.toLowerCase().includes(query)) : [];
  $("signs").replaceChildren(...shown.map((label) => {
    const item = document.createElement("li");
    item.textContent = label;
    return item;
  }));
  $("sign-count").textContent = model ? `${shown.length} of ${model.labels.length} signs` : "";
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models", { headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) { $("model-info").textContent = body.error.message; return; }
    models = body.models;
    $("model").replaceChildren(...models.map((m) => new Option(`${m.id} (${m.num_labels} signs)`, m.id, m.default, m.default)));
    showModel();
  } catch (error) {
    $("model-info").textContent = `server unreachable: ${error}`;
  }
}
loadModels();
keyInput.addEventListener("change", loadModels);
$("model").addEventListener("change", showModel);
$("sign-search").addEventListener("input", renderSigns);

// ---- upload ---------------------------------------------------------------------------------
let uploadRows = [];
$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = $("file-input").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  const request = new XMLHttpRequest();
  const progress = $("upload-progress");
  const status = $("upload-status");
  request.open("POST", `/v1/recognize?top_k=${encodeURIComponent($("upload-top-k").value)}&${modelQuery()}`);
  for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
  progress.hidden = false;
  progress.value = 0;
  status.className = "";
  status.textContent = "uploading…";
  $("upload-button").disabled = true;
  request.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = e.loaded / e.total; };
  request.upload.onload = () => { status.textContent = "recognising…"; progress.removeAttribute("value"); };
  request.onloadend = () => {
    $("upload-button").disabled = false;
    progress.hidden = true;
    let body;
    try { body = JSON.parse(request.responseText); } catch { body = null; }
    if (request.status !== 200 || !body) {
      status.className = "error";
      status.textContent = body && body.error ? body.error.message : `request failed (${request.status})`;
      return;
    }
    const result = body.results[0];
    status.textContent = result.no_gloss
      ? `${result.video}: ${result.no_gloss.message}`
      : `${result.video}: top ${result.predictions.length}`;
    renderBars($("upload-results"), result.predictions);
    uploadRows = result.predictions.map((p) => [result.video, p.rank, p.gloss, p.confidence]);
    $("upload-export").disabled = uploadRows.length === 0; // nothing to export for a clip with no gloss
  };
  request.send(form);
});
$("upload-export").addEventListener("click", () =>
  downloadCsv("signscribe-upload.csv", ["video", "rank", "gloss", "confidence"], uploadRows));

// ---- live webcam ----------------------------------------------------------------------------
const live = { socket: null, stream: null, timer: null, stopSender: null, offline: null, log: [], history: [], started: 0 };
const runtimes = Promise.all([vendorAvailable(HOLISTIC_BASE + "holistic.js"), vendorAvailable(ORT_BASE + "ort.wasm.min.js")]);
const modeLabels = {};

// The modes this server and the chosen model allow: landmarks only needs the browser's Holistic;
// offline needs onnxruntime-web too, and a model that runs in the browser (a landmark model).
async function showModes() {
  const [holistic, onnxRuntime] = await runtimes;
  const model = chosenModel();
  const reasons = {
    landmarks: holistic ? "" : ": run signscribe web-assets on the server",
    offline: !(holistic && onnxRuntime) ? ": run signscribe web-assets on the server"
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
showModes();
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

function showMessage(message) {
  if (message.type === "prediction" && message.attention) drawAttention(message.attention);
  if (message.type === "landmarks") drawOverlay(message);
  else if (message.type === "prediction" && !message.signing) {
    renderBars($("live-predictions"), []);
    $("live-status").textContent = `resting: no sign · frames ${message.frames.processed} processed, ${message.frames.dropped} dropped`;
    recordConfidence(message.t, 0);
  } else if (message.type === "prediction" && message.no_gloss) {
    renderBars($("live-predictions"), message.top_k, threshold()); // the guesses stay in view, the status says why
    $("live-status").textContent = `${message.no_gloss.message} · frames ${message.frames.processed} processed, ${message.frames.dropped} dropped`;
    recordConfidence(message.t, message.top_k[0].confidence);
  } else if (message.type === "prediction") {
    const best = message.top_k[0];
    for (const [rank, p] of message.top_k.entries()) live.log.push([message.t.toFixed(3), rank + 1, p.gloss, p.confidence]);
    $("live-export").disabled = false;
    const shown = best.confidence >= threshold() ? message.top_k : [];
    renderBars($("live-predictions"), shown, threshold());
    const frames = message.frames;
    $("live-status").textContent = best.confidence >= threshold()
      ? `${best.gloss} (${(best.confidence * 100).toFixed(0)}%) · frames ${frames.processed} processed, ${frames.dropped} dropped`
      : `below threshold · frames ${frames.processed} processed, ${frames.dropped} dropped`;
    recordConfidence(message.t, best.confidence);
  } else if (message.type === "error") {
    $("live-status").textContent = `server: ${message.message}`;
  }
}

async function startLive() {
  $("live-start").disabled = true;
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    $("live-status").textContent = `no camera: ${error.message}`;
    $("live-start").disabled = false;
    return;
  }
  const video = $("camera");
  video.srcObject = live.stream;
  await video.play();
  if ($("live-mode").value === "offline") { await startOffline(video); return; }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const key = keyInput.value ? `&api_key=${encodeURIComponent(keyInput.value)}` : "";
  live.socket = new WebSocket(`${scheme}://${location.host}/v1/stream?${modelQuery()}${key}`);
  live.socket.binaryType = "arraybuffer";
  live.socket.onmessage = (event) => showMessage(JSON.parse(event.data));
  live.socket.onclose = (event) => { if (live.socket) $("live-status").textContent = `closed ${event.reason || ""}`; stopLive(); };
  live.socket.onopen = async () => {
    $("live-status").textContent = "streaming…";
    $("live-stop").disabled = false;
    $("bank-add").disabled = $("bank-recognize").disabled = false;
    live.started = performance.now();
    if ($("live-mode").value === "landmarks") {
      $("live-status").textContent = "finding landmarks in this browser…";
      try {
        live.stopSender = await startHolisticLoop(video, live.started, FPS, (message) => {
          if (live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify(message));
        });
      } catch (error) { $("live-status").textContent = `privacy mode: ${error.message}`; }
      return;
    }
    const capture = document.createElement("canvas");
    live.timer = setInterval(() => {
      if (!live.socket || live.socket.readyState !== WebSocket.OPEN || !video.videoWidth) return;
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
    $("live-status").textContent = "finding landmarks and signs in this browser…";
    const stop = await startHolisticLoop(video, live.started, FPS, async (message) => {
      for (const shown of await recognizer.push(message)) if (live.offline === recognizer) showMessage(shown);
    });
    if (live.offline === recognizer) live.stopSender = stop; else stop(); // stopped while Holistic loaded
  } catch (error) {
    $("live-status").textContent = `offline mode: ${error.message}`;
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

// ---- the sign bank: examples recorded from the webcam ---------------------------------------
const BANK_SECONDS = 3;

function renderBank(bank) {
  $("bank-signs").replaceChildren(...Object.entries(bank.signs).map(([gloss, count]) => {
    const item = document.createElement("li");
    item.textContent = `${gloss} (${count} example${count === 1 ? "" : "s"})`;
    return item;
  }));
}

async function loadBank() {
  const response = await fetch("/v1/bank", { headers: authHeaders() });
  if (response.ok) renderBank(await response.json());
}

// A few seconds of the running webcam as a WebM clip.
function recordClip(seconds) {
  return new Promise((resolve, reject) => {
    if (!live.stream) { reject(new Error("start the webcam first")); return; }
    const recorder = new MediaRecorder(live.stream, { mimeType: "video/webm" });
    const chunks = [];
    recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    recorder.onstop = () => resolve(new Blob(chunks, { type: "video/webm" }));
    recorder.onerror = (event) => reject(event.error);
    recorder.start();
    setTimeout(() => recorder.stop(), seconds * 1000);
  });
}

async function bankRequest(path, label) {
  $("bank-add").disabled = $("bank-recognize").disabled = true;
  try {
    $("bank-status").textContent = `recording ${BANK_SECONDS} s…`;
    const clip = await recordClip(BANK_SECONDS);
    $("bank-status").textContent = label;
    const form = new FormData();
    form.append("file", clip, "webcam.webm");
    const response = await fetch(path, { method: "POST", body: form, headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error.message);
    return body;
  } finally {
    $("bank-add").disabled = $("bank-recognize").disabled = !live.stream;
  }
}

$("bank-add").addEventListener("click", async () => {
  const gloss = $("bank-gloss").value.trim();
  if (!gloss) { $("bank-status").textContent = "name the sign first"; return; }
  try {
    const bank = await bankRequest(`/v1/bank/signs?gloss=${encodeURIComponent(gloss)}`, "teaching…");
    renderBank(bank);
    $("bank-status").textContent = `added an example of ${gloss}`;
  } catch (error) { $("bank-status").textContent = `bank: ${error.message}`; }
});

$("bank-recognize").addEventListener("click", async () => {
  try {
    const answer = await bankRequest("/v1/bank/recognize", "comparing…");
    $("bank-status").textContent = `${answer.sign ?? "not a sign I know"} (similarity ${answer.similarity.toFixed(2)})`;
  } catch (error) { $("bank-status").textContent = `bank: ${error.message}`; }
});
loadBank();
keyInput.addEventListener("change", loadBank);

$("live-start").addEventListener("click", startLive);
$("live-stop").addEventListener("click", () => { stopLive(); $("live-status").textContent = "stopped"; });
$("live-export").addEventListener("click", () =>
  downloadCsv("signscribe-live.csv", ["t", "rank", "gloss", "confidence"], live.log));
