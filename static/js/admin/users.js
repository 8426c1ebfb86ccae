// Staff administration, the accounts screen: create accounts and edit them (display
// name, role, password, active). Deactivating signs the person out everywhere (server).
import { h, replace, field, option, statusLine } from "../dom.js";
import { describeError } from "../errors.js";
import { api } from "../api.js";
import { ROLE_LABEL } from "../util.js";
import { LANGUAGES, input } from "./common.js";

const ROLES = ["patient", "counselor", "staff"];

function roleLabel(role) {
  return ROLE_LABEL[role] === "Member" ? "Patient" : ROLE_LABEL[role];
}

function createUserForm() {
  const f = {
    username: input("text", "user-username", { required: true, autocomplete: "off", maxlength: "64" }),
    displayName: input("text", "user-display-name", { required: true, maxlength: "64" }),
    role: h("select", { dataset: { testid: "user-role" } }, ROLES.map((r) => option(r, ROLE_LABEL[r] === "Member" ? "Patient (member)" : ROLE_LABEL[r]))),
    password: input("password", "user-password", { required: true, autocomplete: "new-password", minlength: "8" }),
    language: h("select", { dataset: { testid: "user-language" } }, LANGUAGES.map(([v, l]) => option(v, l))),
  };
  const form = h("form", { class: "card form-grid", "aria-labelledby": "new-user-title", dataset: { testid: "user-create-form" } },
    h("h3", { id: "new-user-title" }, "New account"),
    field("Username (for signing in)", f.username).wrap,
    field("Display name (pseudonym shown to peers)", f.displayName).wrap,
    field("Role", f.role).wrap,
    field("Initial password", f.password, "At least 8 characters. Share it privately.").wrap,
    field("Language", f.language).wrap,
    h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "user-create" } }, "Create account")));
  const body = () => ({
    username: f.username.value.trim(),
    display_name: f.displayName.value.trim(),
    role: f.role.value,
    password: f.password.value,
    language: f.language.value,
  });
  return { form, body, focus: () => f.username.focus() };
}

function usersTable() {
  const tbody = h("tbody", { dataset: { testid: "user-rows" } });
  const table = h("table", { class: "data-table", dataset: { testid: "users-table" } },
    h("caption", { class: "visually-hidden" }, "Accounts"),
    h("thead", null, h("tr", null, ["Display name", "Username", "Role", "Language", "Status", "Edit"].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  return { table, tbody };
}

/** The edit form of one account; only what changed is sent. */
function editUserForm(u, msg, onSaved) {
  const dn = input("text", "edit-display-name", { value: u.display_name || "", maxlength: "64" });
  const rl = h("select", { dataset: { testid: "edit-role" } }, ROLES.map((r) => option(r, roleLabel(r), u.role === r)));
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
      onSaved();
      msg.set(`Saved ${u.display_name}.`, "success");
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  });
  return form;
}

function userRow(u, msg) {
  const onSaved = () => {
    const fresh = userRow(u, msg);
    tr.replaceWith(fresh);
    fresh.querySelector("summary")?.focus();
  };
  const form = editUserForm(u, msg, onSaved);
  const tr = h("tr", { class: u.active === false ? "inactive" : undefined, dataset: { testid: "user-row", userId: u.id, username: u.username, role: u.role, active: String(u.active !== false) } },
    h("td", null, u.display_name || ""),
    h("td", null, u.username || ""),
    h("td", null, roleLabel(u.role) || u.role),
    h("td", null, (LANGUAGES.find(([v]) => v === u.language) || [null, u.language || ""])[1]),
    h("td", null, u.active === false ? "Inactive" : "Active"),
    h("td", null, h("details", { class: "edit-details" }, h("summary", { dataset: { action: "edit-user", userId: u.id } }, "Edit"), form)));
  return tr;
}

export async function renderUsers(container) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Accounts");
  const msg = statusLine("users-status");
  const create = createUserForm();
  const { table, tbody } = usersTable();
  replace(container, h("section", { class: "view", dataset: { testid: "users-view" } }, heading, msg.el, create.form, h("div", { class: "table-wrap" }, table)));
  heading.focus();

  async function reload() {
    msg.set("Loading…");
    try {
      const res = await api.users();
      const users = (res.users || []).slice().sort((a, b) => String(a.role).localeCompare(String(b.role)) || String(a.display_name).localeCompare(String(b.display_name)));
      replace(tbody, users.map((u) => userRow(u, msg)));
      msg.clear();
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  }

  create.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = create.body();
    try {
      const created = await api.createUser(body);
      create.form.reset();
      msg.set(`Account created for ${created && created.display_name ? created.display_name : body.display_name}.`, "success");
      await reload();
      create.focus();
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  });

  await reload();
}
