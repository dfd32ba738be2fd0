// Upload a clip: recognise it as one sign (its top-k glosses; a photo: its hand shape), or transcribe
// continuous signing or fingerspelling as a job (segments on a timeline under the clip, SubRip and
// WebVTT to download). Every upload stays in the list, newest first, and Export CSV holds all of their
// glosses.
"use strict";

const uploads = { rows: [] };

function uploadCard(title) {
  const card = document.createElement("article");
  card.className = "result";
  const heading = document.createElement("h3");
  heading.textContent = title;
  card.append(heading);
  $("upload-list").prepend(card);
  return card;
}

// A clip that got no gloss: why, and where to look for the sign.
function noGlossNote(noGloss) {
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = noGloss.message;
  if (noGloss.code === "unknown_sign") note.append(" ", signHints());
  return note;
}

function showRecognition(result) {
  const card = uploadCard(result.video);
  if (result.no_gloss) card.append(noGlossNote(result.no_gloss));
  const bars = document.createElement("ol");
  bars.className = "bars";
  renderBars(bars, result.predictions);
  card.append(bars);
  uploads.rows.push(...result.predictions.map((p) => [result.video, p.rank, p.gloss, p.confidence]));
  $("upload-export").disabled = uploads.rows.length === 0;
}

function showTranscript(job, file) {
  const transcript = job.result;
  const count = transcript.segments.length;
  const what = transcript.spelling ? `letter${count === 1 ? "" : "s"}` : `segment${count === 1 ? "" : "s"}`;
  const card = uploadCard(`${transcript.source}: ${count} ${what}`);
  card.classList.add("transcript");
  const video = document.createElement("video");
  video.src = URL.createObjectURL(file);
  video.controls = true;
  video.muted = true;
  video.setAttribute("aria-label", `the clip ${transcript.source}`);
  const track = document.createElement("div");
  track.className = "track";
  track.setAttribute("aria-label", "the segments along the clip");
  const list = document.createElement("ol");
  list.className = "segments";
  const seek = (segment) => { video.currentTime = segment.start; video.play().catch(() => {}); };
  renderTimeline(track, transcript.segments, Math.max(transcript.duration, 0.1), seek);
  renderSegments(list, transcript.segments, seek);
  card.append(video, track, list);
  if (transcript.spelling && transcript.text) {
    const spelled = document.createElement("p");
    spelled.className = "spelled";
    spelled.textContent = `spelled: ${transcript.text}`;
    card.append(spelled);
  }
  if (!transcript.segments.length) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = transcript.spelling ? "No letter was held long enough above the confidence threshold."
      : "No sign was found above the confidence threshold.";
    card.append(note);
  }
  const stem = transcript.source.replace(/\.[^.]*$/, "");
  for (const format of ["srt", "vtt"]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Download .${format}`;
    button.addEventListener("click", () =>
      downloadText(`${stem}.${format}`, subtitles(transcript.segments, format), format === "vtt" ? "text/vtt" : "application/x-subrip"));
    card.append(button);
  }
}

// POST the file with upload progress; resolves to [status, body].
function send(path, file, onSent) {
  return new Promise((resolve) => {
    const form = new FormData();
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", path);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.upload.onprogress = (e) => { if (e.lengthComputable) $("upload-progress").value = e.loaded / e.total; };
    request.upload.onload = onSent;
    request.onloadend = () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch { /* not JSON: the status says enough */ }
      resolve([request.status, body]);
    };
    request.send(form);
  });
}

async function followJob(id) {
  for (;;) {
    await new Promise((wait) => setTimeout(wait, 500));
    const response = await fetch(`/v1/jobs/${id}`, { headers: authHeaders() });
    if (response.status === 429) continue; // polled too often for the rate limit: ask again later
    const job = await response.json();
    if (!response.ok) throw new Error(explainFailure(response.status, job));
    if (job.status === "failed") throw new Error(job.error);
    if (job.status === "done") return job;
    $("upload-progress").value = job.progress;
    showStatus($("upload-status"), `transcribing ${job.filename}: ${Math.round(job.progress * 100)}%`);
  }
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file-input").files[0];
  if (!file) return;
  const task = $("upload-task").value;
  const transcribe = task !== "recognize";
  const path = task === "spell" ? `/v1/jobs?kind=transcribe&fingerspell=true&${modelQueryFor("hand")}`
    : transcribe ? `/v1/jobs?kind=transcribe&${modelQuery()}`
      : `/v1/recognize?top_k=${encodeURIComponent($("upload-top-k").value)}&${
        file.type.startsWith("image/") ? modelQueryFor("hand", "video+prompt") : modelQuery()}`;
  const progress = $("upload-progress");
  progress.hidden = false;
  progress.value = 0;
  $("upload-button").disabled = true;
  showStatus($("upload-status"), `uploading ${file.name}…`);
  try {
    const [status, body] = await send(path, file, () => {
      showStatus($("upload-status"), transcribe ? "queued…" : `recognising ${file.name}…`);
      progress.removeAttribute("value");
    });
    if (status !== (transcribe ? 202 : 200) || !body) throw new Error(explainFailure(status, body));
    if (transcribe) {
      showTranscript(await followJob(body.id), file);
      showStatus($("upload-status"), `transcribed ${file.name}`);
    } else {
      showRecognition(body.results[0]);
      showStatus($("upload-status"), `recognised ${file.name}`);
    }
  } catch (error) {
    showStatus($("upload-status"), "");
    const failed = document.createElement("p"); // the newest entry is the failure: the results below are older
    showStatus(failed, error.message, "error"); // announced at once
    uploadCard(file.name).append(failed);
  } finally {
    $("upload-button").disabled = false;
    progress.hidden = true;
  }
});
$("upload-task").addEventListener("change", () => { $("upload-top-k").disabled = $("upload-task").value !== "recognize"; });
$("upload-export").addEventListener("click", () =>
  downloadCsv("signscribe-uploads.csv", ["video", "rank", "gloss", "confidence"], uploads.rows));
