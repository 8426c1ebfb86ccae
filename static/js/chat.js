// Room view: join, history (older on scroll-to-top), live messages, typing, presence,
// optimistic sends with retry (same client_id), reconnect gap-fill, room state,
// reports, and the counselor controls from moderation.js.
import { jitter, nextBackoff } from "./backoff.js";
import { isRetryable } from "./chat/outbox.js";
import { leavesGap, messageSortKey } from "./chat/timeline.js";
import { h, replace, field, timeEl, formatTime, announce, describeSeconds } from "./dom.js";
import { describeError } from "./errors.js";
import * as sock from "./socket.js";
import { session } from "./session.js";
import { newClientId, displayName, ROLE_LABEL } from "./util.js";
import { severityBadge } from "./flagview.js";
import { messageModControls, userModControls, roomModToolbar } from "./moderation.js";

const HISTORY_PAGE = 50;
const GAP_PAGE = 100;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_IDLE_MS = 4000;
const TYPING_EXPIRE_MS = 7000;
const TOMBSTONE_TEXT = "This message was removed by a counselor";

// Messages not yet acknowledged, across rooms: client_id -> pending
const pending = new Map();
let pendingSeq = 0;

const state = {
  roomId: null,
  room: null,
  joined: false,
  joinSeq: 0,
  messages: new Map(), // key -> message
  elements: new Map(), // key -> <li>
  order: [], // keys sorted
  hasMore: false,
  loadingOlder: false,
  online: new Map(),
  typers: new Map(), // user id -> {user, timer}
  mutedUntil: new Map(), // room id -> {until, reason}
  reportOpen: new Map(), // message id -> draft reason
  typingSentAt: 0,
  typingIdleTimer: null,
  mutedTimer: null,
};

let ui = null; // DOM refs
let hooks = { onRoomsChanged: () => {}, onRoomClosed: () => {} };

// ---------------------------------------------------------------------------
// mounting

export function mountChat(container, opts = {}) {
  hooks = { ...hooks, ...opts };
  const title = h("h2", { id: "room-title", tabindex: "-1", dataset: { testid: "room-title" } }, "Choose a room");
  const subtitle = h("p", { class: "room-subtitle muted", dataset: { testid: "room-subtitle" } });
  const onlineCount = h("p", { class: "online-count muted small", dataset: { testid: "online-count" } });
  const onlineList = h("ul", { class: "online-list", "aria-label": "Online now", dataset: { testid: "online-list" } });
  const onlineDetails = h(
    "details",
    { class: "online-details" },
    h("summary", null, onlineCount),
    onlineList,
  );
  const banners = h("div", { class: "room-banners" });
  const pinned = h("div", { class: "pinned-slot" });
  const loadOlderBtn = h(
    "button",
    { type: "button", class: "btn btn-quiet load-older", dataset: { testid: "load-older" }, onClick: () => loadOlder() },
    "Load older messages",
  );
  loadOlderBtn.hidden = true;
  const list = h("ol", {
    class: "message-list",
    "aria-label": "Messages",
    tabindex: "0",
    dataset: { testid: "message-list" },
  });
  const scroller = h("div", { class: "message-scroller", dataset: { testid: "message-scroller" } }, loadOlderBtn, list);
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 60 && state.hasMore && !state.loadingOlder) loadOlder();
  });
  const emptyNote = h("p", { class: "empty-note muted", dataset: { testid: "empty-room" } }, "No messages yet. You can start the conversation.");
  emptyNote.hidden = true;
  const roomError = h("div", { class: "room-error", role: "alert", dataset: { testid: "room-error" } });
  roomError.hidden = true;
  const typing = h("p", { class: "typing-indicator muted small", dataset: { testid: "typing-indicator" } });
  const modStatus = h("p", { class: "status-line", role: "status", dataset: { testid: "mod-status" } });
  modStatus.hidden = true;

  const input = h("textarea", {
    id: "composer-input",
    rows: "2",
    maxlength: "2000",
    autocomplete: "off",
    placeholder: "Write a message…",
    "aria-describedby": "composer-notice composer-count",
    dataset: { testid: "composer-input" },
  });
  const sendBtn = h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "send-button" } }, "Send");
  const notice = h("p", { id: "composer-notice", class: "composer-notice", role: "status", dataset: { testid: "composer-notice" } });
  const count = h("span", { id: "composer-count", class: "composer-count muted small", "aria-live": "off" });
  const composer = h(
    "form",
    { class: "composer", dataset: { testid: "composer" }, "aria-label": "Send a message" },
    h("label", { for: "composer-input", class: "visually-hidden" }, "Message"),
    h("div", { class: "composer-row" }, input, sendBtn),
    h("div", { class: "composer-meta" }, notice, count),
  );
  composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitComposer();
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submitComposer();
    }
  });
  input.addEventListener("input", () => {
    updateCount();
    noteTyping();
  });
  input.addEventListener("blur", () => stopTyping());

  let toolbar = null;
  if (session.isModerator) toolbar = roomModToolbar(modCtx());

  const pane = h(
    "section",
    { class: "room-pane", "aria-labelledby": "room-title", dataset: { testid: "room-pane" } },
    h(
      "header",
      { class: "room-header" },
      h("div", { class: "room-heading" }, title, subtitle),
      onlineDetails,
    ),
    toolbar ? toolbar.el : null,
    modStatus,
    banners,
    pinned,
    roomError,
    emptyNote,
    scroller,
    typing,
    composer,
  );
  replace(container, pane);
  ui = {
    container,
    pane,
    title,
    subtitle,
    onlineCount,
    onlineList,
    banners,
    pinned,
    loadOlderBtn,
    list,
    scroller,
    emptyNote,
    roomError,
    typing,
    modStatus,
    input,
    sendBtn,
    notice,
    count,
    composer,
    toolbar,
  };
  renderEmptyState();
  if (state.roomId) {
    const id = state.roomId;
    state.roomId = null;
    openRoom(id);
  }
}

