// Crisis alert panel for counselors and staff: alert:new / alert:updated, a soft
// WebAudio chime, a browser Notification (when permitted), matched terms highlighted,
// Acknowledge and Resolve over the socket. The list is an assertive live region.
import { h, replace, timeEl, formatTime } from "./dom.js";
import { describeError } from "./errors.js";
import * as sock from "./socket.js";
import { api } from "./api.js";
import { session } from "./session.js";
import { displayName } from "./util.js";
import {
  severityBadge,
  statusBadge,
  highlightedText,
  categoryList,
  matchSummary,
  sourceNote,
  missingText,
  flagHistory,
  panelTakes,
  resolveForm,
} from "./flagview.js";

const flags = new Map(); // id -> flag
const items = new Map(); // id -> <li>
const formDrafts = new Map(); // id -> {outcome, note}
let ui = null;
let hooks = { openRoom: () => {}, onCount: () => {} };
let soundOn = true;
let audioCtx = null;

// ---------------------------------------------------------------------------
// sound and notifications

export function unlockAudio() {
  try {
    if (!audioCtx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return;
      audioCtx = new AC();
    }
    if (audioCtx.state === "suspended") audioCtx.resume().catch(() => {});
  } catch {
    audioCtx = null;
  }
}

function chime(severity) {
  if (!soundOn) return;
  unlockAudio();
  if (!audioCtx) return;
  const tones = severity === "high" ? [523.25, 659.25, 783.99] : [523.25, 659.25];
  const start = audioCtx.currentTime + 0.02;
  tones.forEach((freq, i) => {
    const t = start + i * 0.22;
    const osc = audioCtx.createOscillator();
    const gain = audioCtx.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(freq, t);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.18, t + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.45);
    osc.connect(gain);
    gain.connect(audioCtx.destination);
    osc.start(t);
    osc.stop(t + 0.5);
  });
}

export function notificationsSupported() {
  return typeof window.Notification === "function";
}

/** Ask for permission; call only from a user gesture (click). */
export async function requestNotificationPermission() {
  unlockAudio();
  if (!notificationsSupported() || Notification.permission !== "default") return;
  try {
    await Notification.requestPermission();
  } catch {
    /* older browsers use a callback; ignore */
  }
  renderToolbar();
}

function notify(flag) {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  try {
    // No message text in the OS notification: it may show on a lock screen.
    const n = new Notification(`${flag.severity === "high" ? "Urgent: " : ""}crisis alert`, {
      body: `A ${flag.severity || ""} severity message in ${flag.cohort_name || "a cohort"} needs attention.`,
      tag: `flag-${flag.id}`,
      requireInteraction: flag.severity === "high",
    });
    n.onclick = () => {
      window.focus();
      focusAlert(flag.id);
      n.close();
    };
  } catch {
    /* e.g. mobile browsers that require a service worker */
  }
}

// ---------------------------------------------------------------------------
// panel

export function mountAlerts(container, opts = {}) {
  hooks = { ...hooks, ...opts };
  const heading = h("h2", { id: "alerts-heading", tabindex: "-1" }, "Alerts");
  const toolbar = h("div", { class: "alerts-toolbar" });
  const empty = h("p", { class: "muted small", dataset: { testid: "alerts-empty" } }, "No open alerts. New alerts appear here with a soft chime.");
  const list = h("ul", {
    class: "alerts-list",
    "aria-live": "assertive",
    "aria-relevant": "additions",
    "aria-labelledby": "alerts-heading",
    dataset: { testid: "alerts-list" },
  });
  const status = h("p", { class: "status-line", role: "status", dataset: { testid: "alerts-status" } });
  status.hidden = true;
  const panel = h(
    "section",
    { class: "alerts-panel", "aria-labelledby": "alerts-heading", dataset: { testid: "alerts-panel" } },
    h("div", { class: "alerts-head" }, heading, toolbar),
    status,
    empty,
    list,
  );
  replace(container, panel);
  ui = { container, panel, heading, toolbar, empty, list, status };
  renderToolbar();
  for (const id of sortedIds()) {
    const li = renderItem(flags.get(id));
    items.set(id, li);
    list.appendChild(li);
  }
  updateCount();
}

export function resetAlerts() {
  flags.clear();
  items.clear();
  formDrafts.clear();
  ui = null;
}

