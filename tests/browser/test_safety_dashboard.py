"""Staff open the safety dashboard in headless Chromium: the charts draw (uPlot canvases
under the strict CSP), the tables show what is open now and check-in completion, and the
browser logs no error (the `people` fixture fails the test on any)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import expect

from server.actions.safety_report import week_start
from server.clock import utcnow
from tests.browser.conftest import PersonFactory, tid
from tests.conftest import Cohort, RunningServer, World
from tests.server.test_safety_report import SECRET, acknowledge_after, store_flag

pytestmark = pytest.mark.browser


async def seed(world: World, cohort: Cohort) -> None:
    """Nine weeks of flags, acknowledged within minutes; an escalated one and a help
    request still open; a week of check-ins for one of the two patients."""
    this_week = week_start(utcnow())
    sources = ["detector", "detector", "report", "model", "counselor", "help_button", "silence"]
    for week in range(1, 10):
        monday = this_week - timedelta(weeks=week)
        for i in range(2 + week % 3):
            source = sources[(week + i) % len(sources)]
            severity = "low" if source == "silence" else ("medium" if source in ("report", "counselor") else "high")
            flag = await store_flag(
                world, cohort, monday + timedelta(days=i, hours=9 + i), severity=severity, source=source
            )
            await acknowledge_after(world, cohort.counselor, flag, 40 + 35 * week + 90 * i)
    # Open now. The server's escalation sweep runs in the background: the escalated flag is
    # already at the last level and the help request is too fresh to be escalated during the test.
    await store_flag(world, cohort, this_week + timedelta(hours=1), escalation_level=2)
    await store_flag(world, cohort, utcnow(), source="help_button", categories=())
    today = utcnow().date()
    await world.stores.db["checkins"].insert_many(
        [
            {
                "_id": f"{cohort.alice.id}:{today - timedelta(days=back)}",
                "patient_id": cohort.alice.id,
                "cohort_id": cohort.id,
                "day": (today - timedelta(days=back)).isoformat(),
                "mood": 4,
                "craving": 2,
                "note": SECRET,
                "submitted_at": utcnow(),
            }
            for back in range(7)
        ]
    )


async def test_staff_open_the_safety_dashboard_and_the_charts_draw(
    people: PersonFactory, world: World, cohort: Cohort, server: RunningServer
) -> None:
    await seed(world, cohort)
    staff = await people("staff", cohort.staff)

    await staff.by("nav-safety").click()

    await expect(staff.page).to_have_url(f"{server.url}/#/safety")
    await expect(staff.by("safety-view")).to_be_visible()
    await expect(staff.page.locator(f"{tid('safety-ack-chart')} canvas")).to_have_count(1)
    await expect(staff.page.locator(f"{tid('safety-source-chart')} canvas")).to_have_count(1)
    high = staff.page.locator(f'{tid("severity-row")}[data-severity="high"]')
    await expect(high.get_by_test_id("open-count")).to_have_text("2")  # the escalated flag and the help request
    await expect(high.get_by_test_id("escalated-count")).to_have_text("1")
    await expect(staff.by("help-open").locator("td")).to_have_text("1")
    row = staff.page.locator(f'{tid("checkin-row")}[data-cohort-id="{cohort.id}"]')
    await expect(row).to_contain_text(cohort.room.cohort_name)
    await expect(row.get_by_test_id("completion")).not_to_have_text("—")
    await expect(staff.by("safety-view")).not_to_contain_text(SECRET)
    await staff.screenshot("safety-dashboard", full_page=True)

    await staff.by("safety-weeks").select_option("4")  # a shorter period reloads the charts

    await expect(staff.page.locator(f"{tid('safety-ack-chart')} canvas")).to_have_count(1)
    await expect(staff.page.locator(f"{tid('safety-source-chart')} canvas")).to_have_count(1)
    await staff.screenshot("safety-dashboard-4-weeks")


async def test_a_counselor_has_no_safety_dashboard(people: PersonFactory, cohort: Cohort) -> None:
    counselor = await people("counselor", cohort.counselor)
    await expect(counselor.by("nav-review")).to_be_visible()
    await expect(counselor.by("nav-safety")).to_have_count(0)
