"""Browser fixtures: one headless Chromium per module, one context per person, and a
server that can be restarted on the same port (the page reconnects to the same URL).

Every page records console errors, uncaught exceptions and dialogs. A test fails at
teardown on any it did not explicitly allow (a CSP violation is a console error).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, async_playwright, expect

from server.app import create_app
from server.models import Room, User
from tests.conftest import PASSWORD, RunningServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 5000
STOP_TIMEOUT_S = 20

expect.set_options(timeout=UI_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


# ---- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def tid(value: str) -> str:
    return f'[data-testid="{value}"]'


@dataclass
class Person:
    """One signed-in (or signing-in) person: a browser context with one page."""

    context: BrowserContext
    page: Page
    base_url: str
    name: str
    user: User | None = None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed_errors: list[re.Pattern[str]] = field(default_factory=list)

    # -- observation ------------------------------------------------------------------

    def by(self, test_id: str):  # type: ignore[no-untyped-def]
        return self.page.get_by_test_id(test_id)

    @property
    def messages(self):  # type: ignore[no-untyped-def]
        return self.page.locator(f"{tid('message-list')} {tid('message')}")

    def message(self, message_id: str):  # type: ignore[no-untyped-def]
        return self.page.locator(f'{tid("message-list")} {tid("message")}[data-message-id="{message_id}"]')

    def message_with_text(self, text: str):  # type: ignore[no-untyped-def]
        return self.messages.filter(has=self.page.get_by_test_id("message-text").filter(has_text=text))

    async def message_ids(self) -> list[str]:
        return await self.messages.evaluate_all("els => els.map(e => e.dataset.messageId)")

    def allow_errors(self, *patterns: str) -> None:
        self.allowed_errors.extend(re.compile(p) for p in patterns)

    def unexpected_errors(self) -> list[str]:
        found = [f"console: {e}" for e in self.console_errors if not any(p.search(e) for p in self.allowed_errors)]
        found += [f"pageerror: {e}" for e in self.page_errors]
        found += [f"dialog: {d}" for d in self.dialogs]
        return found

    # -- actions ----------------------------------------------------------------------

    async def sign_in(self, user: User, password: str = PASSWORD) -> None:
        """Fill the login form and wait until the socket session is up."""
        self.user = user
        form = self.by("login-form")
        await expect(form).to_be_visible()
        await self.by("login-username").fill(user.username)
        await self.by("login-password").fill(password)
        await self.by("login-submit").click()
        await expect(self.by("current-user")).to_have_attribute("data-user-id", str(user.id))
        await expect(self.by("connection-status")).to_have_attribute("data-state", "connected")

    async def open_room(self, room: Room) -> None:
        """Click the room in the list and wait until the join (history + presence) is done."""
        await self.page.locator(f'{tid("room-item")}[data-room-id="{room.id}"]').click()
        await self.wait_joined(room)

    async def wait_joined(self, room: Room) -> None:
        await expect(self.by("room-title")).to_have_text(room.name)
        assert self.user is not None
        me = self.page.locator(f'{tid("online-user")}[data-user-id="{self.user.id}"]')
        await expect(me).to_have_count(1)
        await expect(self.by("room-pane")).not_to_have_attribute("aria-busy", "true")
        await expect(self.by("composer-input")).to_be_enabled()

    async def send(self, text: str) -> str:
        """Type and send through the composer; return the stored message id once acked."""
        before = set(await self.message_ids())
        await self.by("composer-input").fill(text)
        await self.by("send-button").click()
        return await self.acked_id(text, exclude=before)

    async def acked_id(self, text: str, exclude: set[str] | None = None) -> str:
        """Wait until my message with exactly this text has a server id (it was stored), and return it."""
        assert self.user is not None
        handle = await self.page.wait_for_function(
            """([text, authorId, exclude]) => {
                const mine = [...document.querySelectorAll('[data-testid="message-list"] [data-testid="message"]')]
                  .filter((e) => e.dataset.authorId === authorId && e.dataset.messageId)
                  .filter((e) => !exclude.includes(e.dataset.messageId))
                  .filter((e) => e.querySelector('[data-testid="message-text"]')?.textContent === text);
                return mine.length ? mine[mine.length - 1].dataset.messageId : null;
            }""",
            arg=[text, str(self.user.id), sorted(exclude or ())],
            timeout=UI_TIMEOUT_MS,
        )
        return str(await handle.json_value())

    async def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path

    async def token(self) -> str | None:
        return await self.page.evaluate("() => sessionStorage.getItem('iopchat.token')")


PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
async def people(browser: Browser, server: RunningServer) -> AsyncIterator[PersonFactory]:
    """`await people("alice", user)`: a fresh context (own sessionStorage) on the login page,
    signed in as `user` when one is given."""
    made: list[Person] = []

    async def open_person(
        name: str,
        user: User | None = None,
        *,
        viewport: dict[str, int] | None = None,
        permissions: list[str] | None = None,
        **context_options: Any,
    ) -> Person:
        context = await browser.new_context(
            base_url=server.url,
            viewport=viewport or {"width": 1280, "height": 860},
            permissions=permissions or [],
            **context_options,
        )
        page = await context.new_page()
        person = Person(context=context, page=page, base_url=server.url, name=name)
        made.append(person)

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                person.console_errors.append(msg.text)

        async def on_dialog(dialog: Dialog) -> None:
            person.dialogs.append(f"{dialog.type}: {dialog.message}")
            await dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda exc: person.page_errors.append(str(exc)))
        page.on("dialog", on_dialog)
        await page.goto(server.url + "/")
        await expect(person.by("login-form")).to_be_visible()
        if user is not None:
            await person.sign_in(user)
        return person

    yield open_person

    problems: list[str] = []
    for person in made:
        problems += [f"{person.name}: {p}" for p in person.unexpected_errors()]
        await person.context.close()
    assert not problems, "unexpected browser errors:\n" + "\n".join(problems)


# ---- restarting the server on the same port ----------------------------------------------


async def kill(server: RunningServer) -> None:
    """Stop the server as a crash or `kill -9` would: stop listening, then drop every open
    connection at once (browsers see their WebSocket close), then clean up the app."""
    for site in list(server.runner.sites):
        await site.stop()
    abort_connections(server)
    await asyncio.wait_for(server.stop(), STOP_TIMEOUT_S)
    server.stop = already_stopped  # type: ignore[method-assign]  # server_factory stops it again


def abort_connections(server: RunningServer) -> None:
    if server.runner.server is not None:
        for handler in list(server.runner.server.connections):
            if handler.transport is not None:
                handler.transport.abort()


async def already_stopped() -> None:
    """Put in place of `RunningServer.stop` once a test stopped it (server_factory stops it again)."""


async def start_on_same_port(stopped: RunningServer) -> RunningServer:
    """A new app on the stopped server's port and database (same URL, same JWT secret)."""
    config = stopped.config
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", config.port, reuse_address=True)
    await site.start()
    return RunningServer(url=stopped.url, app=app, runner=runner, config=config)


@pytest.fixture
async def restarts() -> AsyncIterator[list[RunningServer]]:
    """Servers started by `start_on_same_port`; stopped at teardown."""
    started: list[RunningServer] = []
    yield started
    for running in started:
        await running.stop()