export function unmountChat() {
  resetRoomState(null);
  ui = null;
  pending.clear();
  state.mutedUntil.clear();
}

export function currentRoomId() {
  return state.roomId;
}

function renderEmptyState() {
  if (!ui) return;
  ui.title.textContent = session.rooms.length ? "Choose a room" : "No rooms yet";
  ui.subtitle.textContent = session.rooms.length
    ? "Pick a room from the list to start reading and writing."
    : "You have not been added to a cohort yet. Your counselor or program staff can add you.";
  ui.composer.hidden = true;
  ui.scroller.hidden = true;
  ui.typing.hidden = true;
  ui.pane.querySelector(".online-details").hidden = true;
  if (ui.toolbar) ui.toolbar.el.hidden = true;
  replace(ui.banners);
  replace(ui.pinned);
  ui.emptyNote.hidden = true;
}

// ---------------------------------------------------------------------------
// room lifecycle

function resetRoomState(roomId) {
  state.roomId = roomId;
  state.room = roomId ? session.room(roomId) : null;
  state.joined = false;
  state.joinSeq += 1;
  state.messages = new Map();
  state.elements = new Map();
  state.order = [];
  state.hasMore = false;
  state.loadingOlder = false;
  state.online = new Map();
  for (const t of state.typers.values()) clearTimeout(t.timer);
  state.typers = new Map();
  state.reportOpen = new Map();
  clearTimeout(state.typingIdleTimer);
  state.typingSentAt = 0;
}

export async function openRoom(roomId) {
  if (!ui) {
    state.roomId = roomId;
    return;
  }
  if (state.roomId === roomId && state.joined) {
    ui.title.focus();
    return;
  }
  const previous = state.roomId;
  if (previous && previous !== roomId) {
    stopTyping();
    sock.call("room:leave", { room_id: previous }).catch(() => {});
  }
  resetRoomState(roomId);
  replace(ui.list);
  ui.scroller.hidden = false;
  ui.typing.hidden = false;
  ui.pane.querySelector(".online-details").hidden = false;
  ui.composer.hidden = false;
  if (ui.toolbar) ui.toolbar.el.hidden = false;
  ui.roomError.hidden = true;
  ui.emptyNote.hidden = true;
  ui.title.textContent = state.room ? state.room.name : "Loading room…";
  ui.subtitle.textContent = state.room ? state.room.cohort_name || "" : "";
  ui.input.value = "";
  updateCount();
  setNotice("");
  renderRoomState();
  renderTyping();
  renderOnline();
  for (const p of pending.values()) if (p.room_id === roomId) showPending(p);
  await joinAndSync({ initial: true });
  const active = document.activeElement;
  const focusIsFree = !active || active === document.body || Boolean(active.closest && active.closest("[data-room-nav]"));
  if (state.roomId === roomId && ui && focusIsFree) ui.title.focus();
}

