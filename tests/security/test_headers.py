"""Response headers of the security baseline (CSP, frame, sniffing, referrer, HSTS) and the
HTTPS redirect with a configured proxy header. The production values are set with
`settings` overrides; tests/security/test_production_settings.py proves they are the defaults."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.files.factories import stored_file

PRODUCTION_HTTPS = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
}


@pytest.fixture
def https(settings):
    for name, value in PRODUCTION_HTTPS.items():
        setattr(settings, name, value)
    return settings


def assert_baseline(response, csp: str) -> None:
    assert response["Content-Security-Policy"] == csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_html_and_json_answers_carry_the_headers(settings, owner_client):
    admin_login = Client().get("/admin/login/")
    assert admin_login.status_code == 200
    assert_baseline(admin_login, settings.CONTENT_SECURITY_POLICY)
    api = owner_client.get("/api/me/")
    assert api.status_code == 200
    assert_baseline(api, settings.CONTENT_SECURITY_POLICY)
    error = Client().get("/api/payment-requests/")  # 401 JSON error
    assert error.status_code == 401
    assert_baseline(error, settings.CONTENT_SECURITY_POLICY)


def test_the_policy_allows_scripts_only_from_our_origin(settings):
    directives = dict(d.strip().split(" ", 1) for d in settings.CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'self'"


@pytest.mark.django_db
def test_an_empty_policy_sends_no_header(settings):
    settings.CONTENT_SECURITY_POLICY = ""
    assert "Content-Security-Policy" not in Client().get("/admin/login/")


@pytest.mark.django_db
def test_a_pdf_keeps_only_the_framing_rule(finance, client_for):
    pdf = stored_file(content=b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", name="hop-dong.pdf")
    response = client_for(finance).get(f"/api/files/{pdf.pk}/content/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/pdf")
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(https):
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/?next=/admin/"
    assert "Strict-Transport-Security" not in response  # HSTS only ever over HTTPS


@pytest.mark.django_db
def test_https_through_the_proxy_gets_hsts_and_secure_cookies(https, owner, password):
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    https.SESSION_COOKIE_SECURE = https.CSRF_COOKIE_SECURE = True
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.cookies["csrftoken"]["secure"] is True
    response = client.post(
        "/admin/login/",
        {"username": owner.email, "password": password, "csrfmiddlewaretoken": response.cookies["csrftoken"].value},
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True and session["samesite"] == "Lax"


@pytest.mark.django_db
def test_a_forged_proxy_header_is_ignored_when_not_configured(https):
    https.SECURE_PROXY_SSL_HEADER = None
    response = Client(HTTP_X_FORWARDED_PROTO="https").get("/admin/login/")
    assert response.status_code == 301  # the header alone does not make a request secure


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_probes_answer_over_plain_http(https, path):
    assert Client().get(path).status_code == 200
