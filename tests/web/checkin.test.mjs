// The pure parts of daily check-ins: word labels, the day window, chart series and the
// "trending down" rule counselors rely on.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chartData,
  cravingWord,
  dayWindow,
  moodTrend,
  moodWord,
  parseDay,
} from "../../static/js/checkin/trend.js";

const series = (moods, start = "2026-12-01") =>
  moods.map((mood, i) => ({ day: shift(start, i), mood, craving: 2 }));

function shift(day, n) {
  const d = parseDay(day);
  d.setDate(d.getDate() + n);
  const pad = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

test("both scales have words at every value", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(moodWord), ["Very low", "Low", "Okay", "Good", "Very good"]);
  assert.deepEqual(
    [0, 1, 3, 4, 6, 7, 8, 9, 10].map(cravingWord),
    ["None", "Mild", "Mild", "Moderate", "Moderate", "Strong", "Strong", "Intense", "Intense"],
  );
  assert.equal(cravingWord(11), "");
  assert.equal(moodWord(0), "");
});

test("the window ends today and crosses month and year ends", () => {
  assert.deepEqual(dayWindow("2027-01-02", 4), ["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]);
  assert.deepEqual(dayWindow("2026-03-01", 2), ["2026-02-28", "2026-03-01"]);
  assert.deepEqual(dayWindow("not a day", 3), []);
});

test("chart data has one point per day and a gap (null) where nobody checked in", () => {
  const days = dayWindow("2026-12-05", 5);
  const [xs, moods, cravings] = chartData(
    [
      { day: "2026-12-02", mood: 2, craving: 7 },
      { day: "2026-12-05", mood: 4, craving: 1 },
      { day: "2026-11-20", mood: 1, craving: 9 }, // outside the window
    ],
    days,
  );
  assert.deepEqual(moods, [null, 2, null, null, 4]);
  assert.deepEqual(cravings, [null, 7, null, null, 1]);
  assert.equal(xs.length, 5);
  assert.deepEqual(xs.map((x) => new Date(x * 1000).getDate()), [1, 2, 3, 4, 5]);
});

test("a drop of a full point from the previous seven to the last three trends down", () => {
  const trend = moodTrend(series([4, 4, 4, 4, 4, 4, 4, 3, 3, 3]));
  assert.equal(trend.down, true);
  assert.equal(trend.previous, 4);
  assert.equal(trend.recent, 3);
});

test("a smaller drop, a steady or a rising mood does not", () => {
  assert.equal(moodTrend(series([4, 4, 4, 4, 4, 4, 4, 4, 3, 3])).down, false); // 0.67 below
  assert.equal(moodTrend(series([3, 3, 3, 3, 3, 3])).down, false);
  assert.equal(moodTrend(series([1, 1, 1, 2, 3, 4])).down, false);
});

test("only the ten latest check-ins count, whatever order they arrive in", () => {
  const old = series([1, 1, 1, 1, 1], "2026-11-01"); // long ago and low: outside the 3 + 7
  const recent = series([5, 5, 5, 5, 5, 5, 5, 4, 4, 4], "2026-12-01");
  const trend = moodTrend([...recent, ...old].reverse());
  assert.equal(trend.down, true);
  assert.equal(trend.previous, 5);
});

test("too few check-ins say nothing about a trend", () => {
  assert.deepEqual(moodTrend(series([5, 5, 1, 1, 1])), { down: false, recent: null, previous: null });
  assert.equal(moodTrend([]).down, false);
  assert.equal(moodTrend(undefined).down, false);
  assert.equal(moodTrend(series([5, 5, 5, 1, 1, 1])).down, true); // three before are enough
});
