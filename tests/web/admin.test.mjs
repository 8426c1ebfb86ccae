// node --test tests/web: the pure parts of the staff administration screens.
import assert from "node:assert/strict";
import { test } from "node:test";

import { timeZoneValue, userLabel } from "../../static/js/admin/common.js";

test("an empty time zone field means the clinic's default", () => {
  assert.equal(timeZoneValue(""), null);
  assert.equal(timeZoneValue("   "), null);
  assert.equal(timeZoneValue(undefined), null);
});

test("a typed time zone is sent as typed, trimmed, for the server to check", () => {
  assert.equal(timeZoneValue(" America/Chicago "), "America/Chicago");
  assert.equal(timeZoneValue("Mars/Olympus"), "Mars/Olympus");
});

test("an account is labelled by name and username, and says when it is inactive", () => {
  assert.equal(userLabel({ display_name: "Ana", username: "ana.r" }), "Ana (ana.r)");
  assert.equal(userLabel({ display_name: "Ana", username: "ana.r", active: false }), "Ana (ana.r) (inactive)");
});
