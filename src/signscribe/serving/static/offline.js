// The page's fully offline mode: the landmark model runs here too, with onnxruntime-web (served by
// signscribe from /static/vendor/onnxruntime/ after `signscribe web-assets`), on the landmarks
// MediaPipe Holistic finds in this browser. No WebSocket is opened: neither the video nor the
// landmarks leave the device. The model file comes once from GET /v1/browser-model?model=ID.
// `OfflineRecognizer.push` answers each frame with the messages the server's stream would send
// (signscribe/serving/stream/session.py, LandmarkSession), so the page shows both alike; a hand-shape
// model's frames go through OfflineSpeller (spelling.js) instead, as the server's SpellingSession.
"use strict";

const ORT_BASE = "/static/vendor/onnxruntime/";

class OfflineRecognizer {
  // `model` is an entry of GET /v1/models (its labels, features and training clip length); a hand-shape
  // model comes wrapped in an OfflineSpeller.
  static async create(model, headers) {
    await loadScript(ORT_BASE + "ort.wasm.min.js", "ort", "onnxruntime-web");
    ort.env.wasm.wasmPaths = ORT_BASE;
    ort.env.wasm.numThreads = 1; // threads need a cross-origin isolated page
    ort.env.wasm.proxy = true; // the model runs in a worker, off the page's thread (MediaPipe's Holistic cannot)
    const response = await fetch(`/v1/browser-model?model=${encodeURIComponent(model.id)}`, { headers });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body && body.error ? body.error.message : `the model did not load (${response.status})`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const recognizer = new OfflineRecognizer(session, model);
    return model.input_kind === "hand" ? new OfflineSpeller(recognizer, model) : recognizer;
  }

  constructor(session, model, { topK = 5, rate = 15, minFrames = 8 } = {}) {
    this.session = session;
    this.labels = model.labels;
    this.features = model.features;
    this.windowFrames = Math.round((model.input && model.input.frames) || 20);
    this.minFrames = Math.min(minFrames, this.windowFrames);
    this.topK = Math.min(topK, this.labels.length);
    this.rate = rate;
    this.minConfidence = model.min_confidence; // the calibrated "not a sign I know" threshold, or null
    this.detector = model.detector; // the model's no-sign detector settings (pose/activity.py)
    this.window = [];
    this.lastPrediction = -Infinity;
    this.processed = 0;
  }

  // Class probabilities of a sequence (Landmarks.sequenceOf), as the server's recognizer gives them;
  // `inputs` computes the model's input (the `landmarks` pipeline's by default).
  async probabilities(sequence, inputs = Landmarks.modelInputs) {
    const input = inputs(sequence, this.features);
    const feeds = {
      points: new ort.Tensor("float32", input.points, [1, input.frames, input.rows, input.channels]),
      present: new ort.Tensor("bool", input.present, [1, input.frames, input.rows]),
      frames: new ort.Tensor("bool", new Uint8Array(input.frames).fill(1), [1, input.frames]),
    };
    const logits = Array.from((await this.session.run(feeds)).logits.data);
    const top = Math.max(...logits);
    const exp = logits.map((v) => Math.exp(v - top));
    const total = exp.reduce((a, b) => a + b, 0);
    return exp.map((v) => v / total);
  }

  // One frame's `landmarks` message in; the overlay and, when due, a prediction out.
  async push(message) {
    const started = performance.now();
    this.window.push({ t: message.t, frame: Landmarks.frameOf(message) });
    if (this.window.length > this.windowFrames) this.window.shift();
    this.size = [message.width, message.height];
    this.processed += 1;
    const out = [message];
    const due = this.window.length >= this.minFrames && message.t - this.lastPrediction >= 1 / this.rate - 1e-9;
    if (!due) return out;
    this.lastPrediction = message.t;
    // the window's frame rate as the server measures it (stream.py, LandmarkSession._predict)
    const span = message.t - this.window[0].t, fps = span > 0 ? (this.window.length - 1) / span : 15;
    const sequence = Landmarks.sequenceOf(this.window.map((entry) => entry.frame), ...this.size, fps);
    const signing = Landmarks.isSigning(sequence, this.detector);
    let topK = [];
    if (signing) {
      const ranked = (await this.probabilities(sequence)).map((confidence, i) => ({ gloss: this.labels[i], confidence }));
      topK = ranked.sort((a, b) => b.confidence - a.confidence).slice(0, this.topK);
    }
    const prediction = {
      type: "prediction", t: message.t, signing, top_k: topK,
      window: { start: this.window[0].t, end: message.t, frames: this.window.length },
      frames: { received: this.processed, processed: this.processed, dropped: 0 },
      processing_ms: performance.now() - started,
    };
    const best = topK[0];
    if (best && this.minConfidence != null && best.confidence < this.minConfidence) {
      prediction.no_gloss = { code: "unknown_sign", message: `not one of the ${this.labels.length} signs this model `
        + `knows (its best guess, ${best.gloss}, has ${Math.round(best.confidence * 100)}%, below the calibrated `
        + `${Math.round(this.minConfidence * 100)}%)` };
    }
    out.push(prediction);
    return out;
  }

  close() {
    this.session.release();
  }
}
