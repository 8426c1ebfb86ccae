// What the help request part of the crisis panel tells the patient. Pure: unit-tested under node.

/** The status line under "Ask a counselor to reach out to me now". */
export function helpStatusText(state) {
  if (!state) return "";
  if (state.state === "sending") return "Sending your request…";
  if (state.state === "failed") return `Your request could not be sent. ${state.error || ""} Please call or text 988, or call 911 if you are in danger.`.trim();
  if (state.state === "acknowledged") return `${state.by || "A counselor"} has seen your request and will reach out to you.`;
  if (state.onCall === false) {
    return "Your request was sent, but no counselor is on call right now. The clinic will see it; if you are in danger, please call or text 988, or call 911, now.";
  }
  return "Your request was sent. A counselor has been alerted and will reach out to you soon.";
}

/**
 * The help state after a press failed. A press refused for coming too fast while the
 * patient's request is already sent keeps that request: the counselor has it, and
 * "could not be sent" would tell someone in crisis that nobody knows. Any other
 * failure is one (with the numbers, above). `describe` words the error (errors.js).
 */
export function helpAfterFailure(previous, err, describe) {
  if (err && err.code === "rate_limited" && previous && previous.flagId && previous.state !== "failed") {
    return { ...previous, state: previous.state === "acknowledged" ? "acknowledged" : "sent" };
  }
  return { state: "failed", error: describe(err) };
}
