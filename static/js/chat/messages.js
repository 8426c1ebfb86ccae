// The message list on screen, kept in step with the room's timeline (chat/timeline.js):
// one <li> per timeline entry, in the timeline's order, replaced in place on an update
// (keeping keyboard focus where it was).
import { session } from "../session.js";
import { messageModControls } from "../moderation.js";
import { isOwn, renderMessage } from "./render.js";
import { renderPinned } from "./banners.js";

function renderOptions(ctx) {
  return {
    report: (msg) => ctx.reports.control(msg),
    modControls: (msg) => messageModControls(msg, ctx.modCtx()),
    retry: (p) => ctx.outbox.retry(p),
    discard: (p) => discardPending(ctx, p),
  };
}

/** Draw a message (new or updated) at its place in the list. */
export function placeMessage(ctx, msg) {
  const { key, next } = ctx.timeline.upsert(msg);
  const existing = ctx.elements.get(key);
  const li = renderMessage(msg, renderOptions(ctx));
  ctx.elements.set(key, li);
  if (existing) {
    const hadFocus = existing.contains(document.activeElement) ? document.activeElement : null;
    existing.replaceWith(li);
    restoreFocus(li, hadFocus);
    return;
  }
  const nextEl = next ? ctx.elements.get(next) : null;
  ctx.ui.list.insertBefore(li, nextEl || null);
}

export function removeKey(ctx, key) {
  const el = ctx.elements.get(key);
  if (el) el.remove();
  ctx.elements.delete(key);
  ctx.timeline.remove(key);
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

/** A stored message for the open room: a new one, an update, or the echo of one we sent. */
export function upsertMessage(ctx, msg) {
  const { state, outbox } = ctx;
  if (!msg || !msg.id || msg.room_id !== state.roomId || !ctx.ui) return;
  if (msg.client_id && outbox.has(msg.client_id)) {
    const p = outbox.get(msg.client_id);
    if (p.room_id === msg.room_id && isOwn(msg)) {
      outbox.ack(msg.client_id);
      removeKey(ctx, `c:${msg.client_id}`);
    }
  }
  placeMessage(ctx, msg);
  if (state.room && state.room.pinned && state.room.pinned.id === msg.id) {
    state.room = { ...state.room, pinned: msg };
    renderPinned(ctx);
  }
  updateEmpty(ctx);
}

export function mergeMessages(ctx, messages) {
  for (const m of messages) upsertMessage(ctx, m);
}

/** Draw every message again (the viewer's role changed). */
export function rerenderAll(ctx) {
  for (const msg of ctx.timeline.list()) if (msg) placeMessage(ctx, msg);
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

/** Draw a message not yet acknowledged (sending, waiting, or refused). */
export function showPending(ctx, p) {
  if (p.room_id !== ctx.state.roomId || !ctx.ui || !ctx.outbox.has(p.client_id)) return;
  placeMessage(ctx, pendingMessage(p));
  updateEmpty(ctx);
}

function discardPending(ctx, p) {
  ctx.outbox.discard(p.client_id);
  removeKey(ctx, `c:${p.client_id}`);
  updateEmpty(ctx);
  ctx.ui?.input.focus();
}

export function isNearBottom(ctx) {
  if (!ctx.ui) return true;
  const s = ctx.ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

export function scrollToBottom(ctx) {
  if (!ctx.ui) return;
  ctx.ui.scroller.scrollTop = ctx.ui.scroller.scrollHeight;
}

export function updateLoadOlder(ctx) {
  if (ctx.ui) ctx.ui.loadOlderBtn.hidden = !ctx.state.hasMore;
}

export function updateEmpty(ctx) {
  if (ctx.ui) ctx.ui.emptyNote.hidden = !(ctx.state.joined && ctx.timeline.size === 0);
}