/** Join the current room; on a re-join, fetch what was missed after the newest message we have. */
async function joinAndSync({ initial }) {
  const roomId = state.roomId;
  if (!roomId || !ui) return;
  const seq = ++state.joinSeq;
  const lastSeen = initial ? null : newestConfirmedId();
  ui.pane.setAttribute("aria-busy", "true");
  try {
    const res = await sock.call("room:join", { room_id: roomId });
    if (seq !== state.joinSeq || state.roomId !== roomId) return;
    applyRoom(res.room);
    state.online = new Map((res.online || []).map((u) => [u.id, u]));
    renderOnline();
    const stick = isNearBottom();
    mergeMessages(res.messages || []);
    if (initial) state.hasMore = Boolean(res.has_more);
    if (lastSeen) {
      let after = lastSeen;
      for (let i = 0; i < 100; i += 1) {
        const page = await sock.call("message:history", { room_id: roomId, after, limit: GAP_PAGE });
        if (seq !== state.joinSeq || state.roomId !== roomId) return;
        const got = page.messages || [];
        mergeMessages(got);
        if (!page.has_more || !got.length) break;
        after = got[got.length - 1].id;
      }
    }
    state.joined = true;
    ui.roomError.hidden = true;
    updateLoadOlder();
    updateEmpty();
    if (initial || stick) scrollToBottom();
    resendPending();
  } catch (err) {
    if (seq !== state.joinSeq) return;
    if (err.code === "offline") return; // the reconnect handler will try again
    showRoomError(err);
  } finally {
    if (ui) ui.pane.removeAttribute("aria-busy");
  }
}

function showRoomError(err) {
  if (!ui) return;
  const retry = h(
    "button",
    { type: "button", class: "btn btn-small", dataset: { action: "retry-join" }, onClick: () => joinAndSync({ initial: state.messages.size === 0 }) },
    "Try again",
  );
  replace(ui.roomError, h("p", null, `We could not open this room. ${describeError(err)}`), retry);
  ui.roomError.hidden = false;
}

/** Called after the socket reconnected and a fresh `session` arrived. */
export function handleReconnect() {
  if (!state.roomId || !ui) return;
  if (!session.room(state.roomId)) {
    closeRoom("This room is no longer available to you.");
    return;
  }
  state.joined = false;
  joinAndSync({ initial: state.messages.size === 0 });
}

/** Socket dropped: keep everything, mark in-flight sends as waiting. */
export function handleDisconnect() {
  state.joined = false;
  for (const p of pending.values()) {
    if (p.state === "sending") {
      p.state = "queued";
      p.attempt += 1; // ignore a late answer from the old connection
      showPending(p);
    }
  }
}

function closeRoom(message) {
  const id = state.roomId;
  resetRoomState(null);
  if (ui) {
    replace(ui.list);
    renderEmptyState();
    if (message) {
      replace(ui.roomError, h("p", { dataset: { testid: "removed-notice" } }, message));
      ui.roomError.hidden = false;
    }
  }
  hooks.onRoomClosed(id);
}

// ---------------------------------------------------------------------------
// message store

function keyOf(msg) {
  return msg._pending ? `c:${msg.client_id}` : msg.id;
}

function sortKey(msg) {
  return messageSortKey(msg);
}

function newestConfirmed() {
  for (let i = state.order.length - 1; i >= 0; i -= 1) {
    const m = state.messages.get(state.order[i]);
    if (m && !m._pending) return m;
  }
  return null;
}

let fillingGap = false;

/** Fetch what came after `afterId` (a seq gap in the live stream), one page at a time. */
async function fillGap(afterId) {
  if (fillingGap) return;
  fillingGap = true;
  const roomId = state.roomId;
  try {
    let after = afterId;
    for (let i = 0; i < 20; i += 1) {
      const page = await sock.call("message:history", { room_id: roomId, after, limit: GAP_PAGE });
      if (state.roomId !== roomId) return;
      const got = page.messages || [];
      mergeMessages(got);
      if (!page.has_more || !got.length) break;
      after = got[got.length - 1].id;
    }
  } catch {
    // offline or refused: the next reconnect's catch-up fills it
  } finally {
    fillingGap = false;
  }
}

function newestConfirmedId() {
  for (let i = state.order.length - 1; i >= 0; i -= 1) {
    const m = state.messages.get(state.order[i]);
    if (m && !m._pending) return m.id;
  }
  return null;
}

function oldestConfirmedId() {
  for (const k of state.order) {
    const m = state.messages.get(k);
    if (m && !m._pending) return m.id;
  }
  return null;
}

function mergeMessages(messages) {
  for (const m of messages) upsertMessage(m);
}

