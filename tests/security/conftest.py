"""Helpers for the security baseline tests: start Python with the production settings in a
real subprocess (exactly what gunicorn and manage.py do), with the environment we choose."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Settings are loaded, never a connection opened: a database that does not exist is fine.
UNUSED_PGURI = "postgres://unused@127.0.0.1:9/unused"


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PGTEST_DBNAME"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "acountee.settings",
            "ACOUNTEE_ENV": "production",
            "DEBUG": "false",  # explicitly: a developer's .env may say otherwise
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_CHAIN_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "acountee.example.vn",
            "PGURI": UNUSED_PGURI,
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
