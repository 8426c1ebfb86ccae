// node --test tests/web: the room's timeline (ordering, duplicates, gaps, updates).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createTimeline, leavesGap, messageSortKey } from "../../static/js/chat/timeline.js";

const msg = (seq, extra = {}) => ({ id: `m${seq}`, seq, room_id: "r", text: `message ${seq}`, status: "visible", ...extra });
const pendingMsg = (order, clientId) => ({ id: null, client_id: clientId, _pending: { seq: order } });
const ids = (timeline) => timeline.list().map((m) => m.id ?? `c:${m.client_id}`);
const sorted = (msgs) => [...msgs].sort((a, b) => (messageSortKey(a) < messageSortKey(b) ? -1 : 1));

test("messages are ordered by the room's seq, not by their clocks", () => {
  const late = { id: "b", seq: 2, created_at: "2026-12-06T10:00:00Z" };
  const early = { id: "a", seq: 10, created_at: "2026-12-06T09:00:00Z" };
  assert.deepEqual(sorted([early, late]).map((m) => m.id), ["b", "a"]);
});

test("seq 9 sorts before seq 10 (numbers, not strings)", () => {
  assert.deepEqual(sorted([{ id: "x", seq: 10 }, { id: "y", seq: 9 }]).map((m) => m.id), ["y", "x"]);
});

test("messages arriving out of order are shown in the room's order", () => {
  const timeline = createTimeline();
  for (const seq of [3, 1, 4, 2]) timeline.upsert(msg(seq));
  assert.deepEqual(ids(timeline), ["m1", "m2", "m3", "m4"]);
});

test("a new message reports the one it sits before, so the view inserts it in place", () => {
  const timeline = createTimeline();
  timeline.upsert(msg(1));
  timeline.upsert(msg(3));
  assert.deepEqual(timeline.upsert(msg(2)), { key: "m2", inserted: true, next: "m3" });
  assert.deepEqual(timeline.upsert(msg(4)), { key: "m4", inserted: true, next: null });
});

test("a message heard twice (live and from history) is kept once", () => {
  const timeline = createTimeline();
  timeline.upsert(msg(1));
  timeline.upsert(msg(2));
  const again = timeline.upsert(msg(2));
  assert.equal(again.inserted, false);
  assert.equal(timeline.size, 2);
  assert.deepEqual(ids(timeline), ["m1", "m2"]);
});

test("messages still being sent come after every confirmed one, in the order written", () => {
  const timeline = createTimeline();
  timeline.upsert(pendingMsg(2, "b"));
  timeline.upsert(msg(500));
  timeline.upsert(pendingMsg(1, "a"));
  assert.deepEqual(ids(timeline), ["m500", "c:a", "c:b"]);
  assert.equal(timeline.newestConfirmed().id, "m500");
});

test("a hidden message is updated in place: same position, no copy, no text", () => {
  const timeline = createTimeline();
  for (const seq of [1, 2, 3]) timeline.upsert(msg(seq));
  const result = timeline.upsert(msg(2, { status: "hidden", text: null }));
  assert.equal(result.inserted, false);
  assert.deepEqual(ids(timeline), ["m1", "m2", "m3"]);
  assert.equal(timeline.get("m2").status, "hidden");
  assert.equal(timeline.get("m2").text, null);
});

test("a live message that skips a seq is a gap to fill after the newest message held", () => {
  const timeline = createTimeline();
  timeline.upsert(msg(1));
  timeline.upsert(msg(2));
  assert.equal(timeline.gapBefore(msg(3)), null);
  assert.equal(timeline.gapBefore(msg(5)), "m2");
});

test("a gap is filled from history and the live message lands after it", () => {
  const timeline = createTimeline();
  timeline.upsert(msg(1));
  timeline.upsert(msg(2));
  const live = msg(5);
  const after = timeline.gapBefore(live);
  timeline.upsert(live);
  for (const m of [msg(3), msg(4), msg(5)]) timeline.upsert(m); // history after `after`, overlapping the live one
  assert.equal(after, "m2");
  assert.deepEqual(ids(timeline), ["m1", "m2", "m3", "m4", "m5"]);
  assert.equal(timeline.gapBefore(msg(6)), null);
});

test("a message already held is never a gap, and an empty room has none", () => {
  const timeline = createTimeline();
  assert.equal(timeline.gapBefore(msg(9)), null);
  timeline.upsert(msg(1));
  timeline.upsert(msg(9));
  assert.equal(timeline.gapBefore(msg(9)), null);
});

test("the seq rule on its own: only a jump past the next seq is a gap", () => {
  assert.equal(leavesGap(7, { seq: 8 }), false);
  assert.equal(leavesGap(7, { seq: 10 }), true);
  assert.equal(leavesGap(7, { seq: 7 }), false);
  assert.equal(leavesGap(undefined, { seq: 10 }), false);
});

test("the oldest confirmed message is where older history is fetched from", () => {
  const timeline = createTimeline();
  timeline.upsert(pendingMsg(1, "a"));
  assert.equal(timeline.oldestConfirmed(), null);
  timeline.upsert(msg(7));
  timeline.upsert(msg(4));
  assert.equal(timeline.oldestConfirmed().id, "m4");
});

test("a removed message leaves the order", () => {
  const timeline = createTimeline();
  timeline.upsert(msg(1));
  timeline.upsert(pendingMsg(1, "a"));
  assert.equal(timeline.remove("c:a"), true);
  assert.equal(timeline.remove("c:a"), false);
  assert.deepEqual(ids(timeline), ["m1"]);
});
