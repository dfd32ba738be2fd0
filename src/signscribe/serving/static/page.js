// signscribe web page, the helpers every part shares (plain JavaScript, no build step; the parts are
// models.js, upload.js, live.js over the WebSocket described in signscribe/serving/stream/__init__.py,
// and bank.js).
"use strict";

const $ = (id) => document.getElementById(id);
const FPS = 15;
const HAND_LIMBS = [[0,1],[1,2],[2,3],[3,4],[0,5],[5,6],[6,7],[7,8],[5,9],[9,10],[10,11],[11,12],[9,13],[13,14],
  [14,15],[15,16],[13,17],[0,17],[17,18],[18,19],[19,20]];
const BODY_LIMBS = [[11,12],[11,13],[13,15],[12,14],[14,16],[11,23],[12,24],[23,24],[0,11],[0,12]];

const keyInput = $("api-key");
keyInput.value = localStorage.getItem("signscribe-key") || "";
const authHeaders = () => (keyInput.value ? { "X-API-Key": keyInput.value } : {});
// The key applies as it is typed (once typing pauses): the parts that need it listen for "key".
let keyTimer = null;
keyInput.addEventListener("input", () => {
  clearTimeout(keyTimer);
  keyTimer = setTimeout(() => {
    localStorage.setItem("signscribe-key", keyInput.value);
    document.dispatchEvent(new Event("key"));
  }, 400);
});

// A failed request's answer as a person should read it: what went wrong, and what to do.
function explainFailure(status, body) {
  const error = body && body.error;
  if (status === 401 || status === 403) {
    return keyInput.value ? "the server does not accept this API key: check the API key field at the top"
      : "this server needs an API key: enter it in the API key field at the top";
  }
  if (status === 429) return `${error ? error.message : "too many requests"}; wait a moment and try again`;
  if (status === 0) return "the server cannot be reached";
  return error ? error.message : `the request failed (HTTP ${status})`;
}

// A status line: plain, or an error (styled, and announced at once).
function showStatus(element, text, kind = "") {
  element.className = kind;
  element.setAttribute("role", kind === "error" ? "alert" : "status");
  element.textContent = text;
}

// Where to look when a sign is none the model knows: its signs, the other models, the sign bank.
function signHints() {
  const hints = document.createElement("span");
  const link = (target, text) => Object.assign(document.createElement("a"), { href: `#${target}`, textContent: text });
  hints.append("Look in ", link("signs-section", "the signs it knows"), ", pick another ",
    link("model", "model"), ", or teach the sign to ", link("bank-title", "the sign bank"), ".");
  return hints;
}

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

function downloadText(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.click();
}

function downloadCsv(name, header, rows) {
  const escape = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  downloadText(name, [header, ...rows].map((row) => row.map(escape).join(",")).join("\n") + "\n", "text/csv");
}
