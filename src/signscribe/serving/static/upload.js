// Upload a clip and see its top-k glosses.
"use strict";

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
