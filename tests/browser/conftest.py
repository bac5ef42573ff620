"""The console in a real browser: Debian's chromium driven by Playwright for Python (never a
downloaded browser), against Plugboard served on 127.0.0.1 beside the bundled test provider.

One served Plugboard, one provider and one browser per test session (per pytest-xdist worker),
on SQLite. Every console page a test opens passes axe-core (from the npm package pinned in
web-assets/, injected into the page) with no serious or critical violation. Screenshots (light
and dark) go to docs/screenshots/ when PLUGBOARD_TEST_SCREENSHOTS=1, else to a temporary folder
(so a test run leaves the work tree clean). Under CI=true a missing chromium, Playwright or
axe-core fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from plugboard.crypto.keyring import Keyring, generate_key
from plugboard.crypto.sealing import Sealer
from plugboard.domain.models import Role, WorkspaceKind
from plugboard.domain.principal import OPERATOR, Principal
from plugboard.server.app import create_app
from plugboard.settings import Settings
from plugboard.store.database import Database
from plugboard.testing.provider_state import DEMO_BASIC_PASSWORD
from plugboard.testing.server import ProviderServer
from plugboard.threaded_server import ThreadedServer
from plugboard.usecases import identity
from plugboard.usecases.runtime import Runtime
from tests.conftest import _RESPONSES, IN_CI, _stored_secrets, find_leaks

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "web-assets" / "node_modules" / "axe-core" / "axe.min.js"
HTMX = ROOT / "src" / "plugboard" / "server" / "web" / "static" / "htmx" / "htmx.min.js"
PASSWORD = "correct horse battery staple"
MEMBERS = {
    "root@acme.test": Role.SUPER_ADMIN,
    "dev@acme.test": Role.DEVELOPER,
    "user@acme.test": Role.USER,
}


def _missing(what: str) -> None:
    message = f"{what}: the browser tests cannot run"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@dataclass
class Console:
    """The served console, its store and the provider beside it, and the shared browser."""

    base_url: str
    runtime: Runtime
    provider: ProviderServer
    browser: Any
    axe: str
    shots: Path
    contexts: list[Any] = field(default_factory=list)
    # Values typed into secret inputs: no console response may ever hold one.
    typed_secrets: set[str] = field(default_factory=lambda: {DEMO_BASIC_PASSWORD})

    def as_(self, email: str, workspace: str = "acme") -> Principal:
        with self.runtime.unit(write=False) as unit:
            return identity.principal_for(unit, email, workspace, via="test")

    def login(self, email: str, *, color_scheme: str = "light", workspace: str = "acme") -> Any:
        """A new browser context (its own cookies), logged in through the login form."""
        context = self.browser.new_context(
            base_url=self.base_url, color_scheme=color_scheme, timezone_id="Asia/Tokyo",
            locale="en-GB", viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of revoke/delete
        page.goto("/console/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.fill("#workspace", workspace)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/connections")
        return page

    def check(self, page: Any, shot: str | None = None) -> None:
        """axe-core on the page as it is: no serious or critical violation. With ``shot``, a
        light and a dark screenshot of it."""
        page.evaluate(self.axe)
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
        )
        assert violations == [], f"{page.url}: {violations}"
        if shot:
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.screenshot(path=str(self.shots / f"{shot}-{scheme}.png"))
            page.emulate_media(color_scheme="light")


def _seed(runtime: Runtime) -> None:
    with runtime.unit() as unit:
        identity.create_workspace(unit, OPERATOR, "acme", WorkspaceKind.DEVELOPER)
        identity.create_workspace(unit, OPERATOR, "globex", WorkspaceKind.CLIENT)
        for email, role in MEMBERS.items():
            identity.add_user(
                unit, OPERATOR, email=email, role=role, workspace="acme", password=PASSWORD
            )
        # dev belongs to two workspaces: the switcher shows both.
        identity.add_user(
            unit, OPERATOR, email="dev@acme.test", role=Role.ADMIN, workspace="globex"
        )


@pytest.fixture(scope="session")
def console_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The served console, its store and the provider, once per test session (no browser)."""
    if not CHROMIUM.exists():
        _missing(f"Debian's chromium is not at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright for Python is not installed (make install)")
    if not AXE.is_file() or not HTMX.is_file():
        _missing("axe-core or htmx is not built (make web-assets)")

    home = tmp_path_factory.mktemp("console")
    database = Database(f"sqlite:///{home / 'plugboard.db'}")
    database.upgrade()
    server = ThreadedServer(None, name="plugboard console", lifespan="on")
    base_url = server.bind()
    settings = Settings(
        home=home / "home", database_url=database.url, base_url=base_url,
        allow_http_hosts="127.0.0.1", outbound_allowlist="127.0.0.1",
    )  # fmt: skip
    runtime = Runtime(settings, database, Sealer(Keyring(keys=(generate_key(),), source="test")))
    _seed(runtime)
    server.app = create_app(settings, runtime=runtime)
    shots = ROOT / "docs" / "screenshots"
    if os.environ.get("PLUGBOARD_TEST_SCREENSHOTS") != "1":
        shots = tmp_path_factory.mktemp("screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with ProviderServer() as provider:
        server.start()
        try:
            yield Console(base_url, runtime, provider, None, AXE.read_text(), shots)
        finally:
            server.stop()
            database.dispose()


@pytest.fixture(scope="module")
def console(console_site: Console) -> Iterator[Console]:
    """The console with a browser, per test module. Playwright's sync API keeps an event loop
    running in this thread while it is open, so a later test's ``asyncio.run`` in the same
    worker would fail ("Already running asyncio in this thread"): it is closed after each
    module instead of at the end of the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield replace(console_site, browser=browser, contexts=[])
        finally:
            browser.close()


@pytest.fixture
def web(console: Console) -> Iterator[Console]:
    """The console for one test: its browser contexts are closed after it, and no response
    Plugboard sent during it holds a stored or typed secret (the suite's response scan, for
    the console's HTML)."""
    start = len(_RESPONSES)
    yield console
    for context in console.contexts:
        context.close()
    console.contexts.clear()
    responses = _RESPONSES[start:]
    assert any(path.startswith("/console") for path, _ in responses)
    leaks = find_leaks(responses, _stored_secrets(console.runtime) | console.typed_secrets)
    assert not leaks, f"a secret appeared in console responses of {sorted(set(leaks))}"