function upsertMessage(msg) {
  if (!msg || !msg.id || msg.room_id !== state.roomId || !ui) return;
  if (msg.client_id && pending.has(msg.client_id)) {
    const p = pending.get(msg.client_id);
    if (p.room_id === msg.room_id && isOwn(msg)) {
      pending.delete(msg.client_id);
      removeKey(`c:${msg.client_id}`);
    }
  }
  placeMessage(msg);
  if (state.room && state.room.pinned && state.room.pinned.id === msg.id) {
    state.room = { ...state.room, pinned: msg };
    renderPinned();
  }
  updateEmpty();
}

function placeMessage(msg) {
  const key = keyOf(msg);
  const existing = state.elements.get(key);
  state.messages.set(key, msg);
  const li = renderMessage(msg);
  if (existing) {
    const hadFocus = existing.contains(document.activeElement) ? document.activeElement : null;
    existing.replaceWith(li);
    state.elements.set(key, li);
    restoreFocus(li, hadFocus);
    return;
  }
  state.elements.set(key, li);
  const sk = sortKey(msg);
  let lo = 0;
  let hi = state.order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortKey(state.messages.get(state.order[mid])) < sk) lo = mid + 1;
    else hi = mid;
  }
  state.order.splice(lo, 0, key);
  const nextKey = state.order[lo + 1];
  const nextEl = nextKey ? state.elements.get(nextKey) : null;
  ui.list.insertBefore(li, nextEl || null);
}

function removeKey(key) {
  const el = state.elements.get(key);
  if (el) el.remove();
  state.elements.delete(key);
  state.messages.delete(key);
  const i = state.order.indexOf(key);
  if (i >= 0) state.order.splice(i, 1);
}

function restoreFocus(li, previous) {
  if (!previous) return;
  const action = previous.dataset ? previous.dataset.action : null;
  const testid = previous.dataset ? previous.dataset.testid : null;
  const again =
    (action && li.querySelector(`[data-action="${CSS.escape(action)}"]`)) ||
    (testid && li.querySelector(`[data-testid="${CSS.escape(testid)}"]`));
  if (again && !again.disabled) again.focus();
  else li.focus();
}

function rerenderAll() {
  for (const key of state.order) {
    const msg = state.messages.get(key);
    if (msg) placeMessage(msg);
  }
}

function isOwn(msg) {
  return Boolean(session.user && msg.author && msg.author.id === session.user.id);
}

