// The signed-in session: token in sessionStorage (never localStorage), user in memory.
const TOKEN_KEY = "iopchat.token";
const EXPIRES_KEY = "iopchat.expires_at";

export const session = {
  user: null,
  rooms: [],
  oncall: false,
  serverTimeOffsetMs: 0,

  get token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  get expiresAt() {
    try {
      return sessionStorage.getItem(EXPIRES_KEY);
    } catch {
      return null;
    }
  },
  save(token, expiresAt) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (expiresAt) sessionStorage.setItem(EXPIRES_KEY, expiresAt);
    else sessionStorage.removeItem(EXPIRES_KEY);
  },
  clear() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(EXPIRES_KEY);
    } catch {
      /* storage unavailable */
    }
    this.user = null;
    this.rooms = [];
    this.oncall = false;
  },
  get role() {
    return this.user ? this.user.role : null;
  },
  get isModerator() {
    return this.role === "counselor" || this.role === "staff";
  },
  get isStaff() {
    return this.role === "staff";
  },
  room(id) {
    return this.rooms.find((r) => r.id === id) || null;
  },
  upsertRoom(room) {
    const i = this.rooms.findIndex((r) => r.id === room.id);
    if (i >= 0) this.rooms[i] = { ...this.rooms[i], ...room };
    else this.rooms.push(room);
  },
  removeRoom(id) {
    this.rooms = this.rooms.filter((r) => r.id !== id);
  },
  /** Cohorts known from the room list: [{id, name}] */
  cohorts() {
    const seen = new Map();
    for (const r of this.rooms) {
      if (r.cohort_id && !seen.has(r.cohort_id)) seen.set(r.cohort_id, r.cohort_name || r.cohort_id);
    }
    return Array.from(seen, ([id, name]) => ({ id, name }));
  },
};
