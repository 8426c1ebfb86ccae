// Bootstrap and router: sign-in, the app shell (header, navigation, views), the
// socket session lifecycle, and the counselor on-call toggle.
import { h, replace, field, describeSeconds, announce } from "./dom.js";
import { describeError, AUTH_CODES } from "./errors.js";
import { api, setAuthLostHandler } from "./api.js";
import { session } from "./session.js";
import * as sock from "./socket.js";
import { ROLE_LABEL, displayName } from "./util.js";
import { renderRoomList } from "./rooms.js";
import * as chat from "./chat.js";
import * as alerts from "./alerts.js";
import { mountCrisis, showCrisis, showHelp, resetCrisis, onHelpUpdated } from "./crisis.js";
import { renderReviewQueue, renderFlagDetail } from "./review.js";
import { renderAudit } from "./audit.js";
import { renderLexicon } from "./lexicon.js";
import { renderCohorts, renderUsers } from "./admin.js";
import { renderSafety } from "./safety.js";

const app = document.getElementById("app");
let shell = null; // DOM refs when signed in
let expiryTimer = null;
let loggingOut = false;
let lastRoute = null;

const SESSION_END_REASONS = {
  logout: "You signed out (possibly in another tab).",
  deactivated: "Your account has been deactivated. Please contact your program staff.",
  revoked: "Your session was ended by the program staff. Please sign in again.",
  token_expired: "Your session expired. Please sign in again.",
  idle: "You were signed out after a period of inactivity, to keep your conversations private. Please sign in again.",
  role_changed: "Your account's role changed. Please sign in again.",
};

// ---------------------------------------------------------------------------
// sign-in

function showLogin(message, kind = "info") {
  shell = null;
  document.title = "Sign in · Cohort Chat";
  const username = h("input", { type: "text", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false", dataset: { testid: "login-username" } });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, dataset: { testid: "login-password" } });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-wide", dataset: { testid: "login-submit" } }, "Sign in");
  const error = h("p", { class: "form-error", role: "alert", dataset: { testid: "login-error" } });
  error.hidden = true;
  const info = h("p", { class: "login-info", role: "status", dataset: { testid: "login-message" } }, message || "");
  info.hidden = !message;
  if (message && kind === "error") {
    info.hidden = true;
    error.textContent = message;
    error.hidden = false;
  }
  const form = h(
    "form",
    { class: "login-form", "aria-labelledby": "login-title", dataset: { testid: "login-form" }, novalidate: true },
    h("h1", { id: "login-title" }, "Welcome back"),
    h("p", { class: "muted" }, "Sign in to your cohort's private chat."),
    info,
    field("Username", username).wrap,
    field("Password", password).wrap,
    submit,
    error,
    h("p", { class: "muted small login-help" },
      "If you are in crisis right now, call or text 988, or call 911 in an emergency. This chat is not monitored every minute."),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      error.textContent = "Please enter your username and password.";
      error.hidden = false;
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      const res = await api.login(username.value.trim(), password.value);
      session.save(res.token, res.expires_at);
      session.user = res.user || null;
      startSession();
    } catch (err) {
      let text;
      if (err.status === 429 || err.code === "rate_limited") {
        text = err.retryAfter
          ? `Too many sign-in attempts. For your safety, please wait ${describeSeconds(err.retryAfter)} and try again.`
          : "Too many sign-in attempts. For your safety, please wait a few minutes and try again.";
      } else if (err.status === 401 || err.code === "unauthorized" || err.code === "invalid") {
        text = "That username and password do not match. Please try again.";
      } else {
        text = describeError(err);
      }
      error.textContent = text;
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = "Sign in";
      password.value = "";
      password.focus();
    }
  });
  replace(app, h("main", { id: "main", class: "login-screen", tabindex: "-1" }, form));
  username.focus();
}

function backToLogin(message, kind = "info") {
  clearTimeout(expiryTimer);
  sock.disconnect();
  chat.unmountChat();
  alerts.resetAlerts();
  resetCrisis();
  session.clear();
  lastRoute = null;
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  showLogin(message, kind);
}

async function logout() {
  loggingOut = true;
  try {
    await api.logout();
  } catch {
    /* the token may already be gone; we sign out locally either way */
  }
  backToLogin("You have signed out. Take care.");
  loggingOut = false;
}

