"""The admin sign-in form with the lock-out (installed by acountee/urls.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from accounts.requestguard import lockout
from accounts.requestguard.errors import TooManyAttempts


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        if not email or not self.cleaned_data.get("password"):
            return super().clean()  # field errors: no password was checked, nothing to count
        try:
            lockout.sign_in_check(email=email, request=self.request)
            try:
                cleaned = super().clean()
            except ValidationError:
                if self.user_cache is None:  # wrong credentials (not: right ones, but no access)
                    lockout.sign_in_failure_record(email=email, request=self.request, via="admin")
                raise
        except TooManyAttempts as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            raise ValidationError(
                ngettext(
                    "Too many failed sign-in attempts. Sign-in is locked; try again in %(minutes)d minute.",
                    "Too many failed sign-in attempts. Sign-in is locked; try again in %(minutes)d minutes.",
                    minutes,
                ),
                code="too_many_attempts",
                params={"minutes": minutes},
            ) from None
        lockout.sign_in_success_record(email=email)
        return cleaned
