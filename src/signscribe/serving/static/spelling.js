// Live fingerspelling in the browser, for the page's offline mode with a hand-shape model: the `hand`
// input pipeline (signscribe/models/inputs/hand.py, hand_features), the spelling rules and
// LiveSpelling (signscribe/inference/spelling.py), and the server's SpellingSession
// (signscribe/serving/stream/spelling.py), with the same steps and numbers. tests/serving/
// test_web_spelling.py checks on real letters that both give the same model input, letters and words.
"use strict";

const Spelling = (() => {
  const POINTS = 75, HAND = 21, LEFT_HAND = 33, RIGHT_HAND = 54, MIDDLE_KNUCKLE = 9, NUM_POINTS = 22;
  const MOVING_LETTERS = ["J", "Z"], TIME_TOLERANCE = 1e-9;
  const at = (s, frame, row, axis) => s.data[(frame * POINTS + row) * 3 + axis];
  const found = (s, frame, start) => s.confidence[frame * POINTS + start] > 0;
  const detected = (s, frame, start) => {
    for (let row = start; row < start + HAND; row++) if (s.confidence[frame * POINTS + row] > 0) return true;
    return false;
  };
  const median = Landmarks.median;
  const finite = (values) => values.filter((v) => Number.isFinite(v));

  // The hand found in the most frames (the right one on a tie): the start of its rows.
  function signingHand(s) {
    let left = 0, right = 0;
    for (let f = 0; f < s.frames; f++) { left += detected(s, f, LEFT_HAND); right += detected(s, f, RIGHT_HAND); }
    return left > right ? LEFT_HAND : RIGHT_HAND;
  }

  // A hand point with z in pixels like x (MediaPipe gives it in widths of the frame).
  const pixel = (s, f, row) => [at(s, f, row, 0), at(s, f, row, 1), at(s, f, row, 2) * Math.max(s.width, 1)];

  // Each frame's palm length in pixels, wrist to middle knuckle in 3D (NaN where the hand is missing).
  function palmLengths(s, start) {
    return Array.from({ length: s.frames }, (_, f) => {
      if (!found(s, f, start)) return NaN;
      const [a, b] = [pixel(s, f, start), pixel(s, f, start + MIDDLE_KNUCKLE)];
      const length = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
      return length > 0 ? length : NaN;
    });
  }

  // hand_features: (frames x 22 x 3) points and a (frames x 22) presence mask.
  function handFeatures(s) {
    const start = signingHand(s), palms = palmLengths(s, start);
    const features = new Float64Array(s.frames * NUM_POINTS * 3), present = new Uint8Array(s.frames * NUM_POINTS);
    const kept = palms.map((p, f) => (Number.isFinite(p) ? f : -1)).filter((f) => f >= 0);
    if (kept.length) {
      const mean = [0, 1, 2].map((axis) => kept.reduce((sum, f) => sum + pixel(s, f, start)[axis], 0) / kept.length);
      const scale = median(kept.map((f) => palms[f]));
      for (const f of kept) {
        const wrist = pixel(s, f, start);
        for (let i = 0; i < HAND; i++) {
          const point = pixel(s, f, start + i);
          for (let axis = 0; axis < 3; axis++) features[(f * NUM_POINTS + i) * 3 + axis] = (point[axis] - wrist[axis]) / palms[f];
        }
        for (let axis = 0; axis < 3; axis++) features[(f * NUM_POINTS + HAND) * 3 + axis] = (wrist[axis] - mean[axis]) / scale;
        present.fill(1, f * NUM_POINTS, (f + 1) * NUM_POINTS);
      }
    }
    if (start === LEFT_HAND) for (let i = 0; i < features.length; i += 3) features[i] = -features[i];
    return { features: Float32Array.from(features), present };
  }

  // The model's inputs for one window (HandConfig.example): points (frames x 22 x channels), present.
  function modelInputs(s, config) {
    const resampled = s.frames > config.max_frames ? Landmarks.resample(s, config.max_frames) : s;
    const { features, present } = handFeatures(resampled);
    const frames = resampled.frames, channels = config.channels;
    const points = new Float32Array(frames * NUM_POINTS * channels);
    for (let k = 0; k < frames * NUM_POINTS; k++) {
      for (let axis = 0; axis < channels; axis++) points[k * channels + axis] = features[k * 3 + axis];
    }
    return { points, present, frames, rows: NUM_POINTS, channels };
  }

  // The rules of spelling.py: `frames` is { times, letters, confidence, wrist: [[x, y]], period }.
  const lasts = (frames, first, last, settings) =>
    frames.times[last] - frames.times[first] + frames.period >= settings.min_hold - TIME_TOLERANCE;

  function holdsOf(frames, settings) {
    const holds = [], short = [], n = frames.letters.length;
    const strong = frames.confidence.map((c) => c >= settings.min_confidence);
    let frame = 0;
    while (frame < n) {
      if (!strong[frame]) { frame += 1; continue; }
      let last = frame;
      while (last + 1 < n && strong[last + 1] && frames.letters[last + 1] === frames.letters[frame]) last += 1;
      let total = 0;
      for (let f = frame; f <= last; f++) total += frames.confidence[f];
      const hold = { first: frame, last, letter: frames.letters[frame], confidence: total / (last - frame + 1) };
      (lasts(frames, frame, last, settings) ? holds : short).push(hold);
      frame = last + 1;
    }
    return [holds, short];
  }

  const end = (frames, hold) => frames.times[hold.last] + frames.period;

  // The wrist's mean place over any stretch of frames in constant time (spelling.py, _WristPlaces).
  function wristPlaces(wrist) {
    const sums = [[0, 0]], counts = [0];
    wrist.forEach(([x, y], i) => {
      const found = Number.isFinite(x) && Number.isFinite(y);
      sums.push([sums[i][0] + (found ? x : 0), sums[i][1] + (found ? y : 0)]);
      counts.push(counts[i] + (found ? 1 : 0));
    });
    // how far the mean place moves from frames [a, b) to frames [c, d); NaN when missing from either
    return ([a, b], [c, d]) => {
      const [n, m] = [counts[b] - counts[a], counts[d] - counts[c]];
      if (!n || !m) return NaN;
      return Math.hypot((sums[d][0] - sums[c][0]) / m - (sums[b][0] - sums[a][0]) / n,
        (sums[d][1] - sums[c][1]) / m - (sums[b][1] - sums[a][1]) / n);
    };
  }

  function splitDoubles(holds, frames, settings) {
    const result = [], distance = wristPlaces(frames.wrist);
    for (const hold of holds) {
      const splits = [];
      for (let split = hold.first + 1; split <= hold.last; split++) {
        if (lasts(frames, hold.first, split - 1, settings) && lasts(frames, split, hold.last, settings)) splits.push(split);
      }
      if (MOVING_LETTERS.includes(hold.letter) || !splits.length) { result.push(hold); continue; }
      const apart = splits.map((split) => distance([hold.first, split], [split, hold.last + 1]));
      let best = 0;
      apart.forEach((d, i) => { if (Number.isFinite(d) && !(apart[best] >= d)) best = i; });
      if (Number.isFinite(apart[best]) && apart[best] >= settings.double_move) {
        result.push({ ...hold, last: splits[best] - 1 }, { ...hold, first: splits[best] });
      } else {
        result.push(hold);
      }
    }
    return result;
  }

  function wordsOf(holds, frames, settings) {
    const words = [], distance = wristPlaces(frames.wrist);
    for (const hold of holds) {
      const word = words[words.length - 1];
      if (!word || frames.times[hold.first] - end(frames, word[word.length - 1]) > settings.word_gap) {
        words.push([hold]);
        continue;
      }
      const previous = word[word.length - 1];
      const moved = distance([previous.first, previous.last + 1], [hold.first, hold.last + 1]);
      if (hold.letter === previous.letter && !(moved >= settings.double_move)) {
        const sizes = [previous.last - previous.first + 1, hold.last - hold.first + 1];
        const confidence = (previous.confidence * sizes[0] + hold.confidence * sizes[1]) / (sizes[0] + sizes[1]);
        word[word.length - 1] = { first: previous.first, last: hold.last, letter: hold.letter, confidence };
      } else {
        word.push(hold);
      }
    }
    return words;
  }

  function spell(frames, settings) {
    const [holds, short] = holdsOf(frames, settings);
    return { words: wordsOf(splitDoubles(holds, frames, settings), frames, settings), short };
  }

  const round4 = (value) => Math.round(value * 1e4) / 1e4;

  // LiveSpelling of spelling.py: add a frame at a time, read the state.
  class LiveSpelling {
    constructor(settings, { history = 20, maxFrames = 1800 } = {}) {
      this.settings = settings;
      this.history = history;
      this.maxFrames = maxFrames;
      this.frames = [];
      this.newest = null;
      this.current = [];
      this.done = [];
    }

    add(t, letter, confidence, wrist, palm) {
      this.newest = { t, letter, confidence, wrist, palm };
      this.frames.push(this.newest);
      const frames = this.letters();
      const words = spell(frames, this.settings).words;
      let open = words.length ? words.pop() : null;
      if (open && (t - end(frames, open[open.length - 1]) > this.settings.word_gap
          || this.frames.length > this.maxFrames)) {
        words.push(open);
        open = null;
      }
      for (const word of words) this.done.push(LiveSpelling.lettersOf(word, frames));
      this.done.splice(0, Math.max(0, this.done.length - this.history));
      this.current = open ? LiveSpelling.lettersOf(open, frames) : [];
      this.frames = this.frames.slice(open ? open[0].first : this.runStart());
    }

    runStart() {
      const strong = this.frames.map((f) => f.confidence >= this.settings.min_confidence);
      if (!strong[strong.length - 1]) return this.frames.length;
      let start = this.frames.length - 1;
      const letter = this.frames[start].letter;
      while (start && strong[start - 1] && this.frames[start - 1].letter === letter) start -= 1;
      return start;
    }

    letters() {
      const times = this.frames.map((f) => f.t), palms = finite(this.frames.map((f) => f.palm));
      const scale = palms.length ? median(palms) : 1;
      const steps = times.slice(1).map((t, i) => t - times[i]);
      return {
        times, letters: this.frames.map((f) => f.letter), confidence: this.frames.map((f) => f.confidence),
        wrist: this.frames.map((f) => [f.wrist[0] / scale, f.wrist[1] / scale]),
        period: steps.length ? median(steps) : 0,
      };
    }

    static lettersOf(word, frames) {
      return word.map((hold) => ({ letter: hold.letter, start: frames.times[hold.first],
        end: end(frames, hold), confidence: round4(hold.confidence) }));
    }

    state() {
      const newest = this.newest, strong = newest !== null && newest.confidence >= this.settings.min_confidence;
      const word = this.current.map((l) => l.letter).join("");
      const words = this.done.map((done) => done.map((l) => l.letter).join(""));
      return {
        letter: strong ? newest.letter : null, confidence: newest ? round4(newest.confidence) : 0,
        word, letters: this.current, words, text: [...words, ...(word ? [word] : [])].join(" "),
      };
    }
  }

  // The newest frame's hand: its rows' start, wrist (pixels) and palm length, or null when missing.
  function newestHand(s) {
    const start = signingHand(s), last = s.frames - 1;
    if (!found(s, last, start)) return null;
    return { wrist: [at(s, last, start, 0), at(s, last, start, 1)], palm: palmLengths(s, start)[last] };
  }

  return { handFeatures, modelInputs, spell, LiveSpelling, newestHand, signingHand };
})();

