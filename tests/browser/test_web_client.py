"""The web client end to end in headless Chromium: real server, real database, real
browser. Each person has their own browser context; nothing is mocked."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from bson import ObjectId
from playwright.async_api import expect

from server.models import Origin
from tests.browser.conftest import PersonFactory, abort_connections, already_stopped, kill, start_on_same_port, tid
from tests.conftest import Cohort, RunningServer, World

pytestmark = pytest.mark.browser

CRISIS = "I want to kill myself tonight"
XSS = "<img src=x onerror=alert(1)>"
PHONE = {"width": 375, "height": 740}
# While the server is down the browser logs its failed reconnect attempts.
RECONNECT_NOISE = (
    r"WebSocket connection to .* failed",
    r"Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INTERNET_DISCONNECTED)",
)


async def test_patient_signs_in_opens_the_room_and_a_peer_sees_her_message(
    people: PersonFactory, cohort: Cohort
) -> None:
    alice = await people("alice")
    await alice.sign_in(cohort.alice)
    bob = await people("bob", cohort.bob)
    await alice.open_room(cohort.room)
    await bob.open_room(cohort.room)

    message_id = await alice.send("made it to group tonight")

    seen = bob.message(message_id)
    await expect(seen).to_have_attribute("data-status", "visible")
    await expect(seen.get_by_test_id("message-text")).to_have_text("made it to group tonight")
    await expect(seen.get_by_test_id("message-author")).to_have_text("Alice")
    await expect(alice.message(message_id)).to_have_attribute("data-status", "visible")
    await expect(bob.messages).to_have_count(1)
    await expect(bob.page.locator(f'{tid("online-user")}[data-user-id="{cohort.alice.id}"]')).to_have_count(1)
    await bob.screenshot("patient-chat")


async def test_crisis_message_alerts_the_oncall_counselor_is_held_from_peers_until_released(
    people: PersonFactory, cohort: Cohort, server: RunningServer
) -> None:
    counselor = await people("counselor", cohort.counselor, permissions=["notifications"])
    toggle = counselor.by("oncall-toggle")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(toggle).to_have_attribute("data-oncall", "true")
    await counselor.wait_joined(cohort.room)  # the only room of the cohort opens by itself
    alice = await people("alice", cohort.alice)
    await alice.wait_joined(cohort.room)
    bob = await people("bob", cohort.bob)
    await bob.wait_joined(cohort.room)

    await alice.by("composer-input").fill(CRISIS)
    sent_at = time.monotonic()
    await alice.by("send-button").click()
    alert = counselor.page.locator(tid("alert-item")).filter(
        has=counselor.page.get_by_test_id("alert-text").filter(has_text=CRISIS)
    )
    await expect(alert).to_be_visible(timeout=2000)
    assert time.monotonic() - sent_at < 2.0
    await expect(alert).to_have_attribute("data-severity", "high")
    await expect(alert).to_have_attribute("data-status", "open")
    await expect(counselor.by("alerts-badge")).to_have_attribute("data-count", "1")

    # The author: her message is held (only she and counselors see it) and help is offered.
    held_id = await alice.acked_id(CRISIS)
    await expect(alice.message(held_id)).to_have_attribute("data-status", "held")
    await expect(alice.message(held_id).get_by_test_id("held-note")).to_be_visible()
    await expect(alice.message(held_id)).not_to_have_attribute("data-severity", "high")  # no detector output
    panel = alice.by("crisis-panel")
    await expect(panel).to_be_visible()
    await expect(panel).to_have_attribute("data-message-id", held_id)
    await expect(panel.locator(f'{tid("crisis-call")}[href="tel:988"]')).to_have_count(1)
    assert await panel.get_by_test_id("crisis-resource").count() >= 3
    await alice.screenshot("crisis-panel")

    # The counselor sees it in the room, held and flagged.
    held_for_counselor = counselor.message(held_id)
    await expect(held_for_counselor).to_have_attribute("data-status", "held")
    await expect(held_for_counselor).to_have_attribute("data-severity", "high")
    await counselor.screenshot("counselor-console-alert")

    # A peer does not: a later message from Alice arrives, the held one never did.
    later_id = await alice.send("see you all on Thursday")
    await expect(bob.message(later_id)).to_be_visible()
    await expect(bob.message(held_id)).to_have_count(0)
    await expect(bob.messages.filter(has_text="kill myself")).to_have_count(0)
    await expect(bob.by("crisis-panel")).to_have_count(0)

    await held_for_counselor.locator(f'[data-action="release"][data-message-id="{held_id}"]').click()

    await expect(bob.message(held_id)).to_have_attribute("data-status", "visible")
    await expect(bob.message(held_id).get_by_test_id("message-text")).to_have_text(CRISIS)
    assert await bob.message_ids() == [held_id, later_id]
    await expect(alice.message(held_id)).to_have_attribute("data-status", "visible")
    await expect(alice.message(held_id).get_by_test_id("held-note")).to_have_count(0)
    await expect(held_for_counselor).to_have_attribute("data-status", "visible")
    stored = await server.stores.messages.get(ObjectId(held_id))
    assert stored is not None and stored.status == "visible"


async def test_counselor_hides_a_message_and_patients_see_a_tombstone(people: PersonFactory, cohort: Cohort) -> None:
    counselor = await people("counselor", cohort.counselor)
    await counselor.wait_joined(cohort.room)
    alice = await people("alice", cohort.alice)
    await alice.wait_joined(cohort.room)
    bob = await people("bob", cohort.bob)
    await bob.wait_joined(cohort.room)
    message_id = await alice.send("honestly you are all idiots")
    await expect(bob.message(message_id)).to_have_attribute("data-status", "visible")
    await expect(counselor.message(message_id)).to_have_attribute("data-status", "visible")

    await counselor.by("mod-reason").fill("Please keep it kind")
    await counselor.message(message_id).locator(f'[data-action="hide"][data-message-id="{message_id}"]').click()

    for patient in (alice, bob):
        hidden = patient.message(message_id)
        await expect(hidden).to_have_attribute("data-status", "hidden")
        await expect(hidden.get_by_test_id("tombstone")).to_have_text("This message was removed by a counselor")
        await expect(hidden.get_by_test_id("message-text")).to_have_count(0)
        await expect(hidden).not_to_contain_text("idiots")
    for_counselor = counselor.message(message_id)
    await expect(for_counselor).to_have_attribute("data-status", "hidden")
    await expect(for_counselor.get_by_test_id("message-text")).to_have_text("honestly you are all idiots")
    await expect(for_counselor.get_by_test_id("moderation-note")).to_contain_text("Please keep it kind")
    await expect(for_counselor.locator('[data-action="unhide"]')).to_be_visible()
    await bob.screenshot("tombstone")


async def test_staff_resolve_a_flag_from_the_review_queue(
    people: PersonFactory, world: World, cohort: Cohort, server: RunningServer
) -> None:
    author = await world.connect(cohort.alice, join=cohort.room)
    await author.send(cohort.room.id, "rough day, glad group is tomorrow")
    flagged = (await author.send(cohort.room.id, CRISIS))["message"]
    flag_id = str((await server.stores.flags.for_message(ObjectId(flagged["id"])))[0].id)
    staff = await people("staff", cohort.staff)

    await staff.by("nav-review").click()
    await expect(staff.page).to_have_url(f"{server.url}/#/review")
    row = staff.page.locator(f'{tid("review-row")}[data-flag-id="{flag_id}"]')
    await expect(row).to_have_attribute("data-status", "open")
    await expect(row).to_contain_text(CRISIS)
    await staff.screenshot("staff-review-queue")
    await row.locator('[data-action="view-flag"]').click()

    await expect(staff.page).to_have_url(f"{server.url}/#/review/{flag_id}")
    detail = staff.by("flag-detail")
    await expect(detail.get_by_test_id("flag-summary")).to_have_attribute("data-status", "open")
    await expect(detail.get_by_test_id("flag-text")).to_have_text(CRISIS)
    await expect(detail.get_by_test_id("context-message")).to_contain_text(["rough day, glad group is tomorrow"])
    await staff.screenshot("flag-detail", full_page=True)
    await detail.get_by_test_id("resolve-outcome").select_option("contacted_patient")
    await detail.get_by_test_id("resolve-note").fill("Called her; safety plan reviewed.")
    await detail.locator('[data-action="resolve"]').click()

    await expect(detail.get_by_test_id("flag-summary")).to_have_attribute("data-status", "resolved")
    await expect(detail.get_by_test_id("flag-status")).to_have_attribute("data-status", "resolved")
    await expect(detail.get_by_test_id("flag-history")).to_contain_text("Resolved by Sam")
    await expect(detail.get_by_test_id("resolve-form")).to_have_count(0)
    stored = await server.stores.flags.get(ObjectId(flag_id))
    assert stored is not None and stored.status == "resolved"
    assert stored.resolution == {"outcome": "contacted_patient", "note": "Called her; safety plan reviewed."}
    assert stored.resolved_by is not None and stored.resolved_by[0] == cohort.staff.id

    await staff.by("back-to-queue").click()
    await expect(staff.page.locator(tid("review-row"))).to_have_count(0)  # the open queue is empty now
    await staff.by("filter-status").select_option("resolved")
    await staff.by("apply-filters").click()
    await expect(row).to_have_attribute("data-status", "resolved")


async def test_markup_in_a_message_is_shown_as_text_and_runs_nothing(people: PersonFactory, cohort: Cohort) -> None:
    alice = await people("alice", cohort.alice)
    await alice.wait_joined(cohort.room)
    bob = await people("bob", cohort.bob)
    await bob.wait_joined(cohort.room)

    xss_id = await alice.send(XSS)
    after_id = await alice.send("just testing the chat, sorry")

    for person in (alice, bob):
        await expect(person.message(after_id)).to_be_visible()
        await expect(person.message(xss_id).get_by_test_id("message-text")).to_have_text(XSS)
        assert XSS in (await person.message(xss_id).text_content() or "")
        await expect(person.by("message-list").locator("img")).to_have_count(0)
        assert await person.page.evaluate("() => document.querySelectorAll('img').length") == 0
        assert person.dialogs == []  # people() also fails the test on any dialog at teardown


async def test_the_view_recovers_after_a_server_restart_with_each_message_once_in_order(
    restarts: list[RunningServer], people: PersonFactory, world: World, cohort: Cohort, server: RunningServer
) -> None:
    """The server dies (every connection dropped) and a new one starts on the same port.
    Alice is kept offline while Bob writes on the new server, so her view must fill the
    gap from history when she is back, and then carry on live."""
    alice = await people("alice", cohort.alice)
    await alice.wait_joined(cohort.room)
    alice.allow_errors(*RECONNECT_NOISE)
    bob = await world.connect(cohort.bob, join=cohort.room)
    expected = [(await bob.send(cohort.room.id, f"before restart {i}"))["message"]["id"] for i in range(2)]
    await expect(alice.message(expected[-1])).to_be_visible()

    await bob.close()
    await kill(server)
    await expect(alice.by("connection-status")).to_have_attribute("data-state", "reconnecting")
    await alice.context.set_offline(True)  # keep her away while Bob writes on the new server
    restarted = await start_on_same_port(server)
    restarts.append(restarted)
    world.server = restarted
    bob = await world.connect(cohort.bob, join=cohort.room)
    expected += [(await bob.send(cohort.room.id, f"while alice was away {i}"))["message"]["id"] for i in range(3)]
    await expect(alice.by("connection-status")).to_have_attribute("data-state", "reconnecting")
    assert await alice.message_ids() == expected[:2]

    await alice.context.set_offline(False)

    status = alice.by("connection-status")
    await expect(status).to_have_attribute("data-state", "connected", timeout=15000)
    await expect(alice.message(expected[-1])).to_be_visible()
    expected += [(await bob.send(cohort.room.id, f"after she is back {i}"))["message"]["id"] for i in range(2)]
    own_id = await alice.send("I'm back, the chat dropped for a moment")
    expected.append(own_id)
    await expect(alice.message(expected[-2])).to_be_visible()
    ids = await alice.message_ids()
    assert len(ids) == len(set(ids)), f"duplicates: {ids}"
    assert ids == expected
    texts = await alice.messages.get_by_test_id("message-text").all_text_contents()
    assert texts == [
        "before restart 0",
        "before restart 1",
        "while alice was away 0",
        "while alice was away 1",
        "while alice was away 2",
        "after she is back 0",
        "after she is back 1",
        "I'm back, the chat dropped for a moment",
    ]
    history = await bob.ok("message:history", {"room_id": str(cohort.room.id)})
    assert [m["id"] for m in history["messages"]] == expected


async def test_a_graceful_server_stop_tells_the_browser_to_go_at_once(
    people: PersonFactory, cohort: Cohort, server: RunningServer
) -> None:
    """A deploy stops the server gracefully (SIGTERM): open browsers must be told to go
    (and reconnect elsewhere) at once, and the stop must not wait for them."""
    alice = await people("alice", cohort.alice)
    await alice.wait_joined(cohort.room)
    alice.allow_errors(*RECONNECT_NOISE)
    stopping = asyncio.ensure_future(server.stop())
    try:
        await expect(alice.by("connection-status")).to_have_attribute("data-state", "reconnecting")
        await asyncio.wait_for(asyncio.shield(stopping), 5)
    finally:
        if not stopping.done():  # do not wait for the engine.io ping timeout to end it
            abort_connections(server)
        await stopping
        server.stop = already_stopped  # type: ignore[method-assign]


async def test_a_patient_can_chat_on_a_phone_sized_screen(people: PersonFactory, cohort: Cohort) -> None:
    bob = await people("bob", cohort.bob)
    await bob.wait_joined(cohort.room)
    alice = await people("alice", viewport=PHONE, is_mobile=True, has_touch=True)
    await alice.sign_in(cohort.alice)
    await alice.wait_joined(cohort.room)
    for part in ("composer-input", "send-button", "message-list", "logout-button"):
        await expect(alice.by(part)).to_be_in_viewport()

    message_id = await alice.send("on my phone on the bus, see you at group")

    await expect(alice.message(message_id)).to_be_in_viewport()
    await expect(bob.message(message_id)).to_be_visible()
    width = await alice.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px wide)"
    await alice.screenshot("phone-chat")


async def test_sign_out_returns_to_the_login_form_and_revokes_the_token(
    people: PersonFactory, cohort: Cohort, server: RunningServer
) -> None:
    alice = await people("alice")
    await alice.by("login-username").fill(cohort.alice.username)
    await alice.by("login-password").fill("not the password")
    await alice.by("login-submit").click()
    await expect(alice.by("login-error")).to_be_visible()
    await expect(alice.by("login-error")).to_contain_text("do not match")
    alice.allow_errors(r"Failed to load resource: the server responded with a status of 401")
    await alice.sign_in(cohort.alice)
    token = await alice.token()
    assert token
    assert await _get_me(server, token) == 200

    await alice.by("logout-button").click()

    await expect(alice.by("login-form")).to_be_visible()
    await expect(alice.by("login-message")).to_contain_text("signed out")
    await expect(alice.by("current-user")).to_have_count(0)
    assert await alice.token() is None
    assert await _get_me(server, token) == 401


async def _get_me(server: RunningServer, token: str) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status


async def test_staff_read_the_audit_log_and_page_through_it(
    people: PersonFactory, world: World, cohort: Cohort
) -> None:
    for _ in range(3):
        await world.http("POST", "/api/auth/login", json={"username": cohort.bob.username, "password": "wrong-pass"})
    for _ in range(52):
        await world.stores.audit.append(
            "flag.read", actor=None, target_type="flag", target_id=None, origin=Origin(ip=None, user_agent=None)
        )
    staff = await people("staff", cohort.staff)

    await staff.by("nav-audit").click()
    rows = staff.page.locator(tid("audit-row"))
    await expect(rows).to_have_count(50)  # one page, newest first
    await staff.screenshot("audit-log")
    await staff.by("load-more").click()
    await expect(rows.filter(has_text="auth.login_failed")).to_have_count(3)
    await expect(staff.by("load-more")).to_be_hidden()

    await staff.by("audit-action").fill("auth.login_failed")
    await staff.page.locator(f'{tid("audit-filters")} button[type="submit"]').click()
    await expect(rows).to_have_count(3)


async def test_a_patient_asks_for_help_and_sees_that_the_counselor_acknowledged_it(
    people: PersonFactory, cohort: Cohort
) -> None:
    counselor = await people("counselor", cohort.counselor)
    await counselor.by("oncall-toggle").click()
    await expect(counselor.by("oncall-toggle")).to_have_attribute("aria-pressed", "true")
    alice = await people("alice", cohort.alice)
    await alice.wait_joined(cohort.room)

    await alice.by("help-button").click()
    await alice.by("ask-for-help").click()

    status = alice.by("help-status")
    await expect(status).to_have_attribute("data-state", "sent")
    await expect(status).to_contain_text("A counselor has been alerted")
    await expect(alice.by("crisis-panel").locator(f'{tid("crisis-call")}[href="tel:988"]')).to_have_count(1)
    await alice.screenshot("help-request-sent")
    alert = counselor.page.locator(tid("alert-item")).filter(has=counselor.page.get_by_test_id("flag-source-help"))
    await expect(alert).to_be_visible()
    await expect(alert.get_by_test_id("flag-source-help")).to_contain_text("Alice pressed")
    await counselor.screenshot("help-request-alert")

    await alert.get_by_test_id("ack-button").click()

    await expect(status).to_have_attribute("data-state", "acknowledged")
    await expect(status).to_have_text("Casey has seen your request and will reach out to you.")
    await alice.screenshot("help-request-acknowledged")
