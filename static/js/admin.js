// Staff administration: cohorts (create, edit, rooms, members, counselors) and users.
import { h, replace, field, option, formatDate, statusLine, announce } from "./dom.js";
import { describeError } from "./errors.js";
import { api } from "./api.js";
import { session } from "./session.js";
import { ROLE_LABEL } from "./util.js";

const LANGUAGES = [["en", "English"], ["es", "Español"]];

const CRISIS_POLICIES = [
  ["", "Crisis messages: clinic default"],
  ["hold", "Crisis messages: held from peers"],
  ["show", "Crisis messages: shown to peers"],
];

/** The room's crisis policy (PATCH /api/rooms/{id} crisis_hold): are peers protected
 * from high-severity messages until a counselor releases them? */
function crisisPolicy(room, cardMsg) {
  const select = h(
    "select",
    { "aria-label": `Crisis message policy for ${room.name}`, dataset: { testid: "room-crisis-hold", roomId: room.id } },
    CRISIS_POLICIES.map(([value, label]) => option(value, label, (room.crisis_hold || "") === value)),
  );
  select.addEventListener("change", async () => {
    try {
      const updated = await api.updateRoom(room.id, { crisis_hold: select.value || null });
      session.upsertRoom({ ...room, ...updated });
      cardMsg.set(`Saved: ${select.selectedOptions[0].textContent} in ${room.name}.`, "ok");
    } catch (err) {
      cardMsg.set(describeError(err), "error");
      select.value = room.crisis_hold || "";
    }
  });
  return select;
}

function input(type, testid, attrs = {}) {
  return h("input", { type, dataset: { testid }, ...attrs });
}

function userLabel(u) {
  return `${u.display_name} (${u.username})${u.active === false ? " (inactive)" : ""}`;
}

// ---------------------------------------------------------------------------
// cohorts

