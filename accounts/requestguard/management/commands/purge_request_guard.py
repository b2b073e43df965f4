"""Deletes expired idempotency keys, spent sign-in counters and API rate counters (run daily, e.g. from cron)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.requestguard.idempotency import idempotency_keys_purge
from accounts.requestguard.lockout import sign_in_throttles_purge
from accounts.requestguard.ratelimit import api_rate_counters_purge
from audit.commands import SystemCommand


class Command(SystemCommand):
    help = "Delete idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS and expired sign-in and API rate counters."

    def handle(self, *args: Any, **options: Any) -> None:
        keys = idempotency_keys_purge()
        throttles = sign_in_throttles_purge()
        self.stdout.write(
            _("Deleted %(keys)d expired idempotency keys and %(throttles)d expired sign-in counters.")
            % {"keys": keys, "throttles": throttles}
        )
        counters = api_rate_counters_purge()
        self.stdout.write(_("Deleted %(counters)d spent API rate counters.") % {"counters": counters})
