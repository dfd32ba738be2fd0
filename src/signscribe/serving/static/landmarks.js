// The `landmarks` input pipeline in the browser, for the page's offline mode: the same steps, in the
// same order and with the same numbers, as signscribe/models/inputs/landmarks.py (FeatureConfig) and
// the no-sign detector of signscribe/pose/activity.py. tests/test_web_page.py checks on real
// landmarks that both give the same model input. Plain functions on plain arrays, no DOM.
"use strict";

const Landmarks = (() => {
  const POSE = 33, HAND = 21, POINTS = 75, LEFT_HAND = 33, RIGHT_HAND = 54;
  const LEFT_SHOULDER = 11, RIGHT_SHOULDER = 12, LEFT_WRIST = 15, RIGHT_WRIST = 16;
  const range = (start, stop) => Array.from({ length: stop - start }, (_, i) => start + i);
  // MediaPipe pose rows 0-24 (the upper body), then the left hand, then the right hand
  const MODEL_ROWS = [...range(0, 25), ...range(LEFT_HAND, POINTS)];
  // the rows of the horizontally mirrored frame: left and right swap (pose/layout.py)
  const MIRROR_ROWS = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23,
    26, 25, 28, 27, 30, 29, 32, 31, ...range(RIGHT_HAND, POINTS), ...range(LEFT_HAND, RIGHT_HAND)];
  const COMPONENTS = [["pose", 0, POSE], ["left_hand", LEFT_HAND, HAND], ["right_hand", RIGHT_HAND, HAND]];

  // A sequence: `data` (frames x 75 x 3: x, y in pixels, z) and `confidence` (frames x 75, 0 = missing).
  const empty = (frames, width, height) => ({
    frames, width, height, data: new Float32Array(frames * POINTS * 3), confidence: new Float32Array(frames * POINTS),
  });
  const copy = (s) => ({ ...s, data: s.data.slice(), confidence: s.confidence.slice() });
  const at = (s, frame, row, axis) => s.data[(frame * POINTS + row) * 3 + axis];
  const seen = (s, frame, row) => s.confidence[frame * POINTS + row] > 0;
  const detected = (s, frame, start, count) => range(start, start + count).some((row) => seen(s, frame, row));

  // The stream's `landmarks` message (MediaPipe's normalised points) as one frame of a sequence, as
  // serving/stream/messages.py reads it: x, y in pixels, z as is; the pose's confidence is its
  // visibility (at least 1e-3), a hand point's 1.
  function frameOf(message) {
    const values = new Float32Array(POINTS * 3), confidence = new Float32Array(POINTS);
    for (const [name, start, count] of COMPONENTS) {
      const points = message[name];
      if (!points) continue;
      for (let i = 0; i < count; i++) {
        const [x, y, z, visibility] = points[i];
        values.set([x * message.width, y * message.height, z], (start + i) * 3);
        confidence[start + i] = name === "pose" ? Math.min(Math.max(visibility ?? 1, 1e-3), 1) : 1;
      }
    }
    return { values, confidence };
  }

  // `fps`: the frames a second the detector measures speeds at.
  function sequenceOf(frames, width, height, fps = 15) {
    const s = { ...empty(frames.length, width, height), fps };
    frames.forEach((frame, i) => { s.data.set(frame.values, i * POINTS * 3); s.confidence.set(frame.confidence, i * POINTS); });
    return s;
  }

  // A hand lost for at most `maxGap` frames between two detections, interpolated (pose/normalize.py).
  function fillGaps(s, start, maxGap) {
    const out = copy(s);
    const found = range(0, s.frames).filter((f) => detected(s, f, start, HAND));
    for (let k = 1; k < found.length; k++) {
      const before = found[k - 1], after = found[k], gap = after - before - 1;
      if (gap < 1 || gap > maxGap) continue;
      for (let f = before + 1; f < after; f++) {
        const w = (f - before) / (gap + 1);
        for (let row = start; row < start + HAND; row++) {
          for (let axis = 0; axis < 3; axis++) {
            out.data[(f * POINTS + row) * 3 + axis] = (1 - w) * at(s, before, row, axis) + w * at(s, after, row, axis);
          }
          out.confidence[f * POINTS + row] = Math.min(s.confidence[before * POINTS + row], s.confidence[after * POINTS + row]);
        }
      }
    }
    return out;
  }

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b), middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };

  // Centred on the shoulders, in shoulder widths (their median), hands relative to their wrist.
  function normalize(s, handsRelative) {
    const scaleZ = Math.max(s.width, 1), pixel = (f, row, axis) => at(s, f, row, axis) * (axis === 2 ? scaleZ : 1);
    const known = range(0, s.frames).filter((f) => Math.min(s.confidence[f * POINTS + LEFT_SHOULDER],
      s.confidence[f * POINTS + RIGHT_SHOULDER]) > 0);
    const centre = [];
    let width;
    if (!known.length) {
      for (let f = 0; f < s.frames; f++) centre.push([s.width / 2, s.height / 2, 0]);
      width = Math.max(s.height / 3, 1e-6);
    } else {
      const middle = (f, axis) => Math.fround((pixel(f, LEFT_SHOULDER, axis) + pixel(f, RIGHT_SHOULDER, axis)) / 2);
      for (let f = 0; f < s.frames; f++) {
        const next = known.findIndex((k) => k >= f);
        const axes = [0, 1, 2].map((axis) => {
          if (next === 0) return middle(known[0], axis);
          if (next === -1) return middle(known[known.length - 1], axis);
          const a = known[next - 1], b = known[next];
          if (b === f) return middle(f, axis);
          return middle(a, axis) + (middle(b, axis) - middle(a, axis)) * (f - a) / (b - a);
        });
        centre.push(axes.map(Math.fround));
      }
      width = Math.max(median(known.map((f) => Math.fround(Math.hypot(
        Math.fround(pixel(f, LEFT_SHOULDER, 0) - pixel(f, RIGHT_SHOULDER, 0)),
        Math.fround(pixel(f, LEFT_SHOULDER, 1) - pixel(f, RIGHT_SHOULDER, 1)))))), 1e-6);
    }
    const out = copy(s);
    for (let f = 0; f < s.frames; f++) {
      for (let row = 0; row < POINTS; row++) {
        for (let axis = 0; axis < 3; axis++) {
          out.data[(f * POINTS + row) * 3 + axis] = (pixel(f, row, axis) - centre[f][axis]) / width;
        }
      }
      if (handsRelative) {
        for (const start of [LEFT_HAND, RIGHT_HAND]) {
          const wrist = [0, 1, 2].map((axis) => out.data[(f * POINTS + start) * 3 + axis]);
          for (let row = start; row < start + HAND; row++) {
            for (let axis = 0; axis < 3; axis++) out.data[(f * POINTS + row) * 3 + axis] -= wrist[axis];
          }
        }
      }
      for (let row = 0; row < POINTS; row++) {
        if (!seen(s, f, row)) out.data.fill(0, (f * POINTS + row) * 3, (f * POINTS + row) * 3 + 3);
      }
    }
    return out;
  }

  // Whether the left wrist travels further than the right (normalised landmarks): the signer leads
  // with the left hand.
  function leftHanded(s) {
    const travelled = [LEFT_WRIST, RIGHT_WRIST].map((row) => {
      const path = range(0, s.frames).filter((f) => seen(s, f, row)).map((f) => [at(s, f, row, 0), at(s, f, row, 1)]);
      let total = 0;
      for (let k = 1; k < path.length; k++) total += Math.hypot(path[k][0] - path[k - 1][0], path[k][1] - path[k - 1][1]);
      return total;
    });
    return travelled[0] > travelled[1];
  }

  function mirror(s) {
    const out = copy(s);
    for (let f = 0; f < s.frames; f++) {
      MIRROR_ROWS.forEach((from, row) => {
        const c = s.confidence[f * POINTS + from];
        out.confidence[f * POINTS + row] = c;
        for (let axis = 0; axis < 3; axis++) {
          const v = at(s, f, from, axis);
          out.data[(f * POINTS + row) * 3 + axis] = c > 0 ? (axis === 0 ? -v : v) : 0;
        }
      });
    }
    return out;
  }

  // `count` frames spread evenly over the sequence, linear between frames, missing if either side is.
  function resample(s, count) {
    const out = empty(count, s.width, s.height), step = count > 1 ? (s.frames - 1) / (count - 1) : 0;
    for (let i = 0; i < count; i++) {
      const position = i === count - 1 && count > 1 ? s.frames - 1 : i * step;
      const before = Math.floor(position), after = Math.min(before + 1, s.frames - 1);
      const w = Math.fround(position - before);
      for (let row = 0; row < POINTS; row++) {
        const c = Math.min(s.confidence[before * POINTS + row], s.confidence[after * POINTS + row]);
        out.confidence[i * POINTS + row] = c;
        for (let axis = 0; axis < 3; axis++) {
          out.data[(i * POINTS + row) * 3 + axis] = c > 0 ? (1 - w) * at(s, before, row, axis) + w * at(s, after, row, axis) : 0;
        }
      }
    }
    return out;
  }

  // The frames from `start` up to `stop` of a sequence.
  function framesOf(s, start, stop) {
    return { ...s, frames: stop - start, data: s.data.slice(start * POINTS * 3, stop * POINTS * 3),
      confidence: s.confidence.slice(start * POINTS, stop * POINTS) };
  }

  // The signing span of normalised landmarks (pose/activity.py signing_span): from the first to the
  // last stretch of RAISED_RUN seconds in which a body wrist is SPAN_CLEARANCE above the rest line (1.0),
  // widened by SPAN_MARGIN seconds each side; every frame when there is no such stretch.
  const RAISED_RUN = 0.2, SPAN_MARGIN = 0.2, SPAN_CLEARANCE = 0.1, SPAN_LINE = 1.0 - SPAN_CLEARANCE;
  function signingSpan(body) {
    const run = Math.max(1, Math.floor(RAISED_RUN * body.fps + 0.5)), margin = Math.floor(SPAN_MARGIN * body.fps + 0.5);
    const raised = (f) => [LEFT_WRIST, RIGHT_WRIST].some((w) => seen(body, f, w) && at(body, f, w, 1) < SPAN_LINE);
    let first = -1, last = -1, start = -1;
    for (let f = 0; f <= body.frames; f++) {
      const up = f < body.frames && raised(f);
      if (up && start < 0) start = f;
      if (!up && start >= 0) {
        if (f - start >= run) { if (first < 0) first = start; last = f; }
        start = -1;
      }
    }
    return first < 0 ? [0, body.frames] : [Math.max(0, first - margin), Math.min(body.frames, last + margin)];
  }

  // FeatureConfig.prepare: short hand gaps filled, normalised, the rest around the sign cut away
  // (trim_rest), the dominant hand made the right one.
  function prepare(s, features) {
    let out = s;
    if (features.fill_gaps) for (const start of [LEFT_HAND, RIGHT_HAND]) out = fillGaps(out, start, features.fill_gaps);
    out = normalize(out, features.hands_relative);
    if (features.trim_rest) out = framesOf(out, ...signingSpan(out));
    return features.dominant_hand && leftHanded(out) ? mirror(out) : out;
  }

  // The model's inputs for one clip: points (frames x 67 x channels), present (frames x 67), frames.
  function modelInputs(s, features) {
    let prepared = prepare(s, features);
    if (prepared.frames > features.max_frames) prepared = resample(prepared, features.max_frames);
    const frames = prepared.frames, channels = features.channels, rows = MODEL_ROWS.length;
    const points = new Float32Array(frames * rows * channels), present = new Uint8Array(frames * rows);
    for (let f = 0; f < frames; f++) {
      MODEL_ROWS.forEach((row, i) => {
        present[f * rows + i] = seen(prepared, f, row) ? 1 : 0;
        for (let axis = 0; axis < channels; axis++) points[(f * rows + i) * channels + axis] = at(prepared, f, row, axis);
      });
    }
    return { points, present, frames, rows, channels };
  }

  // The speed of each hand (left, right) in each frame, shoulder widths a second, on normalised
  // landmarks, between the frames MOTION_SPAN / 2 before and after: how far the body's wrist point
  // moved, plus, where the hand is found in both, the mean movement of its points relative to its
  // wrist; NaN where the wrist is missing in either, and everywhere when frames come too seldom
  // (under 2.5 a second) for a speed to mean anything.
  const MOTION_SPAN = 0.2;
  function handSpeeds(body) {
    const half = Math.max(1, Math.floor(MOTION_SPAN * body.fps / 2 + 0.5)), last = body.frames - 1;
    const measurable = body.frames >= 2 && 2 * half / body.fps <= 4 * MOTION_SPAN;
    return range(0, body.frames).map((f) => [[LEFT_HAND, LEFT_WRIST], [RIGHT_HAND, RIGHT_WRIST]].map(([start, wrist]) => {
      const before = Math.max(f - half, 0), after = Math.min(f + half, last);
      if (!measurable || !seen(body, before, wrist) || !seen(body, after, wrist)) return NaN;
      const step = (row, g, axis) => at(body, g, row, axis) - (row === wrist ? 0 : at(body, g, start, axis));
      const moved = (row) => Math.hypot(step(row, after, 0) - step(row, before, 0), step(row, after, 1) - step(row, before, 1));
      let shape = 0;
      if (detected(body, before, start, HAND) && detected(body, after, start, HAND)) {
        for (let row = start; row < start + HAND; row++) shape += moved(row);
      }
      return (moved(wrist) + shape / HAND) / ((after - before) / body.fps);
    }));
  }

  // Whether both hands are found with their nearest points within CLASP_GAP shoulder widths (each
  // hand's shape placed at the body's wrist point), on normalised landmarks.
  const CLASP_GAP = 0.15;
  function handsTouching(body, f) {
    const sides = [[LEFT_HAND, LEFT_WRIST], [RIGHT_HAND, RIGHT_WRIST]];
    if (!sides.every(([start, wrist]) => detected(body, f, start, HAND) && seen(body, f, wrist))) return false;
    const points = sides.map(([start, wrist]) => range(start, start + HAND).map((row) =>
      [0, 1].map((axis) => at(body, f, row, axis) - at(body, f, start, axis) + at(body, f, wrist, axis))));
    return points[0].some(([x, y]) => points[1].some(([u, v]) => Math.hypot(x - u, y - v) < CLASP_GAP));
  }

  // The no-sign detector (pose/activity.py): signing when, in at least `min_raised` of the frames, a
  // hand is found with its wrist above `rest_line` (shoulder widths below the shoulders) and not
  // clasped to the other hand with both slower than `clasp_speed` (when set), and, with a
  // `still_speed`, it moves at least that fast in at least `min_moving` of those frames. `detector` is
  // a model's entry of GET /v1/models.
  function isSigning(s, detector) {
    const { rest_line: restLine = 1.0, min_raised: minRaised = 0.25, still_speed: stillSpeed = null,
      min_moving: minMoving = 0.25, clasp_speed: claspSpeed = null } = detector || {};
    if (!s.frames) return false;
    const body = normalize(s, true);
    const speeds = stillSpeed === null && claspSpeed === null ? null : handSpeeds(body);
    let raised = 0, moving = 0;
    for (let f = 0; f < s.frames; f++) {
      const clasped = claspSpeed !== null && handsTouching(body, f) && speeds[f].every((v) => v < claspSpeed);
      const up = [[LEFT_HAND, LEFT_WRIST], [RIGHT_HAND, RIGHT_WRIST]].map(([start, wrist]) => !clasped
        && detected(body, f, start, HAND) && seen(body, f, wrist) && at(body, f, wrist, 1) < restLine);
      raised += up.some((v) => v) ? 1 : 0;
      // a speed not measured (NaN) counts as moving: only a hand seen to be still rests
      moving += up.some((v, side) => v && (stillSpeed === null || !(speeds[f][side] < stillSpeed))) ? 1 : 0;
    }
    return raised / s.frames >= minRaised && moving / s.frames >= minMoving * (raised / s.frames);
  }

  return { frameOf, sequenceOf, modelInputs, resample, isSigning, median, MODEL_ROWS, MIRROR_ROWS };
})();
