"""Browser tests: Playwright (the Python package) drives the system's Chromium against
pytest-django's live server.

Playwright's own browser download is never used: the tests launch the Chromium the OS
installed (Debian's `chromium` package; `.ci/run` installs it when missing). On a machine
without one they skip, saying how to get one.

`SCREENSHOTS=1` (what `make screenshots` sets) saves every page of the Vietnamese tour
(test_tour_vietnamese.py) to docs/screenshots/, the README's "Tour".
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "no Chromium found for the browser tests: install Debian's package (`sudo apt-get install chromium`) "
    "or point CHROMIUM_PATH at a Chromium/Chrome binary"
)
# --headless etc.: a CI box has no display, no GPU, no user namespaces for the sandbox, and must not
# phone home (updates, sync, field trials) while tests run.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000  # generous for a loaded 2-core box, bounded so a broken page fails fast
NAVIGATION_TIMEOUT_MS = 30_000
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_path() -> str | None:
    """CHROMIUM_PATH when set (and executable), else the first Chromium/Chrome on PATH."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Playwright's sync API keeps an asyncio loop running in
    this thread while it is open, which makes Django refuse ORM calls from the test body;
    allowing them is safe here (the loop never runs Django code), and only for this module."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(INSTALL_HINT)
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("the `playwright` package is missing: `pip install -e '.[dev]'` (no `playwright install` needed)")
    expect.set_options(timeout=TIMEOUT_MS)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            # launch() gives every run a fresh temporary profile (user-data dir), removed on close.
            chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """`new_page()` opens a page in its own context (own cookies: one signed-in user each); `locale` is the
    browser's language (its `Accept-Language`), which speaks only where the user chose none."""
    contexts = []

    def make(locale: str = "en-US") -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            timezone_id="Asia/Ho_Chi_Minh",
            viewport={"width": 1600, "height": 1000},
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Any:
    """`screenshot(page, "name")` saves docs/screenshots/name.png when SCREENSHOTS=1; else nothing."""
    enabled = os.environ.get("SCREENSHOTS") == "1"

    def take(page: Any, name: str, *, full_page: bool = True) -> None:
        if enabled:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=full_page)

    return take
