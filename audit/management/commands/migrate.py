"""`migrate` as the owner role (PGURI_OWNER): the tables belong to it, never to the runtime role
the application connects as. Afterwards the runtime role is granted its privileges
(post_migrate, acountee/db/roles.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate
from django.db import connections

from acountee.db.roles import owner_connection
from audit.commands import SystemActorMixin


class Command(SystemActorMixin, migrate.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        with owner_connection(connections[options["database"]]):
            super().handle(*args, **options)
