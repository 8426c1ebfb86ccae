// node --test tests/web: the outbox (pending sends, retry with the same client_id,
// back-off, refusals) with a fake socket, clock and timers: nothing waits for real time.
import assert from "node:assert/strict";
import { test } from "node:test";

import { jitter, nextBackoff } from "../../static/js/backoff.js";
import { createOutbox, isRetryable } from "../../static/js/chat/outbox.js";

const refusal = (code, extra = {}) => Object.assign(new Error(code), { code, retryAfter: null, ...extra });

/** An outbox in a joined room "r", whose socket answers from `answers` (an Error refuses). */
function harness(answers = []) {
  const sent = [];
  const timers = [];
  const events = [];
  const world = { room: "r", joined: true, connected: true };
  const outbox = createOutbox({
    send: async (p) => {
      sent.push({ client_id: p.client_id, text: p.text });
      const answer = answers.shift() ?? { message: { id: `m${sent.length}`, client_id: p.client_id } };
      if (answer instanceof Error) throw answer;
      return answer;
    },
    activeRoom: () => world.room,
    isJoined: () => world.joined,
    isConnected: () => world.connected,
    onChange: (p) => events.push(["change", p.client_id, p.state]),
    onSent: (p, ack) => events.push(["sent", p.client_id, ack.message.id]),
    onRefused: (p, err) => events.push(["refused", p.client_id, err.code]),
    now: () => Date.parse("2026-12-06T10:00:00Z"),
    schedule: (fn, ms) => timers.push({ fn, ms }) - 1,
    cancel: () => {},
    random: () => 1, // jitter waits the whole back-off
  });
  const fire = async () => {
    const { fn } = timers.at(-1);
    await fn();
  };
  return { outbox, sent, timers, events, world, fire };
}

const write = (outbox, text, client_id = text, room_id = "r") => outbox.add({ room_id, text, client_id });

test("a written message is pending until the server acknowledges it", async () => {
  const { outbox, events } = harness();
  const p = write(outbox, "hello", "c1");
  assert.equal(p.state, "sending");
  assert.equal(p.created_at, "2026-12-06T10:00:00.000Z");
  assert.equal(outbox.has("c1"), true);

  await outbox.flush();

  assert.equal(outbox.has("c1"), false);
  assert.deepEqual(events, [["change", "c1", "sending"], ["sent", "c1", "m1"]]);
});

test("messages are sent in the order written, one at a time", async () => {
  const { outbox, sent } = harness();
  write(outbox, "first");
  write(outbox, "second");
  write(outbox, "third");
  await outbox.flush();
  assert.deepEqual(sent.map((s) => s.text), ["first", "second", "third"]);
});

test("offline, the message waits; back online it is sent with the same client_id", async () => {
  const { outbox, sent, world } = harness();
  world.connected = false;
  const p = write(outbox, "are you there", "c1");
  await outbox.flush();
  assert.equal(p.state, "queued");
  assert.deepEqual(sent, []);

  world.connected = true;
  await outbox.flush();
  assert.deepEqual(sent, [{ client_id: "c1", text: "are you there" }]);
  assert.equal(outbox.has("c1"), false);
});

test("a busy server is retried later with the same client_id, and the back-off grows", async () => {
  const { outbox, sent, timers, fire } = harness([refusal("rate_limited"), refusal("unavailable"), refusal("timeout")]);
  const p = write(outbox, "hang in there", "c1");

  await outbox.flush();
  await fire();
  await fire();
  assert.equal(p.state, "queued");
  assert.deepEqual(timers.map((t) => t.ms), [1000, 2000, 4000]);

  await fire();
  assert.deepEqual(sent.map((s) => s.client_id), ["c1", "c1", "c1", "c1"]);
  assert.equal(outbox.has("c1"), false);
  assert.equal(p.backoff, 0);
});

test("the server's retry_after is waited instead of the back-off", async () => {
  const { outbox, timers } = harness([refusal("rate_limited", { retryAfter: 7 })]);
  write(outbox, "slow down");
  await outbox.flush();
  assert.deepEqual(timers.map((t) => t.ms), [7000]);
});

test("a refusal stops the round, so later messages never overtake the earlier one", async () => {
  const { outbox, sent } = harness([refusal("rate_limited")]);
  write(outbox, "first");
  write(outbox, "second");
  await outbox.flush();
  assert.deepEqual(sent.map((s) => s.text), ["first"]);
});

test("a refusal is final: not retried by itself, until the author tries again", async () => {
  const { outbox, sent, timers, events } = harness([refusal("muted", { retryAfter: 600 })]);
  const p = write(outbox, "why", "c1");

  await outbox.flush();
  await outbox.flush();

  assert.equal(p.state, "failed");
  assert.equal(p.error.code, "muted");
  assert.deepEqual(timers, []);
  assert.equal(sent.length, 1);
  assert.deepEqual(events.at(-2), ["refused", "c1", "muted"]);

  assert.equal(await outbox.retry(p), true);
  assert.deepEqual(sent.map((s) => s.client_id), ["c1", "c1"]);
});

test("a crisis that alerted a counselor is not resent by itself", async () => {
  const { outbox, timers } = harness([refusal("unavailable", { alerted: true })]);
  const p = write(outbox, "crisis");
  await outbox.flush();
  assert.equal(p.state, "failed");
  assert.deepEqual(timers, []);
});

test("a dropped connection puts what was in flight back in the queue and ignores its late answer", async () => {
  let reject;
  const changes = [];
  const outbox = createOutbox({
    onChange: (p) => changes.push(p.state),
    send: () => new Promise((_, r) => (reject = r)),
    activeRoom: () => "r",
    isJoined: () => true,
    isConnected: () => true,
  });
  const p = outbox.add({ room_id: "r", text: "x", client_id: "c1" });
  const first = outbox.flush();
  outbox.suspend(); // connection dropped: attempt 1 is stale
  reject(refusal("invalid"));
  await first;
  assert.equal(p.state, "queued");
  assert.equal(p.error, null);
  assert.deepEqual(changes, ["sending", "queued"]);
});

test("only the open, joined room's messages are sent", async () => {
  const { outbox, sent, world } = harness();
  write(outbox, "elsewhere", "c1", "other");
  write(outbox, "here", "c2", "r");
  world.joined = false;
  await outbox.flush();
  assert.deepEqual(sent, []);
  world.joined = true;
  await outbox.flush();
  assert.deepEqual(sent.map((s) => s.client_id), ["c2"]);
  assert.deepEqual(outbox.inRoom("other").map((p) => p.client_id), ["c1"]);
});

test("the stored message arriving first acknowledges it; leaving a room drops its messages", () => {
  const { outbox } = harness();
  write(outbox, "a", "c1");
  write(outbox, "b", "c2", "gone");
  assert.equal(outbox.ack("c1"), true);
  outbox.dropRoom("gone");
  assert.equal(outbox.has("c1"), false);
  assert.equal(outbox.has("c2"), false);
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
