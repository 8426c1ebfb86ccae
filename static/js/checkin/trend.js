// Daily check-ins, the pure parts (tested under node, no DOM): word labels for the two
// scales, the day window a chart covers, the series uPlot draws, and the "trending down"
// rule counselors see.

/** Mood 1..5: words, not numbers alone (a patient reads "Low", not "2"). */
export const MOOD_WORDS = Object.freeze({ 1: "Very low", 2: "Low", 3: "Okay", 4: "Good", 5: "Very good" });
export const MOOD_MIN = 1;
export const MOOD_MAX = 5;
export const CRAVING_MIN = 0;
export const CRAVING_MAX = 10;

export function moodWord(mood) {
  return MOOD_WORDS[mood] || "";
}

/** Craving 0..10 in words: None, Mild (1-3), Moderate (4-6), Strong (7-8), Intense (9-10). */
export function cravingWord(craving) {
  const n = Number(craving);
  if (!Number.isInteger(n) || n < CRAVING_MIN || n > CRAVING_MAX) return "";
  if (n === 0) return "None";
  if (n <= 3) return "Mild";
  if (n <= 6) return "Moderate";
  if (n <= 8) return "Strong";
  return "Intense";
}

/** "YYYY-MM-DD" -> a local Date at midnight (calendar days are never shifted by time zone). */
export function parseDay(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day));
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

function formatDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The `days` calendar days ending with `today` ("YYYY-MM-DD"), oldest first. */
export function dayWindow(today, days) {
  const end = parseDay(today);
  if (!end || !(days > 0)) return [];
  const out = [];
  for (let i = days - 1; i >= 0; i -= 1) {
    out.push(formatDay(new Date(end.getFullYear(), end.getMonth(), end.getDate() - i)));
  }
  return out;
}

/**
 * uPlot data for a check-in series over a window of days: [x, mood, craving], where x is
 * each day's local midnight in unix seconds and a day without a check-in is null (the
 * line breaks there instead of inventing a value).
 */
export function chartData(checkins, days) {
  const byDay = new Map((checkins || []).map((c) => [c.day, c]));
  const xs = [];
  const moods = [];
  const cravings = [];
  for (const day of days) {
    xs.push(parseDay(day).getTime() / 1000);
    const c = byDay.get(day);
    moods.push(c ? c.mood : null);
    cravings.push(c ? c.craving : null);
  }
  return [xs, moods, cravings];
}

export const TREND_RECENT = 3;
export const TREND_PREVIOUS = 7;
export const TREND_DROP = 1;
export const TREND_RULE =
  `Trending down: the mean mood of the last ${TREND_RECENT} check-ins is at least ${TREND_DROP} point ` +
  `below the mean of the ${TREND_PREVIOUS} before them (at least ${TREND_RECENT} of those are needed).`;

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Whether a patient's mood trends down (TREND_RULE): compares check-ins, not calendar
 * days, so that a missed day neither hides nor fakes a drop. `checkins` in any order.
 * Returns {down, recent, previous} with the two means (null when there are too few).
 */
export function moodTrend(checkins) {
  const sorted = (checkins || [])
    .filter((c) => Number.isFinite(c?.mood))
    .slice()
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const recent = sorted.slice(-TREND_RECENT);
  const previous = sorted.slice(-(TREND_RECENT + TREND_PREVIOUS), -TREND_RECENT);
  if (recent.length < TREND_RECENT || previous.length < TREND_RECENT) {
    return { down: false, recent: null, previous: null };
  }
  const r = mean(recent.map((c) => c.mood));
  const p = mean(previous.map((c) => c.mood));
  return { down: p - r >= TREND_DROP - 1e-9, recent: r, previous: p };
}