// ---------------------------------------------------------------------------
// session lifecycle

function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const at = session.expiresAt ? new Date(session.expiresAt).getTime() : NaN;
  if (Number.isNaN(at)) return;
  const ms = at - Date.now();
  if (ms <= 0) {
    backToLogin(SESSION_END_REASONS.token_expired);
    return;
  }
  if (ms < 2 ** 31 - 1) expiryTimer = setTimeout(() => backToLogin(SESSION_END_REASONS.token_expired), ms);
}

function startSession() {
  scheduleExpiry();
  if (!session.token) return;
  replace(app, h("main", { id: "main", class: "connecting", tabindex: "-1", dataset: { testid: "connecting" } },
    h("p", { role: "status" }, "Connecting…")));
  sock.connect(session.token, {
    onAuthError: (err) =>
      backToLogin(err.code === "token_expired" ? SESSION_END_REASONS.token_expired : "Please sign in again.", "info"),
    onRefused: (err) => {
      if (!shell) {
        replace(app, h("main", { id: "main", class: "connecting", tabindex: "-1" },
          h("p", { role: "alert" }, `The server refused the connection: ${describeError(err)} Retrying…`)));
      }
    },
  });
}

function onSessionEvent(data) {
  if (!data || !data.user) return;
  session.user = data.user;
  session.rooms = Array.isArray(data.rooms) ? data.rooms : [];
  session.oncall = Boolean(data.oncall);
  if (data.server_time) session.serverTimeOffsetMs = new Date(data.server_time).getTime() - Date.now();
  if (!shell) {
    buildShell();
    route();
    if (session.isModerator) alerts.loadInitialAlerts();
  } else {
    refreshRooms();
    renderOncall();
    chat.handleReconnect();
  }
}

// ---------------------------------------------------------------------------
// shell

function navItems() {
  const items = [["chat", "Chat", "#/rooms"]];
  if (session.role === "patient") items.push(["checkin", "Daily check-in", "#/checkin"]);
  if (session.isModerator) items.push(["review", "Review queue", "#/review"]);
  if (session.isModerator) items.push(["checkins", "Check-ins", "#/checkins"]);
  if (session.isStaff) {
    items.push(["audit", "Audit log", "#/audit"]);
    items.push(["safety", "Safety", "#/safety"]);
    items.push(["lexicon", "Lexicon report", "#/lexicon"]);
    items.push(["cohorts", "Cohorts", "#/admin/cohorts"]);
    items.push(["users", "Accounts", "#/admin/users"]);
  }
  return items;
}

