"""The WebRTC path of the live view: the browser's camera in, label maps out (aiortc).

How it flows (one browser tab = one :class:`RtcSession`)
    The page (:mod:`samstream.ui.webrtc_page`) sends its camera as a WebRTC video track and opens
    a data channel; ``POST /webrtc/offer`` carries its SDP offer and returns the answer. On the
    server, a task drains ``track.recv()`` continuously (aiortc's receive queue never builds up),
    converts each decoded frame to BGR and hands it to the tab's own
    :class:`~samstream.ui.stream.Stream` (a ``push`` source: a slot of one, so the pipeline
    always works on the newest frame and stale ones are dropped, never queued). A sender thread
    waits for each newer result and sends a *label map* back on the data channel: the object-id
    map at reduced resolution (at most :data:`MAP_MAX_SIDE` pixels a side), run-length encoded,
    with the frame stamp the camera frame carried (:mod:`samstream.ui.stamp`, when it has one)
    and the objects' ids and colours (the ROS 2 ids and palette). The page draws it in a
    ``<canvas>`` over its own ``<video>``: the video plays at the camera's own rate and is never
    delayed; only the overlay trails it.

Never a backlog
    The drain task keeps only the newest frame; the sender skips a result while the data
    channel still holds more than :data:`MAX_BUFFERED` bytes (a slow page or network gets the
    newest map when it can take one). Prompts (clicks, boxes, new object, clear, remove) arrive
    on the same data channel and run in order on a worker thread of the session, through the
    same :class:`~samstream.ui.prompts.View` as the server-camera view.

Freed when gone
    A session ends (peer connection closed, its pipeline stopped, its view dropped from the hub)
    when the page says goodbye (``pagehide``: a data-channel message and a beacon to
    ``/webrtc/close``), when the data channel closes, when the connection fails or stays
    disconnected for :data:`DISCONNECTED_GRACE_S`, and, as a last resort, when nothing (no frame,
    no ping) arrived for ``idle_s``. The page reconnects by itself.

aiortc runs on an event loop of its own, in one thread (:class:`RtcServer`): the web server's
loop only awaits the answer. No Gradio here.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

import numpy as np

from ..sinks.overlay import colour_for
from ..types import Segmentation
from .stamp import block_size, decode_stamp

__all__ = ["IceServer", "parse_ice_server", "RtcServer", "RtcSessionInfo", "SessionLimit", "label_runs",
           "MAP_MAX_SIDE", "MAX_BUFFERED", "require_aiortc"]

log = logging.getLogger("samstream.ui.webrtc")

MAP_MAX_SIDE = 320  # label map sent to the page: at most this many pixels a side
MAX_BUFFERED = 256 * 1024  # bytes queued on the data channel above which a map is skipped
DISCONNECTED_GRACE_S = 4.0  # an ICE "disconnected" that lasts this long ends the session
STATS_EVERY_S = 0.5
MAX_OFFER_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 16 * 1024


def require_aiortc() -> None:
    """``ImportError`` with the install command when aiortc is missing."""
    try:
        import aiortc  # noqa: F401
    except ImportError:
        raise ImportError("the WebRTC view needs aiortc, which is not installed: pip install 'samstream[ui]' "
                          "(or pip install aiortc).") from None


class SessionLimit(ValueError):
    """Too many WebRTC sessions at once (HTTP 503)."""


@dataclass(frozen=True)
class IceServer:
    """A STUN/TURN server for ICE: ``url`` like ``stun:host:3478`` or ``turn:host:3478?transport=udp``."""

    url: str
    username: Optional[str] = None
    credential: Optional[str] = None

    def for_browser(self) -> dict:
        """The ``RTCIceServer`` dictionary of the page."""
        d: dict[str, Any] = {"urls": [self.url]}
        if self.username is not None:
            d["username"] = self.username
            d["credential"] = self.credential or ""
        return d


def parse_ice_server(text: str) -> IceServer:
    """``stun:HOST[:PORT]`` or ``turn[s]:[USER:PASS@]HOST[:PORT][?transport=udp|tcp]`` -> :class:`IceServer`.

    ``ValueError`` naming the expected form otherwise.
    """
    t = str(text).strip()
    scheme, sep, rest = t.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in ("stun", "stuns", "turn", "turns") or not rest.strip("/"):
        raise ValueError(f"--ice-server {text!r} is not a STUN/TURN URL: use stun:HOST:PORT or "
                         "turn:USER:PASSWORD@HOST:PORT (e.g. --ice-server stun:stun.example.org:3478).")
    rest = rest.lstrip("/")
    user = cred = None
    if "@" in rest:
        auth, _, rest = rest.rpartition("@")
        user, _, cred = auth.partition(":")
        user, cred = unquote(user), unquote(cred)
        if scheme.startswith("stun"):
            raise ValueError(f"--ice-server {text!r}: STUN servers take no user name; drop 'USER:PASS@'.")
    host = urlsplit("//" + rest.split("?")[0]).hostname
    if not host:
        raise ValueError(f"--ice-server {text!r} names no host: use e.g. turn:USER:PASS@turn.example.org:3478.")
    if scheme.startswith("turn") and not user:
        raise ValueError(f"--ice-server {text!r}: a TURN server needs credentials: turn:USER:PASSWORD@HOST:PORT.")
    return IceServer(f"{scheme}:{rest}", user, cred)


@dataclass(frozen=True)
class RtcSessionInfo:
    """What the status route shows of one WebRTC session.

    Attributes:
        sid: session id; state: the peer connection's state (``new`` .. ``connected``);
        age_s: seconds since the offer; frames_in: frames received from the browser;
        frames_pushed: of these, handed to the pipeline; maps_sent / maps_skipped: label maps sent,
        and skipped because the data channel was still full; camera_size: ``(width, height)`` of
        the received video (``None`` before the first frame); stamps: camera frames whose stamp
        was read; actions: prompts received.
    """

    sid: str
    state: str
    age_s: float
    frames_in: int
    frames_pushed: int
    maps_sent: int
    maps_skipped: int
    camera_size: Optional[tuple[int, int]]
    stamps: int
    actions: int


def label_runs(seg: Segmentation, max_side: int = MAP_MAX_SIDE) -> tuple[int, int, list[int]]:
    """The object-id map of ``seg`` at reduced size, run-length encoded.

    Returns ``(w, h, runs)``: the map is ``w x h`` pixels (the frame scaled down, nearest
    neighbour, so the longer side is at most ``max_side``), ``runs`` is ``[value, length, value,
    length, ...]`` over its pixels in row-major order (values 0 background or an object id 1..255,
    later objects on top; lost objects are not drawn).
    """
    import cv2

    lm = seg.label_map()
    h, w = lm.shape
    if h == 0 or w == 0:
        return 0, 0, []
    scale = min(1.0, float(max_side) / max(h, w))
    if scale < 1.0:
        sw, sh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        lm = cv2.resize(lm, (sw, sh), interpolation=cv2.INTER_NEAREST)
    flat = lm.ravel()
    starts = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    runs = np.empty(2 * len(starts), np.int64)
    runs[0::2], runs[1::2] = flat[starts], lengths
    return int(lm.shape[1]), int(lm.shape[0]), runs.tolist()


def _hex(oid: int) -> str:
    b, g, r = colour_for(oid)
    return "#%02x%02x%02x" % (r, g, b)


@dataclass
class RtcSession:
    """One browser tab on the WebRTC path (see the module doc). Internal to :class:`RtcServer`."""

    sid: str
    view: Any  # samstream.ui.prompts.View
    pc: Any  # aiortc.RTCPeerConnection
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    channel: Any = None
    drain_task: Any = None
    frames_in: int = 0
    frames_pushed: int = 0
    maps_sent: int = 0
    maps_skipped: int = 0
    stamps_read: int = 0
    actions: int = 0
    camera_size: Optional[tuple[int, int]] = None
    closed: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    worker: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="samstream-rtc-act"))
    # pushed frame index -> the camera stamp's frame index (bounded)
    stamps: "collections.OrderedDict[int, int]" = field(default_factory=collections.OrderedDict)
    disconnected_since: Optional[float] = None

    def info(self) -> RtcSessionInfo:
        return RtcSessionInfo(self.sid, str(getattr(self.pc, "connectionState", "?")),
                              round(time.monotonic() - self.created, 1), self.frames_in, self.frames_pushed,
                              self.maps_sent, self.maps_skipped, self.camera_size, self.stamps_read, self.actions)


class RtcServer:
    """The WebRTC sessions of a live-view :class:`~samstream.ui.hub.Hub`, on aiortc's own event loop.

    Args:
        hub: the hub; each session is a view of it on its own push stream (a "webcam"), so the
            hub's ``max_webcams`` also caps the sessions.
        ice_servers: STUN/TURN servers (none needed on a LAN).
        idle_s: a session from which nothing (no frame, no ping) arrived for this long is closed
            (the last resort; a closed tab is noticed at once).
        max_sessions: sessions at once (default: the hub's ``max_webcams``).
    """

    def __init__(self, hub, ice_servers: tuple[IceServer, ...] = (), idle_s: float = 10.0,
                 max_sessions: Optional[int] = None) -> None:
        require_aiortc()
        self.hub = hub
        self.ice_servers = tuple(ice_servers)
        self.idle_s = float(idle_s)
        self.max_sessions = int(max_sessions if max_sessions is not None else max(1, hub.max_webcams))
        self._sessions: dict[str, RtcSession] = {}
        self._lock = threading.Lock()
        self.closed_reasons: "collections.deque[str]" = collections.deque(maxlen=16)
        self.sessions_total = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="samstream-webrtc", daemon=True)
        self._thread.start()
        self._closing = False
        asyncio.run_coroutine_threadsafe(self._watchdog(), self._loop)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    # -- public, thread-safe -------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Sessions open now."""
        with self._lock:
            return len(self._sessions)

    def infos(self) -> list[RtcSessionInfo]:
        with self._lock:
            return [s.info() for s in self._sessions.values()]

    def status(self) -> dict:
        """JSON-ready summary for the status route."""
        return {"webrtc_sessions": self.count, "webrtc_sessions_total": self.sessions_total,
                "webrtc": [asdict(i) for i in self.infos()], "webrtc_closed": list(self.closed_reasons)}

    def browser_ice_servers(self) -> list[dict]:
        return [s.for_browser() for s in self.ice_servers]

    async def offer(self, sdp: Any, kind: Any = "offer", timeout: float = 20.0) -> dict:
        """Answer a browser's SDP offer (await from any event loop): ``{sdp, type, session}``.

        ``ValueError`` (naming the fix) for a malformed offer, :class:`SessionLimit` when full.
        """
        if not isinstance(sdp, str) or not sdp.strip() or len(sdp) > MAX_OFFER_BYTES:
            raise ValueError("the offer must be an SDP string under 64 KB: reload the page.")
        if kind != "offer":
            raise ValueError(f"expected an SDP of type 'offer', got {kind!r}: reload the page.")
        fut = asyncio.run_coroutine_threadsafe(self._offer(sdp), self._loop)
        return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)

    def close_session(self, sid: str, why: str) -> bool:
        """End session ``sid`` (any thread): peer connection closed, pipeline stopped, view dropped.
        Returns whether it was open."""
        with self._lock:
            s = self._sessions.pop(sid, None)
        if s is None:
            return False
        s.closed = True
        s.stop.set()
        self.closed_reasons.append(f"{sid}: {why}")
        log.info("webrtc session %s closed: %s", sid, why)
        if not self._loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._close_pc(s), self._loop)
            except RuntimeError:
                pass
        s.worker.shutdown(wait=False, cancel_futures=True)
        # stopping the stream joins its pipeline thread: never on the event loop
        threading.Thread(target=self.hub.drop, args=(sid,), name="samstream-rtc-drop", daemon=True).start()
        return True

    def close(self) -> None:
        """Close every session and stop the event loop."""
        self._closing = True
        for sid in list(self._sessions):
            self.close_session(sid, "server shutting down")
        if self._loop.is_running():
            async def _stop():
                await asyncio.sleep(0.2)  # let the pc.close() calls run
                self._loop.stop()
            asyncio.run_coroutine_threadsafe(_stop(), self._loop)
            self._thread.join(timeout=5.0)

    # -- on the loop -------------------------------------------------------------------------------
    async def _close_pc(self, s: RtcSession) -> None:
        if s.drain_task is not None:
            s.drain_task.cancel()
        try:
            await asyncio.wait_for(s.pc.close(), 5.0)
        except Exception as exc:  # closing must never raise
            log.debug("pc.close: %s", exc)

    async def _offer(self, sdp: str) -> dict:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

        if self._closing:
            raise SessionLimit("the server is shutting down.")
        with self._lock:
            n = len(self._sessions)
        if n >= self.max_sessions:
            raise SessionLimit(f"{n} WebRTC sessions are open (limit {self.max_sessions}): close another tab "
                               "or phone, or start `samstream demo` with a larger --max-webrtc.")
        sid = "rtc-" + secrets.token_hex(8)
        loop = asyncio.get_running_loop()

        def make_view():
            v = self.hub.view(sid)
            v.streaming = True  # the hub never drops it as idle: this server does
            v.set_input(True)  # its own push stream; ValueError when the webcam limit is reached
            return v

        try:
            view = await loop.run_in_executor(None, make_view)
        except ValueError as exc:
            await loop.run_in_executor(None, self.hub.drop, sid)
            raise SessionLimit(str(exc)) from None
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=[s.url], username=s.username,
                                                           credential=s.credential) for s in self.ice_servers])
        pc = RTCPeerConnection(configuration=config)
        s = RtcSession(sid, view, pc)
        with self._lock:
            self._sessions[sid] = s
            self.sessions_total += 1
        self._wire(s)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise ValueError("the offer has no video track: allow the camera and reload the page.")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            self.close_session(sid, f"bad offer: {exc}")
            if isinstance(exc, ValueError):
                raise
            raise ValueError(f"the offer could not be answered ({type(exc).__name__}: {exc}): reload the page.") from None
        threading.Thread(target=self._sender, args=(s,), name=f"samstream-rtc-send[{sid}]", daemon=True).start()
        return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type, "session": sid}

    def _wire(self, s: RtcSession) -> None:
        pc = s.pc

        @pc.on("track")
        def on_track(track):
            if track.kind == "video" and s.drain_task is None:
                s.drain_task = asyncio.ensure_future(self._drain(s, track))

        @pc.on("datachannel")
        def on_datachannel(channel):
            if s.channel is not None:
                return
            s.channel = channel

            @channel.on("message")
            def on_message(message):
                s.last_seen = time.monotonic()
                self._on_message(s, message)

            @channel.on("close")
            def on_close():
                self.close_session(s.sid, "data channel closed")

        @pc.on("connectionstatechange")
        async def on_state():
            state = pc.connectionState
            if state in ("failed", "closed"):
                self.close_session(s.sid, f"connection {state}")
            elif state == "disconnected":
                s.disconnected_since = time.monotonic()
            else:
                s.disconnected_since = None

    async def _drain(self, s: RtcSession, track) -> None:
        """Take every decoded frame off aiortc's queue as it comes; hand the newest to the pipeline."""
        from aiortc.mediastreams import MediaStreamError

        try:
            while not s.closed:
                frame = await track.recv()
                s.frames_in += 1
                s.last_seen = time.monotonic()
                try:
                    img = frame.to_ndarray(format="bgr24")
                except Exception as exc:  # a frame that cannot be converted is skipped
                    log.debug("frame conversion: %s", exc)
                    continue
                h, w = img.shape[:2]
                s.camera_size = (w, h)
                stream = s.view.webcam
                if stream is None:
                    continue
                pushed = stream.push_frame(img, time.time())
                if pushed is None:
                    continue
                s.frames_pushed += 1
                b = block_size(w)
                stamp = decode_stamp(img[h - b:]) if b else None
                if stamp is not None:
                    s.stamps_read += 1
                    s.stamps[pushed.index] = stamp[0]
                    while len(s.stamps) > 256:
                        s.stamps.popitem(last=False)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception as exc:
            log.warning("webrtc session %s: receiving video: %s", s.sid, exc)
        finally:
            if not s.closed:
                self.close_session(s.sid, "video track ended")

    def _on_message(self, s: RtcSession, message: Any) -> None:
        if not isinstance(message, str) or len(message) > MAX_MESSAGE_BYTES:
            return self._reply(s, None, False, "a message must be JSON text under 16 KB.")
        try:
            msg = json.loads(message)
            if not isinstance(msg, dict):
                raise ValueError
        except ValueError:
            return self._reply(s, None, False, "a message must be a JSON object: reload the page.")
        t = msg.get("t")
        if t == "ping":
            return
        if t == "bye":
            self.close_session(s.sid, "page closed")
            return
        req = msg.get("req")
        s.actions += 1
        try:
            s.worker.submit(self._act, s, req, msg)
        except RuntimeError:  # shutting down
            pass

    def _act(self, s: RtcSession, req: Any, msg: dict) -> None:
        """A prompt from the page, run on the session's worker thread (in order)."""
        v = s.view
        t = msg.get("t")
        try:
            if t == "click":
                if msg.get("mode") is not None:
                    v.set_mode(msg["mode"])
                x, y = msg.get("x"), msg.get("y")
                size = v.stream.size
                try:
                    pw, ph = float(msg.get("w") or 0), float(msg.get("h") or 0)
                    if size and pw > 0 and ph > 0 and (pw, ph) != tuple(map(float, size)):
                        x, y = float(x) * size[0] / pw, float(y) * size[1] / ph
                except (TypeError, ValueError):
                    raise ValueError("a click needs numbers x, y, w, h (pixels of the video).") from None
                text = v.click(x, y)
            elif t == "mode":
                v.set_mode(msg.get("mode"))
                text = f"a click adds: {v.mode}"
            elif t == "new":
                text = v.new_object()
            elif t == "clear":
                text = v.clear()
            elif t == "remove":
                text = v.remove(msg.get("id"))
            elif t == "box":
                text = v.enter_box(msg.get("text", ""))
            elif t == "everything":
                text = v.segment_everything()
            else:
                raise ValueError(f"unknown message type {t!r}: use click, mode, new, clear, remove, box, everything.")
            self._reply(s, req, True, text)
        except (ValueError, KeyError) as exc:
            self._reply(s, req, False, str(exc))
        except Exception as exc:  # never a dead session
            self._reply(s, req, False, f"unexpected error: {type(exc).__name__}: {exc}")

    def _reply(self, s: RtcSession, req: Any, ok: bool, text: str) -> None:
        self._send(s, json.dumps({"t": "msg", "req": req if isinstance(req, (int, str)) else None,
                                  "ok": bool(ok), "text": str(text)}))

    def _send(self, s: RtcSession, text: str) -> None:
        """Send on the session's data channel from any thread (dropped if it is not open)."""
        def go():
            ch = s.channel
            if ch is not None and ch.readyState == "open" and not s.closed:
                try:
                    ch.send(text)
                except Exception as exc:
                    log.debug("send: %s", exc)
        try:
            self._loop.call_soon_threadsafe(go)
        except RuntimeError:  # loop closed
            pass

    def _sender(self, s: RtcSession) -> None:
        """Per session: wait for each newer result, send its label map (newest only), and stats."""
        seq = None
        last_stats = 0.0
        while not s.stop.is_set() and not s.view.closed:
            stream = s.view.webcam
            if stream is None:
                break
            item = stream.wait_newer(seq, 0.25)
            now = time.monotonic()
            ch = s.channel
            if now - last_stats >= STATS_EVERY_S and ch is not None:
                last_stats = now
                self._send(s, json.dumps(self._stats(s, stream), default=str))
            if item is None:
                continue
            seq = item[0]
            if ch is None or ch.readyState != "open":
                continue
            if ch.bufferedAmount > MAX_BUFFERED:
                s.maps_skipped += 1
                continue
            _, frame, seg = item
            try:
                w, h, runs = label_runs(seg)
            except Exception as exc:
                log.warning("label map: %s", exc)
                continue
            objects = [[int(i), _hex(int(i)), bool(lost)] for i, lost in zip(seg.object_ids, seg.lost)]
            msg = {"t": "seg", "seq": seq, "frame": int(frame.index), "cam": s.stamps.get(int(frame.index)),
                   "w": w, "h": h, "fw": frame.width, "fh": frame.height, "runs": runs, "objects": objects,
                   "server_ms": round((time.time() - frame.timestamp) * 1000.0, 1)}
            self._send(s, json.dumps(msg, separators=(",", ":")))
            s.maps_sent += 1
        if not s.closed and s.view.closed:
            self.close_session(s.sid, "view dropped by the hub")

    def _stats(self, s: RtcSession, stream) -> dict:
        m = None
        try:
            m = stream.metrics()
        except Exception:
            pass
        err = stream.error
        if m is not None and not err and m.errors:
            err = str(list(m.errors)[-1])
        return {"t": "stats", "state": stream.state, "error": err, "model": stream.model,
                "input_fps": round(m.input_fps, 1) if m is not None else 0.0,
                "output_fps": round(m.output_fps, 1) if m is not None else 0.0,
                "latency_ms": m.latency_ms if m is not None else None,
                "dropped": m.dropped_frames if m is not None else 0,
                "frames_in": s.frames_in, "camera": s.camera_size, "session": s.sid,
                "objects": [[i, _hex(i)] for i in stream.object_ids()]}

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            with self._lock:
                sessions = list(self._sessions.values())
            for s in sessions:
                if s.disconnected_since is not None and now - s.disconnected_since > DISCONNECTED_GRACE_S:
                    self.close_session(s.sid, f"disconnected for {DISCONNECTED_GRACE_S:.0f} s")
                elif now - s.last_seen > self.idle_s:
                    self.close_session(s.sid, f"nothing received for {self.idle_s:.0f} s")
