"""Deletes expired idempotency keys and spent sign-in counters (run daily, e.g. from cron)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.requestguard.idempotency import idempotency_keys_purge
from accounts.requestguard.lockout import sign_in_throttles_purge
from audit.commands import SystemCommand


class Command(SystemCommand):
    help = "Delete idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS and sign-in counters that have expired."

    def handle(self, *args: Any, **options: Any) -> None:
        keys = idempotency_keys_purge()
        throttles = sign_in_throttles_purge()
        self.stdout.write(
            _("Deleted %(keys)d expired idempotency keys and %(throttles)d expired sign-in counters.")
            % {"keys": keys, "throttles": throttles}
        )
