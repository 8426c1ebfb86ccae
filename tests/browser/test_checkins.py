"""Daily check-ins in the browser: a patient checks in with two sliders and a note, sees
"Saved for today" and her chart; the counselor's cohort view shows her check-in with its
trend chart, who has not checked in today, and who trends down. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from server.models import Checkin
from tests.browser.conftest import PersonFactory, tid
from tests.conftest import Cohort, World

pytestmark = pytest.mark.browser

NOTE = "Rough afternoon, but I made it to group."


async def history(world: World, cohort: Cohort) -> None:
    """Two weeks behind today: Alice steady, Bob's mood sliding (he trends down)."""
    now = datetime.now(UTC)
    alice_moods = [4, 3, 4, 4, None, 3, 4, 4, 3, 4, None, 4, 3]
    bob_moods = [4, 4, 5, 4, 4, 4, 4, None, 3, 2, 2, 2, None]
    for person, moods in ((cohort.alice, alice_moods), (cohort.bob, bob_moods)):
        for age, mood in zip(range(len(moods), 0, -1), moods, strict=True):
            if mood is None:
                continue
            at = now - timedelta(days=age)
            craving = 6 - mood if person is cohort.alice else 9 - mood
            checkin = Checkin(person.id, cohort.id, at.date().isoformat(), mood, craving, None, at)
            await world.stores.checkins.put(checkin)


async def test_a_patient_checks_in_and_her_counselor_sees_it_with_its_chart(
    people: PersonFactory, world: World, cohort: Cohort
) -> None:
    await history(world, cohort)
    alice = await people("alice", cohort.alice)
    await alice.by("nav-checkin").click()
    await expect(alice.by("checkin-view")).to_be_visible()
    await expect(alice.by("checkin-chart").locator("canvas")).to_have_count(1)

    await alice.by("checkin-mood").fill("2")
    await alice.by("checkin-craving").fill("7")
    await expect(alice.by("checkin-mood-word")).to_have_text("Low")
    await expect(alice.by("checkin-craving-word")).to_have_text("Strong (7 of 10)")
    await alice.by("checkin-note").fill(NOTE)
    await alice.by("checkin-submit").click()

    await expect(alice.by("checkin-saved-title")).to_contain_text("Saved for today")
    await expect(alice.by("checkin-saved-values")).to_have_text("Mood: Low · Craving: Strong (7 of 10)")
    await expect(alice.by("checkin-submit")).to_have_text("Update today's check-in")
    await alice.screenshot("checkin-patient")

    # A second check-in the same day replaces the first.
    await alice.by("checkin-mood").fill("3")
    await alice.by("checkin-submit").click()
    await expect(alice.by("checkin-saved-values")).to_have_text("Mood: Okay · Craving: Strong (7 of 10)")
    today = datetime.now(UTC).date().isoformat()
    docs = [d async for d in world.stores.db["checkins"].find({"patient_id": cohort.alice.id, "day": today})]
    assert [(d["mood"], d["craving"], d["note"]) for d in docs] == [(3, 7, NOTE)]

    counselor = await people("counselor", cohort.counselor)
    await counselor.by("nav-checkins").click()
    rows = counselor.page.locator(tid("checkin-row"))
    await expect(rows).to_have_count(2)
    alice_row = counselor.page.locator(f'{tid("checkin-row")}[data-patient-id="{cohort.alice.id}"]')
    bob_row = counselor.page.locator(f'{tid("checkin-row")}[data-patient-id="{cohort.bob.id}"]')
    await expect(alice_row).to_have_attribute("data-today", "true")
    await expect(alice_row.get_by_test_id("checkin-last")).to_contain_text("Mood: Okay")
    await expect(alice_row.get_by_test_id("checkin-note-text")).to_have_text(f"“{NOTE}”")
    await expect(alice_row.locator("canvas")).to_have_count(1)
    await expect(alice_row).to_have_attribute("data-trend", "steady")
    await expect(bob_row).to_have_attribute("data-today", "false")
    await expect(bob_row.get_by_test_id("checkin-today")).to_have_text("Not yet today")
    await expect(bob_row.get_by_test_id("checkin-trend-down")).to_be_visible()
    await expect(counselor.by("checkins-summary")).to_contain_text("1 of 2 patients checked in today")
    await counselor.screenshot("checkin-counselor", full_page=True)


async def test_on_a_phone_the_checkin_card_and_chart_stack(people: PersonFactory, world: World, cohort: Cohort) -> None:
    await history(world, cohort)
    alice = await people("alice", cohort.alice, viewport={"width": 375, "height": 740})
    await alice.page.goto(alice.base_url + "/#/checkin")
    await expect(alice.by("checkin-chart").locator("canvas")).to_have_count(1)
    box = await alice.by("checkin-chart").bounding_box()
    assert box is not None and box["width"] <= 375
    await alice.screenshot("checkin-patient-phone", full_page=True)


async def test_staff_set_a_cohorts_time_zone_for_its_checkin_days(
    people: PersonFactory, world: World, cohort: Cohort
) -> None:
    """The cohort screen creates a cohort in a time zone, refuses a made-up one with a
    readable error (nothing changes), and an emptied field returns to the clinic's."""
    staff = await people("staff", cohort.staff)
    await staff.by("nav-cohorts").click()
    await expect(staff.by("cohorts-view")).to_be_visible()

    await staff.by("cohort-name").fill("Evening IOP (Chicago)")
    await staff.by("cohort-timezone-input").fill("America/Chicago")
    await staff.by("cohort-create").click()

    card = staff.page.locator(tid("cohort-card"), has_text="Evening IOP (Chicago)")
    await expect(card.get_by_test_id("cohort-timezone")).to_have_text("Check-in days: America/Chicago time")
    stored = await world.stores.db["cohorts"].find_one({"name": "Evening IOP (Chicago)"})
    assert stored is not None and stored["timezone"] == "America/Chicago"

    await card.get_by_test_id("edit-cohort").click()
    await staff.screenshot("cohort-time-zone", full_page=True)
    staff.allow_errors("status of 400")  # the refusal below, as the browser logs it
    await card.get_by_test_id("edit-cohort-timezone").fill("Mars/Olympus_Mons")
    await card.locator('[data-action="save-cohort"]').click()
    await expect(card.get_by_test_id("cohort-card-status")).to_contain_text("time zone")
    stored = await world.stores.db["cohorts"].find_one({"_id": stored["_id"]})
    assert stored is not None and stored["timezone"] == "America/Chicago"

    await card.get_by_test_id("edit-cohort-timezone").fill("")
    await card.locator('[data-action="save-cohort"]').click()
    await expect(card.get_by_test_id("cohort-timezone")).to_have_text("Check-in days: the clinic's time zone")
    stored = await world.stores.db["cohorts"].find_one({"_id": stored["_id"]})
    assert stored is not None and stored["timezone"] is None
