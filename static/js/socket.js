// Socket.IO connection: auth token, websocket-first with polling fallback, an
// ack-with-timeout helper that turns {ok:false,error} into AppError, and
// connection-state notifications the views use to fill gaps after a reconnect.
import { jitter } from "./backoff.js";
import { io } from "/vendor/socket.io.esm.min.js";
import { AppError, AUTH_CODES } from "./errors.js";

const ACK_TIMEOUT_MS = 10000;

let socket = null;
let generation = 0; // increments on every successful (re)connect
let everConnected = false;
const handlers = new Map(); // event -> Set<fn>, kept across sockets
const statusListeners = new Set();
let status = "offline";
let hooks = { onAuthError: () => {}, onRefused: () => {} };
let retryTimer = null;

function setStatus(next, detail) {
  status = next;
  for (const fn of statusListeners) fn(next, detail);
}

export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

export function getStatus() {
  return status;
}

export function isConnected() {
  return Boolean(socket && socket.connected);
}

export function connectionGeneration() {
  return generation;
}

/** Register a server->client event handler (survives reconnects and re-logins). */
export function on(event, fn) {
  if (!handlers.has(event)) handlers.set(event, new Set());
  handlers.get(event).add(fn);
  if (socket) socket.on(event, fn);
  return () => {
    handlers.get(event)?.delete(fn);
    if (socket) socket.off(event, fn);
  };
}

export function connect(token, { onAuthError, onRefused } = {}) {
  disconnect();
  hooks = { onAuthError: onAuthError || (() => {}), onRefused: onRefused || (() => {}) };
  everConnected = false;
  setStatus("connecting");
  socket = io({
    auth: { token },
    // WebSocket first; if it cannot be opened we fall back to long-polling below.
    transports: ["websocket"],
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 10000,
    // Jitter: after a restart or a network blip, a clinic's clients must not all come
    // back in the same instant (a reconnect storm); each waits 50-150% of its delay.
    randomizationFactor: 0.5,
    timeout: 15000,
  });
  for (const [event, fns] of handlers) for (const fn of fns) socket.on(event, fn);

  socket.on("connect", () => {
    generation += 1;
    everConnected = true;
    setStatus("connected", { generation });
  });

  socket.on("disconnect", (reason) => {
    if (reason === "io client disconnect") {
      setStatus("offline");
      return;
    }
    setStatus("reconnecting", { reason });
    if (reason === "io server disconnect") {
      // The server closed us (e.g. a restart); try again unless a session:ended follows.
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => socket && !socket.connected && socket.connect(), 2000);
    }
  });

  socket.on("connect_error", (err) => {
    const data = err && err.data ? err.data : null;
    if (data && AUTH_CODES.has(data.code)) {
      const s = socket;
      disconnect();
      hooks.onAuthError(new AppError(data));
      if (s) s.removeAllListeners();
      return;
    }
    if (data && data.code) {
      // Refused by the server for another reason: tell the user and retry later.
      hooks.onRefused(new AppError(data));
      clearTimeout(retryTimer);
      // The server's retry_after (busy: too many connections from this network), else 5 s,
      // with jitter so that refused clients do not return together.
      const wait = jitter((data.retry_after ? Number(data.retry_after) : 5) * 1000);
      retryTimer = setTimeout(() => socket && !socket.connected && socket.connect(), wait);
      setStatus("reconnecting", { error: data });
      return;
    }
    // Transport failure: allow long-polling (with upgrade to websocket when possible).
    if (socket) socket.io.opts.transports = ["polling", "websocket"];
    setStatus(everConnected ? "reconnecting" : "connecting", { error: err });
  });

  return socket;
}

export function disconnect() {
  clearTimeout(retryTimer);
  if (socket) {
    const s = socket;
    socket = null;
    s.disconnect();
  }
  setStatus("offline");
}

/**
 * Emit with an acknowledgement and a timeout. Resolves with the ack object
 * ({ok:true,...}); rejects with AppError (code from the server, or "timeout"/"offline").
 */
export async function call(event, payload, { timeout = ACK_TIMEOUT_MS, requireConnected = true } = {}) {
  if (!socket || (requireConnected && !socket.connected)) {
    throw new AppError({ code: "offline", message: "Not connected." });
  }
  let res;
  try {
    res = await socket.timeout(timeout).emitWithAck(event, payload);
  } catch {
    throw new AppError({
      code: socket && socket.connected ? "timeout" : "offline",
      message: "No answer from the server.",
    });
  }
  if (!res || typeof res !== "object") {
    throw new AppError({ code: "internal", message: "Unexpected reply from the server." });
  }
  if (res.ok !== true) {
    throw new AppError(res.error || { code: "internal", message: "The server refused that." });
  }
  return res;
}
