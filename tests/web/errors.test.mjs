// node --test tests/web: what a person reads when something is refused or fails.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AppError, describeError } from "../../static/js/errors.js";

test("an alerted crisis says a counselor was told and gives the numbers", () => {
  const text = describeError(new AppError({ code: "unavailable", alerted: true }));
  assert.match(text, /counselor has been alerted/);
  assert.match(text, /988/);
  assert.match(text, /911/);
});

test("an alerted crisis with nobody on call says so plainly and gives the numbers", () => {
  const text = describeError(new AppError({ code: "unavailable", alerted: true, counselor_on_call: false }));
  assert.doesNotMatch(text, /has been alerted/);
  assert.match(text, /No counselor is on call right now/);
  assert.match(text, /988/);
  assert.match(text, /911/);
  const onCall = describeError(new AppError({ code: "unavailable", alerted: true, counselor_on_call: true }));
  assert.match(onCall, /counselor has been alerted/);
});

test("a mute says when writing is possible again, if the server said", () => {
  assert.match(describeError(new AppError({ code: "muted", retry_after: 120 })), /write again in about 2 minutes/);
  assert.equal(describeError(new AppError({ code: "muted" })), "A counselor has paused your messages in this room for now.");
});

test("slow mode and rate limits give the wait in words", () => {
  assert.match(describeError(new AppError({ code: "slow_mode", retry_after: 30 })), /next message in 30 seconds/);
  assert.match(describeError(new AppError({ code: "rate_limited", retry_after: 1 })), /wait 1 second and/);
  assert.match(describeError(new AppError({ code: "rate_limited" })), /wait a moment/);
});

test("a lost save says nothing was lost", () => {
  assert.match(describeError(new AppError({ code: "unavailable" })), /Nothing was lost/);
});

test("an ended session asks to sign in again", () => {
  for (const code of ["unauthorized", "token_expired"]) {
    assert.equal(describeError(new AppError({ code })), "Your session has ended. Please sign in again.");
  }
});

test("forbidden, not found and invalid show the server's wording, else a plain default", () => {
  assert.equal(describeError(new AppError({ code: "forbidden", message: "Not your cohort." })), "Not your cohort.");
  assert.equal(describeError(new AppError({ code: "forbidden" })), "You do not have access to that.");
  assert.match(describeError(new AppError({ code: "not_found" })), /could not be found/);
  assert.match(describeError(new AppError({ code: "invalid" })), /not accepted/);
});

test("connection problems are told apart from refusals", () => {
  assert.match(describeError(new AppError({ code: "offline" })), /offline/);
  assert.match(describeError(new AppError({ code: "network" })), /Could not reach the server/);
  assert.match(describeError(new AppError({ code: "timeout" })), /did not answer in time/);
  assert.match(describeError(new AppError({ code: "too_large" })), /2,000 characters/);
  assert.match(describeError(new AppError({ code: "room_locked" })), /locked/);
});

test("an unknown error never shows a code, and nothing at all still reads well", () => {
  assert.equal(describeError(new AppError({ code: "boom" })), "Something went wrong. Please try again.");
  assert.equal(describeError(null), "Something went wrong. Please try again.");
  assert.equal(describeError(new AppError({ code: "boom", message: "Try later." })), "Try later.");
});

test("retry_after is a number of seconds, whatever the wire sent", () => {
  assert.equal(new AppError({ code: "rate_limited", retry_after: "3" }).retryAfter, 3);
  assert.equal(new AppError({ code: "rate_limited" }).retryAfter, null);
});
