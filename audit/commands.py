"""Management commands act as `system:<command name>` in the audit log.

`AuditConfig.ready()` wraps `BaseCommand.execute` once, so both `manage.py <command>` and
`call_command(...)` run inside `audit.context.system_context(<command name>)`. A command
started from inside another keeps the outer name (the process is the outer command).
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.management.base import BaseCommand

from audit import context


def _command_name(command: BaseCommand) -> str:
    return command.__class__.__module__.rsplit(".", 1)[-1]


def install_command_actor() -> None:
    if getattr(BaseCommand.execute, "_acountee_audit", False):
        return
    original = BaseCommand.execute

    @functools.wraps(original)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        if context.system_actor():
            return original(self, *args, **options)
        with context.system_context(_command_name(self)):
            return original(self, *args, **options)

    execute._acountee_audit = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