function isNearBottom() {
  if (!ui) return true;
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

function scrollToBottom() {
  if (!ui) return;
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

function updateLoadOlder() {
  if (ui) ui.loadOlderBtn.hidden = !state.hasMore;
}

function updateEmpty() {
  if (ui) ui.emptyNote.hidden = !(state.joined && state.order.length === 0);
}

async function loadOlder() {
  const roomId = state.roomId;
  const before = oldestConfirmedId();
  if (!roomId || !before || state.loadingOlder || !state.hasMore) return;
  state.loadingOlder = true;
  ui.loadOlderBtn.disabled = true;
  ui.loadOlderBtn.textContent = "Loading older messages…";
  const seq = state.joinSeq;
  try {
    const res = await sock.call("message:history", { room_id: roomId, before, limit: HISTORY_PAGE });
    if (seq !== state.joinSeq || !ui) return;
    const prevHeight = ui.scroller.scrollHeight;
    const prevTop = ui.scroller.scrollTop;
    mergeMessages(res.messages || []);
    state.hasMore = Boolean(res.has_more);
    ui.scroller.scrollTop = prevTop + (ui.scroller.scrollHeight - prevHeight);
    announce(res.messages && res.messages.length ? `Loaded ${res.messages.length} older messages.` : "No older messages.");
  } catch (err) {
    setModStatus(`Could not load older messages. ${describeError(err)}`, "error");
  } finally {
    state.loadingOlder = false;
    if (ui) {
      ui.loadOlderBtn.disabled = false;
      ui.loadOlderBtn.textContent = "Load older messages";
      updateLoadOlder();
    }
  }
}

// ---------------------------------------------------------------------------
// rendering a message

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

function renderMessage(msg) {
  const own = isOwn(msg);
  const p = msg._pending || null;
  const status = p ? p.state : msg.status || "visible";
  const isTombstone = !p && (msg.status === "hidden" || msg.status === "deleted") && (msg.text === null || msg.text === undefined);
  const mod = session.isModerator;
  const li = h("li", {
    class: ["message", own && "own", `status-${status}`, msg.severity && `sev-${msg.severity}`, isTombstone && "tombstone"],
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

  li.appendChild(authorLine(msg, own));

  if (isTombstone) {
    li.appendChild(h("p", { class: "tombstone-text", dataset: { testid: "tombstone" } }, TOMBSTONE_TEXT));
    return li;
  }

  li.appendChild(h("p", { class: "msg-text", dataset: { testid: "message-text" } }, msg.text ?? ""));

  // Notes about status
  if (msg.status === "held" && !p) {
    if (own && !mod) {
      li.appendChild(
        h("p", { class: "msg-note held-note", dataset: { testid: "held-note" } },
          "Only you and the counselors can see this for now. A counselor will look at it soon."),
      );
    } else if (mod) {
      li.appendChild(h("p", { class: "msg-note mod-note", dataset: { testid: "held-badge" } }, "Held: members cannot see this until it is released."));
    }
  }
  if (mod && (msg.severity || (msg.flag_ids && msg.flag_ids.length))) {
    li.appendChild(
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
    li.appendChild(
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

  if (p) {
    li.appendChild(pendingNote(p));
    return li;
  }

  // Actions
  const actions = h("div", { class: "msg-actions" });
  if (!own && msg.status === "visible") {
    actions.appendChild(reportControl(msg));
  }
  if (mod) {
    const controls = messageModControls(msg, modCtx());
    if (controls) actions.appendChild(controls);
  }
  if (actions.childNodes.length) li.appendChild(actions);
  return li;
}

function pendingNote(p) {
  if (p.state === "failed") {
    const retry = h(
      "button",
      { type: "button", class: "btn btn-small", dataset: { action: "retry", clientId: p.client_id, testid: "retry-button" }, onClick: () => attemptSend(p) },
      "Try again",
    );
    const discard = h(
      "button",
      { type: "button", class: "btn btn-small btn-quiet", dataset: { action: "discard", clientId: p.client_id }, onClick: () => discardPending(p) },
      "Discard",
    );
    return h(
      "div",
      { class: "msg-note send-error", role: "alert", dataset: { testid: "send-error", errorCode: p.error ? p.error.code : "" } },
      h("p", null, "Not sent. ", p.error ? describeError(p.error) : ""),
      h("div", { class: "msg-actions" }, retry, discard),
    );
  }
  const text = p.state === "queued" ? "Waiting for the connection… it will be sent when you are back online." : "Sending…";
  return h("p", { class: "msg-note muted small", dataset: { testid: "sending-note" } }, text);
}

function reportControl(msg) {
  const wrap = h("div", { class: "report" });
  const draft = state.reportOpen.get(msg.id);
  if (draft === undefined) {
    wrap.appendChild(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-quiet",
          dataset: { action: "report", messageId: msg.id },
          "aria-label": `Report message from ${displayName(msg.author)}`,
          onClick: () => {
            state.reportOpen.set(msg.id, "");
            placeMessage(msg);
            state.elements.get(msg.id)?.querySelector('[data-testid="report-reason"]')?.focus();
          },
        },
        "Report",
      ),
    );
    return wrap;
  }
  const reason = h("textarea", { rows: "2", maxlength: "500", dataset: { testid: "report-reason" } });
  reason.value = draft;
  reason.addEventListener("input", () => state.reportOpen.set(msg.id, reason.value));
  const status = h("p", { class: "form-error", role: "alert", dataset: { testid: "report-error" } });
  status.hidden = true;
  const submit = h("button", { type: "submit", class: "btn btn-small", dataset: { action: "submit-report", messageId: msg.id } }, "Send report");
  const cancel = h(
    "button",
    {
      type: "button",
      class: "btn btn-small btn-quiet",
      dataset: { action: "cancel-report" },
      onClick: () => {
        state.reportOpen.delete(msg.id);
        placeMessage(msg);
        state.elements.get(msg.id)?.querySelector('[data-action="report"]')?.focus();
      },
    },
    "Cancel",
  );
  const form = h(
    "form",
    { class: "report-form", dataset: { testid: "report-form" } },
    field("What worries you about this message? (optional)", reason, "Only counselors see your report.").wrap,
    h("div", { class: "msg-actions" }, submit, cancel),
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    const payload = { message_id: msg.id };
    const r = reason.value.trim();
    if (r) payload.reason = r;
    try {
      await sock.call("message:report", payload);
      state.reportOpen.delete(msg.id);
      placeMessage(msg);
      const li = state.elements.get(msg.id);
      const thanks = h("p", { class: "msg-note success", role: "status", dataset: { testid: "report-thanks" } },
        "Thank you. A counselor will take a look.");
      li?.appendChild(thanks);
      li?.focus();
    } catch (err) {
      status.textContent = describeError(err);
      status.hidden = false;
      submit.disabled = false;
    }
  });
  wrap.appendChild(form);
  return wrap;
}

// ---------------------------------------------------------------------------
// sending

function submitComposer() {
  if (!ui || !state.roomId) return;
  const text = ui.input.value.trim();
  if (!text) return;
  if ([...text].length > 2000) {
    setNotice("That is too long to send. Please shorten it (2,000 characters at most).", "error");
    return;
  }
  if (ui.input.disabled) return;
  const p = {
    client_id: newClientId(),
    room_id: state.roomId,
    text,
    state: "sending",
    seq: ++pendingSeq,
    attempt: 0,
    error: null,
    created_at: new Date().toISOString(),
  };
  pending.set(p.client_id, p);
  ui.input.value = "";
  updateCount();
  stopTyping();
  setNotice("");
  showPending(p);
  scrollToBottom();
  p.state = "queued";
  resendPending(); // in order, behind anything still waiting
}

function pendingMessage(p) {
  return {
    id: null,
    room_id: p.room_id,
    client_id: p.client_id,
    author: session.user,
    text: p.text,
    created_at: p.created_at,
    status: p.state,
    _pending: p,
  };
}

function showPending(p) {
  if (p.room_id !== state.roomId || !ui || !pending.has(p.client_id)) return;
  placeMessage(pendingMessage(p));
  updateEmpty();
}

function discardPending(p) {
  pending.delete(p.client_id);
  removeKey(`c:${p.client_id}`);
  updateEmpty();
  ui?.input.focus();
}

async function attemptSend(p) {
  if (!pending.has(p.client_id)) return false;
  p.attempt += 1;
  const attempt = p.attempt;
  if (!sock.isConnected() || !state.joined || state.roomId !== p.room_id) {
    p.state = "queued";
    showPending(p);
    return;
  }
  p.state = "sending";
  p.error = null;
  showPending(p);
  try {
    const res = await sock.call("message:send", { room_id: p.room_id, text: p.text, client_id: p.client_id });
    pending.delete(p.client_id);
    removeKey(`c:${p.client_id}`);
    if (res.message) upsertMessage(res.message);
    if (isNearBottom()) scrollToBottom();
    p.backoff = 0;
    return true;
  } catch (err) {
    if (!pending.has(p.client_id) || p.attempt !== attempt) return false;
    if (err.code === "offline" || !sock.isConnected()) {
      p.state = "queued";
    } else if (isRetryable(err)) {
      // Busy or briefly unavailable: wait (the server's retry_after, else a jittered
      // back-off) and resend this one and those after it, in order.
      p.state = "queued";
      p.backoff = nextBackoff(p.backoff || 0);
      scheduleResend(err.retryAfter ? err.retryAfter * 1000 : jitter(p.backoff));
    } else {
      p.state = "failed";
      p.error = err;
      if (err.code === "muted" && err.retryAfter) {
        applyMute(p.room_id, new Date(Date.now() + err.retryAfter * 1000).toISOString(), null);
      }
    }
    showPending(p);
    return false;
  }
}

let resendTimer = null;
let resending = false;

function scheduleResend(ms) {
  clearTimeout(resendTimer);
  resendTimer = setTimeout(resendPending, ms);
}

/** Send what is waiting, oldest first, one at a time: a refusal stops the round, so
 * messages never overtake each other and a backlog never trips the rate limit. */
let resendAgain = false;

async function resendPending() {
  if (resending) {
    resendAgain = true; // picked up when the round in progress ends
    return;
  }
  resending = true;
  try {
    do {
      resendAgain = false;
      for (const p of [...pending.values()].sort((a, b) => a.seq - b.seq)) {
        if (p.room_id !== state.roomId || (p.state !== "queued" && p.state !== "sending")) continue;
        if (!(await attemptSend(p))) return;
      }
    } while (resendAgain);
  } finally {
    resending = false;
  }
}

// ---------------------------------------------------------------------------
// typing

function noteTyping() {
  if (!state.roomId || !state.joined) return;
  const now = Date.now();
  if (now - state.typingSentAt > TYPING_SEND_EVERY_MS) {
    state.typingSentAt = now;
    sock.call("typing", { room_id: state.roomId, typing: true }).catch(() => {});
  }
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(state.typingIdleTimer);
  if (state.typingSentAt && state.roomId && sock.isConnected()) {
    sock.call("typing", { room_id: state.roomId, typing: false }).catch(() => {});
  }
  state.typingSentAt = 0;
}

function renderTyping() {
  if (!ui) return;
  const names = [...state.typers.values()].map((t) => displayName(t.user));
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  ui.typing.textContent = text;
}

// ---------------------------------------------------------------------------
// presence

function renderOnline() {
  if (!ui) return;
  const users = [...state.online.values()].sort((a, b) => displayName(a).localeCompare(displayName(b)));
  ui.onlineCount.textContent = `${users.length} online`;
  replace(
    ui.onlineList,
    users.map((u) =>
      h(
        "li",
        { dataset: { testid: "online-user", userId: u.id } },
        h("span", { class: "presence-dot", "aria-hidden": "true" }),
        displayName(u),
        u.role && u.role !== "patient" ? h("span", { class: ["badge", "role-badge", `role-${u.role}`] }, ROLE_LABEL[u.role] || u.role) : null,
        session.user && u.id === session.user.id ? h("span", { class: "muted small" }, " (you)") : null,
        session.isModerator && u.role === "patient" ? userModControls(u, modCtx()) : null,
      ),
    ),
  );
}

// ---------------------------------------------------------------------------
// room state: locked, slow mode, pinned, muted

function applyRoom(room) {
  if (!room) return;
  session.upsertRoom(room);
  hooks.onRoomsChanged();
  if (room.id !== state.roomId) return;
  state.room = { ...(state.room || {}), ...room };
  renderRoomState();
}

function renderRoomState() {
  if (!ui) return;
  const room = state.room;
  if (room) {
    ui.title.textContent = room.name || "Room";
    ui.subtitle.textContent = room.cohort_name || "";
  }
  if (ui.toolbar) ui.toolbar.update(room);
  const banners = [];
  if (room && room.locked) {
    banners.push(
      h("p", { class: "banner banner-locked", role: "status", dataset: { testid: "locked-banner" } },
        session.isModerator
          ? "This room is locked. Members can read but not write; counselors and staff can still post."
          : "This room is locked by a counselor for now. You can still read along."),
    );
  }
  if (room && room.slow_mode_seconds > 0) {
    banners.push(
      h("p", { class: "banner banner-slow", role: "status", dataset: { testid: "slow-mode-notice", seconds: room.slow_mode_seconds } },
        `Slow mode is on: one message every ${describeSeconds(room.slow_mode_seconds)}.`),
    );
  }
  const mute = room ? state.mutedUntil.get(room.id) : null;
  if (mute && new Date(mute.until).getTime() > Date.now()) {
    banners.push(
      h("p", { class: "banner banner-muted", role: "status", dataset: { testid: "muted-banner" } },
        `A counselor has paused your messages in this room until ${formatTime(mute.until)}.`,
        mute.reason ? ` Reason: ${mute.reason}` : ""),
    );
  }
  replace(ui.banners, banners);
  renderPinned();
  updateComposerEnabled();
}

function renderPinned() {
  if (!ui) return;
  const pin = state.room && state.room.pinned;
  if (!pin) {
    replace(ui.pinned);
    return;
  }
  const tomb = pin.text === null || pin.text === undefined;
  replace(
    ui.pinned,
    h(
      "aside",
      { class: "pinned", "aria-label": "Pinned message", dataset: { testid: "pinned-message", messageId: pin.id } },
      h("p", { class: "pinned-label small" }, "Pinned by the counselors"),
      h("p", { class: "pinned-text" }, tomb ? TOMBSTONE_TEXT : pin.text),
      h("p", { class: "muted small" }, displayName(pin.author), pin.created_at ? ` · ${formatTime(pin.created_at)}` : ""),
    ),
  );
}

function updateComposerEnabled() {
  if (!ui) return;
  const room = state.room;
  const mute = room ? state.mutedUntil.get(room.id) : null;
  const muted = !session.isModerator && mute && new Date(mute.until).getTime() > Date.now();
  const locked = !session.isModerator && room && room.locked;
  const disabled = Boolean(muted || locked);
  ui.input.disabled = disabled;
  ui.sendBtn.disabled = disabled;
  if (locked) setNotice("The room is locked, so sending is paused.", "info");
  else if (muted) setNotice(`You can write again at ${formatTime(mute.until)}.`, "info");
  else if (ui.notice.dataset.kind === "info") setNotice("");
}

function applyMute(roomId, until, reason) {
  state.mutedUntil.set(roomId, { until, reason });
  clearTimeout(state.mutedTimer);
  const ms = new Date(until).getTime() - Date.now();
  if (ms > 0 && ms < 2 ** 31 - 1) {
    state.mutedTimer = setTimeout(() => {
      state.mutedUntil.delete(roomId);
      renderRoomState();
      if (roomId === state.roomId) announce("You can write in this room again.");
    }, ms + 500);
  }
  if (roomId === state.roomId) renderRoomState();
}

function setNotice(text, kind = "info") {
  if (!ui) return;
  ui.notice.textContent = text || "";
  ui.notice.dataset.kind = text ? kind : "";
}

function updateCount() {
  if (!ui) return;
  const n = [...ui.input.value].length;
  ui.count.textContent = n > 1500 ? `${n} / 2000` : "";
}

let modStatusTimer = null;
function setModStatus(text, kind) {
  if (!ui) return;
  ui.modStatus.textContent = text;
  ui.modStatus.dataset.kind = kind;
  ui.modStatus.hidden = !text;
  clearTimeout(modStatusTimer);
  if (kind === "success") modStatusTimer = setTimeout(() => ui && (ui.modStatus.hidden = true), 6000);
}

function modCtx() {
  return {
    roomId: () => state.roomId,
    room: () => state.room,
    reason: () => (ui && ui.toolbar ? ui.toolbar.reason() : ""),
    muteMinutes: () => (ui && ui.toolbar ? ui.toolbar.muteMinutes() : 15),
    feedback: setModStatus,
    onMessage: (m) => upsertMessage(m),
    onRoom: (r) => applyRoom(r),
  };
}

// ---------------------------------------------------------------------------
// server events

export function registerChatEvents(on) {
  on("message:new", (msg) => {
    if (!msg || msg.room_id !== state.roomId) return;
    const stick = isNearBottom();
    const known = state.messages.has(msg.id);
    const newest = newestConfirmed();
    if (state.joined && !known && newest && leavesGap(newest.seq, msg)) fillGap(newest.id);
    upsertMessage(msg);
    if (!known && !isOwn(msg)) {
      const t = state.typers.get(msg.author && msg.author.id);
      if (t) {
        clearTimeout(t.timer);
        state.typers.delete(msg.author.id);
        renderTyping();
      }
      announce(`${displayName(msg.author)}: ${msg.text ?? TOMBSTONE_TEXT}`);
    }
    if (stick || isOwn(msg)) scrollToBottom();
  });

  on("message:updated", (msg) => {
    if (!msg || msg.room_id !== state.roomId) return;
    upsertMessage(msg);
  });

  on("typing", (data) => {
    if (!data || data.room_id !== state.roomId || !data.user) return;
    if (session.user && data.user.id === session.user.id) return;
    const existing = state.typers.get(data.user.id);
    if (existing) clearTimeout(existing.timer);
    if (data.typing) {
      const timer = setTimeout(() => {
        state.typers.delete(data.user.id);
        renderTyping();
      }, TYPING_EXPIRE_MS);
      state.typers.set(data.user.id, { user: data.user, timer });
    } else {
      state.typers.delete(data.user.id);
    }
    renderTyping();
  });

  on("presence", (data) => {
    if (!data || data.room_id !== state.roomId || !data.user) return;
    if (data.online) state.online.set(data.user.id, data.user);
    else {
      state.online.delete(data.user.id);
      const t = state.typers.get(data.user.id);
      if (t) {
        clearTimeout(t.timer);
        state.typers.delete(data.user.id);
        renderTyping();
      }
    }
    renderOnline();
  });

  on("room:updated", (room) => applyRoom(room));

  on("mod:muted", (data) => {
    if (!data || !data.room_id) return;
    applyMute(data.room_id, data.until, data.reason || null);
    const room = session.room(data.room_id);
    announce(
      `A counselor has paused your messages${room ? ` in ${room.name}` : ""} until ${formatTime(data.until)}.${data.reason ? ` Reason: ${data.reason}` : ""}`,
    );
  });

  on("room:removed", (data) => {
    if (!data || !data.room_id) return;
    const room = session.room(data.room_id);
    session.removeRoom(data.room_id);
    for (const p of [...pending.values()]) if (p.room_id === data.room_id) pending.delete(p.client_id);
    hooks.onRoomsChanged();
    const text = `You were removed from ${room ? `“${room.name}”` : "a room"} by a counselor.${data.reason ? ` Reason: ${data.reason}` : ""} If you have questions, please talk with your counselor.`;
    if (data.room_id === state.roomId) closeRoom(text);
    announce(text);
  });
}

export function refreshForRole() {
  rerenderAll();
  renderOnline();
  renderRoomState();
}
