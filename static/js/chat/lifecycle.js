// A room's life in the view: open (leave the previous one, join, show what is pending),
// re-join after a reconnect and fetch what was missed, fill a gap seen in the live
// stream, load older history, and close (removed, or no longer available).
// Every step works on the `ctx` passed in; `joinSeq` makes a late answer for a room
// that is no longer open harmless.
import { h, replace, announce } from "../dom.js";
import { describeError } from "../errors.js";
import * as sock from "../socket.js";
import { session } from "../session.js";
import { createTimeline } from "./timeline.js";
import { applyRoom, renderRoomState } from "./banners.js";
import * as list from "./messages.js";
import { renderOnline, renderTyping } from "./presence.js";
import { renderEmptyState, setModStatus, setNotice, updateCount } from "./view.js";

const HISTORY_PAGE = 50;
const GAP_PAGE = 100;

/** The open room's state; one per chat view, reset (not replaced) on each room change. */
export function createRoomState() {
  return { roomId: null, room: null, joined: false, joinSeq: 0, hasMore: false, loadingOlder: false, fillingGap: false, online: new Map() };
}

export function resetRoomState(ctx, roomId) {
  const { state } = ctx;
  state.roomId = roomId;
  state.room = roomId ? session.room(roomId) : null;
  state.joined = false;
  state.joinSeq += 1;
  state.hasMore = false;
  state.loadingOlder = false;
  state.online = new Map();
  ctx.timeline = createTimeline();
  ctx.elements = new Map();
  ctx.typing.reset();
  ctx.reports.reset();
}

function showRoomPane(ctx) {
  const { ui, state } = ctx;
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
  updateCount(ui);
  setNotice(ui, "");
}

export async function openRoom(ctx, roomId) {
  const { state } = ctx;
  if (!ctx.ui) {
    state.roomId = roomId; // opened when the view mounts
    return;
  }
  if (state.roomId === roomId && state.joined) {
    ctx.ui.title.focus();
    return;
  }
  const previous = state.roomId;
  if (previous && previous !== roomId) {
    ctx.typing.stop();
    sock.call("room:leave", { room_id: previous }).catch(() => {});
  }
  resetRoomState(ctx, roomId);
  showRoomPane(ctx);
  renderRoomState(ctx);
  renderTyping(ctx);
  renderOnline(ctx);
  for (const p of ctx.outbox.inRoom(roomId)) list.showPending(ctx, p);
  await joinAndSync(ctx, { initial: true });
  const active = document.activeElement;
  const focusIsFree = !active || active === document.body || Boolean(active.closest && active.closest("[data-room-nav]"));
  if (state.roomId === roomId && ctx.ui && focusIsFree) ctx.ui.title.focus();
}

/** Fetch pages after `after` until caught up; false if the room changed meanwhile. */
async function fetchAfter(ctx, roomId, after, maxPages, stillCurrent) {
  for (let i = 0; i < maxPages; i += 1) {
    const page = await sock.call("message:history", { room_id: roomId, after, limit: GAP_PAGE });
    if (!stillCurrent()) return false;
    const got = page.messages || [];
    list.mergeMessages(ctx, got);
    if (!page.has_more || !got.length) break;
    after = got[got.length - 1].id;
  }
  return true;
}

/** Join the current room; on a re-join, fetch what was missed after the newest message we have. */
async function joinAndSync(ctx, { initial }) {
  const { state } = ctx;
  const roomId = state.roomId;
  if (!roomId || !ctx.ui) return;
  const seq = ++state.joinSeq;
  const stillCurrent = () => seq === state.joinSeq && state.roomId === roomId;
  const lastSeen = initial ? null : ctx.timeline.newestConfirmed()?.id ?? null;
  ctx.ui.pane.setAttribute("aria-busy", "true");
  try {
    const res = await sock.call("room:join", { room_id: roomId });
    if (!stillCurrent()) return;
    applyRoom(ctx, res.room);
    state.online = new Map((res.online || []).map((u) => [u.id, u]));
    renderOnline(ctx);
    const stick = list.isNearBottom(ctx);
    list.mergeMessages(ctx, res.messages || []);
    if (initial) state.hasMore = Boolean(res.has_more);
    if (lastSeen && !(await fetchAfter(ctx, roomId, lastSeen, 100, stillCurrent))) return;
    state.joined = true;
    ctx.ui.roomError.hidden = true;
    list.updateLoadOlder(ctx);
    list.updateEmpty(ctx);
    if (initial || stick) list.scrollToBottom(ctx);
    ctx.outbox.flush();
  } catch (err) {
    if (seq !== state.joinSeq) return;
    if (err.code === "offline") return; // the reconnect handler will try again
    showRoomError(ctx, err);
  } finally {
    if (ctx.ui) ctx.ui.pane.removeAttribute("aria-busy");
  }
}

