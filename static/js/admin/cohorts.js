// Staff administration, the cohorts screen: create and edit cohorts, add rooms (and set
// each room's crisis policy), enrol members and assign counselors. One card per cohort,
// redrawn whole after each change.
import { h, replace, field, option, formatDate, statusLine, announce } from "../dom.js";
import { describeError } from "../errors.js";
import { api } from "../api.js";
import { session } from "../session.js";
import { input, timeZoneInput, timeZoneValue, userLabel } from "./common.js";

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

/** Submit handler: run `action`, report a failure on the card. */
function onSubmit(form, cardMsg, action) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await action();
    } catch (err) {
      cardMsg.set(describeError(err), "error");
    }
  });
  return form;
}

function editForm(cohort, screen, cardMsg) {
  const eName = input("text", "edit-cohort-name", { required: true, value: cohort.name || "" });
  const eProgram = input("text", "edit-cohort-program", { value: cohort.program || "" });
  const eSchedule = input("text", "edit-cohort-schedule", { value: cohort.schedule || "" });
  const eStart = input("date", "edit-cohort-start", { value: cohort.start_date ? String(cohort.start_date).slice(0, 10) : "" });
  const eEnd = input("date", "edit-cohort-end", { value: cohort.end_date ? String(cohort.end_date).slice(0, 10) : "" });
  const eZone = timeZoneInput("edit-cohort-timezone", cohort.timezone);
  const eActive = input("checkbox", "edit-cohort-active", { checked: cohort.active !== false });
  const form = h("form", { class: "form-grid", dataset: { testid: "cohort-edit-form" } },
    field("Name", eName).wrap, field("Program", eProgram).wrap, field("Schedule", eSchedule).wrap,
    field("Start date", eStart).wrap, field("End date", eEnd).wrap, field("Time zone (check-in days)", eZone).wrap,
    h("div", { class: "field field-check" }, eActive, h("label", { for: eActive.id || (eActive.id = `active-${cohort.id}`) }, "Active")),
    h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn", dataset: { action: "save-cohort" } }, "Save changes")));
  return onSubmit(form, cardMsg, async () => {
    const body = {
      name: eName.value.trim(),
      program: eProgram.value.trim(),
      schedule: eSchedule.value.trim(),
      start_date: eStart.value || null,
      end_date: eEnd.value || null,
      timezone: timeZoneValue(eZone.value),
      active: eActive.checked,
    };
    const updated = await api.updateCohort(cohort.id, body);
    Object.assign(cohort, updated && updated.id ? updated : body);
    screen.redraw(cohort).querySelector("h3")?.focus();
    announce("Cohort saved.");
  });
}

function roomsSection(cohort, screen, cardMsg) {
  const rooms = session.rooms.filter((r) => r.cohort_id === cohort.id);
  const roomName = input("text", "new-room-name", { required: true, maxlength: "100" });
  const roomForm = h("form", { class: "inline-form", dataset: { testid: "room-create-form" } },
    field("New room name", roomName).wrap,
    h("button", { type: "submit", class: "btn", dataset: { action: "create-room" } }, "Add room"));
  onSubmit(roomForm, cardMsg, async () => {
    const room = await api.createRoom(cohort.id, roomName.value.trim());
    if (room && room.id) {
      session.upsertRoom({ cohort_name: cohort.name, locked: false, slow_mode_seconds: 0, pinned: null, ...room });
      screen.onRoomsChanged();
    }
    screen.redraw(cohort).querySelector('[data-testid="new-room-name"]')?.focus();
    announce("Room added.");
  });
  return h("div", { class: "rooms-of-cohort" },
    h("h4", null, "Rooms"),
    rooms.length ? h("ul", { class: "people-list" }, rooms.map((r) => h("li", { dataset: { testid: "cohort-room", roomId: r.id } }, r.name, " ", crisisPolicy(r, cardMsg)))) : h("p", { class: "muted small" }, "No rooms yet."),
    roomForm);
}

/** Members (patients) or counselors of a cohort: the list, a remove button each, an add form. */
const PEOPLE = {
  member: { key: "member_ids", title: "Members", choose: "Choose a member…", label: "Enrol a member", button: "Enrol",
    fits: (u) => u.role === "patient", add: (c, id) => api.addMember(c, id), remove: (c, id) => api.removeMember(c, id) },
  counselor: { key: "counselor_ids", title: "Counselors", choose: "Choose a counselor…", label: "Assign a counselor", button: "Assign",
    fits: (u) => u.role === "counselor" || u.role === "staff", add: (c, id) => api.addCounselor(c, id), remove: (c, id) => api.removeCounselor(c, id) },
};

function personItem(kind, cohort, id, screen, cardMsg) {
  const kindOf = PEOPLE[kind];
  const u = screen.usersById().get(id);
  const label = u ? userLabel(u) : id;
  const remove = async () => {
    try {
      await kindOf.remove(cohort.id, id);
      cohort[kindOf.key] = (cohort[kindOf.key] || []).filter((x) => x !== id);
      screen.redraw(cohort).querySelector(`[data-testid="add-${kind}-select"]`)?.focus();
      announce(`${label} removed.`);
    } catch (err) {
      cardMsg.set(describeError(err), "error");
    }
  };
  return h("li", { dataset: { testid: `${kind}-item`, userId: id } }, label, " ",
    h("button", {
      type: "button",
      class: "btn btn-small btn-quiet",
      dataset: { action: `remove-${kind}`, userId: id },
      "aria-label": `Remove ${label} from ${cohort.name}`,
      onClick: remove,
    }, "Remove"));
}

function addPersonForm(kind, cohort, ids, screen, cardMsg) {
  const kindOf = PEOPLE[kind];
  const candidates = screen.users().filter((u) => kindOf.fits(u) && !ids.includes(u.id) && u.active !== false);
  const select = h("select", { dataset: { testid: `add-${kind}-select` } }, option("", kindOf.choose),
    candidates.sort((a, b) => String(a.display_name).localeCompare(String(b.display_name))).map((u) => option(u.id, userLabel(u))));
  const form = h("form", { class: "inline-form" },
    field(kindOf.label, select).wrap,
    h("button", { type: "submit", class: "btn", dataset: { action: `add-${kind}` } }, kindOf.button));
  return onSubmit(form, cardMsg, async () => {
    const id = select.value;
    if (!id) return;
    await kindOf.add(cohort.id, id);
    cohort[kindOf.key] = [...(cohort[kindOf.key] || []), id];
    screen.redraw(cohort).querySelector(`[data-testid="add-${kind}-select"]`)?.focus();
    announce("Saved.");
  });
}

function peopleSection(kind, cohort, screen, cardMsg) {
  const ids = cohort[PEOPLE[kind].key] || [];
  const items = ids.map((id) => personItem(kind, cohort, id, screen, cardMsg));
  return h("div", { class: "people", dataset: { testid: `${kind}s` } },
    h("h4", null, `${PEOPLE[kind].title} (${ids.length})`),
    items.length ? h("ul", { class: "people-list" }, items) : h("p", { class: "muted small" }, "None yet."),
    addPersonForm(kind, cohort, ids, screen, cardMsg));
}

function cohortCard(cohort, screen) {
  const cardMsg = statusLine("cohort-card-status");
  const titleId = `cohort-title-${cohort.id}`;
  const dates = cohort.start_date || cohort.end_date ? `${formatDate(cohort.start_date)} – ${formatDate(cohort.end_date)}` : "";
  const edit = editForm(cohort, screen, cardMsg); // built first: the fields' generated ids keep their order
  const rooms = roomsSection(cohort, screen, cardMsg);
  return h("article", { class: ["card", cohort.active === false && "inactive"], "aria-labelledby": titleId, dataset: { testid: "cohort-card", cohortId: cohort.id } },
    h("h3", { id: titleId, tabindex: "-1" }, cohort.name || "Untitled cohort", cohort.active === false ? h("span", { class: "badge badge-quiet" }, "Inactive") : null),
    h("p", { class: "muted small" }, [cohort.program, cohort.schedule, dates].filter(Boolean).join(" · ")),
    h("p", { class: "muted small", dataset: { testid: "cohort-timezone" } },
      cohort.timezone ? `Check-in days: ${cohort.timezone} time` : "Check-in days: the clinic's time zone"),
    cardMsg.el,
    rooms,
    peopleSection("member", cohort, screen, cardMsg),
    peopleSection("counselor", cohort, screen, cardMsg),
    h("details", { class: "edit-details" }, h("summary", { dataset: { testid: "edit-cohort" } }, "Edit cohort details"), edit));
}

function createCohortForm() {
  const fields = {
    name: input("text", "cohort-name", { required: true, maxlength: "200" }),
    program: input("text", "cohort-program", { maxlength: "200" }),
    schedule: input("text", "cohort-schedule", { maxlength: "200", placeholder: "Mon/Wed/Fri 6–9 pm" }),
    start: input("date", "cohort-start"),
    end: input("date", "cohort-end"),
    zone: timeZoneInput("cohort-timezone-input"),
  };
  const form = h("form", { class: "card form-grid", "aria-labelledby": "new-cohort-title", dataset: { testid: "cohort-create-form" } },
    h("h3", { id: "new-cohort-title" }, "New cohort"),
    field("Name", fields.name).wrap, field("Program", fields.program).wrap, field("Schedule", fields.schedule).wrap,
    field("Start date", fields.start).wrap, field("End date", fields.end).wrap,
    field("Time zone (check-in days)", fields.zone).wrap,
    h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "cohort-create" } }, "Create cohort")));
  const body = () => {
    const out = { name: fields.name.value.trim() };
    if (fields.program.value.trim()) out.program = fields.program.value.trim();
    if (fields.schedule.value.trim()) out.schedule = fields.schedule.value.trim();
    if (fields.start.value) out.start_date = fields.start.value;
    if (fields.end.value) out.end_date = fields.end.value;
    if (timeZoneValue(fields.zone.value)) out.timezone = timeZoneValue(fields.zone.value);
    return out;
  };
  return { form, body };
}

