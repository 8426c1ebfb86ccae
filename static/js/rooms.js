// Room list, grouped by cohort name. Items are links to #/rooms/<id>.
import { h, replace } from "./dom.js";
import { session } from "./session.js";

export function renderRoomList(container, currentId) {
  const groups = new Map();
  for (const room of session.rooms) {
    const key = room.cohort_name || "Rooms";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(room);
  }
  const sortedGroups = [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  if (!sortedGroups.length) {
    replace(container, h("p", { class: "muted small", dataset: { testid: "no-rooms" } }, "No rooms yet."));
    return;
  }
  replace(
    container,
    sortedGroups.map(([cohort, rooms]) =>
      h(
        "section",
        { class: "room-group", dataset: { testid: "room-group" } },
        h("h3", { class: "room-group-title" }, cohort),
        h(
          "ul",
          { class: "room-list" },
          rooms
            .sort((a, b) => String(a.name).localeCompare(String(b.name)))
            .map((room) =>
              h(
                "li",
                null,
                h(
                  "a",
                  {
                    href: `#/rooms/${encodeURIComponent(room.id)}`,
                    class: ["room-link", room.id === currentId && "active"],
                    "aria-current": room.id === currentId ? "page" : undefined,
                    dataset: { testid: "room-item", roomId: room.id, cohortId: room.cohort_id, locked: room.locked ? "true" : "false" },
                  },
                  h("span", { class: "room-name" }, room.name),
                  room.locked ? h("span", { class: "badge badge-quiet" }, "Locked") : null,
                ),
              ),
            ),
        ),
      ),
    ),
  );
}
