"""Live updates in a real browser (issue 19, docs/live.md): the maker has a pending request's page and the home
page open; an approver approves it in another browser context; without a reload, within 2 seconds, the request
page shows the "changed — Reload" banner, the header's bell counts the maker's new notification, and the home
page's "approved, waiting for payment" count goes up.

The stream needs an ASGI server (pytest-django's live server is WSGI): this module serves every page from a
real uvicorn process (tests/live/server.py) with the static files beside it, against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory
from tests.live.server import asgi_server
from tests.payments.factories import make_pr

expect = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` package is missing: pip install -e '.[dev]'"
).expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WITHIN_MS = 2_000


@pytest.fixture(scope="module")
def asgi_url(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock(), asgi_server(app="tests.live.asgi_static:application") as (base, _process):
        yield base


@pytest.fixture
def new_page(browser: Any, asgi_url: str) -> Iterator[Any]:
    """`new_page()` opens a page in its own context (own cookies: one signed-in user each) on the ASGI server."""
    contexts = []

    def make(context: Any = None) -> Any:
        if context is None:
            context = browser.new_context(base_url=asgi_url, locale="en-US", timezone_id="Asia/Ho_Chi_Minh")
            context.set_default_timeout(15_000)
            contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Any, user: User) -> None:
    page.goto("/admin/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#logout-form")).to_be_attached()


def listening(page: Any) -> None:
    expect(page.locator("#live-updates")).to_have_attribute("data-state", "open")


def test_an_approval_shows_on_the_makers_open_pages_without_a_reload(new_page: Any) -> None:
    maker = UserFactory(email="maker@live.test", name="Người Lập", roles=["finance"])
    approver = UserFactory(email="approver@live.test", name="Người Duyệt", roles=["bod"])
    pr = make_pr(maker=maker, steps=[("anyof", [approver])], request=True)

    request_page = new_page()
    sign_in(request_page, maker)
    home = new_page(request_page.context)
    home.goto("/admin/")
    approved = home.locator("#needs-me-approved .count")
    expect(approved).to_have_text("0")
    request_page.goto(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    banner = request_page.locator("#pr-live-banner")
    expect(banner).to_be_hidden()
    for page in (request_page, home):
        listening(page)
        page.evaluate("window.notReloaded = true")

    approving = new_page()
    sign_in(approving, approver)
    approving.goto(f"/admin/payments/paymentrequest/{pr.pk}/change/")
    approving.locator("#pr-action-approve").click()

    expect(banner).to_be_visible(timeout=WITHIN_MS)
    expect(banner).to_contain_text("This payment request has changed")
    expect(request_page.locator("#unread-notifications .count")).to_have_text("1", timeout=WITHIN_MS)
    expect(approved).to_have_text("1", timeout=WITHIN_MS)
    for page in (request_page, home):
        assert page.evaluate("window.notReloaded") is True  # changed in place

    request_page.locator("#pr-live-reload").click()  # the banner's link reloads the page: the new status shows
    expect(request_page.locator(".pr-summary [data-status]").first).to_have_attribute("data-status", "approved")
    expect(request_page.locator("#pr-live-banner")).to_be_hidden()
