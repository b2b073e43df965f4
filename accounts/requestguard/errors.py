"""The guard's refusals, in the one error hierarchy (acountee.errors) with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from acountee.errors import AcounteeError, ConflictError, ValidationFailed


class InvalidIdempotencyKey(ValidationFailed):
    code = "INVALID_IDEMPOTENCY_KEY"
    default_message = _("The Idempotency-Key header must be 1 to 255 visible ASCII characters.")


class IdempotencyKeyInProgress(ConflictError):
    code = "IDEMPOTENCY_KEY_IN_PROGRESS"
    default_message = _("A request with this Idempotency-Key is still being processed. Retry shortly.")


class IdempotentSecretNotReplayed(ConflictError):
    """What a retry gets instead of an answer that carried a secret (idempotency.carries_secret)."""

    code = "IDEMPOTENCY_SECRET_NOT_REPLAYED"
    default_message = _(
        "This request was already carried out. Its answer held a secret that is shown only once and is not "
        "kept: find what it created and rotate its secret, or create a new one."
    )


class IdempotencyKeyReused(AcounteeError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status_code = 422
    default_message = _("This Idempotency-Key was already used for a different request.")


class TooManyAttempts(AcounteeError):
    code = "TOO_MANY_ATTEMPTS"
    status_code = 429
    default_message = _("Too many failed sign-in attempts. Try again later.")

    def __init__(self, message=None, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        # acountee.api.exception_handler sends these with the error body.
        self.headers = {"Retry-After": str(self.retry_after)}
