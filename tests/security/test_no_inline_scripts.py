"""The CSP allows scripts from our origin only (`script-src 'self'`): every page the admin and
Swagger UI render must load its scripts from files, with no inline <script>, no on* handler
attribute and no javascript: URL, or the browser would refuse to run them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.payments.factories import make_invoice, make_pr

# Data blocks (json_script) are not executed, so the CSP does not apply to them.
DATA_TYPES = {"application/json", "application/ld+json", "text/template"}


class ScriptAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.external: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}={value}>")
        if tag == "script":
            if values.get("src"):
                self.external.append(values["src"] or "")
            elif (values.get("type") or "").lower() not in DATA_TYPES:
                self._inline = True

    def handle_data(self, data: str) -> None:
        if self._inline and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:80]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline = False


def audit(html: str) -> ScriptAudit:
    parser = ScriptAudit()
    parser.feed(html)
    return parser


@pytest.fixture
def admin_pages(owner, maker, approver) -> list[str]:
    pr = make_pr(maker=maker, steps=[("anyof", [approver])], request=True)
    invoice = make_invoice()
    pages = [
        "/admin/",
        f"/admin/payments/paymentrequest/{pr.pk}/change/",
        f"/admin/invoices/invoice/{invoice.pk}/change/",
        f"/admin/accounts/user/{maker.pk}/change/",
    ]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        for name in ("changelist", "add"):
            try:
                url = reverse(f"admin:{info[0]}_{info[1]}_{name}")
            except NoReverseMatch:
                continue
            if name == "add" and not model_admin.has_add_permission(_request_for(owner)):
                continue
            pages.append(url)
    return pages


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_admin_pages_have_no_inline_scripts(owner, admin_pages):
    client = Client()
    client.force_login(owner)
    checked = 0
    for url in admin_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        if "text/html" not in response["Content-Type"]:
            continue
        result = audit(response.content.decode())
        assert result.problems == [], (url, result.problems)
        # Same origin only ('self'): static files and the admin's own JavaScript catalogue.
        assert all(src.startswith("/") and not src.startswith("//") for src in result.external), (url, result.external)
        checked += 1
    assert checked >= 20


@pytest.mark.django_db
def test_login_page_has_no_inline_scripts():
    response = Client().get("/admin/login/")
    assert response.status_code == 200 and audit(response.content.decode()).problems == []


@pytest.mark.django_db
def test_swagger_ui_loads_every_script_from_a_file():
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    result = audit(page.content.decode())
    assert result.problems == []
    own = [src for src in result.external if src.startswith("/api/docs/")]
    assert len(own) == 1, result.external  # the initialiser, served by the split view
    assert all(src.startswith(("/static/", "/api/docs/")) for src in result.external)
    script = client.get(own[0])
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
