// The sign bank: examples recorded from the webcam after a countdown, its signs (each can be
// deleted), and whether it is shared (without an API key, every visitor uses the same bank).
"use strict";

const BANK_SECONDS = 3;
const COUNTDOWN = 3;

function renderBank(bank) {
  $("bank-shared").hidden = !bank.shared;
  $("bank-signs").replaceChildren(...Object.entries(bank.signs).map(([gloss, count]) => {
    const item = document.createElement("li");
    item.append(`${gloss} (${count} example${count === 1 ? "" : "s"}) `);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `delete the sign ${gloss}`);
    remove.addEventListener("click", () => deleteSign(gloss));
    item.append(remove);
    return item;
  }));
}

async function loadBank() {
  const response = await fetch("/v1/bank", { headers: authHeaders() });
  if (response.ok) renderBank(await response.json());
}

async function deleteSign(gloss) {
  const response = await fetch(`/v1/bank/signs/${encodeURIComponent(gloss)}`, { method: "DELETE", headers: authHeaders() });
  const body = await response.json();
  if (!response.ok) { showStatus($("bank-status"), `bank: ${explainFailure(response.status, body)}`, "error"); return; }
  renderBank(body);
  showStatus($("bank-status"), `deleted ${gloss}`);
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

const sleep = (seconds) => new Promise((wait) => setTimeout(wait, seconds * 1000));

// Count down, record, then send, saying how long the server has been at it.
async function bankRequest(path, label) {
  $("bank-add").disabled = $("bank-recognize").disabled = true;
  let ticker = null;
  try {
    for (let left = COUNTDOWN; left > 0; left -= 1) {
      showStatus($("bank-status"), `get ready: recording in ${left}…`);
      await sleep(1);
    }
    showStatus($("bank-status"), `recording ${BANK_SECONDS} s: sign now`);
    const clip = await recordClip(BANK_SECONDS);
    const sent = performance.now();
    live.paused = true; // the stream waits while the server works on the clip
    const tick = () => showStatus($("bank-status"), `${label} (${Math.round((performance.now() - sent) / 1000)} s; `
      + "the live stream waits meanwhile)");
    tick();
    ticker = setInterval(tick, 1000);
    const form = new FormData();
    form.append("file", clip, "webcam.webm");
    const response = await fetch(path, { method: "POST", body: form, headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) throw new Error(explainFailure(response.status, body));
    return body;
  } finally {
    live.paused = false;
    clearInterval(ticker);
    $("bank-add").disabled = $("bank-recognize").disabled = !live.stream;
  }
}

$("bank-add").addEventListener("click", async () => {
  const gloss = $("bank-gloss").value.trim();
  if (!gloss) { showStatus($("bank-status"), "name the sign first, in the sign field", "error"); $("bank-gloss").focus(); return; }
  try {
    const bank = await bankRequest(`/v1/bank/signs?gloss=${encodeURIComponent(gloss)}`, "teaching the bank");
    renderBank(bank);
    showStatus($("bank-status"), `added an example of ${gloss}`);
  } catch (error) { showStatus($("bank-status"), `bank: ${error.message}`, "error"); }
});

$("bank-recognize").addEventListener("click", async () => {
  try {
    const answer = await bankRequest("/v1/bank/recognize", "comparing with the bank");
    showStatus($("bank-status"), `${answer.sign ?? "not a sign I know"} (similarity ${answer.similarity.toFixed(2)})`);
  } catch (error) { showStatus($("bank-status"), `bank: ${error.message}`, "error"); }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "r" || event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey) return;
  if (!$("bank-add").disabled) $("bank-add").click();
});
document.addEventListener("DOMContentLoaded", loadBank);
document.addEventListener("key", loadBank);