// The server's SpellingSession in the page: each frame's letters over the `window` seconds before it,
// from the model run here (offline.js's OfflineRecognizer), spelled by LiveSpelling.
class OfflineSpeller {
  constructor(recognizer, model) {
    this.recognizer = recognizer;
    this.model = model;
    this.settings = model.spelling;
    this.useLabels(this.settings.labels);
    this.spelling = new Spelling.LiveSpelling(this.settings);
    this.window = [];
    this.processed = 0;
    this.lastPrediction = -Infinity;
  }

  // Spell among one of the model's label sets (`letters`, `digits`), or every label (`all`), as the
  // stream's config message does.
  useLabels(name) {
    const kept = this.model.label_sets[name];
    this.allowed = this.model.labels.map((label) => !kept || kept.includes(label));
  }

  // The probabilities of one window among the allowed labels (Recognizer.probabilities).
  async probabilities(sequence) {
    const all = await this.recognizer.probabilities(sequence, Spelling.modelInputs);
    const kept = all.map((p, i) => (this.allowed[i] ? p : 0));
    const total = Math.max(kept.reduce((a, b) => a + b, 0), 1e-12);
    return kept.map((p) => p / total);
  }

  async push(message) {
    const started = performance.now();
    this.window.push({ t: message.t, frame: Landmarks.frameOf(message) });
    while (this.window[0].t <= message.t - this.settings.window) this.window.shift();
    this.processed += 1;
    const sequence = Landmarks.sequenceOf(this.window.map((entry) => entry.frame), message.width, message.height);
    const hand = Spelling.newestHand(sequence);
    let topK = [];
    if (hand) {
      const ranked = (await this.probabilities(sequence)).map((confidence, i) => ({ gloss: this.recognizer.labels[i], confidence }));
      topK = ranked.filter((p) => p.confidence > 0).sort((a, b) => b.confidence - a.confidence).slice(0, this.recognizer.topK);
      this.spelling.add(message.t, topK[0].gloss, topK[0].confidence, hand.wrist, hand.palm);
    } else {
      this.spelling.add(message.t, "", 0, [NaN, NaN], NaN);
    }
    const out = [message];
    if (message.t - this.lastPrediction < 1 / this.recognizer.rate - 1e-9) return out;
    this.lastPrediction = message.t;
    out.push({
      type: "prediction", t: message.t, signing: Boolean(hand), top_k: topK,
      window: { start: this.window[0].t, end: message.t, frames: this.window.length },
      frames: { received: this.processed, processed: this.processed, dropped: 0 },
      processing_ms: performance.now() - started, spelling: this.spelling.state(),
    });
    return out;
  }

  close() {
    this.recognizer.close();
  }
}
