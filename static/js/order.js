// Pure rules of the message list and of resending: ordering by the room's sequence
// number, and when and how long to wait before sending again. Unit-tested under node.

const SEQ_WIDTH = 12;

/** Confirmed messages sort by the room's gap-free `seq`; messages still being sent sort
 * after them, in the order they were written. */
export function messageSortKey(msg) {
  if (msg._pending) return `~${String(msg._pending.seq).padStart(SEQ_WIDTH, "0")}`;
  const seq = Number.isInteger(msg.seq) ? msg.seq : 0;
  return `${String(seq).padStart(SEQ_WIDTH, "0")}|${msg.id || ""}`;
}

/** Refusals that pass with time: the same message is sent again later. A crisis that
 * was alerted although not posted is not retried automatically: the author decides. */
export function isRetryable(err) {
  if (!err || err.alerted) return false;
  return err.code === "rate_limited" || err.code === "unavailable" || err.code === "timeout";
}

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

/** A live message whose seq jumps past the newest one we hold means we missed some (a
 * dropped packet, a message stored while we reconnected). Gaps are also normal where a
 * peer's held message was never sent to us: fetching then finds nothing, which is fine. */
export function leavesGap(newestSeq, msg) {
  return Number.isInteger(newestSeq) && Number.isInteger(msg && msg.seq) && msg.seq > newestSeq + 1;
}