export async function renderCohorts(container, { onRoomsChanged }) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Cohorts");
  const msg = statusLine("cohorts-status");
  const list = h("div", { class: "cards", dataset: { testid: "cohort-list" } });

  const name = input("text", "cohort-name", { required: true, maxlength: "200" });
  const program = input("text", "cohort-program", { maxlength: "200" });
  const schedule = input("text", "cohort-schedule", { maxlength: "200", placeholder: "Mon/Wed/Fri 6–9 pm" });
  const start = input("date", "cohort-start");
  const end = input("date", "cohort-end");
  const createForm = h("form", { class: "card form-grid", "aria-labelledby": "new-cohort-title", dataset: { testid: "cohort-create-form" } },
    h("h3", { id: "new-cohort-title" }, "New cohort"),
    field("Name", name).wrap, field("Program", program).wrap, field("Schedule", schedule).wrap,
    field("Start date", start).wrap, field("End date", end).wrap,
    h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "cohort-create" } }, "Create cohort")));

  replace(container, h("section", { class: "view", dataset: { testid: "cohorts-view" } }, heading, msg.el, createForm, list));
  heading.focus();

  let cohorts = [];
  let users = [];
  const usersById = () => new Map(users.map((u) => [u.id, u]));

  async function reload() {
    msg.set("Loading…");
    try {
      const [c, u] = await Promise.all([api.cohorts(), api.users()]);
      cohorts = c.cohorts || [];
      users = u.users || [];
      drawAll();
      msg.clear();
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  }

  function drawAll() {
    replace(list, cohorts.length ? cohorts.map(card) : h("p", { class: "muted" }, "No cohorts yet."));
  }

  function redraw(cohort) {
    const old = list.querySelector(`[data-cohort-id="${CSS.escape(cohort.id)}"]`);
    const fresh = card(cohort);
    if (old) old.replaceWith(fresh);
    else list.appendChild(fresh);
    return fresh;
  }

  function card(cohort) {
    const byId = usersById();
    const cardMsg = statusLine("cohort-card-status");
    const rooms = session.rooms.filter((r) => r.cohort_id === cohort.id);

    // edit
    const eName = input("text", "edit-cohort-name", { required: true, value: cohort.name || "" });
    const eProgram = input("text", "edit-cohort-program", { value: cohort.program || "" });
    const eSchedule = input("text", "edit-cohort-schedule", { value: cohort.schedule || "" });
    const eStart = input("date", "edit-cohort-start", { value: cohort.start_date ? String(cohort.start_date).slice(0, 10) : "" });
    const eEnd = input("date", "edit-cohort-end", { value: cohort.end_date ? String(cohort.end_date).slice(0, 10) : "" });
    const eActive = input("checkbox", "edit-cohort-active", { checked: cohort.active !== false });
    const editForm = h("form", { class: "form-grid", dataset: { testid: "cohort-edit-form" } },
      field("Name", eName).wrap, field("Program", eProgram).wrap, field("Schedule", eSchedule).wrap,
      field("Start date", eStart).wrap, field("End date", eEnd).wrap,
      h("div", { class: "field field-check" }, eActive, h("label", { for: eActive.id || (eActive.id = `active-${cohort.id}`) }, "Active")),
      h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn", dataset: { action: "save-cohort" } }, "Save changes")));
    editForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {
        name: eName.value.trim(),
        program: eProgram.value.trim(),
        schedule: eSchedule.value.trim(),
        start_date: eStart.value || null,
        end_date: eEnd.value || null,
        active: eActive.checked,
      };
      try {
        const updated = await api.updateCohort(cohort.id, body);
        Object.assign(cohort, updated && updated.id ? updated : body);
        redraw(cohort).querySelector("h3")?.focus();
        announce("Cohort saved.");
      } catch (err) {
        cardMsg.set(describeError(err), "error");
      }
    });

    // rooms
    const roomName = input("text", "new-room-name", { required: true, maxlength: "100" });
    const roomForm = h("form", { class: "inline-form", dataset: { testid: "room-create-form" } },
      field("New room name", roomName).wrap,
      h("button", { type: "submit", class: "btn", dataset: { action: "create-room" } }, "Add room"));
    roomForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const room = await api.createRoom(cohort.id, roomName.value.trim());
        if (room && room.id) {
          session.upsertRoom({ cohort_name: cohort.name, locked: false, slow_mode_seconds: 0, pinned: null, ...room });
          onRoomsChanged();
        }
        redraw(cohort).querySelector('[data-testid="new-room-name"]')?.focus();
        announce("Room added.");
      } catch (err) {
        cardMsg.set(describeError(err), "error");
      }
    });

    // people
    const people = (kind) => {
      const ids = (kind === "member" ? cohort.member_ids : cohort.counselor_ids) || [];
      const role = kind === "member" ? "patient" : "counselor";
      const title = kind === "member" ? "Members" : "Counselors";
      const items = ids.map((id) => {
        const u = byId.get(id);
        const label = u ? userLabel(u) : id;
        return h("li", { dataset: { testid: `${kind}-item`, userId: id } }, label, " ",
          h("button", {
            type: "button",
            class: "btn btn-small btn-quiet",
            dataset: { action: `remove-${kind}`, userId: id },
            "aria-label": `Remove ${label} from ${cohort.name}`,
            onClick: async () => {
              try {
                await (kind === "member" ? api.removeMember(cohort.id, id) : api.removeCounselor(cohort.id, id));
                const key = kind === "member" ? "member_ids" : "counselor_ids";
                cohort[key] = (cohort[key] || []).filter((x) => x !== id);
                redraw(cohort).querySelector(`[data-testid="add-${kind}-select"]`)?.focus();
                announce(`${label} removed.`);
              } catch (err) {
                cardMsg.set(describeError(err), "error");
              }
            },
          }, "Remove"));
      });
      const candidates = users.filter((u) => (role === "counselor" ? u.role === "counselor" || u.role === "staff" : u.role === "patient") && !ids.includes(u.id) && u.active !== false);
      const select = h("select", { dataset: { testid: `add-${kind}-select` } }, option("", kind === "member" ? "Choose a member…" : "Choose a counselor…"),
        candidates.sort((a, b) => String(a.display_name).localeCompare(String(b.display_name))).map((u) => option(u.id, userLabel(u))));
      const addForm = h("form", { class: "inline-form" },
        field(kind === "member" ? "Enrol a member" : "Assign a counselor", select).wrap,
        h("button", { type: "submit", class: "btn", dataset: { action: `add-${kind}` } }, kind === "member" ? "Enrol" : "Assign"));
      addForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const id = select.value;
        if (!id) return;
        try {
          await (kind === "member" ? api.addMember(cohort.id, id) : api.addCounselor(cohort.id, id));
          const key = kind === "member" ? "member_ids" : "counselor_ids";
          cohort[key] = [...(cohort[key] || []), id];
          redraw(cohort).querySelector(`[data-testid="add-${kind}-select"]`)?.focus();
          announce("Saved.");
        } catch (err) {
          cardMsg.set(describeError(err), "error");
        }
      });
      return h("div", { class: "people", dataset: { testid: `${kind}s` } },
        h("h4", null, `${title} (${ids.length})`),
        items.length ? h("ul", { class: "people-list" }, items) : h("p", { class: "muted small" }, "None yet."),
        addForm);
    };

    const titleId = `cohort-title-${cohort.id}`;
    return h("article", { class: ["card", cohort.active === false && "inactive"], "aria-labelledby": titleId, dataset: { testid: "cohort-card", cohortId: cohort.id } },
      h("h3", { id: titleId, tabindex: "-1" }, cohort.name || "Untitled cohort", cohort.active === false ? h("span", { class: "badge badge-quiet" }, "Inactive") : null),
      h("p", { class: "muted small" }, [cohort.program, cohort.schedule, cohort.start_date || cohort.end_date ? `${formatDate(cohort.start_date)} – ${formatDate(cohort.end_date)}` : ""].filter(Boolean).join(" · ")),
      cardMsg.el,
      h("div", { class: "rooms-of-cohort" },
        h("h4", null, "Rooms"),
        rooms.length ? h("ul", { class: "people-list" }, rooms.map((r) => h("li", { dataset: { testid: "cohort-room", roomId: r.id } }, r.name, " ", crisisPolicy(r, cardMsg)))) : h("p", { class: "muted small" }, "No rooms yet."),
        roomForm),
      people("member"),
      people("counselor"),
      h("details", { class: "edit-details" }, h("summary", { dataset: { testid: "edit-cohort" } }, "Edit cohort details"), editForm));
  }

  createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim() };
    if (program.value.trim()) body.program = program.value.trim();
    if (schedule.value.trim()) body.schedule = schedule.value.trim();
    if (start.value) body.start_date = start.value;
    if (end.value) body.end_date = end.value;
    try {
      const created = await api.createCohort(body);
      createForm.reset();
      if (created && created.id) {
        cohorts.push({ member_ids: [], counselor_ids: [], active: true, ...created });
        redraw(cohorts[cohorts.length - 1]).querySelector("h3")?.focus();
      } else await reload();
      msg.set("Cohort created.", "success");
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  });

  await reload();
}

