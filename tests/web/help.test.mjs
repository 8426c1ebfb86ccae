// The help panel's wording: pure, so the patient is never left guessing.
import assert from "node:assert/strict";
import { test } from "node:test";

import { helpStatusText } from "../../static/js/helptext.js";

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
