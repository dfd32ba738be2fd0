// Privacy modes of the web page: MediaPipe Holistic (or, for a hand-shape model, MediaPipe Hands)
// runs here, in the browser, from the files the server keeps under /static/vendor/ (`signscribe
// web-assets` fetches them from npm, no CDN). In "landmarks only" mode each frame's landmarks go over
// the WebSocket; in the offline mode (offline.js) the model runs here too and nothing is sent. No
// image of the webcam ever leaves the page.
"use strict";

const HOLISTIC_BASE = "/static/vendor/holistic/";
const HANDS_BASE = "/static/vendor/hands/";

// Whether the server has a vendor file (`signscribe web-assets` fetched it).
async function vendorAvailable(url) {
  try {
    return (await fetch(url, { method: "HEAD" })).ok;
  } catch (error) {
    return false;
  }
}

// Loads a vendor script once (`global` is the name it defines).
function loadScript(src, global, name) {
  if (window[global]) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${name} did not load: run \`signscribe web-assets\` on the server`));
    document.head.appendChild(script);
  });
}

// MediaPipe's normalised points as the stream's landmarks message takes them: [x, y, z(, visibility)].
const asRows = (list, visibility) =>
  list ? list.map((p) => (visibility ? [p.x, p.y, p.z, p.visibility ?? 1] : [p.x, p.y, p.z])) : null;

// MediaPipe Hands names a hand as it would appear in a mirrored (selfie) image: its "Left" is the
// signer's right hand in the camera's own image, as signscribe/pose/photo.py reads it.
const SIDE_OF_LABEL = { Left: "right_hand", Right: "left_hand" };

// The landmarks message of Hands' results: each side's more certain hand, no body.
function handsMessage(results) {
  const message = { pose: null, left_hand: null, right_hand: null }, scores = {};
  (results.multiHandLandmarks || []).forEach((points, i) => {
    const { label, score } = results.multiHandedness[i];
    const side = SIDE_OF_LABEL[label];
    if (side in scores && scores[side] >= score) return;
    scores[side] = score;
    message[side] = asRows(points, false);
  });
  return message;
}

// The graph that finds landmarks: Holistic (body and hands), or Hands alone (`hands`).
async function landmarkGraph(hands) {
  if (hands) {
    await loadScript(HANDS_BASE + "hands.js", "Hands", "hands.js");
    const graph = new Hands({ locateFile: (file) => HANDS_BASE + file });
    graph.setOptions({ maxNumHands: 2, modelComplexity: 1 });
    return { graph, read: handsMessage };
  }
  await loadScript(HOLISTIC_BASE + "holistic.js", "Holistic", "holistic.js");
  const graph = new Holistic({ locateFile: (file) => HOLISTIC_BASE + file });
  graph.setOptions({ modelComplexity: 1, smoothLandmarks: true });
  const read = (results) => ({
    pose: asRows(results.poseLandmarks, true),
    left_hand: asRows(results.leftHandLandmarks, false),
    right_hand: asRows(results.rightHandLandmarks, false),
  });
  return { graph, read };
}

// Finds landmarks in `video` at most `fps` times a second (with Hands alone when `hands`) and hands
// each frame's, as the stream's `landmarks` message (t: seconds since `started`), to `onFrame`,
// awaited before the next frame; returns the function that stops it.
async function startLandmarkLoop(video, started, fps, onFrame, hands = false) {
  const { graph, read } = await landmarkGraph(hands);
  let t = 0, found = null;
  graph.onResults((results) => {
    found = { type: "landmarks", t, width: video.videoWidth, height: video.videoHeight, ...read(results) };
  });
  await graph.initialize();
  let running = true;
  (async () => {
    while (running) {
      const begin = performance.now();
      t = (begin - started) / 1000;
      if (video.videoWidth) await graph.send({ image: video });
      if (found && running) await onFrame(found);
      found = null;
      const wait = 1000 / fps - (performance.now() - begin);
      await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
    }
  })();
  return () => { running = false; graph.close(); };
}
