"""The payment-method registry: bank accounts that are copied into invoices and requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from acountee.errors import ValidationFailed
from payments.models import PaymentMethod

if TYPE_CHECKING:
    from accounts.models import User

PAYMENT_METHOD_FIELDS = ("name", "bank_name", "bank_account", "account_name", "note")


# --- payment methods ------------------------------------------------------------------------------
def _clean_payment_method_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for key, value in fields.items():
        if key not in PAYMENT_METHOD_FIELDS:
            raise ValidationFailed(_("Unknown field."), details={key: [_("Unknown field.")]})
        cleaned[key] = (value or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        raise ValidationFailed(_("A name is required."), details={"name": [_("This field is required.")]})
    return cleaned


def payment_method_create(
    *,
    actor: User | None,
    name: str,
    bank_name: str = "",
    bank_account: str = "",
    account_name: str = "",
    note: str = "",
) -> PaymentMethod:
    fields = _clean_payment_method_fields(
        {"name": name, "bank_name": bank_name, "bank_account": bank_account, "account_name": account_name, "note": note}
    )
    with transaction.atomic():
        return PaymentMethod.objects.create(**fields)


def payment_method_update(*, method: PaymentMethod, actor: User | None, **fields: Any) -> PaymentMethod:
    cleaned = _clean_payment_method_fields(fields)
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        for key, value in cleaned.items():
            setattr(method, key, value)
        method.save()
    return method


def payment_method_delete(*, method: PaymentMethod, actor: User | None) -> None:
    """Payment methods are only ever copied into invoices and PRs, so deleting one never
    changes a document."""
    with transaction.atomic():
        PaymentMethod.objects.filter(pk=method.pk).delete()