function buildShell() {
  const user = session.user;
  const connection = h("span", { class: "connection", role: "status", dataset: { testid: "connection-status", state: sock.getStatus() } });
  const nav = h("nav", { class: "main-nav", "aria-label": "Sections" },
    h("ul", null, navItems().map(([id, label, href]) =>
      h("li", null, h("a", { href, class: "nav-link", dataset: { testid: `nav-${id}`, view: id } }, label)))));
  const oncall = user.role === "counselor"
    ? h("button", { type: "button", class: "btn btn-small oncall-toggle", dataset: { testid: "oncall-toggle" }, onClick: toggleOncall })
    : null;
  const alertsBadge = session.isModerator
    ? h("button", { type: "button", class: "btn btn-small alerts-badge", dataset: { testid: "alerts-badge", count: "0" }, onClick: () => alerts.focusPanel() }, "Alerts")
    : null;
  const help = user.role !== "patient" ? null : h("button", { type: "button", class: "btn btn-small btn-help", dataset: { testid: "help-button" }, onClick: () => showHelp() }, "Get help now");
  const logoutBtn = h("button", { type: "button", class: "btn btn-small btn-quiet", dataset: { testid: "logout-button" }, onClick: logout }, "Sign out");
  const header = h("header", { class: "topbar" },
    h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Cohort Chat"),
    nav,
    h("div", { class: "topbar-tools" },
      connection,
      alertsBadge,
      oncall,
      help,
      h("span", { class: "whoami", dataset: { testid: "current-user", role: user.role, userId: user.id } },
        displayName(user), h("span", { class: "badge role-badge" }, ROLE_LABEL[user.role] || user.role)),
      logoutBtn));

  const crisisSlot = h("div", { class: "crisis-slot", dataset: { testid: "crisis-slot" } });
  const roomsNav = h("nav", { class: "rooms-nav", "aria-label": "Rooms", "data-room-nav": "" });
  const roomsBody = h("div", { id: "rooms-nav-body", class: "rooms-nav-body" });
  roomsNav.append(h("div", { class: "rooms-nav-head" }, h("h2", { class: "rooms-title" }, "Your rooms")), roomsBody);
  const chatView = h("div", { class: "chat-view", dataset: { testid: "chat-view" } });
  const chatSection = h("div", { class: "chat-layout" }, roomsNav, chatView);
  const otherView = h("div", { class: "other-view" });
  const main = h("main", { id: "main", tabindex: "-1" }, chatSection, otherView);
  const alertsSlot = session.isModerator ? h("aside", { class: "alerts-slot", "aria-label": "Crisis alerts" }) : null;
  const layout = h("div", { class: ["layout", alertsSlot && "with-alerts"] }, main, alertsSlot);
  const skip = h("a", { href: "#main", class: "skip-link", onClick: (ev) => { ev.preventDefault(); main.focus(); } }, "Skip to content");
  replace(app, skip, header, crisisSlot, layout);

  shell = { header, nav, connection, oncall, alertsBadge, crisisSlot, roomsNav, roomsBody, chatSection, chatView, otherView, main, alertsSlot };
  mountCrisis(crisisSlot, { canAsk: () => session.user?.role === "patient", roomId: () => chat.currentRoomId() });
  chat.mountChat(chatView, {
    onRoomsChanged: refreshRooms,
    onRoomClosed: () => {
      if (location.hash.startsWith("#/rooms/")) history.replaceState(null, "", "#/rooms");
      refreshRooms();
    },
  });
  if (alertsSlot) {
    alerts.mountAlerts(alertsSlot, {
      openRoom: (roomId) => {
        if (session.room(roomId)) location.hash = `#/rooms/${encodeURIComponent(roomId)}`;
        else announce("That room is not in your room list.");
      },
      onCount: (n) => {
        if (!shell || !shell.alertsBadge) return;
        shell.alertsBadge.textContent = n ? `Alerts (${n})` : "Alerts";
        shell.alertsBadge.dataset.count = String(n);
        shell.alertsBadge.classList.toggle("has-alerts", n > 0);
        document.title = `${n ? `(${n}) ` : ""}Cohort Chat`;
      },
    });
  }
  sock.onStatus(renderConnection);
  renderOncall();
  refreshRooms();
  document.title = "Cohort Chat";
}

function refreshRooms() {
  if (!shell) return;
  renderRoomList(shell.roomsBody, chat.currentRoomId());
}

