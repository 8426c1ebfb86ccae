// Flag review queue (counselors for their cohorts, staff for all): filters, load more,
// and a detail view with the surrounding messages, acknowledge and resolve over HTTP.
import { h, replace, field, option, timeEl, formatTime, localInputToIso, statusLine } from "./dom.js";
import { describeError } from "./errors.js";
import { api } from "./api.js";
import { cursorPager } from "./paging.js";
import { session } from "./session.js";
import { categoryLabel, displayName } from "./util.js";
import {
  severityBadge,
  statusBadge,
  highlightedText,
  categoryList,
  matchSummary,
  sourceNote,
  missingText,
  flagHistory,
  resolveForm,
} from "./flagview.js";

const filters = { status: "open", severity: "", cohort_id: "", since: "", until: "", limit: "50" };

async function cohortOptions() {
  const known = new Map(session.cohorts().map((c) => [c.id, c.name]));
  if (session.isStaff) {
    try {
      const res = await api.cohorts();
      for (const c of res.cohorts || []) known.set(c.id, c.name);
    } catch {
      /* fall back to the cohorts of visible rooms */
    }
  }
  return [...known.entries()].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
}

export async function renderReviewQueue(container, { openFlag }) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Review queue");
  const status = h("select", { dataset: { testid: "filter-status" } },
    option("", "Any status", filters.status === ""),
    option("open", "Open", filters.status === "open"),
    option("acknowledged", "Acknowledged", filters.status === "acknowledged"),
    option("resolved", "Resolved", filters.status === "resolved"));
  const severity = h("select", { dataset: { testid: "filter-severity" } },
    option("", "Any severity", filters.severity === ""),
    option("high", "High", filters.severity === "high"),
    option("medium", "Medium", filters.severity === "medium"),
    option("low", "Low", filters.severity === "low"));
  const cohort = h("select", { dataset: { testid: "filter-cohort" } }, option("", "All my cohorts"));
  const since = h("input", { type: "datetime-local", dataset: { testid: "filter-since" } });
  since.value = filters.since;
  const until = h("input", { type: "datetime-local", dataset: { testid: "filter-until" } });
  until.value = filters.until;
  const limit = h("select", { dataset: { testid: "filter-limit" } },
    ["25", "50", "100", "200"].map((n) => option(n, `${n} per page`, filters.limit === n)));
  const apply = h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "apply-filters" } }, "Show");
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter flags", dataset: { testid: "review-filters" } },
    field("Status", status).wrap,
    field("Severity", severity).wrap,
    field("Cohort", cohort).wrap,
    field("From", since).wrap,
    field("Until", until).wrap,
    field("Page size", limit).wrap,
    h("div", { class: "field field-button" }, apply),
  );
  const msg = statusLine("review-status");
  const tbody = h("tbody", { dataset: { testid: "review-rows" } });
  const table = h(
    "table",
    { class: "data-table", dataset: { testid: "review-table" } },
    h("caption", { class: "visually-hidden" }, "Flagged messages, highest severity first"),
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Severity"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "When"),
      h("th", { scope: "col" }, "Cohort"),
      h("th", { scope: "col" }, "Author"),
      h("th", { scope: "col" }, "Why"),
      h("th", { scope: "col" }, "Message"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody,
  );
  const more = h("button", { type: "button", class: "btn", dataset: { testid: "load-more" } }, "Load more");
  more.hidden = true;
  replace(container, h("section", { class: "view", dataset: { testid: "review-view" } }, heading, form, msg.el, h("div", { class: "table-wrap" }, table), more));
  heading.focus();

  cohortOptions().then((opts) => {
    for (const [id, name] of opts) cohort.appendChild(option(id, name, filters.cohort_id === id));
  });

  const load = cursorPager({
    tbody,
    row,
    msg,
    more,
    fetchPage: async (cursor) => {
      const res = await api.flags({
        status: filters.status,
        severity: filters.severity,
        cohort_id: filters.cohort_id,
        since: localInputToIso(filters.since),
        until: localInputToIso(filters.until),
        limit: filters.limit,
        cursor,
      });
      return { items: res.flags, next_cursor: res.next_cursor };
    },
    countText: (n) => (n ? `${n} flag${n === 1 ? "" : "s"} shown.` : "No flags match these filters."),
  });

  function row(flag) {
    const why = flag.source === "report"
      ? `Reported by ${displayName(flag.reported_by)}`
      : (flag.categories || []).map(categoryLabel).join(", ");
    const text = flag.text === null || flag.text === undefined ? "" : String(flag.text);
    return h(
      "tr",
      { dataset: { testid: "review-row", flagId: flag.id, status: flag.status, severity: flag.severity } },
      h("td", null, severityBadge(flag.severity)),
      h("td", null, statusBadge(flag.status)),
      h("td", null, timeEl(flag.created_at)),
      h("td", null, flag.cohort_name || ""),
      h("td", null, displayName(flag.author)),
      h("td", null, why),
      h("td", { class: "cell-text" }, text.length > 140 ? `${Array.from(text).slice(0, 140).join("")}…` : text),
      h("td", null, h("button", {
        type: "button",
        class: "btn btn-small",
        dataset: { action: "view-flag", flagId: flag.id },
        "aria-label": `Review ${flag.severity} flag from ${formatTime(flag.created_at)}`,
        onClick: () => openFlag(flag.id),
      }, "Review")),
    );
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    Object.assign(filters, {
      status: status.value,
      severity: severity.value,
      cohort_id: cohort.value,
      since: since.value,
      until: until.value,
      limit: limit.value,
    });
    load(true);
  });
  await load(true);
}

