// HTTP client: JSON in and out, Bearer token, uniform AppError on failure.
import { AppError, AUTH_CODES } from "./errors.js";
import { session } from "./session.js";

let onAuthLost = () => {};
export function setAuthLostHandler(fn) {
  onAuthLost = fn;
}

function buildQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function request(method, path, { body, query, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(path + buildQuery(query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new AppError({ code: "network", message: "Could not reach the server." });
  }
  let data = null;
  if (res.status !== 204) {
    const type = res.headers.get("Content-Type") || "";
    if (type.includes("application/json")) {
      try {
        data = await res.json();
      } catch {
        data = null;
      }
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const retryHeader = res.headers.get("Retry-After");
    const err = new AppError({
      code: e.code || statusToCode(res.status),
      message: e.message || res.statusText,
      retry_after: e.retry_after ?? (retryHeader ? Number(retryHeader) : null),
      status: res.status,
    });
    if (auth && (res.status === 401 || AUTH_CODES.has(err.code))) onAuthLost(err);
    throw err;
  }
  return data;
}

function statusToCode(status) {
  return (
    {
      400: "invalid",
      401: "unauthorized",
      403: "forbidden",
      404: "not_found",
      409: "conflict",
      413: "too_large",
      429: "rate_limited",
      503: "unavailable",
    }[status] || "internal"
  );
}

const enc = encodeURIComponent;

export const api = {
  login: (username, password) =>
    request("POST", "/api/auth/login", { body: { username, password }, auth: false }),
  logout: () => request("POST", "/api/auth/logout"),
  me: () => request("GET", "/api/me"),

  flags: (query) => request("GET", "/api/flags", { query }),
  flag: (id) => request("GET", `/api/flags/${enc(id)}`),
  ackFlag: (id) => request("POST", `/api/flags/${enc(id)}/acknowledge`),
  resolveFlag: (id, outcome, note) =>
    request("POST", `/api/flags/${enc(id)}/resolve`, { body: { outcome, note } }),

  audit: (query) => request("GET", "/api/audit", { query }),
  lexiconReport: () => request("GET", "/api/reports/lexicon"),

  cohorts: () => request("GET", "/api/cohorts"),
  createCohort: (body) => request("POST", "/api/cohorts", { body }),
  updateCohort: (id, body) => request("PATCH", `/api/cohorts/${enc(id)}`, { body }),
  createRoom: (cohortId, name) => request("POST", `/api/cohorts/${enc(cohortId)}/rooms`, { body: { name } }),
  updateRoom: (roomId, changes) => request("PATCH", `/api/rooms/${enc(roomId)}`, { body: changes }),
  addMember: (cohortId, userId) => request("POST", `/api/cohorts/${enc(cohortId)}/members/${enc(userId)}`),
  removeMember: (cohortId, userId) =>
    request("DELETE", `/api/cohorts/${enc(cohortId)}/members/${enc(userId)}`),
  addCounselor: (cohortId, userId) =>
    request("POST", `/api/cohorts/${enc(cohortId)}/counselors/${enc(userId)}`),
  removeCounselor: (cohortId, userId) =>
    request("DELETE", `/api/cohorts/${enc(cohortId)}/counselors/${enc(userId)}`),

  users: () => request("GET", "/api/users"),
  createUser: (body) => request("POST", "/api/users", { body }),
  updateUser: (id, body) => request("PATCH", `/api/users/${enc(id)}`, { body }),
};
