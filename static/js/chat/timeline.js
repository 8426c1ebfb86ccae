// The room's messages as data: ordered by the room's `seq`, one entry per message
// (a message heard twice, live and from history, is kept once and updated in place),
// messages still being sent after the confirmed ones. Pure: no DOM, no socket, so the
// ordering and gap rules are unit-tested under node (tests/web/timeline.test.mjs).

const SEQ_WIDTH = 12;

/** Confirmed messages sort by the room's gap-free `seq`; messages still being sent sort
 * after them, in the order they were written. */
export function messageSortKey(msg) {
  if (msg._pending) return `~${String(msg._pending.seq).padStart(SEQ_WIDTH, "0")}`;
  const seq = Number.isInteger(msg.seq) ? msg.seq : 0;
  return `${String(seq).padStart(SEQ_WIDTH, "0")}|${msg.id || ""}`;
}

/** A live message whose seq jumps past the newest one we hold means we missed some (a
 * dropped packet, a message stored while we reconnected). Gaps are also normal where a
 * peer's held message was never sent to us: fetching then finds nothing, which is fine. */
export function leavesGap(newestSeq, msg) {
  return Number.isInteger(newestSeq) && Number.isInteger(msg && msg.seq) && msg.seq > newestSeq + 1;
}

/** A confirmed message is known by its id (the seq is unique in a room, so one id is one
 * seq); a message still being sent by the client_id the author's browser gave it. */
export function keyOf(msg) {
  return msg._pending ? `c:${msg.client_id}` : msg.id;
}

/** One room's timeline. Created per room, so leaving a room forgets it whole. */
export function createTimeline() {
  const messages = new Map(); // key -> message
  const order = []; // keys, sorted by messageSortKey

  function confirmed(keys) {
    for (const k of keys) {
      const m = messages.get(k);
      if (m && !m._pending) return m;
    }
    return null;
  }
  const newestConfirmed = () => confirmed([...order].reverse());
  const oldestConfirmed = () => confirmed(order);

  function insertionIndex(msg) {
    const sk = messageSortKey(msg);
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (messageSortKey(messages.get(order[mid])) < sk) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  return {
    get size() {
      return order.length;
    },
    has: (key) => messages.has(key),
    get: (key) => messages.get(key),
    keys: () => [...order],
    list: () => order.map((k) => messages.get(k)),
    newestConfirmed,
    oldestConfirmed,

    /** Add a message, or apply an update to one we hold (a hide, a release, a delete:
     * the newest version wins and keeps its place). `next` is the key it now sits
     * before (null at the end), so a view can insert it at the same place. */
    upsert(msg) {
      const key = keyOf(msg);
      if (messages.has(key)) {
        messages.set(key, msg);
        return { key, inserted: false, next: null };
      }
      const at = insertionIndex(msg);
      messages.set(key, msg);
      order.splice(at, 0, key);
      return { key, inserted: true, next: order[at + 1] ?? null };
    },

    remove(key) {
      if (!messages.delete(key)) return false;
      const i = order.indexOf(key);
      if (i >= 0) order.splice(i, 1);
      return true;
    },

    /** When a live message reveals that some were missed, the id to fetch after. */
    gapBefore(msg) {
      if (!msg || messages.has(msg.id)) return null;
      const newest = newestConfirmed();
      return newest && leavesGap(newest.seq, msg) ? newest.id : null;
    },
  };
}
