"""The page of the WebRTC view (``/webrtc``): the browser's camera, the server's masks on top.

A plain HTML page (no Gradio: it must be light enough for a phone). It opens the camera
(``getUserMedia``: needs ``https://`` or ``localhost``), sends it to the server as a WebRTC
video track, and draws every label map that comes back on the data channel into a ``<canvas>``
laid over the local ``<video>``: the video is shown at the camera's own rate, never delayed.
Clicks, boxes, new object, clear, remove, segment everything go to the server on the same data
channel. When the connection drops it says so and reconnects by itself.

``window.samstreamRtc`` holds the page's own measurements for benchmarks and tests: video frames
displayed (``requestVideoFrameCallback``), overlay updates, and the camera-to-overlay lag of
every update (the time between the page displaying camera frame N, read from the frame stamp
the camera carries when it has one, and drawing the overlay computed from frame N).
"""

from __future__ import annotations

import json

from .stamp import STAMP_JS

__all__ = ["page_html", "PAGE_PATH"]

PAGE_PATH = "/webrtc"

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>samstream · WebRTC live view</title>
<style>
body {font: 15px system-ui, sans-serif; margin: 0 auto; padding: 8px; max-width: 980px; background: #111; color: #ddd;}
h1 {font-size: 17px; margin: 4px 0 8px;}
#stage {position: relative; width: 100%; background: #000; line-height: 0; touch-action: manipulation;}
#cam {width: 100%; height: auto; display: block;}
#overlay {position: absolute; left: 0; top: 0; width: 100%; height: 100%; cursor: crosshair;}
#status {margin: 6px 0; font-weight: 600;}
#status.bad {color: #ff7043;} #status.ok {color: #66bb6a;}
#message {min-height: 1.3em;} #message.bad {color: #ff7043;}
#meter, #server {font: 12px monospace; color: #999;}
.row {display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 6px 0;}
button, select, input {font-size: 15px; padding: 6px 10px; border-radius: 6px; border: 1px solid #555;
  background: #222; color: #eee;}
button.stop {border-color: #c62828;}
label.mode {padding: 4px 8px; border: 1px solid #555; border-radius: 6px;}
#objects span {margin-right: 8px;} a {color: #90caf9;}
</style></head>
<body>
<h1>samstream · live segmentation of this device's camera (WebRTC)</h1>
<div id="stage"><video id="cam" autoplay muted playsinline></video><canvas id="overlay"></canvas></div>
<div id="status">starting the camera…</div>
<div id="message"></div>
<div class="row" id="modes">a tap adds:
  <label class="mode"><input type="radio" name="mode" value="include" checked> include</label>
  <label class="mode"><input type="radio" name="mode" value="exclude"> exclude</label>
  <label class="mode"><input type="radio" name="mode" value="box"> box (2 corners)</label>
</div>
<div class="row">
  <button id="new">New object</button><button id="clear" class="stop">Clear</button>
  <button id="everything">Segment everything</button>
  <select id="remove-id"></select><button id="remove">Remove object</button>
</div>
<div class="row">
  <input id="box" placeholder="box x1,y1,x2,y2 (pixels)" size="22"><button id="add-box">Add box</button>
  <label>opacity <input id="alpha" type="range" min="0" max="1" step="0.05" value="0.5"></label>
  <button id="flip">Switch camera</button>
</div>
<div id="objects"></div>
<div id="meter">in this browser: waiting for video</div>
<div id="server"></div>
<p><a href="/">server-camera view</a></p>
<script>
const CONFIG = __CONFIG__;
__STAMP_JS__
(() => {
const $ = (id) => document.getElementById(id);
const video = $('cam'), canvas = $('overlay'), ctx = canvas.getContext('2d');
const TOKEN = new URLSearchParams(location.search).get('token');
const headers = {'content-type': 'application/json'};
if (TOKEN) headers['x-samstream-token'] = TOKEN;
const M = {connected: false, connects: 0, reconnects: 0, session: null, state: 'new',
  video: {frames: 0, shown: []}, overlay: {updates: 0, times: [], lags: [], unmatched: 0},
  stamps: new Map(), last: null, messages: [], facing: 'environment'};
window.samstreamRtc = M;
let pc = null, dc = null, stream = null, req = 0, retry = 0, timer = null, alive = false, bye = false;
let lut = new Uint8ClampedArray(256 * 4), small = document.createElement('canvas');
const stampCanvas = document.createElement('canvas');
let marks = [], anchor = null;

function status(text, cls) { const s = $('status'); s.textContent = text; s.className = cls || ''; }
function message(text, ok) {
  const m = $('message'); m.textContent = (ok ? '✔ ' : '⚠ ') + text; m.className = ok ? '' : 'bad';
  M.messages.push({ok: ok, text: text}); if (M.messages.length > 50) M.messages.shift();
}
function send(obj) {
  if (!dc || dc.readyState !== 'open') { message('not connected yet: wait a moment and try again.', false); return false; }
  obj.req = ++req; dc.send(JSON.stringify(obj)); return true;
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw new Error('this page cannot open the camera: browsers allow it only on https:// or localhost ' +
                    '(start the server with `samstream demo --https`).');
  const s = await navigator.mediaDevices.getUserMedia({audio: false, video: {
    width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 30}, facingMode: {ideal: M.facing}}});
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = s; video.srcObject = s;
  try { await video.play(); } catch (e) {}
  s.getVideoTracks()[0].addEventListener('ended', () => lost('the camera stopped'));
  return s;
}

function waitIce(p, ms) {
  return new Promise((resolve) => {
    if (p.iceGatheringState === 'complete') return resolve();
    const t = setTimeout(resolve, ms);
    p.addEventListener('icegatheringstatechange', () => {
      if (p.iceGatheringState === 'complete') { clearTimeout(t); resolve(); } });
  });
}

async function connect() {
  timer = null;
  try {
    if (!stream || stream.getVideoTracks().every((t) => t.readyState !== 'live')) await openCamera();
    status(M.connects ? 'reconnecting…' : 'connecting…', 'bad');
    const p = new RTCPeerConnection({iceServers: CONFIG.iceServers});
    pc = p; alive = true;
    const track = stream.getVideoTracks()[0];
    if ('contentHint' in track) track.contentHint = 'motion';
    const tr = p.addTransceiver(track, {direction: 'sendonly', streams: [stream]});
    const d = p.createDataChannel('samstream');
    dc = d;
    d.onmessage = (e) => onMessage(e.data);
    d.onopen = () => {
      M.connected = true; M.connects += 1; retry = 0;
      status(M.connects > 1 ? '✔ reconnected (a new session: objects start over)' : '✔ connected', 'ok');
      const prm = tr.sender.getParameters();
      prm.degradationPreference = 'maintain-resolution';
      if (prm.encodings && prm.encodings.length) prm.encodings[0].maxBitrate = 2500000;
      tr.sender.setParameters(prm).catch(() => {});
    };
    d.onclose = () => { if (p === pc) lost('the data channel closed'); };
    p.onconnectionstatechange = () => {
      M.state = p.connectionState;
      if (p !== pc) return;
      if (p.connectionState === 'failed' || p.connectionState === 'closed') lost('connection ' + p.connectionState);
      else if (p.connectionState === 'disconnected') setTimeout(() => {
        if (p === pc && p.connectionState === 'disconnected') lost('network lost'); }, 3000);
    };
    await p.setLocalDescription(await p.createOffer());
    await waitIce(p, 3000);
    const r = await fetch('/webrtc/offer', {method: 'POST', headers: headers, credentials: 'same-origin',
      body: JSON.stringify({sdp: p.localDescription.sdp, type: p.localDescription.type})});
    const body = await r.json().catch(() => ({error: 'HTTP ' + r.status}));
    if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
    M.session = body.session;
    if (p !== pc) return;
    await p.setRemoteDescription({sdp: body.sdp, type: body.type});
  } catch (e) {
    lost(String(e && e.message || e));
  }
}

function teardown() {
  const p = pc, d = dc; pc = null; dc = null; M.connected = false;
  if (d && d.readyState === 'open') { try { d.send(JSON.stringify({t: 'bye'})); } catch (e) {} }
  if (p) { try { p.close(); } catch (e) {} }
}

function lost(why) {
  if (bye || timer) return;
  const was = alive; alive = false;
  teardown();
  if (was) M.reconnects += 1;
  const wait = Math.min(8, 1 << Math.min(retry, 3)); retry += 1;
  status('⚠ connection lost (' + why + ') — reconnecting in ' + wait + ' s…', 'bad');
  timer = setTimeout(connect, wait * 1000);
}

function setPalette(objects) {
  lut = new Uint8ClampedArray(256 * 4);
  const alpha = Math.round(parseFloat($('alpha').value) * 255);
  for (const o of objects) {
    const c = o[1]; const i = o[0] * 4;
    lut[i] = parseInt(c.substr(1, 2), 16); lut[i + 1] = parseInt(c.substr(3, 2), 16);
    lut[i + 2] = parseInt(c.substr(5, 2), 16); lut[i + 3] = o[2] ? 0 : alpha;
  }
}

let listed = '';
function listObjects(objects) {
  const key = objects.map((o) => o[0]).join(',');
  if (key === listed) return;
  listed = key;
  $('objects').innerHTML = 'objects: ' + (objects.length ? objects.map((o) =>
    '<span><b style="color:' + o[1] + '">■</b> ' + o[0] + '</span>').join('') : 'none (tap an object)');
  const sel = $('remove-id'); sel.innerHTML = '';
  for (const o of objects) { const op = document.createElement('option'); op.value = op.textContent = o[0]; sel.appendChild(op); }
}

function onMessage(data) {
  let m; try { m = JSON.parse(data); } catch (e) { return; }
  if (m.t === 'seg') drawSeg(m);
  else if (m.t === 'msg') message(m.text, m.ok);
  else if (m.t === 'stats') {
    $('server').textContent = 'server: ' + m.state + ', model ' + m.model + ', camera ' +
      (m.camera ? m.camera.join('x') : '–') + ' · pipeline in ' + m.input_fps + ' / out ' + m.output_fps +
      ' fps · latency ' + (m.latency_ms == null ? '–' : Math.round(m.latency_ms) + ' ms') +
      ' · dropped (stale) ' + m.dropped + (m.error ? ' · ⚠ ' + m.error : '');
    listObjects(m.objects.map((o) => [o[0], o[1], false]));
  }
}

function drawSeg(m) {
  const now = performance.now();
  const n = m.w * m.h;
  const labels = new Uint8Array(n);
  let k = 0;
  for (let i = 0; i < m.runs.length; i += 2) { labels.fill(m.runs[i], k, k + m.runs[i + 1]); k += m.runs[i + 1]; }
  setPalette(m.objects);
  if (n) {
    small.width = m.w; small.height = m.h;
    const sctx = small.getContext('2d');
    const img = sctx.createImageData(m.w, m.h); const px = img.data;
    for (let i = 0; i < n; i++) { const o = labels[i] * 4, p = i * 4;
      px[p] = lut[o]; px[p + 1] = lut[o + 1]; px[p + 2] = lut[o + 2]; px[p + 3] = lut[o + 3]; }
    sctx.putImageData(img, 0, 0);
  }
  const vw = video.videoWidth || m.fw, vh = video.videoHeight || m.fh;
  if (canvas.width !== vw || canvas.height !== vh) { canvas.width = vw; canvas.height = vh; }
  ctx.clearRect(0, 0, vw, vh);
  if (n) { ctx.imageSmoothingEnabled = true; ctx.drawImage(small, 0, 0, vw, vh); }
  drawMarks(vw, vh, m.fw, m.fh);
  M.overlay.updates += 1; M.overlay.times.push(now);
  // the camera frame this map was computed from: when did this page display it? (a stamp seen more
  // than 2.5 s ago is an earlier loop of a looping fake camera: not counted)
  const shownAt = (m.cam === null || m.cam === undefined) ? undefined : M.stamps.get(m.cam);
  if (shownAt !== undefined && now - shownAt < 2500) M.overlay.lags.push(now - shownAt);
  else M.overlay.unmatched += 1;
  if (M.overlay.times.length > 3600) { M.overlay.times.shift(); }
  if (M.overlay.lags.length > 3600) { M.overlay.lags.shift(); }
  M.last = {cam: m.cam, frame: m.frame, w: m.w, h: m.h, fw: m.fw, fh: m.fh, labels: labels, objects: m.objects,
            server_ms: m.server_ms};
  listObjects(m.objects);
}

function drawMarks(vw, vh, fw, fh) {
  const t = performance.now();
  marks = marks.filter((p) => t - p.t < 2000);
  const sx = vw / (fw || vw), sy = vh / (fh || vh);
  for (const p of marks.concat(anchor ? [anchor] : [])) {
    ctx.beginPath(); ctx.arc(p.x, p.y, 6, 0, 2 * Math.PI);
    ctx.fillStyle = p.label ? '#00e676' : '#ff1744'; ctx.fill();
    ctx.lineWidth = 2; ctx.strokeStyle = '#fff'; ctx.stroke();
  }
}

// the video: count displayed frames and note when each stamped camera frame was shown
function onVideoFrame() {
  const t = performance.now();
  M.video.frames += 1; M.video.shown.push(t);
  if (M.video.shown.length > 3600) M.video.shown.shift();
  const w = video.videoWidth, h = video.videoHeight;
  if (w && h) {
    let s = null;
    try { s = samstreamDecodeStamp(video, stampCanvas, w, h); } catch (e) { s = null; }
    if (s) { M.stamps.set(s.index, t); if (M.stamps.size > 512) M.stamps.delete(M.stamps.keys().next().value); }
  }
  video.requestVideoFrameCallback(onVideoFrame);
}
if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) video.requestVideoFrameCallback(onVideoFrame);

setInterval(() => {
  const t = performance.now();
  const vf = M.video.shown.filter((v) => t - v < 2000).length / 2;
  const of = M.overlay.times.filter((v) => t - v < 2000).length / 2;
  const recent = M.overlay.lags.slice(-Math.max(1, Math.round(of * 2))).slice().sort((a, b) => a - b);
  const med = recent.length ? Math.round(recent[Math.floor(recent.length / 2)]) + ' ms' : '–';
  $('meter').textContent = 'in this browser: video ' + vf.toFixed(1) + ' frames/s · overlay ' + of.toFixed(1) +
    ' updates/s · overlay lag ' + med + ' (median, last 2 s)' + (M.reconnects ? ' · reconnects ' + M.reconnects : '');
  if (dc && dc.readyState === 'open') dc.send(JSON.stringify({t: 'ping'}));
}, 1000);

canvas.addEventListener('click', (e) => {
  const r = canvas.getBoundingClientRect();
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h || !r.width) return;
  const x = (e.clientX - r.left) * w / r.width, y = (e.clientY - r.top) * h / r.height;
  const mode = document.querySelector('input[name=mode]:checked').value;
  if (!send({t: 'click', x: x, y: y, w: w, h: h, mode: mode})) return;
  if (mode === 'box') { anchor = anchor ? null : {x: x, y: y, label: 1, t: performance.now()}; }
  else marks.push({x: x, y: y, label: mode === 'include' ? 1 : 0, t: performance.now()});
});
$('new').onclick = () => { anchor = null; send({t: 'new'}); };
$('clear').onclick = () => { anchor = null; marks = []; send({t: 'clear'}); };
$('everything').onclick = () => send({t: 'everything'});
$('remove').onclick = () => send({t: 'remove', id: $('remove-id').value});
$('add-box').onclick = () => send({t: 'box', text: $('box').value});
document.querySelectorAll('input[name=mode]').forEach((el) => el.addEventListener('change', () => {
  anchor = null; send({t: 'mode', mode: el.value}); }));
$('flip').onclick = async () => {
  M.facing = M.facing === 'environment' ? 'user' : 'environment';
  try {
    await openCamera();
    const s = pc && pc.getSenders().find((x) => x.track || true);
    if (s) await s.replaceTrack(stream.getVideoTracks()[0]);
  } catch (e) { message('cannot switch camera: ' + e, false); }
};
window.addEventListener('pagehide', () => {
  bye = true;
  if (M.session) navigator.sendBeacon('/webrtc/close' + (TOKEN ? '?token=' + encodeURIComponent(TOKEN) : ''),
                                      JSON.stringify({session: M.session}));
  teardown();
});
document.addEventListener('visibilitychange', () => {
  // a phone that wakes up: reconnect at once when the connection died meanwhile
  if (document.visibilityState === 'visible' && !pc && timer) { clearTimeout(timer); timer = null; connect(); }
});
connect();
})();
</script></body></html>
"""


def page_html(ice_servers: list[dict]) -> str:
    """The page, with the browser's ICE servers (``RTCIceServer`` dictionaries) filled in."""
    cfg = json.dumps({"iceServers": ice_servers}).replace("</", "<\\/")
    return _TEMPLATE.replace("__CONFIG__", cfg).replace("__STAMP_JS__", STAMP_JS)

