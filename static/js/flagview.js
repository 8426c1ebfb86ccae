// Shared pieces for showing a Flag (alert panel and review queue): severity badge,
// matched-term highlighting from offsets (text nodes + <mark>, never HTML), resolve form.
import { h, field, option, uid } from "./dom.js";
import { describeError } from "./errors.js";
import {
  categoryLabel,
  displayName,
  FLAG_STATUS_LABEL,
  OUTCOMES,
  SEVERITY_LABEL,
} from "./util.js";

export function severityBadge(severity, testid = "severity-badge") {
  if (!severity) return null;
  return h(
    "span",
    { class: ["badge", `sev-${severity}`], dataset: { testid, severity } },
    `${SEVERITY_LABEL[severity] || severity} severity`,
  );
}

export function statusBadge(status) {
  return h(
    "span",
    { class: ["badge", `status-${status}`], dataset: { testid: "flag-status", status } },
    FLAG_STATUS_LABEL[status] || status,
  );
}

/**
 * Text with the detector's matches wrapped in <mark>. Offsets are code-point indices
 * (as the server counts them); overlapping or out-of-range matches are skipped.
 */
export function highlightedText(text, matches) {
  const frag = document.createDocumentFragment();
  if (text === null || text === undefined) return frag;
  const chars = Array.from(String(text));
  const spans = (Array.isArray(matches) ? matches : [])
    .filter(
      (m) =>
        m &&
        Number.isInteger(m.start) &&
        Number.isInteger(m.end) &&
        m.start >= 0 &&
        m.end > m.start &&
        m.end <= chars.length,
    )
    .sort((a, b) => a.start - b.start);
  let pos = 0;
  for (const m of spans) {
    if (m.start < pos) continue; // overlap
    if (m.start > pos) frag.appendChild(document.createTextNode(chars.slice(pos, m.start).join("")));
    frag.appendChild(
      h(
        "mark",
        {
          dataset: { testid: "match", category: m.category || "" },
          title: m.category ? `${categoryLabel(m.category)}: “${m.term}”` : undefined,
        },
        chars.slice(m.start, m.end).join(""),
      ),
    );
    pos = m.end;
  }
  if (pos < chars.length) frag.appendChild(document.createTextNode(chars.slice(pos).join("")));
  return frag;
}

export function categoryList(categories) {
  const list = Array.isArray(categories) ? categories : [];
  if (!list.length) return null;
  return h(
    "ul",
    { class: "chips", "aria-label": "Categories", dataset: { testid: "flag-categories" } },
    list.map((c) => h("li", { class: "chip", dataset: { category: c } }, categoryLabel(c))),
  );
}

export function matchSummary(matches) {
  const list = Array.isArray(matches) ? matches : [];
  if (!list.length) return null;
  return h(
    "p",
    { class: "muted small", dataset: { testid: "flag-matches" } },
    "Matched: ",
    list.map((m, i) => [
      i ? ", " : "",
      h("q", null, String(m.term ?? "")),
      m.category ? ` (${categoryLabel(m.category)})` : "",
    ]),
  );
}

/** Why a flag has no matched term: the model, or a counselor, raised it. */
/** What stands in for a flag's text when it has none. */
export function missingText(flag) {
  if (flag.source === "help_button") return "No note: the patient asked to be contacted.";
  if (flag.source === "silence") return "No message: this patient has gone quiet.";
  if (flag.source === "checkin") return "No note with this check-in.";
  return "Message text unavailable";
}

