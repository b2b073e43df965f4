"""The CSP in a real browser (the system's Chromium through Playwright, tests/browser's
harness): the admin's scripts run and Swagger UI renders, with no Content-Security-Policy
violation reported on the console. Skips where no Chromium is installed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.browser.conftest import browser, new_page  # noqa: F401 - the shared browser fixtures
from tests.payments.factories import make_pr

pytestmark = pytest.mark.django_db(transaction=True)


def watch_csp(page: Any) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


def signed_in_page(new_page: Any, live_server: Any, user: Any) -> Any:  # noqa: F811
    client = Client()
    client.force_login(user)
    page = new_page()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


def test_admin_pages_run_their_scripts_under_the_policy(new_page, live_server, owner, maker, approver):  # noqa: F811
    pr = make_pr(maker=maker, steps=[("anyof", [approver])], request=True)
    page = signed_in_page(new_page, live_server, owner)
    violations = watch_csp(page)
    for path in (
        "/admin/",
        "/admin/payments/paymentrequest/",
        f"/admin/payments/paymentrequest/{pr.pk}/change/",
        "/admin/accounts/user/add/",
        "/admin/invoices/invoice/",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'"), path
        # admin/js/theme.js sets data-theme on load: proof that the admin's scripts ran.
        page.wait_for_function("document.documentElement.dataset.theme !== undefined")
    assert violations == []


def test_swagger_ui_renders_under_the_policy(new_page):  # noqa: F811
    page = new_page()
    violations = watch_csp(page)
    response = page.goto("/api/docs/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 50
    assert violations == []


def test_a_blocking_policy_is_detected(new_page, settings):  # noqa: F811
    """The watch above is not vacuous: with scripts forbidden, Chromium reports violations."""
    settings.CONTENT_SECURITY_POLICY = "script-src 'none'"
    page = new_page()
    violations = watch_csp(page)
    page.goto("/admin/login/")
    page.wait_for_timeout(500)
    assert violations and page.evaluate("document.documentElement.dataset.theme") is None