export async function renderCohorts(container, { onRoomsChanged }) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Cohorts");
  const msg = statusLine("cohorts-status");
  const list = h("div", { class: "cards", dataset: { testid: "cohort-list" } });
  const create = createCohortForm();
  replace(container, h("section", { class: "view", dataset: { testid: "cohorts-view" } }, heading, msg.el, create.form, list));
  heading.focus();

  let cohorts = [];
  let users = [];
  const screen = {
    users: () => users,
    usersById: () => new Map(users.map((u) => [u.id, u])),
    onRoomsChanged,
    redraw(cohort) {
      const old = list.querySelector(`[data-cohort-id="${CSS.escape(cohort.id)}"]`);
      const fresh = cohortCard(cohort, screen);
      if (old) old.replaceWith(fresh);
      else list.appendChild(fresh);
      return fresh;
    },
  };

  async function reload() {
    msg.set("Loading…");
    try {
      const [c, u] = await Promise.all([api.cohorts(), api.users()]);
      cohorts = c.cohorts || [];
      users = u.users || [];
      replace(list, cohorts.length ? cohorts.map((c) => cohortCard(c, screen)) : h("p", { class: "muted" }, "No cohorts yet."));
      msg.clear();
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  }

  create.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const created = await api.createCohort(create.body());
      create.form.reset();
      if (created && created.id) {
        cohorts.push({ member_ids: [], counselor_ids: [], active: true, ...created });
        screen.redraw(cohorts[cohorts.length - 1]).querySelector("h3")?.focus();
      } else await reload();
      msg.set("Cohort created.", "success");
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  });

  await reload();
}
