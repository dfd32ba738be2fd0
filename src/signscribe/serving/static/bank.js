// The sign bank: examples recorded from the webcam.
"use strict";

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
document.addEventListener("DOMContentLoaded", loadBank);
keyInput.addEventListener("change", loadBank);
