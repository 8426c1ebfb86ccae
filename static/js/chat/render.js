// One message as a list item: author line, text or tombstone, status notes (held,
// flagged, hidden), and its actions. Stateless: whatever it needs (is it mine, the
// report control, the counselor controls, retry and discard) is passed in.
import { h, timeEl, formatTime } from "../dom.js";
import { describeError } from "../errors.js";
import { session } from "../session.js";
import { displayName, ROLE_LABEL } from "../util.js";
import { severityBadge } from "../flagview.js";

export const TOMBSTONE_TEXT = "This message was removed by a counselor";

export function isOwn(msg) {
  return Boolean(session.user && msg.author && msg.author.id === session.user.id);
}

function authorLine(msg, own) {
  const author = msg.author || {};
  const role = author.role && author.role !== "patient" ? ROLE_LABEL[author.role] || author.role : null;
  return h(
    "p",
    { class: "msg-meta" },
    h("span", { class: "msg-author", dataset: { testid: "message-author" } }, displayName(author)),
    own ? h("span", { class: "muted small" }, " (you)") : null,
    role ? h("span", { class: ["badge", "role-badge", `role-${author.role}`] }, role) : null,
    " ",
    msg.created_at ? timeEl(msg.created_at) : null,
  );
}

function isTombstone(msg) {
  return !msg._pending && (msg.status === "hidden" || msg.status === "deleted") && (msg.text === null || msg.text === undefined);
}

function messageItem(msg, own, status) {
  return h("li", {
    class: ["message", own && "own", `status-${status}`, msg.severity && `sev-${msg.severity}`, isTombstone(msg) && "tombstone"],
    tabindex: "-1",
    dataset: {
      testid: "message",
      messageId: msg.id || "",
      clientId: msg.client_id || "",
      status,
      authorId: msg.author ? msg.author.id : "",
      severity: msg.severity || undefined,
    },
  });
}

/**
 * @param {object} msg  a stored message, or a pending one (`_pending` set)
 * @param {object} opts  {report(msg), modControls(msg), retry(p), discard(p)}
 */
export function renderMessage(msg, opts) {
  const own = isOwn(msg);
  const p = msg._pending || null;
  const li = messageItem(msg, own, p ? p.state : msg.status || "visible");
  li.appendChild(authorLine(msg, own));
  if (isTombstone(msg)) {
    li.appendChild(h("p", { class: "tombstone-text", dataset: { testid: "tombstone" } }, TOMBSTONE_TEXT));
    return li;
  }
  li.appendChild(h("p", { class: "msg-text", dataset: { testid: "message-text" } }, msg.text ?? ""));
  for (const note of statusNotes(msg, own)) li.appendChild(note);
  if (p) {
    li.appendChild(pendingNote(p, opts));
    return li;
  }
  const actions = h("div", { class: "msg-actions" });
  if (!own && msg.status === "visible") actions.appendChild(opts.report(msg));
  if (session.isModerator) {
    const controls = opts.modControls(msg);
    if (controls) actions.appendChild(controls);
  }
  if (actions.childNodes.length) li.appendChild(actions);
  return li;
}

/** Held (the author and counselors see why), flagged and hidden (counselors only). */
function statusNotes(msg, own) {
  const mod = session.isModerator;
  const notes = [];
  if (msg.status === "held" && !msg._pending) {
    if (own && !mod) {
      notes.push(
        h("p", { class: "msg-note held-note", dataset: { testid: "held-note" } },
          "Only you and the counselors can see this for now. A counselor will look at it soon."),
      );
    } else if (mod) {
      notes.push(h("p", { class: "msg-note mod-note", dataset: { testid: "held-badge" } }, "Held: members cannot see this until it is released."));
    }
  }
  if (mod && (msg.severity || (msg.flag_ids && msg.flag_ids.length))) {
    notes.push(
      h(
        "p",
        { class: "msg-note mod-note", dataset: { testid: "flag-note", flagIds: (msg.flag_ids || []).join(" ") } },
        severityBadge(msg.severity || "low"),
        " Flagged",
        msg.flag_ids && msg.flag_ids.length > 1 ? ` (${msg.flag_ids.length} flags)` : "",
      ),
    );
  }
  if (mod && (msg.status === "hidden" || msg.status === "deleted")) {
    const m = msg.moderation || {};
    notes.push(
      h(
        "p",
        { class: "msg-note mod-note", dataset: { testid: "moderation-note" } },
        msg.status === "hidden" ? "Hidden from members" : "Deleted for members",
        m.by ? ` by ${displayName(m.by)}` : "",
        m.at ? ` at ${formatTime(m.at)}` : "",
        m.reason ? ` · Reason: ${m.reason}` : "",
      ),
    );
  }
  return notes;
}

function pendingNote(p, { retry, discard }) {
  if (p.state === "failed") {
    const retryBtn = h(
      "button",
      { type: "button", class: "btn btn-small", dataset: { action: "retry", clientId: p.client_id, testid: "retry-button" }, onClick: () => retry(p) },
      "Try again",
    );
    const discardBtn = h(
      "button",
      { type: "button", class: "btn btn-small btn-quiet", dataset: { action: "discard", clientId: p.client_id }, onClick: () => discard(p) },
      "Discard",
    );
    return h(
      "div",
      { class: "msg-note send-error", role: "alert", dataset: { testid: "send-error", errorCode: p.error ? p.error.code : "" } },
      h("p", null, "Not sent. ", p.error ? describeError(p.error) : ""),
      h("div", { class: "msg-actions" }, retryBtn, discardBtn),
    );
  }
  const text = p.state === "queued" ? "Waiting for the connection… it will be sent when you are back online." : "Sending…";
  return h("p", { class: "msg-note muted small", dataset: { testid: "sending-note" } }, text);
}
