// The chat view's wiring: one context object (`ctx`) holds the open room's state, its
// timeline (chat/timeline.js), the outbox (chat/outbox.js), typing and report drafts,
// and is passed to the modules under chat/ that do the work. This file mounts the pane,
// connects the server's events, and keeps the exports main.js uses.
import { formatTime, announce } from "./dom.js";
import * as sock from "./socket.js";
import { session } from "./session.js";
import { displayName } from "./util.js";
import { roomModToolbar } from "./moderation.js";
import { createTimeline } from "./chat/timeline.js";
import { createOutbox } from "./chat/outbox.js";
import { createTyping } from "./chat/typing.js";
import { createReports } from "./chat/report.js";
import { TOMBSTONE_TEXT, isOwn } from "./chat/render.js";
import * as list from "./chat/messages.js";
import * as room from "./chat/lifecycle.js";
import { applyMute, applyRoom, renderRoomState } from "./chat/banners.js";
import { applyPresence, renderOnline, renderTyping } from "./chat/presence.js";
import { submitComposer } from "./chat/composer.js";
import { buildRoomPane, renderEmptyState, setModStatus, updateCount } from "./chat/view.js";

/** Everything the chat view knows, created once and passed to every part. */
function createChatContext() {
  const ctx = {
    ui: null, // the pane's elements while mounted (chat/view.js)
    hooks: { onRoomsChanged: () => {}, onRoomClosed: () => {} },
    state: room.createRoomState(),
    timeline: createTimeline(),
    elements: new Map(), // timeline key -> <li>
    mutes: new Map(), // room id -> {until, reason}
    mutedTimer: null,
    modStatusTimer: null,
  };
  ctx.outbox = createOutbox({
    send: (p) => sock.call("message:send", { room_id: p.room_id, text: p.text, client_id: p.client_id }),
    activeRoom: () => ctx.state.roomId,
    isJoined: () => ctx.state.joined,
    isConnected: () => sock.isConnected(),
    onChange: (p) => list.showPending(ctx, p),
    onSent: (p, res) => {
      list.removeKey(ctx, `c:${p.client_id}`);
      if (res.message) list.upsertMessage(ctx, res.message);
      if (list.isNearBottom(ctx)) list.scrollToBottom(ctx);
    },
    onRefused: (p, err) => {
      if (err.code === "muted" && err.retryAfter) {
        applyMute(ctx, p.room_id, new Date(Date.now() + err.retryAfter * 1000).toISOString(), null);
      }
    },
  });
  ctx.typing = createTyping({
    call: sock.call,
    isConnected: () => sock.isConnected(),
    room: () => ({ roomId: ctx.state.roomId, joined: ctx.state.joined }),
    onChange: () => renderTyping(ctx),
  });
  ctx.reports = createReports({
    rerender: (msg) => list.placeMessage(ctx, msg),
    element: (id) => ctx.elements.get(id),
    call: sock.call,
  });
  ctx.modCtx = () => ({
    roomId: () => ctx.state.roomId,
    room: () => ctx.state.room,
    reason: () => (ctx.ui && ctx.ui.toolbar ? ctx.ui.toolbar.reason() : ""),
    muteMinutes: () => (ctx.ui && ctx.ui.toolbar ? ctx.ui.toolbar.muteMinutes() : 15),
    feedback: (text, kind) => setModStatus(ctx, text, kind),
    onMessage: (m) => list.upsertMessage(ctx, m),
    onRoom: (r) => applyRoom(ctx, r),
  });
  return ctx;
}

const ctx = createChatContext();

// ---------------------------------------------------------------------------
// mounting

export function mountChat(container, opts = {}) {
  ctx.hooks = { ...ctx.hooks, ...opts };
  const toolbar = session.isModerator ? roomModToolbar(ctx.modCtx()) : null;
  ctx.ui = buildRoomPane(
    container,
    {
      loadOlder: () => room.loadOlder(ctx),
      nearTop: () => room.loadOlder(ctx),
      submit: () => submitComposer(ctx),
      input: () => {
        updateCount(ctx.ui);
        ctx.typing.note();
      },
      blur: () => ctx.typing.stop(),
    },
    toolbar,
  );
  renderEmptyState(ctx.ui);
  if (ctx.state.roomId) {
    const id = ctx.state.roomId;
    ctx.state.roomId = null;
    room.openRoom(ctx, id);
  }
}

export function unmountChat() {
  room.resetRoomState(ctx, null);
  ctx.ui = null;
  ctx.outbox.clear();
  ctx.mutes.clear();
}

export function currentRoomId() {
  return ctx.state.roomId;
}

export const openRoom = (roomId) => room.openRoom(ctx, roomId);
export const handleReconnect = () => room.handleReconnect(ctx);
export const handleDisconnect = () => room.handleDisconnect(ctx);

export function refreshForRole() {
  list.rerenderAll(ctx);
  renderOnline(ctx);
  renderRoomState(ctx);
}

// ---------------------------------------------------------------------------
// server events

function onNewMessage(msg) {
  if (!msg || msg.room_id !== ctx.state.roomId) return;
  const stick = list.isNearBottom(ctx);
  const known = ctx.timeline.has(msg.id);
  const gapAfter = ctx.state.joined ? ctx.timeline.gapBefore(msg) : null;
  if (gapAfter) room.fillGap(ctx, gapAfter);
  list.upsertMessage(ctx, msg);
  if (!known && !isOwn(msg)) {
    if (msg.author) ctx.typing.forget(msg.author.id);
    announce(`${displayName(msg.author)}: ${msg.text ?? TOMBSTONE_TEXT}`);
  }
  if (stick || isOwn(msg)) list.scrollToBottom(ctx);
}

function onTyping(data) {
  if (!data || data.room_id !== ctx.state.roomId || !data.user) return;
  if (session.user && data.user.id === session.user.id) return;
  ctx.typing.heard(data.user, data.typing);
}

function onMuted(data) {
  if (!data || !data.room_id) return;
  applyMute(ctx, data.room_id, data.until, data.reason || null);
  const r = session.room(data.room_id);
  announce(
    `A counselor has paused your messages${r ? ` in ${r.name}` : ""} until ${formatTime(data.until)}.${data.reason ? ` Reason: ${data.reason}` : ""}`,
  );
}

function onRemoved(data) {
  if (!data || !data.room_id) return;
  const r = session.room(data.room_id);
  session.removeRoom(data.room_id);
  ctx.outbox.dropRoom(data.room_id);
  ctx.hooks.onRoomsChanged();
  const text = `You were removed from ${r ? `“${r.name}”` : "a room"} by a counselor.${data.reason ? ` Reason: ${data.reason}` : ""} If you have questions, please talk with your counselor.`;
  if (data.room_id === ctx.state.roomId) room.closeRoom(ctx, text);
  announce(text);
}

export function registerChatEvents(on) {
  on("message:new", onNewMessage);
  on("message:updated", (msg) => {
    if (!msg || msg.room_id !== ctx.state.roomId) return;
    list.upsertMessage(ctx, msg);
  });
  on("typing", onTyping);
  on("presence", (data) => {
    if (!data || data.room_id !== ctx.state.roomId || !data.user) return;
    applyPresence(ctx, data);
  });
  on("room:updated", (r) => applyRoom(ctx, r));
  on("mod:muted", onMuted);
  on("room:removed", onRemoved);
}