// ---------------------------------------------------------------------------
// users

export async function renderUsers(container) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Accounts");
  const msg = statusLine("users-status");
  const username = input("text", "user-username", { required: true, autocomplete: "off", maxlength: "64" });
  const displayNameIn = input("text", "user-display-name", { required: true, maxlength: "64" });
  const role = h("select", { dataset: { testid: "user-role" } }, ["patient", "counselor", "staff"].map((r) => option(r, ROLE_LABEL[r] === "Member" ? "Patient (member)" : ROLE_LABEL[r])));
  const password = input("password", "user-password", { required: true, autocomplete: "new-password", minlength: "8" });
  const language = h("select", { dataset: { testid: "user-language" } }, LANGUAGES.map(([v, l]) => option(v, l)));
  const createForm = h("form", { class: "card form-grid", "aria-labelledby": "new-user-title", dataset: { testid: "user-create-form" } },
    h("h3", { id: "new-user-title" }, "New account"),
    field("Username (for signing in)", username).wrap,
    field("Display name (pseudonym shown to peers)", displayNameIn).wrap,
    field("Role", role).wrap,
    field("Initial password", password, "At least 8 characters. Share it privately.").wrap,
    field("Language", language).wrap,
    h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "user-create" } }, "Create account")));
  const tbody = h("tbody", { dataset: { testid: "user-rows" } });
  const table = h("table", { class: "data-table", dataset: { testid: "users-table" } },
    h("caption", { class: "visually-hidden" }, "Accounts"),
    h("thead", null, h("tr", null, ["Display name", "Username", "Role", "Language", "Status", "Edit"].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  replace(container, h("section", { class: "view", dataset: { testid: "users-view" } }, heading, msg.el, createForm, h("div", { class: "table-wrap" }, table)));
  heading.focus();

  let users = [];

  function row(u) {
    const dn = input("text", "edit-display-name", { value: u.display_name || "", maxlength: "64" });
    const rl = h("select", { dataset: { testid: "edit-role" } }, ["patient", "counselor", "staff"].map((r) => option(r, ROLE_LABEL[r] === "Member" ? "Patient" : ROLE_LABEL[r], u.role === r)));
    const pw = input("password", "edit-password", { autocomplete: "new-password", minlength: "8" });
    const active = input("checkbox", "edit-active", { checked: u.active !== false });
    active.id = `active-${u.id}`;
    const form = h("form", { class: "form-grid", dataset: { testid: "user-edit-form" } },
      field("Display name", dn).wrap,
      field("Role", rl).wrap,
      field("New password (leave empty to keep)", pw).wrap,
      h("div", { class: "field field-check" }, active, h("label", { for: active.id }, "Active (unticking signs them out everywhere)")),
      h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn", dataset: { action: "save-user", userId: u.id } }, "Save")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {};
      if (dn.value.trim() && dn.value.trim() !== u.display_name) body.display_name = dn.value.trim();
      if (rl.value !== u.role) body.role = rl.value;
      if (pw.value) body.password = pw.value;
      if (active.checked !== (u.active !== false)) body.active = active.checked;
      if (!Object.keys(body).length) {
        msg.set("Nothing changed.", "info");
        return;
      }
      try {
        const updated = await api.updateUser(u.id, body);
        Object.assign(u, updated && updated.id ? updated : body);
        delete u.password;
        const fresh = row(u);
        tr.replaceWith(fresh);
        fresh.querySelector("summary")?.focus();
        msg.set(`Saved ${u.display_name}.`, "success");
      } catch (err) {
        msg.set(describeError(err), "error");
      }
    });
    const tr = h("tr", { class: u.active === false ? "inactive" : undefined, dataset: { testid: "user-row", userId: u.id, username: u.username, role: u.role, active: String(u.active !== false) } },
      h("td", null, u.display_name || ""),
      h("td", null, u.username || ""),
      h("td", null, ROLE_LABEL[u.role] === "Member" ? "Patient" : ROLE_LABEL[u.role] || u.role),
      h("td", null, (LANGUAGES.find(([v]) => v === u.language) || [null, u.language || ""])[1]),
      h("td", null, u.active === false ? "Inactive" : "Active"),
      h("td", null, h("details", { class: "edit-details" }, h("summary", { dataset: { action: "edit-user", userId: u.id } }, "Edit"), form)));
    return tr;
  }

  async function reload() {
    msg.set("Loading…");
    try {
      const res = await api.users();
      users = (res.users || []).slice().sort((a, b) => String(a.role).localeCompare(String(b.role)) || String(a.display_name).localeCompare(String(b.display_name)));
      replace(tbody, users.map(row));
      msg.clear();
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  }

  createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      username: username.value.trim(),
      display_name: displayNameIn.value.trim(),
      role: role.value,
      password: password.value,
      language: language.value,
    };
    try {
      const created = await api.createUser(body);
      createForm.reset();
      msg.set(`Account created for ${created && created.display_name ? created.display_name : body.display_name}.`, "success");
      await reload();
      username.focus();
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  });

  await reload();
}