function contextList(messages, label) {
  if (!messages || !messages.length) return null;
  return h(
    "ol",
    { class: "context-list", "aria-label": label },
    messages.map((m) =>
      h(
        "li",
        { class: ["context-msg", `status-${m.status}`], dataset: { testid: "context-message", messageId: m.id, status: m.status } },
        h("p", { class: "msg-meta" }, h("span", { class: "msg-author" }, displayName(m.author)), " ", timeEl(m.created_at)),
        h("p", { class: "msg-text" }, m.text === null || m.text === undefined ? "This message was removed by a counselor" : m.text),
        m.status !== "visible" ? h("p", { class: "muted small" }, `Status: ${m.status}`) : null,
      ),
    ),
  );
}

export async function renderFlagDetail(container, flagId, { back, openRoom }) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Flag detail");
  const backBtn = h("button", { type: "button", class: "btn btn-quiet", dataset: { testid: "back-to-queue" }, onClick: back }, "← Back to the queue");
  const body = h("div", { class: "flag-detail", dataset: { testid: "flag-detail", flagId } }, h("p", { class: "muted" }, "Loading…"));
  const msg = statusLine("flag-detail-status");
  replace(container, h("section", { class: "view" }, backBtn, heading, msg.el, body));
  heading.focus();

  let data;
  try {
    data = await api.flag(flagId);
  } catch (err) {
    replace(body, h("p", { class: "form-error", role: "alert" }, describeError(err)));
    return;
  }

  function draw(flag, context) {
    const ack = flag.status === "open"
      ? h("button", { type: "button", class: "btn btn-primary", dataset: { action: "ack", testid: "ack-button", flagId: flag.id } }, "Acknowledge")
      : null;
    if (ack) {
      ack.addEventListener("click", async () => {
        ack.disabled = true;
        try {
          const res = await api.ackFlag(flag.id);
          data.flag = res.flag || { ...flag, status: "acknowledged" };
          draw(data.flag, context);
          msg.set("Flag acknowledged.", "success");
        } catch (err) {
          msg.set(describeError(err), "error");
          ack.disabled = false;
        }
      });
    }
    const resolve = flag.status !== "resolved"
      ? resolveForm(async (outcome, note) => {
          const res = await api.resolveFlag(flag.id, outcome, note);
          data.flag = res.flag || { ...flag, status: "resolved" };
          draw(data.flag, context);
          msg.set("Flag resolved.", "success");
        }).form
      : null;
    replace(
      body,
      h("div", { class: "flag-summary", dataset: { testid: "flag-summary", status: flag.status, severity: flag.severity } },
        h("p", { class: "alert-head" }, severityBadge(flag.severity), statusBadge(flag.status),
          flag.escalation_level > 0 ? h("span", { class: "badge badge-escalated" }, `Escalated (level ${flag.escalation_level})`) : null),
        h("dl", { class: "facts" },
          h("dt", null, "Cohort"), h("dd", null, flag.cohort_name || ""),
          h("dt", null, "Room"), h("dd", null, session.room(flag.room_id)?.name || flag.room_id || ""),
          h("dt", null, "Author"), h("dd", null, displayName(flag.author)),
          h("dt", null, "When"), h("dd", null, timeEl(flag.created_at)),
          h("dt", null, "Source"), h("dd", null, flag.source === "report" ? `Reported by ${displayName(flag.reported_by)}` : "Automatic detection"),
          flag.reason ? [h("dt", null, "Report reason"), h("dd", null, flag.reason)] : null),
        categoryList(flag.categories),
        flagHistory(flag, formatTime)),
      h("h3", null, "Conversation"),
      contextList(context.before, "Messages before"),
      h("blockquote", { class: "alert-text flagged", dataset: { testid: "flag-text" } },
        flag.text === null || flag.text === undefined ? h("em", null, missingText(flag)) : highlightedText(flag.text, flag.matches)),
      matchSummary(flag.matches),
    sourceNote(flag),
      contextList(context.after, "Messages after"),
      h("div", { class: "detail-actions" }, ack,
        session.room(flag.room_id)
          ? h("button", { type: "button", class: "btn btn-quiet", dataset: { action: "open-room" }, onClick: () => openRoom(flag.room_id) }, "Open room")
          : null),
      resolve,
    );
  }
  draw(data.flag, data.context || { before: [], after: [] });
}
