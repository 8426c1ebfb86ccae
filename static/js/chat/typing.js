// "Someone is typing": telling the room that I type (at most every few seconds, and that
// I stopped), and showing who else does (each entry expires if its "stopped" is lost).
// The state is in the object createTyping returns; the socket and timers are passed in.
const SEND_EVERY_MS = 3000;
const IDLE_MS = 4000;
const EXPIRE_MS = 7000;

/** The line under the messages, from the names of those typing. */
export function typingText(names) {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length > 2) return "Several people are typing…";
  return "";
}

/**
 * @param {object} deps
 * @param {(event: string, payload: object) => Promise<object>} deps.call
 * @param {() => boolean} deps.isConnected
 * @param {() => {roomId: string|null, joined: boolean}} deps.room
 * @param {() => void} deps.onChange  who is typing changed
 */
export function createTyping({
  call,
  isConnected,
  room,
  onChange,
  now = Date.now,
  schedule = (fn, ms) => setTimeout(fn, ms),
  cancel = (handle) => clearTimeout(handle),
}) {
  let typers = new Map(); // user id -> {user, timer}
  let sentAt = 0;
  let idleTimer = null;

  function tell(roomId, typing) {
    call("typing", { room_id: roomId, typing }).catch(() => {});
  }

  function stop() {
    cancel(idleTimer);
    const { roomId } = room();
    if (sentAt && roomId && isConnected()) tell(roomId, false);
    sentAt = 0;
  }

  return {
    /** The author pressed a key in the composer. */
    note() {
      const { roomId, joined } = room();
      if (!roomId || !joined) return;
      if (now() - sentAt > SEND_EVERY_MS) {
        sentAt = now();
        tell(roomId, true);
      }
      cancel(idleTimer);
      idleTimer = schedule(stop, IDLE_MS);
    },
    stop,
    /** Someone else started or stopped typing. */
    heard(user, typing) {
      const existing = typers.get(user.id);
      if (existing) cancel(existing.timer);
      if (typing) {
        const timer = schedule(() => {
          typers.delete(user.id);
          onChange();
        }, EXPIRE_MS);
        typers.set(user.id, { user, timer });
      } else {
        typers.delete(user.id);
      }
      onChange();
    },
    /** They sent their message or went offline. */
    forget(userId) {
      const t = typers.get(userId);
      if (!t) return;
      cancel(t.timer);
      typers.delete(userId);
      onChange();
    },
    users: () => [...typers.values()].map((t) => t.user),
    /** A new room: nobody is typing, and I have told nobody anything. */
    reset() {
      for (const t of typers.values()) cancel(t.timer);
      typers = new Map();
      cancel(idleTimer);
      sentAt = 0;
    },
  };
}
