"""The invoice list's filters as a django-filter FilterSet, like every other list.

Each parameter is read by a small form field so that every bad one is reported at once, with
the messages the list always gave (a 400 VALIDATION_ERROR naming the parameters). An empty or
blank parameter is no filter.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from acountee.errors import ValidationFailed
from acountee.months import Month, parse_month
from acountee.search import search_filter
from invoices.models import INVOICE_SEARCH_FIELDS, Invoice, InvoiceStatus, SignatureStatus
from invoices.selectors import _pr_link_available

# NUL cannot reach PostgreSQL text at all; other C0 controls never belong in a filter either.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
Q_MAX, TAX_CODE_MAX = 200, 20


class _Stripped(forms.Field):
    """Text, stripped; empty is None (no filter), and so is blank unless `blank_is_empty` is off
    (then spaces are read, and refused). Not a CharField: its NUL check says otherwise."""

    blank_is_empty = True

    def to_python(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        text = str(value).strip()
        if not text and self.blank_is_empty:
            return None
        return self.read(text)

    def read(self, text: str) -> Any:
        return text


class StatusField(_Stripped):
    def read(self, text: str) -> str:
        if text not in InvoiceStatus.values:
            raise forms.ValidationError(_("Unknown status."))
        return text


class SignatureField(_Stripped):
    def read(self, text: str) -> str:
        if text not in SignatureStatus.values:
            raise forms.ValidationError(_("Unknown signature outcome."))
        return text


class MonthField(_Stripped):
    def read(self, text: str) -> Month:
        try:
            return parse_month(text)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.details["month"]) from None


class PlainTextField(_Stripped):
    """Free text without control characters, cut at `cut` characters first when given."""

    def __init__(self, *args: Any, cut: int | None = None, **kwargs: Any) -> None:
        self.cut = cut
        super().__init__(*args, **kwargs)

    def read(self, text: str) -> str:
        text = text[: self.cut] if self.cut else text
        if _CONTROL_RE.search(text):
            raise forms.ValidationError(_("Control characters are not allowed."))
        return text


class YesNoField(_Stripped):
    blank_is_empty = False

    def read(self, text: str) -> bool:
        value = text.lower()
        if value not in TRUE | FALSE:
            raise forms.ValidationError(_("Use true or false."))
        return value in TRUE


class AmountField(_Stripped):
    blank_is_empty = False

    def read(self, text: str) -> Decimal:
        try:
            amount = Decimal(text)
            if not amount.is_finite() or abs(amount) >= Decimal("1e18"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(_("Not a number.")) from None
        return amount


class _Filter(django_filters.Filter):
    """A filter whose form field does the reading (field_class given per filter)."""

    def __init__(self, *args: Any, field_class: type[forms.Field], **kwargs: Any) -> None:
        self.field_class = field_class
        super().__init__(*args, **kwargs)


class InvoiceFilter(django_filters.FilterSet):
    """status, month (YYYY-MM of the issue date), supplier_tax_code, q (words found, accents and
    case ignored, in the supplier name or tax code, series, number or MCCQT), linked (true/false),
    findings (true/false: lines, summary and header disagree), amount_min, amount_max."""

    status = _Filter(field_class=StatusField, field_name="status")
    month = _Filter(field_class=MonthField, method="filter_month")
    supplier_tax_code = _Filter(field_class=PlainTextField, method="filter_supplier")
    q = _Filter(field_class=PlainTextField, method="filter_text", cut=Q_MAX)
    linked = _Filter(field_class=YesNoField, method="filter_linked")
    findings = _Filter(field_class=YesNoField, method="filter_findings")
    seller_signature = _Filter(field_class=SignatureField, field_name="seller_signature")
    tax_authority_signature = _Filter(field_class=SignatureField, field_name="tax_authority_signature")
    signer_is_seller = _Filter(field_class=YesNoField, field_name="seller_certificate_matches")
    amount_min = _Filter(field_class=AmountField, field_name="total_payable", lookup_expr="gte")
    amount_max = _Filter(field_class=AmountField, field_name="total_payable", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields = [
            "status",
            "month",
            "supplier_tax_code",
            "q",
            "linked",
            "findings",
            "seller_signature",
            "tax_authority_signature",
            "signer_is_seller",
            "amount_min",
            "amount_max",
        ]

    def filter_month(self, qs: QuerySet[Invoice], name: str, value: Month) -> QuerySet[Invoice]:
        return qs.filter(value.date_filter("issue_date"))

    def filter_supplier(self, qs: QuerySet[Invoice], name: str, value: str) -> QuerySet[Invoice]:
        return qs.filter(seller_tax_code=value[:TAX_CODE_MAX])

    def filter_text(self, qs: QuerySet[Invoice], name: str, value: str) -> QuerySet[Invoice]:
        return search_filter(qs, value, INVOICE_SEARCH_FIELDS, document="search_document")

    def filter_findings(self, qs: QuerySet[Invoice], name: str, value: bool) -> QuerySet[Invoice]:
        """Invoices whose lines, per-rate summary and header disagree (true) or agree (false)."""
        return qs.exclude(consistency_findings=[]) if value else qs.filter(consistency_findings=[])

    def filter_linked(self, qs: QuerySet[Invoice], name: str, value: bool) -> QuerySet[Invoice]:
        if _pr_link_available():  # the payments app (above) adds the link
            return qs.filter(pr_link__isnull=not value)
        return qs.none() if value else qs
