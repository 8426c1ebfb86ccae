// One error type for HTTP and socket failures, and plain-language wording for each code.
import { describeSeconds } from "./dom.js";

export class AppError extends Error {
  constructor({
    code = "internal", message = "", retry_after = null, status = null, alerted = false, counselor_on_call = null,
  } = {}) {
    super(message || code);
    this.code = code;
    // The message was not posted, but its crisis was raised (the server says so) ...
    this.alerted = alerted === true;
    // ... and whether a counselor on call has it (false: nobody is on call right now).
    this.counselorOnCall = typeof counselor_on_call === "boolean" ? counselor_on_call : null;
    this.serverMessage = message || "";
    this.retryAfter = retry_after === null || retry_after === undefined ? null : Number(retry_after);
    this.status = status;
  }
}

export const AUTH_CODES = new Set(["unauthorized", "token_expired"]);

/** Human wording for an error from an ack or an HTTP reply. */
export function describeError(err) {
  const code = err && err.code ? err.code : "internal";
  if (err && err.alerted && err.counselorOnCall === false) {
    return "It could not be posted to the group. No counselor is on call right now; the clinic will see it as soon as it can. If you are in danger, call or text 988, or call 911, now.";
  }
  if (err && err.alerted) {
    return "It could not be posted to the group, but a counselor has been alerted. If you are in danger, call or text 988, or call 911.";
  }
  const wait = err && err.retryAfter ? describeSeconds(err.retryAfter) : null;
  switch (code) {
    case "muted":
      return wait
        ? `A counselor has paused your messages in this room. You can write again in about ${wait}.`
        : "A counselor has paused your messages in this room for now.";
    case "room_locked":
      return "This room is locked by a counselor right now. You can still read along.";
    case "slow_mode":
      return wait
        ? `Slow mode is on in this room. You can send your next message in ${wait}.`
        : "Slow mode is on in this room. Please wait a little before sending again.";
    case "rate_limited":
      return wait
        ? `That was a lot of messages at once. Please wait ${wait} and try again.`
        : "That was a lot of messages at once. Please wait a moment and try again.";
    case "too_large":
      return "That is too long to send. Please shorten it (2,000 characters at most).";
    case "unavailable":
      return "The server could not save that just now. Nothing was lost: please try again in a moment.";
    case "timeout":
      return "The server did not answer in time. Please check your connection and try again.";
    case "offline":
      return "You are offline right now. We will reconnect automatically.";
    case "unauthorized":
    case "token_expired":
      return "Your session has ended. Please sign in again.";
    case "forbidden":
      return err.serverMessage || "You do not have access to that.";
    case "not_found":
      return err.serverMessage || "That could not be found. It may have been removed.";
    case "invalid":
      return err.serverMessage || "That request was not accepted. Please check what you entered.";
    case "network":
      return "Could not reach the server. Please check your connection.";
    default:
      return err && err.serverMessage ? err.serverMessage : "Something went wrong. Please try again.";
  }
}