export function sourceNote(flag) {
  if (flag.source === "model") {
    const category = (flag.categories || []).map(categoryLabel).join(", ");
    const score = typeof flag.score === "number" ? ` · score ${flag.score.toFixed(2)}` : "";
    return h(
      "p",
      { class: "muted small", dataset: { testid: "flag-source-model" } },
      `Flagged by the model (no keyword)${category ? `: ${category}` : ""}${score}`,
    );
  }
  if (flag.source === "help_button") {
    const presses = flag.help_presses > 1 ? ` (pressed ${flag.help_presses} times)` : "";
    return h(
      "p",
      { class: "help-request small", dataset: { testid: "flag-source-help" } },
      `${displayName(flag.author)} pressed “Ask a counselor to reach out”${presses}. Please reach out now.`,
    );
  }
  if (flag.source === "silence") {
    return h("p", { class: "muted small", dataset: { testid: "flag-source-silence" } }, `Silence signal: ${flag.reason || "gone quiet"}. Consider reaching out.`);
  }
  if (flag.source === "checkin") {
    return h("p", { class: "muted small", dataset: { testid: "flag-source-checkin" } }, `${flag.reason || "Daily check-in"}. Consider reaching out.`);
  }
  if (flag.reason === "checkin_note") {
    return h("p", { class: "help-request small", dataset: { testid: "flag-source-checkin-note" } }, "From a daily check-in note (never posted to the group). Please reach out now.");
  }
  if (flag.source === "counselor") {
    return h(
      "p",
      { class: "muted small", dataset: { testid: "flag-source-counselor" } },
      `Marked concerning by ${displayName(flag.reported_by)}`,
      flag.reason ? `: “${flag.reason}”` : "",
    );
  }
  return null;
}

/** Who acknowledged / resolved, with outcome. */
export function flagHistory(flag, fmt) {
  const lines = [];
  if (flag.acknowledged_by) {
    lines.push(
      h("li", null, `Acknowledged by ${displayName(flag.acknowledged_by)}`, flag.acknowledged_at ? ` · ${fmt(flag.acknowledged_at)}` : ""),
    );
  }
  if (flag.resolved_by || flag.resolution) {
    const outcome = flag.resolution ? OUTCOMES.find(([v]) => v === flag.resolution.outcome) : null;
    lines.push(
      h(
        "li",
        null,
        `Resolved${flag.resolved_by ? ` by ${displayName(flag.resolved_by)}` : ""}`,
        flag.resolved_at ? ` · ${fmt(flag.resolved_at)}` : "",
        outcome ? ` · ${outcome[1]}` : flag.resolution ? ` · ${flag.resolution.outcome}` : "",
      ),
    );
    if (flag.resolution && flag.resolution.note) {
      lines.push(h("li", { class: "note" }, "Note: ", flag.resolution.note));
    }
  }
  return lines.length ? h("ul", { class: "flag-history", dataset: { testid: "flag-history" } }, lines) : null;
}

/**
 * Resolve form. onSubmit(outcome, note) returns a promise; errors are shown by caller.
 * `initial` keeps what the user already chose across a re-render.
 */
export function resolveForm(onSubmit, initial = {}) {
  const select = h(
    "select",
    { required: true, dataset: { testid: "resolve-outcome" } },
    option("", "Choose an outcome…"),
    OUTCOMES.map(([v, label]) => option(v, label, initial.outcome === v)),
  );
  const note = h("textarea", {
    rows: "2",
    maxlength: "2000",
    dataset: { testid: "resolve-note" },
  });
  note.value = initial.note || "";
  const submit = h("button", { type: "submit", class: "btn", dataset: { action: "resolve", testid: "resolve-button" } }, "Resolve");
  const err = h("p", { class: "form-error", role: "alert", dataset: { testid: "resolve-error" } });
  err.hidden = true;
  const legendId = uid("resolve");
  const form = h(
    "form",
    { class: "resolve-form", "aria-labelledby": legendId, dataset: { testid: "resolve-form" } },
    h("p", { id: legendId, class: "form-title" }, "Resolve this alert"),
    field("Outcome", select).wrap,
    field("Note (optional)", note).wrap,
    submit,
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (!select.value) {
      err.textContent = "Please choose an outcome.";
      err.hidden = false;
      select.focus();
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(select.value, note.value.trim());
    } catch (e) {
      err.textContent = describeError(e);
      err.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return { form, state: () => ({ outcome: select.value, note: note.value }) };
}

// Flags for the review queue only (the server never sends them as alert:new): the
// silence signal is a prompt to reach out, not an emergency.
const QUEUE_ONLY = new Set(["silence"]);

/** Whether the alert panel shows this flag: everything it already shows, and any new
 * flag but a queue-only one (an alert:updated for a silence flag someone acknowledged
 * in the review queue must not put it in the panel). Pure. */
export function panelTakes(flag, known) {
  return Boolean(flag && flag.id) && (known || !QUEUE_ONLY.has(flag.source));
}