function renderToolbar() {
  if (!ui) return;
  const sound = h(
    "button",
    {
      type: "button",
      class: "btn btn-small btn-quiet",
      "aria-pressed": String(soundOn),
      dataset: { testid: "sound-toggle" },
      onClick: () => {
        soundOn = !soundOn;
        unlockAudio();
        renderToolbar();
      },
    },
    soundOn ? "Sound on" : "Sound off",
  );
  const notif =
    notificationsSupported() && Notification.permission === "default"
      ? h(
          "button",
          { type: "button", class: "btn btn-small btn-quiet", dataset: { testid: "enable-notifications" }, onClick: requestNotificationPermission },
          "Enable notifications",
        )
      : null;
  replace(ui.toolbar, sound, notif);
}

function sortedIds() {
  const rank = { open: 0, acknowledged: 1, resolved: 2 };
  const sev = { high: 0, medium: 1, low: 2 };
  return [...flags.values()]
    .sort(
      (a, b) =>
        (rank[a.status] ?? 3) - (rank[b.status] ?? 3) ||
        (sev[a.severity] ?? 3) - (sev[b.severity] ?? 3) ||
        String(b.created_at).localeCompare(String(a.created_at)),
    )
    .map((f) => f.id);
}

function roomName(roomId) {
  const r = session.room(roomId);
  return r ? r.name : null;
}

function setStatus(text, kind) {
  if (!ui) return;
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
  ui.status.hidden = !text;
}

function renderItem(flag) {
  const li = h("li", {
    class: ["alert-item", `sev-${flag.severity}`, `status-${flag.status}`],
    tabindex: "-1",
    "aria-label": `${flag.severity} severity alert, ${flag.status}`,
    dataset: {
      testid: "alert-item",
      flagId: flag.id,
      severity: flag.severity,
      status: flag.status,
      escalation: flag.escalation_level ?? 0,
      messageId: flag.message_id,
      roomId: flag.room_id,
    },
  });
  fillItem(li, flag);
  return li;
}

function fillItem(li, flag) {
  const room = roomName(flag.room_id);
  const where = [flag.cohort_name, room].filter(Boolean).join(" · ");
  const parts = [
    h(
      "div",
      { class: "alert-head" },
      severityBadge(flag.severity, "alert-severity"),
      statusBadge(flag.status),
      flag.escalation_level > 0
        ? h("span", { class: "badge badge-escalated", dataset: { testid: "alert-escalation" } }, `Escalated (level ${flag.escalation_level})`)
        : null,
      h("span", { class: "muted small" }, " ", timeEl(flag.created_at)),
    ),
    h("p", { class: "alert-where", dataset: { testid: "alert-where" } }, where || "Unknown room", " · ", h("span", { class: "alert-author" }, displayName(flag.author))),
    categoryList(flag.categories),
    flag.source === "report"
      ? h(
          "p",
          { class: "small", dataset: { testid: "alert-report" } },
          `Reported by ${displayName(flag.reported_by)}`,
          flag.reason ? `: “${flag.reason}”` : "",
        )
      : null,
    h(
      "blockquote",
      { class: "alert-text", dataset: { testid: "alert-text" } },
      flag.text === null || flag.text === undefined ? h("em", null, missingText(flag)) : highlightedText(flag.text, flag.matches),
    ),
    matchSummary(flag.matches),
    sourceNote(flag),
    flagHistory(flag, formatTime),
  ];
  const actions = h("div", { class: "alert-actions" });
  actions.appendChild(
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-quiet",
        dataset: { action: "open-room", roomId: flag.room_id },
        onClick: () => hooks.openRoom(flag.room_id, flag.message_id),
      },
      "Open room",
    ),
  );
  if (flag.status === "open") {
    const ack = h(
      "button",
      { type: "button", class: "btn btn-small btn-primary", dataset: { action: "ack", flagId: flag.id, testid: "ack-button" } },
      "Acknowledge",
    );
    ack.addEventListener("click", async () => {
      ack.disabled = true;
      try {
        const res = await sock.call("flag:ack", { flag_id: flag.id });
        if (res.flag) upsertFlag(res.flag, { fresh: false });
        setStatus("Alert acknowledged.", "success");
      } catch (err) {
        setStatus(describeError(err), "error");
        if (ack.isConnected) ack.disabled = false;
      }
    });
    actions.appendChild(ack);
  }
  if (flag.status === "resolved") {
    actions.appendChild(
      h(
        "button",
        { type: "button", class: "btn btn-small btn-quiet", dataset: { action: "dismiss-alert", flagId: flag.id }, onClick: () => removeFlag(flag.id) },
        "Remove from list",
      ),
    );
  }
  parts.push(actions);
  if (flag.status !== "resolved") {
    const { form, state } = resolveForm(async (outcome, note) => {
      const payload = { flag_id: flag.id, outcome };
      if (note) payload.note = note;
      const res = await sock.call("flag:resolve", payload);
      formDrafts.delete(flag.id);
      if (res.flag) upsertFlag(res.flag, { fresh: false });
      setStatus("Alert resolved.", "success");
    }, formDrafts.get(flag.id));
    form.addEventListener("input", () => formDrafts.set(flag.id, state()));
    form.addEventListener("change", () => formDrafts.set(flag.id, state()));
    parts.push(form);
  }
  replace(li, parts);
}

