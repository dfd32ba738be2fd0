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
