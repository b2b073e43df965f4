"""Production settings, loaded for real in a subprocess: `check --deploy` is clean, the secure
defaults hold, and the process refuses to start with missing or development secrets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.security.conftest import ROOT, production_env, run_python

# What gunicorn does first: import the WSGI module (settings load before anything else).
IMPORT_WSGI = "import acountee.wsgi"
DEPLOY_CHECK = (
    "import django; django.setup()\n"
    "from django.core.management import call_command\n"
    "call_command('check', deploy=True, fail_level='DEBUG')\n"
    "print('DEPLOY-CHECK-CLEAN')"
)
DUMP = (
    "import django, json; django.setup()\n"
    "from django.conf import settings as s\n"
    "names = ['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT',"
    " 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SECURE_PROXY_SSL_HEADER',"
    " 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', 'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE',"
    " 'CONTENT_SECURITY_POLICY', 'SILENCED_SYSTEM_CHECKS', 'AUTH_PASSWORD_VALIDATORS']\n"
    "print(json.dumps({n: getattr(s, n) for n in names}))"
)


def dump(**overrides: str | None) -> dict:
    result = run_python(DUMP, production_env(**overrides))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_production_settings():
    result = run_python(DEPLOY_CHECK, production_env())
    assert result.returncode == 0, result.stderr
    assert "DEPLOY-CHECK-CLEAN" in result.stdout
    assert "WARNINGS" not in result.stderr and "ERRORS" not in result.stderr


def test_check_deploy_fails_on_a_weakened_configuration():
    """The check is live, not silenced wholesale: switching HSTS off is reported."""
    result = run_python(DEPLOY_CHECK, production_env(SECURE_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr


def test_production_defaults_are_secure():
    values = dump()
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False and "security.W021" in values["SILENCED_SYSTEM_CHECKS"]
    assert values["SECURE_PROXY_SSL_HEADER"] is None  # trusted only when configured
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True and values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SESSION_COOKIE_AGE"] == 8 * 3600 and values["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is False
    assert "script-src 'self';" in values["CONTENT_SECURITY_POLICY"]
    assert "frame-ancestors 'none'" in values["CONTENT_SECURITY_POLICY"]
    assert len(values["AUTH_PASSWORD_VALIDATORS"]) == 4


def test_security_settings_come_from_the_environment():
    values = dump(
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        SESSION_COOKIE_AGE="3600",
        SESSION_EXPIRE_AT_BROWSER_CLOSE="true",
        SECURE_HSTS_PRELOAD="true",
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_AGE"] == 3600 and values["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True and "security.W021" not in values["SILENCED_SYSTEM_CHECKS"]


def test_a_malformed_proxy_header_setting_is_refused():
    result = run_python(IMPORT_WSGI, production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO"))
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "insecure-development-key-never-use-in-production"}, "development or weak key"),
        ({"SECRET_KEY": "change-me"}, "development or weak key"),  # .env.example's placeholder
        ({"SECRET_KEY": "django-insecure-" + "k3y" * 20}, "development or weak key"),
        ({"SECRET_KEY": "short-but-random-Zx81q"}, "development or weak key"),
        ({"SECRET_KEY": "ab" * 40}, "development or weak key"),  # long, but only two characters
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"PGURI": None}, "PGURI must be set"),
    ],
)
def test_production_refuses_to_start_without_proper_secrets(overrides, message):
    result = run_python(IMPORT_WSGI, production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_manage_py_refuses_the_development_key_too():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=production_env(SECRET_KEY="insecure-development-key-never-use-in-production"),
    )
    assert result.returncode != 0 and "development or weak key" in result.stderr


def test_development_still_starts_without_a_secret_key():
    env = production_env(ACOUNTEE_ENV="development", SECRET_KEY=None, ALLOWED_HOSTS=None)
    result = run_python("import django; django.setup(); from django.conf import settings; print(settings.DEBUG)", env)
    assert result.returncode == 0, result.stderr
