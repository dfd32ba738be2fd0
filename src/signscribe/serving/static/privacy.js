// Privacy mode of the web page: MediaPipe Holistic runs here, in the browser, from the files the
// server keeps under /static/vendor/holistic/ (`signscribe web-assets` fetches them from npm, no
// CDN), and only landmarks go over the WebSocket: no image of the webcam ever leaves the page.
"use strict";

const HOLISTIC_BASE = "/static/vendor/holistic/";

async function holisticAvailable() {
  try {
    return (await fetch(HOLISTIC_BASE + "holistic.js", { method: "HEAD" })).ok;
  } catch (error) {
    return false;
  }
}

function loadHolisticScript() {
  if (window.Holistic) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = HOLISTIC_BASE + "holistic.js";
    script.onload = resolve;
    script.onerror = () => reject(new Error("holistic.js did not load: run `signscribe web-assets` on the server"));
    document.head.appendChild(script);
  });
}

// MediaPipe's normalised points as the stream's landmarks message takes them: [x, y, z(, visibility)].
const asRows = (list, visibility) =>
  list ? list.map((p) => (visibility ? [p.x, p.y, p.z, p.visibility ?? 1] : [p.x, p.y, p.z])) : null;

// Finds landmarks in `video` at most `fps` times a second and sends each frame's over `socket`
// (t: seconds since `started`); returns the function that stops it.
async function startLandmarkSender(video, socket, started, fps) {
  await loadHolisticScript();
  const holistic = new Holistic({ locateFile: (file) => HOLISTIC_BASE + file });
  holistic.setOptions({ modelComplexity: 1, smoothLandmarks: true });
  let t = 0;
  holistic.onResults((results) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({
      type: "landmarks", t, width: video.videoWidth, height: video.videoHeight,
      pose: asRows(results.poseLandmarks, true),
      left_hand: asRows(results.leftHandLandmarks, false),
      right_hand: asRows(results.rightHandLandmarks, false),
    }));
  });
  await holistic.initialize();
  let running = true;
  (async () => {
    while (running && socket.readyState === WebSocket.OPEN) {
      const begin = performance.now();
      t = (begin - started) / 1000;
      if (video.videoWidth) await holistic.send({ image: video });
      const wait = 1000 / fps - (performance.now() - begin);
      await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
    }
  })();
  return () => { running = false; holistic.close(); };
}
