"""Infrastructure tables: short-lived request state, not business data, so no audit trigger
(listed as exclusions in tests/audit/registry.py). Both live in PostgreSQL because several
gunicorn processes must see the same claims and counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a user sent with an API write, and the first answer to it.

    `status_code` is NULL while the first request is still running (the claim); then it holds
    the stored response, replayed to every identical retry until the key expires."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.TextField(_("path"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.BinaryField(_("response body"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)

    class Meta:
        db_table = "idempotency_keys"
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_keys_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_keys_created_idx")]

    def __str__(self) -> str:
        return self.key


class ThrottleScope(models.TextChoices):
    ACCOUNT = "account", _("account (e-mail)")
    IP = "ip", _("client IP address")


class SignInThrottle(models.Model):
    """Failed sign-ins of one account or one client IP in the current window, and the
    lock-out they caused. A row per (scope, value); a success deletes the account's row."""

    scope = models.CharField(_("scope"), max_length=16, choices=ThrottleScope.choices)
    value = models.CharField(_("e-mail or IP address"), max_length=255)
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    window_started_at = models.DateTimeField(_("window started at"), default=timezone.now)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        db_table = "sign_in_throttles"
        verbose_name = _("sign-in throttle")
        verbose_name_plural = _("sign-in throttles")
        constraints = [models.UniqueConstraint(fields=["scope", "value"], name="sign_in_throttles_scope_value_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.value}"


class ApiRateCounter(models.Model):
    """API requests of one caller (a token, a signed-in session's user, an anonymous IP) in the current fixed
    window (docs/api-guard.md, "Rate limits"). One row per caller, reset when a new window starts; one upsert per
    request (accounts.requestguard.ratelimit). The table is UNLOGGED (migration 0002): a crash empties it, and a
    request's count commits without waiting for the disk."""

    key = models.CharField(_("caller"), max_length=80, primary_key=True)
    window_start = models.DateTimeField(_("window started at"))
    hits = models.PositiveIntegerField(_("requests in the window"))

    class Meta:
        db_table = "api_rate_counters"
        verbose_name = _("API rate counter")
        verbose_name_plural = _("API rate counters")
        indexes = [models.Index(fields=["window_start"], name="api_rate_counters_window_idx")]

    def __str__(self) -> str:
        return self.key
