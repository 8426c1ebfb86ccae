// The help panel's wording: pure, so the patient is never left guessing.
import assert from "node:assert/strict";
import { test } from "node:test";

import { helpAfterFailure, helpStatusText } from "../../static/js/helptext.js";

test("nothing is said before the patient asks", () => {
  assert.equal(helpStatusText(null), "");
});

test("a sent request says a counselor was alerted", () => {
  assert.match(helpStatusText({ state: "sent", onCall: true }), /counselor has been alerted/);
});

test("with nobody on call the patient is told plainly and given the numbers", () => {
  const text = helpStatusText({ state: "sent", onCall: false });
  assert.match(text, /no counselor is on call/);
  assert.match(text, /988/);
});

test("an acknowledgement names who saw it", () => {
  assert.equal(helpStatusText({ state: "acknowledged", by: "Casey" }), "Casey has seen your request and will reach out to you.");
});

test("a failure still gives the numbers", () => {
  assert.match(helpStatusText({ state: "failed", error: "You are offline." }), /988.*911/);
});

test("a press refused for coming too fast keeps the request the counselor already has", () => {
  const sent = { state: "sent", flagId: "f1", onCall: true };
  const after = helpAfterFailure(sent, { code: "rate_limited", retryAfter: 10 }, () => "That was a lot at once.");
  assert.equal(after.flagId, "f1");
  assert.match(helpStatusText(after), /counselor has been alerted/);
  assert.doesNotMatch(helpStatusText(after), /could not be sent/);
  const nobody = helpAfterFailure({ state: "sent", flagId: "f1", onCall: false }, { code: "rate_limited" }, String);
  assert.match(helpStatusText(nobody), /no counselor is on call.*988/);
});

test("a first press that fails, or any other failure, says so and gives the numbers", () => {
  for (const [before, err] of [
    [null, { code: "rate_limited" }],
    [{ state: "sent", flagId: "f1", onCall: true }, { code: "offline" }],
  ]) {
    const after = helpAfterFailure(before, err, () => "You are offline.");
    assert.equal(after.state, "failed");
    assert.match(helpStatusText(after), /could not be sent.*988/);
  }
});
