// How long to wait before trying again: shared by the socket's reconnect and the chat
// outbox's resend, so that both back off the same way. Pure, unit-tested under node.

const FIRST_MS = 1000;
const MAX_MS = 30000;

/** 1 s, 2 s, 4 s ... up to 30 s. */
export function nextBackoff(previousMs) {
  return previousMs > 0 ? Math.min(MAX_MS, previousMs * 2) : FIRST_MS;
}

/** Between half and all of `ms`, so that clients coming back together do not retry together. */
export function jitter(ms, random = Math.random) {
  return Math.round(ms * (0.5 + random() / 2));
}