function renderConnection(state) {
  if (!shell) return;
  const labels = { connected: "Connected", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline" };
  shell.connection.textContent = labels[state] || state;
  shell.connection.dataset.state = state;
  if (state === "reconnecting") chat.handleDisconnect();
}

function renderOncall() {
  if (!shell || !shell.oncall) return;
  const on = session.oncall;
  shell.oncall.textContent = on ? "On call" : "Off call";
  shell.oncall.setAttribute("aria-pressed", String(on));
  shell.oncall.dataset.oncall = String(on);
  shell.oncall.classList.toggle("on", on);
  shell.oncall.title = on ? "You receive crisis alerts. Click to go off call." : "Click to go on call and receive crisis alerts.";
}

async function toggleOncall() {
  const want = !session.oncall;
  if (want) await alerts.requestNotificationPermission(); // permission asked from this click only
  alerts.unlockAudio();
  shell.oncall.disabled = true;
  try {
    const res = await sock.call("oncall:set", { on: want });
    session.oncall = Boolean(res.oncall);
    announce(session.oncall ? "You are on call. Crisis alerts will reach you." : "You are off call.");
  } catch (err) {
    announce(describeError(err));
    alertsStatus(describeError(err));
  } finally {
    if (shell && shell.oncall) shell.oncall.disabled = false;
    renderOncall();
  }
}

function alertsStatus(text) {
  const el = shell && shell.alertsSlot ? shell.alertsSlot.querySelector('[data-testid="alerts-status"]') : null;
  if (el) {
    el.textContent = text;
    el.dataset.kind = "error";
    el.hidden = false;
  }
}

// ---------------------------------------------------------------------------
// router

function setActiveNav(view) {
  if (!shell) return;
  for (const a of shell.nav.querySelectorAll("a.nav-link")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function showChat(show) {
  shell.chatSection.hidden = !show;
  shell.otherView.hidden = show;
  if (show) shell.otherView.replaceChildren();
}

function route() {
  if (!shell) return;
  const hash = location.hash || "#/rooms";
  const parts = hash.replace(/^#\/?/, "").split("/").map((p) => decodeURIComponent(p));
  const [section, id] = parts;
  const key = `${section}/${id || ""}`;
  const allowed = new Set(navItems().map(([v]) => v));

  if (section === "review" && allowed.has("review")) {
    setActiveNav("review");
    showChat(false);
    if (id) renderFlagDetail(shell.otherView, id, { back: () => { location.hash = "#/review"; }, openRoom: (r) => { location.hash = `#/rooms/${encodeURIComponent(r)}`; } });
    else renderReviewQueue(shell.otherView, { openFlag: (fid) => { location.hash = `#/review/${encodeURIComponent(fid)}`; } });
  } else if ((section === "checkin" || section === "checkins") && allowed.has(section)) {
    setActiveNav(section);
    showChat(false);
    // Loaded on first use: the charts' library stays off the chat's start-up path.
    const view = section === "checkin" ? import("./checkin/card.js").then((m) => m.renderCheckin) : import("./checkin/cohort.js").then((m) => m.renderCohortCheckins);
    view.then((render) => render(shell.otherView)).catch((err) => {
      console.error(err);
      announce("The check-in screen could not be loaded. Please reload the page.");
    });
  } else if (section === "audit" && allowed.has("audit")) {
    setActiveNav("audit");
    showChat(false);
    renderAudit(shell.otherView);
  } else if (section === "safety" && allowed.has("safety")) {
    setActiveNav("safety");
    showChat(false);
    renderSafety(shell.otherView);
  } else if (section === "lexicon" && allowed.has("lexicon")) {
    setActiveNav("lexicon");
    showChat(false);
    renderLexicon(shell.otherView);
  } else if (section === "admin" && id === "cohorts" && allowed.has("cohorts")) {
    setActiveNav("cohorts");
    showChat(false);
    renderCohorts(shell.otherView, { onRoomsChanged: refreshRooms });
  } else if (section === "admin" && id === "users" && allowed.has("users")) {
    setActiveNav("users");
    showChat(false);
    renderUsers(shell.otherView);
  } else {
    setActiveNav("chat");
    showChat(true);
    let roomId = section === "rooms" ? id : null;
    if (!roomId && !chat.currentRoomId() && session.rooms.length === 1) roomId = session.rooms[0].id;
    if (roomId && session.room(roomId)) {
      chat.openRoom(roomId);
    } else if (roomId) {
      announce("That room is not available to you.");
    }
    refreshRooms();
  }
  lastRoute = key;
}

// ---------------------------------------------------------------------------
// start

function init() {
  setAuthLostHandler((err) => {
    if (loggingOut) return;
    backToLogin(err.code === "token_expired" ? SESSION_END_REASONS.token_expired : "Your session has ended. Please sign in again.");
  });
  sock.on("session", onSessionEvent);
  sock.on("session:ended", (data) => {
    if (loggingOut) return;
    const reason = data && data.reason;
    backToLogin(SESSION_END_REASONS[reason] || `You have been signed out${reason ? ` (${reason})` : ""}. Please sign in again.`);
  });
  sock.on("crisis:resources", (payload) => showCrisis(payload));
  sock.on("help:updated", (data) => onHelpUpdated(data));
  sock.on("error", (data) => {
    if (data && data.error && AUTH_CODES.has(data.error.code)) backToLogin(describeError(data.error));
  });
  chat.registerChatEvents(sock.on);
  alerts.registerAlertEvents(sock.on);
  window.addEventListener("hashchange", route);
  // Browsers only allow audio after a user gesture: unlock it on the first one.
  const unlock = () => session.isModerator && alerts.unlockAudio();
  document.addEventListener("pointerdown", unlock, { capture: true });
  document.addEventListener("keydown", unlock, { capture: true });

  if (session.token) startSession();
  else showLogin();
}

init();
