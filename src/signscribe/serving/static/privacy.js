// Privacy modes of the web page: MediaPipe Holistic runs here, in the browser, from the files the
// server keeps under /static/vendor/holistic/ (`signscribe web-assets` fetches them from npm, no
// CDN). In "landmarks only" mode each frame's landmarks go over the WebSocket; in the offline mode
// (offline.js) the model runs here too and nothing is sent. No image of the webcam ever leaves the page.
"use strict";

const HOLISTIC_BASE = "/static/vendor/holistic/";

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

// Finds landmarks in `video` at most `fps` times a second and hands each frame's, as the stream's
// `landmarks` message (t: seconds since `started`), to `onFrame`, awaited before the next frame;
// returns the function that stops it.
async function startHolisticLoop(video, started, fps, onFrame) {
  await loadScript(HOLISTIC_BASE + "holistic.js", "Holistic", "holistic.js");
  const holistic = new Holistic({ locateFile: (file) => HOLISTIC_BASE + file });
  holistic.setOptions({ modelComplexity: 1, smoothLandmarks: true });
  let t = 0, found = null;
  holistic.onResults((results) => {
    found = {
      type: "landmarks", t, width: video.videoWidth, height: video.videoHeight,
      pose: asRows(results.poseLandmarks, true),
      left_hand: asRows(results.leftHandLandmarks, false),
      right_hand: asRows(results.rightHandLandmarks, false),
    };
  });
  await holistic.initialize();
  let running = true;
  (async () => {
    while (running) {
      const begin = performance.now();
      t = (begin - started) / 1000;
      if (video.videoWidth) await holistic.send({ image: video });
      if (found && running) await onFrame(found);
      found = null;
      const wait = 1000 / fps - (performance.now() - begin);
      await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
    }
  })();
  return () => { running = false; holistic.close(); };
}