function showRoomError(ctx, err) {
  if (!ctx.ui) return;
  const retry = h(
    "button",
    { type: "button", class: "btn btn-small", dataset: { action: "retry-join" }, onClick: () => joinAndSync(ctx, { initial: ctx.timeline.size === 0 }) },
    "Try again",
  );
  replace(ctx.ui.roomError, h("p", null, `We could not open this room. ${describeError(err)}`), retry);
  ctx.ui.roomError.hidden = false;
}

/** Fetch what came after `afterId` (a seq gap in the live stream), one page at a time. */
export async function fillGap(ctx, afterId) {
  const { state } = ctx;
  if (state.fillingGap) return;
  state.fillingGap = true;
  const roomId = state.roomId;
  try {
    await fetchAfter(ctx, roomId, afterId, 20, () => state.roomId === roomId);
  } catch {
    // offline or refused: the next reconnect's catch-up fills it
  } finally {
    state.fillingGap = false;
  }
}

/** Called after the socket reconnected and a fresh `session` arrived. */
export function handleReconnect(ctx) {
  const { state } = ctx;
  if (!state.roomId || !ctx.ui) return;
  if (!session.room(state.roomId)) {
    closeRoom(ctx, "This room is no longer available to you.");
    return;
  }
  state.joined = false;
  joinAndSync(ctx, { initial: ctx.timeline.size === 0 });
}

/** Socket dropped: keep everything, mark in-flight sends as waiting. */
export function handleDisconnect(ctx) {
  ctx.state.joined = false;
  ctx.outbox.suspend();
}

export function closeRoom(ctx, message) {
  const id = ctx.state.roomId;
  resetRoomState(ctx, null);
  const { ui } = ctx;
  if (ui) {
    replace(ui.list);
    renderEmptyState(ui);
    if (message) {
      replace(ui.roomError, h("p", { dataset: { testid: "removed-notice" } }, message));
      ui.roomError.hidden = false;
    }
  }
  ctx.hooks.onRoomClosed(id);
}

function setLoadingOlder(ui, loading) {
  ui.loadOlderBtn.disabled = loading;
  ui.loadOlderBtn.textContent = loading ? "Loading older messages…" : "Load older messages";
}

export async function loadOlder(ctx) {
  const { state } = ctx;
  const roomId = state.roomId;
  const before = ctx.timeline.oldestConfirmed()?.id ?? null;
  if (!roomId || !before || state.loadingOlder || !state.hasMore) return;
  state.loadingOlder = true;
  setLoadingOlder(ctx.ui, true);
  const seq = state.joinSeq;
  try {
    const res = await sock.call("message:history", { room_id: roomId, before, limit: HISTORY_PAGE });
    if (seq !== state.joinSeq || !ctx.ui) return;
    const { scroller } = ctx.ui;
    const prevHeight = scroller.scrollHeight;
    const prevTop = scroller.scrollTop;
    list.mergeMessages(ctx, res.messages || []);
    state.hasMore = Boolean(res.has_more);
    scroller.scrollTop = prevTop + (scroller.scrollHeight - prevHeight);
    announce(res.messages && res.messages.length ? `Loaded ${res.messages.length} older messages.` : "No older messages.");
  } catch (err) {
    setModStatus(ctx, `Could not load older messages. ${describeError(err)}`, "error");
  } finally {
    state.loadingOlder = false;
    if (ctx.ui) {
      setLoadingOlder(ctx.ui, false);
      list.updateLoadOlder(ctx);
    }
  }
}
