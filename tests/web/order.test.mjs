// node --test tests/web: the web client's pure rules.
import assert from "node:assert/strict";
import { test } from "node:test";

import { isRetryable, jitter, leavesGap, messageSortKey, nextBackoff } from "../../static/js/order.js";

const sorted = (msgs) => [...msgs].sort((a, b) => (messageSortKey(a) < messageSortKey(b) ? -1 : 1));

test("messages are ordered by the room's seq, not by their clocks", () => {
  const late = { id: "b", seq: 2, created_at: "2026-12-06T10:00:00Z" };
  const early = { id: "a", seq: 10, created_at: "2026-12-06T09:00:00Z" };
  assert.deepEqual(sorted([early, late]).map((m) => m.id), ["b", "a"]);
});

test("seq 9 sorts before seq 10 (numbers, not strings)", () => {
  assert.deepEqual(sorted([{ id: "x", seq: 10 }, { id: "y", seq: 9 }]).map((m) => m.id), ["y", "x"]);
});

test("messages still being sent come after every confirmed one, in the order written", () => {
  const msgs = [
    { id: null, _pending: { seq: 2 } },
    { id: "m", seq: 500 },
    { id: null, _pending: { seq: 1 } },
  ];
  assert.deepEqual(sorted(msgs).map((m) => (m._pending ? `p${m._pending.seq}` : m.id)), ["m", "p1", "p2"]);
});

test("busy and unavailable are retried; an alerted crisis and a mute are not", () => {
  assert.equal(isRetryable({ code: "rate_limited" }), true);
  assert.equal(isRetryable({ code: "unavailable" }), true);
  assert.equal(isRetryable({ code: "unavailable", alerted: true }), false);
  assert.equal(isRetryable({ code: "muted" }), false);
  assert.equal(isRetryable(null), false);
});

test("back-off doubles from one second up to thirty", () => {
  const steps = [];
  let ms = 0;
  for (let i = 0; i < 7; i += 1) steps.push((ms = nextBackoff(ms)));
  assert.deepEqual(steps, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
});

test("jitter waits between half and all of the back-off", () => {
  assert.equal(jitter(1000, () => 0), 500);
  assert.equal(jitter(1000, () => 1), 1000);
});

test("a live message that skips a seq leaves a gap to fill; the next one does not", () => {
  assert.equal(leavesGap(7, { seq: 8 }), false);
  assert.equal(leavesGap(7, { seq: 10 }), true);
  assert.equal(leavesGap(7, { seq: 7 }), false);
  assert.equal(leavesGap(undefined, { seq: 10 }), false);
});