function updateItemAttrs(li, flag) {
  li.className = ["alert-item", `sev-${flag.severity}`, `status-${flag.status}`].join(" ");
  li.dataset.status = flag.status;
  li.dataset.severity = flag.severity;
  li.dataset.escalation = String(flag.escalation_level ?? 0);
  li.setAttribute("aria-label", `${flag.severity} severity alert, ${flag.status}`);
}

/** Insert or update a flag. fresh = it came as alert:new (sound + notification). */
export function upsertFlag(flag, { fresh = false } = {}) {
  if (!panelTakes(flag, flag && flags.has(flag.id))) return;
  const known = flags.has(flag.id);
  flags.set(flag.id, { ...(flags.get(flag.id) || {}), ...flag });
  const merged = flags.get(flag.id);
  if (ui) {
    const existing = items.get(flag.id);
    if (existing) {
      const focused = existing.contains(document.activeElement) ? document.activeElement : null;
      const action = focused && focused.dataset ? focused.dataset.action || focused.dataset.testid : null;
      updateItemAttrs(existing, merged);
      fillItem(existing, merged);
      if (focused) {
        const again = action
          ? existing.querySelector(`[data-action="${CSS.escape(action)}"], [data-testid="${CSS.escape(action)}"]`)
          : null;
        (again || existing).focus();
      }
    } else {
      const li = renderItem(merged);
      items.set(flag.id, li);
      // Newest alerts go to the top of the open ones.
      ui.list.insertBefore(li, ui.list.firstChild);
    }
  }
  if (fresh && (!known || merged.status === "open")) {
    chime(merged.severity);
    notify(merged);
  }
  updateCount();
}

function removeFlag(id) {
  flags.delete(id);
  formDrafts.delete(id);
  const li = items.get(id);
  if (li) li.remove();
  items.delete(id);
  updateCount();
  ui?.heading.focus();
}

export function focusAlert(id) {
  const li = items.get(id);
  if (li) {
    li.scrollIntoView({ block: "nearest" });
    li.focus();
  } else ui?.heading.focus();
}

export function focusPanel() {
  if (!ui) return;
  ui.panel.scrollIntoView({ block: "start" });
  const firstOpen = [...flags.values()].find((f) => f.status === "open");
  if (firstOpen) focusAlert(firstOpen.id);
  else ui.heading.focus();
}

function updateCount() {
  const open = [...flags.values()].filter((f) => f.status === "open").length;
  if (ui) {
    ui.empty.hidden = flags.size > 0;
    ui.heading.textContent = open ? `Alerts (${open} open)` : "Alerts";
  }
  hooks.onCount(open);
}

/** Load the current open and acknowledged flags (no sound) after sign-in. */
export async function loadInitialAlerts() {
  try {
    const [open, acked] = await Promise.all([
      api.flags({ status: "open", limit: 100 }),
      api.flags({ status: "acknowledged", limit: 100 }),
    ]);
    const all = [...(open.flags || []), ...(acked.flags || [])].reverse();
    for (const f of all) if (!flags.has(f.id)) upsertFlag(f, { fresh: false });
  } catch (err) {
    setStatus(`Could not load current alerts. ${describeError(err)}`, "error");
  }
}

export function registerAlertEvents(on) {
  on("alert:new", (flag) => upsertFlag(flag, { fresh: true }));
  on("alert:updated", (flag) => upsertFlag(flag, { fresh: false }));
}
