// Messages written but not yet acknowledged, and the rules for sending them again.
// A message keeps its client_id for every attempt, so the server stores it once however
// often it is resent. Sends go oldest first, one at a time: a refusal stops the round, so
// messages never overtake each other and a backlog never trips the rate limit.
// Pure: the socket, the clock and the timers are passed in, so tests/web/outbox.test.mjs
// runs it under node without waiting.
import { jitter, nextBackoff } from "../backoff.js";

/** Refusals that pass with time: the same message is sent again later. A crisis that
 * was alerted although not posted is not retried automatically: the author decides. */
export function isRetryable(err) {
  if (!err || err.alerted) return false;
  return err.code === "rate_limited" || err.code === "unavailable" || err.code === "timeout";
}

/**
 * @param {object} deps
 * @param {(p: object) => Promise<object>} deps.send  sends one message, resolves with the ack
 * @param {() => string|null} deps.activeRoom  only the open room's messages are sent
 * @param {() => boolean} deps.isJoined  and only once the room is joined
 * @param {() => boolean} deps.isConnected
 * @param {(p: object) => void} [deps.onChange]  a pending message changed state
 * @param {(p: object, ack: object) => void} [deps.onSent]  acknowledged (no longer pending)
 * @param {(p: object, err: object) => void} [deps.onRefused]  refused for good
 */
export function createOutbox({
  send,
  activeRoom,
  isJoined,
  isConnected,
  onChange = () => {},
  onSent = () => {},
  onRefused = () => {},
  now = Date.now,
  schedule = (fn, ms) => setTimeout(fn, ms),
  cancel = (handle) => clearTimeout(handle),
  random = Math.random,
}) {
  const pending = new Map(); // client_id -> pending message
  let written = 0;
  let timer = null;
  let resending = false;
  let resendAgain = false;

  function scheduleFlush(ms) {
    cancel(timer);
    timer = schedule(flush, ms);
  }

  /** One attempt; true when acknowledged. A late answer to an older attempt is ignored. */
  async function attempt(p) {
    if (!pending.has(p.client_id)) return false;
    p.attempt += 1;
    const mine = p.attempt;
    if (!isConnected() || !isJoined() || activeRoom() !== p.room_id) {
      p.state = "queued";
      onChange(p);
      return false;
    }
    p.state = "sending";
    p.error = null;
    onChange(p);
    try {
      const ack = await send(p);
      pending.delete(p.client_id);
      p.backoff = 0;
      onSent(p, ack);
      return true;
    } catch (err) {
      if (!pending.has(p.client_id) || p.attempt !== mine) return false;
      refused(p, err);
      onChange(p);
      return false;
    }
  }

  function refused(p, err) {
    if (err.code === "offline" || !isConnected()) {
      p.state = "queued";
    } else if (isRetryable(err)) {
      // Busy or briefly unavailable: wait (the server's retry_after, else a jittered
      // back-off) and resend this one and those after it, in order.
      p.state = "queued";
      p.backoff = nextBackoff(p.backoff || 0);
      scheduleFlush(err.retryAfter ? err.retryAfter * 1000 : jitter(p.backoff, random));
    } else {
      p.state = "failed";
      p.error = err;
      onRefused(p, err);
    }
  }

  /** Send what is waiting in the open room, oldest first, one at a time. */
  async function flush() {
    if (resending) {
      resendAgain = true; // picked up when the round in progress ends
      return;
    }
    resending = true;
    try {
      do {
        resendAgain = false;
        for (const p of [...pending.values()].sort((a, b) => a.seq - b.seq)) {
          if (p.room_id !== activeRoom() || (p.state !== "queued" && p.state !== "sending")) continue;
          if (!(await attempt(p))) return;
        }
      } while (resendAgain);
    } finally {
      resending = false;
    }
  }

  return {
    /** A message just written: pending (shown as sending) until flush() sends it. */
    add({ room_id, text, client_id }) {
      const p = {
        client_id,
        room_id,
        text,
        state: "sending",
        seq: ++written,
        attempt: 0,
        error: null,
        created_at: new Date(now()).toISOString(),
      };
      pending.set(client_id, p);
      return p;
    },
    has: (clientId) => pending.has(clientId),
    get: (clientId) => pending.get(clientId),
    /** The room's pending messages, in the order written. */
    inRoom: (roomId) => [...pending.values()].filter((p) => p.room_id === roomId).sort((a, b) => a.seq - b.seq),
    /** The stored message arrived (live, or in history) before the ack did. */
    ack: (clientId) => pending.delete(clientId),
    discard: (clientId) => pending.delete(clientId),
    dropRoom(roomId) {
      for (const p of [...pending.values()]) if (p.room_id === roomId) pending.delete(p.client_id);
    },
    clear() {
      cancel(timer);
      pending.clear();
    },
    /** The connection dropped: what was in flight waits for the next connection. */
    suspend() {
      for (const p of pending.values()) {
        if (p.state === "sending") {
          p.state = "queued";
          p.attempt += 1; // ignore a late answer from the old connection
          onChange(p);
        }
      }
    },
    /** The author pressed "Try again" on a refused message. */
    retry: (p) => attempt(p),
    flush,
  };
}
