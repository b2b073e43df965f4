"""Management commands act as `system:<command>` without patching Django (audit/commands.py):
every command of ours inherits the actor, and `manage.py` names the process after Django's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand

from audit.commands import SystemActorMixin

ROOT = Path(__file__).resolve().parents[2]


def _our_commands() -> list[tuple[str, str]]:
    packages = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    ours = {config.name for config in apps.get_app_configs() if config.name.split(".")[0] in packages}
    return sorted((app, name) for name, app in get_commands().items() if app in ours)


def test_every_command_of_ours_acts_as_the_system():
    commands = _our_commands()
    assert {("audit", "verify_audit"), ("audit", "migrate"), ("payments", "seed_demo")} <= set(commands)
    for app, name in commands:
        command = load_command_class(app, name)
        assert isinstance(command, SystemActorMixin), f"{app}.{name}: inherit audit.commands.SystemCommand"


def test_django_classes_are_left_alone():
    assert BaseCommand.execute.__module__ == "django.core.management.base"


@pytest.mark.django_db(transaction=True)
def test_a_django_command_run_by_manage_py_acts_as_the_system():
    """`manage.py shell -c …` (Django's own command) writes a team; its audit row says system:shell."""
    from django.db import connection

    from accounts.models import Team
    from audit.models import AuditEntry

    db = connection.settings_dict
    user = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    # The test database, as the runtime role (a socket directory as host is percent-encoded).
    pguri = f"postgres://{user}@{quote(str(db['HOST']), safe='')}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "PGURI": pguri, "DJANGO_SETTINGS_MODULE": "acountee.settings"}
    env.pop("PGURI_OWNER", None)
    code = "from accounts.models import Team; Team.objects.create(name='made-by-shell')"
    proc = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    team = Team.objects.get(name="made-by-shell")
    entry = AuditEntry.objects.get(table_name="teams", record_id=str(team.pk), action="INSERT")
    assert entry.actor == "system:shell"
