"""Management commands act as `system:<command name>` in the audit log, set explicitly.

- Each of our commands inherits `SystemCommand` (or mixes `SystemActorMixin` into the Django
  command it extends: `migrate`, `flush`). Its `execute()` — what both `manage.py <command>` and
  `call_command(...)` go through — runs inside `audit.context.system_context(<command name>)`.
  `tests/audit/test_command_actor.py` fails if a command of ours forgets it.
- `manage.py` runs the subcommand inside `process_actor(argv)`, so Django's own
  commands (`createsuperuser`, `shell`, `loaddata`, `changepassword`…) act as `system:<command>`
  too, without touching Django's classes.

A command started from inside another keeps the outer name (the process is the outer command).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.core.management.base import BaseCommand

from audit import context


def command_name(command: BaseCommand) -> str:
    """The name a command is run by: its module's (`.../commands/<name>.py`)."""
    return command.__class__.__module__.rsplit(".", 1)[-1]


class SystemActorMixin:
    """Put before a Django command class: writes made while the command runs are attributed to
    `system:<command name>` (unless an outer command or a known user is acting)."""

    def execute(self, *args: Any, **options: Any) -> Any:
        if context.system_actor():
            return super().execute(*args, **options)  # type: ignore[misc]
        with context.system_context(command_name(self)):  # type: ignore[arg-type]
            return super().execute(*args, **options)  # type: ignore[misc]


class SystemCommand(SystemActorMixin, BaseCommand):
    """The base class of every management command of ours."""


def process_actor(argv: list[str]) -> AbstractContextManager[None]:
    """For `manage.py`: the whole run acts as the subcommand it was started for."""
    if len(argv) > 1 and not argv[1].startswith("-"):
        return context.system_context(argv[1])
    return nullcontext()
