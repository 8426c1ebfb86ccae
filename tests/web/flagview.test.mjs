// node --test tests/web: which flags the counselor's alert panel takes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { panelTakes } from "../../static/js/flagview.js";

test("a crisis, a report or a help request goes into the alert panel", () => {
  for (const source of ["detector", "model", "report", "help_button", "checkin", "counselor"]) {
    assert.equal(panelTakes({ id: "f1", source }, false), true, source);
  }
});

test("a silence flag stays in the review queue, not the alert panel", () => {
  assert.equal(panelTakes({ id: "f2", source: "silence", status: "open" }, false), false);
  assert.equal(panelTakes({ id: "f2", source: "silence", status: "acknowledged" }, false), false);
});

test("a flag the panel already shows is always updated there", () => {
  assert.equal(panelTakes({ id: "f3", source: "silence", status: "resolved" }, true), true);
});

test("something without an id is never taken", () => {
  assert.equal(panelTakes(null, false), false);
  assert.equal(panelTakes({ source: "detector" }, false), false);
});
