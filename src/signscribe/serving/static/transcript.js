// Transcripts on the page: the live one (glosses that settled in the stream) and an upload's (a
// transcribe job's segments), drawn as a list and a timeline, and written as text, CSV, SRT or WebVTT.
"use strict";

const SETTLE_PREDICTIONS = 3; // a gloss settles once it is the confident top-1 this many times in a row
const FLICKER_SECONDS = 1; // a settled gloss back within this long after its entry extends the entry

// A live transcript: ``push(t, gloss, confidence)`` for each prediction (gloss null while the signer
// rests, the answer is below the threshold, or the sign is none the model knows). A gloss that stays
// the top-1 for SETTLE_PREDICTIONS predictions settles into an entry; the same gloss settling again
// right after its entry (a flicker, not a new sign) extends it. ``push`` returns the entry a gloss
// just settled into, or null.
class LiveTranscript {
  constructor(settle = SETTLE_PREDICTIONS) {
    this.settle = settle;
    this.entries = [];
    this.run = null; // the current gloss: {gloss, start, count, confidences, entry}
  }

  push(t, gloss, confidence = 0) {
    if (gloss === null) { this.run = null; return null; }
    if (!this.run || this.run.gloss !== gloss) this.run = { gloss, start: t, count: 0, confidences: [], entry: null };
    const run = this.run;
    run.count += 1;
    run.confidences.push(confidence);
    const mean = run.confidences.reduce((a, b) => a + b, 0) / run.confidences.length;
    if (run.entry) { run.entry.end = t; return null; }
    if (run.count < this.settle) return null;
    const last = this.entries[this.entries.length - 1];
    if (last && last.gloss === gloss && run.start - last.end <= FLICKER_SECONDS) {
      run.entry = last;
      last.end = t;
      return null;
    }
    run.entry = { start: run.start, end: t, gloss, confidence: mean };
    this.entries.push(run.entry);
    return run.entry;
  }

  clear() { this.entries = []; this.run = null; }
}

function formatTime(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${String(minutes).padStart(2, "0")}:${(seconds - minutes * 60).toFixed(1).padStart(4, "0")}`;
}

function subtitleTime(seconds, separator) {
  const millis = Math.round(seconds * 1000);
  const pad = (value, width = 2) => String(value).padStart(width, "0");
  return `${pad(Math.floor(millis / 3600000))}:${pad(Math.floor(millis / 60000) % 60)}:${pad(Math.floor(millis / 1000) % 60)}${separator}${pad(millis % 1000, 3)}`;
}

// SubRip or WebVTT text of segments, as signscribe transcribe writes them.
function subtitles(segments, format) {
  const separator = format === "vtt" ? "." : ",";
  const cues = segments.map((s, i) =>
    `${i + 1}\n${subtitleTime(s.start, separator)} --> ${subtitleTime(s.end, separator)}\n${s.gloss}\n`);
  return (format === "vtt" ? ["WEBVTT\n", ...cues] : cues).join("\n");
}

// The segments as a list: time, gloss and confidence; a click calls onPick(segment).
function renderSegments(list, segments, onPick) {
  list.replaceChildren(...segments.map((segment) => {
    const item = document.createElement("li");
    const time = document.createElement(onPick ? "button" : "span");
    time.className = "time";
    time.textContent = `${formatTime(segment.start)}–${formatTime(segment.end)}`;
    if (onPick) { time.type = "button"; time.addEventListener("click", () => onPick(segment)); }
    const gloss = document.createElement("span");
    gloss.className = "gloss";
    gloss.textContent = segment.gloss;
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${Math.round(segment.confidence * 100)}%`;
    item.append(time, gloss, value);
    return item;
  }));
}

// The segments as blocks along the clip's duration; a click calls onPick(segment).
function renderTimeline(track, segments, duration, onPick) {
  track.replaceChildren(...segments.map((segment) => {
    const block = document.createElement("button");
    block.type = "button";
    block.className = "segment";
    block.style.left = `${(100 * segment.start) / duration}%`;
    block.style.width = `${Math.max(0.8, (100 * (segment.end - segment.start)) / duration)}%`;
    block.textContent = segment.gloss;
    block.title = `${segment.gloss}, ${formatTime(segment.start)}–${formatTime(segment.end)}`;
    block.addEventListener("click", () => onPick(segment));
    return block;
  }));
}
